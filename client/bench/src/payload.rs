//! The benchmark message text: `"<unix-nanos> <padding>"`, so a receiver in
//! any process on this machine can compute the latency from the text alone.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch (the wall clock, shared by all processes).
pub fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Writes the text for a message sent at `sent_nanos` into `buf` (reused
/// between messages): the timestamp, a space and `x` up to `size` bytes. A
/// `size` too small for the timestamp gives just the timestamp.
pub fn write(buf: &mut String, sent_nanos: u64, size: usize) {
    use std::fmt::Write as _;
    buf.clear();
    let _ = write!(buf, "{sent_nanos}");
    if buf.len() < size {
        buf.push(' ');
        while buf.len() < size {
            buf.push('x');
        }
    }
}

/// The send time carried by a benchmark message, or `None` for other text.
pub fn sent_nanos(text: &str) -> Option<u64> {
    let digits = text.split_once(' ').map_or(text, |(head, _)| head);
    digits.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_at_the_requested_size() {
        let mut buf = String::new();
        write(&mut buf, 1_700_000_000_123_456_789, 64);
        assert_eq!(buf.len(), 64);
        assert_eq!(sent_nanos(&buf), Some(1_700_000_000_123_456_789));
        write(&mut buf, 42, 1);
        assert_eq!(buf, "42");
        assert_eq!(sent_nanos(&buf), Some(42));
        assert!(chatroom_common::validate::text(&buf).is_ok());
    }

    #[test]
    fn other_text_has_no_timestamp() {
        assert_eq!(sent_nanos("hello world"), None);
        assert_eq!(sent_nanos(""), None);
    }
}
