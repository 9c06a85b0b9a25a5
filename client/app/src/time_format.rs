//! Message times: `HH:MM` today, the date before that, in this computer's
//! zone (with the offset in force at each moment) or a fixed one.

use time::{OffsetDateTime, UtcOffset};

/// Which clock times are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeZone {
    /// This computer's zone, with the offset in force at each moment: a
    /// message from before a daylight-saving change shows the time it had
    /// then, and a change while the app runs is picked up.
    Local,
    /// One fixed offset (tests, and computers whose zone cannot be read).
    Fixed(UtcOffset),
}

impl TimeZone {
    /// The offset from UTC at `ms` milliseconds after the epoch.
    pub fn offset_at(self, ms: i64) -> UtcOffset {
        match self {
            TimeZone::Fixed(offset) => offset,
            TimeZone::Local => {
                use chrono::{Offset, TimeZone as _};
                // chrono reads the zone database itself, which is safe with
                // threads (the time crate refuses to once there are several).
                chrono::Local
                    .timestamp_millis_opt(ms)
                    .single()
                    .and_then(|t| {
                        UtcOffset::from_whole_seconds(t.offset().fix().local_minus_utc()).ok()
                    })
                    .unwrap_or(UtcOffset::UTC)
            }
        }
    }
}

/// `HH:MM` today, `YYYY-MM-DD HH:MM` otherwise, in `zone`.
pub fn format_time(ms: i64, zone: TimeZone) -> String {
    let Some(t) = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.checked_to_offset(zone.offset_at(ms)))
    else {
        return String::new();
    };
    let now = OffsetDateTime::now_utc();
    let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let today = now
        .checked_to_offset(zone.offset_at(now_ms))
        .map(|now| now.date());
    if today == Some(t.date()) {
        format!("{:02}:{:02}", t.hour(), t.minute())
    } else {
        format!(
            "{}-{:02}-{:02} {:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_today_show_the_clock_and_older_ones_the_date() {
        let zone = TimeZone::Fixed(UtcOffset::UTC);
        let now = OffsetDateTime::now_utc();
        let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap();
        assert_eq!(
            format_time(now_ms, zone),
            format!("{:02}:{:02}", now.hour(), now.minute())
        );
        // 2024-03-01 12:34:56 UTC.
        assert_eq!(format_time(1_709_296_496_000, zone), "2024-03-01 12:34");
        let east = TimeZone::Fixed(UtcOffset::from_hms(8, 0, 0).unwrap());
        assert_eq!(format_time(1_709_296_496_000, east), "2024-03-01 20:34");
        // Out of range: nothing rather than a panic.
        assert_eq!(format_time(i64::MAX, zone), "");
    }

    #[test]
    fn the_local_zone_gives_a_whole_offset_for_any_moment() {
        for ms in [0, 1_709_296_496_000, -1_000, i64::MAX, i64::MIN] {
            let offset = TimeZone::Local.offset_at(ms);
            assert!(offset.whole_hours().abs() <= 25, "{offset:?} at {ms}");
        }
    }
}
