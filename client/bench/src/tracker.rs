//! What one receiver got, by sequence number: which of the expected messages
//! arrived, how many twice, and how many after a higher one (out of order).
//!
//! The semantics are those of `chatroom_common::timeline::Timeline` (order and
//! de-duplicate by `seq`, a gap is a loss) — the tests check that — but kept as
//! a bit set: a `Timeline` holds every message, and the crowd scenario
//! delivers twenty million of them.

use chatroom_common::protocol::Seq;

/// What [`SeqTracker::record`] made of a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Expected and first seen now.
    New,
    /// Expected, but seen before.
    Duplicate,
    /// Not one of the expected sequence numbers (another writer in the room).
    Outside,
}

/// Accounting for the sequence numbers `base + 1 ..= base + expected`.
#[derive(Debug, Clone)]
pub struct SeqTracker {
    /// The room's last sequence number before the run.
    base: Seq,
    /// How many messages the run posts.
    expected: u64,
    /// One bit per expected sequence number.
    seen: Vec<u64>,
    /// Distinct expected sequence numbers seen.
    unique: u64,
    /// Repeats of a sequence number already seen.
    duplicates: u64,
    /// Arrivals with a lower sequence number than one that arrived before.
    out_of_order: u64,
    /// The highest sequence number that has arrived.
    highest: Seq,
}

impl SeqTracker {
    /// Expects `base + 1 ..= base + expected`.
    pub fn new(base: Seq, expected: u64) -> Self {
        let words = usize::try_from(expected.div_ceil(64)).unwrap_or(usize::MAX);
        Self {
            base,
            expected,
            seen: vec![0; words],
            unique: 0,
            duplicates: 0,
            out_of_order: 0,
            highest: base,
        }
    }

    /// Accounts for one arrival.
    pub fn record(&mut self, seq: Seq) -> Recorded {
        if seq <= self.base || seq - self.base > self.expected {
            return Recorded::Outside;
        }
        let offset = seq - self.base - 1;
        let (word, bit) = ((offset / 64) as usize, offset % 64);
        let mask = 1u64 << bit;
        if self.seen[word] & mask != 0 {
            self.duplicates += 1;
            return Recorded::Duplicate;
        }
        self.seen[word] |= mask;
        self.unique += 1;
        if seq < self.highest {
            self.out_of_order += 1;
        } else {
            self.highest = seq;
        }
        Recorded::New
    }

    /// True once every expected message has arrived.
    pub fn complete(&self) -> bool {
        self.unique == self.expected
    }

    /// Distinct expected messages received.
    pub fn unique(&self) -> u64 {
        self.unique
    }

    /// Expected messages that never arrived.
    pub fn lost(&self) -> u64 {
        self.expected - self.unique
    }

    /// Repeated arrivals.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Arrivals after a higher sequence number (informational: streams may
    /// overtake each other by design).
    pub fn out_of_order(&self) -> u64 {
        self.out_of_order
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chatroom_common::protocol::ChatMessage;
    use chatroom_common::timeline::{Inserted, Timeline};
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    fn msg(seq: Seq) -> ChatMessage {
        ChatMessage {
            room: "bench".into(),
            seq,
            sender: "b".into(),
            sender_avatar: None,
            text: String::new(),
            sent_at: 0,
            attachments: Vec::new(),
        }
    }

    #[test]
    fn counts_lost_duplicated_and_out_of_order() {
        let mut t = SeqTracker::new(100, 5);
        assert_eq!(t.record(101), Recorded::New);
        assert_eq!(t.record(103), Recorded::New);
        assert_eq!(t.record(102), Recorded::New);
        assert_eq!(t.record(103), Recorded::Duplicate);
        assert_eq!(t.record(100), Recorded::Outside);
        assert_eq!(t.record(106), Recorded::Outside);
        assert_eq!((t.unique(), t.lost(), t.duplicates()), (3, 2, 1));
        assert_eq!(t.out_of_order(), 1);
        assert!(!t.complete());
        t.record(104);
        t.record(105);
        assert!(t.complete());
    }

    /// The tracker agrees with the client's `Timeline` on random arrival orders
    /// with repeats and losses.
    #[test]
    fn agrees_with_the_timeline() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..50 {
            let base = rng.random_range(1..1000);
            let expected = rng.random_range(1..300u64);
            let mut arrivals: Vec<Seq> = (base + 1..=base + expected)
                .filter(|_| rng.random_range(0..100) >= 5)
                .collect();
            let repeats: Vec<Seq> = arrivals
                .iter()
                .copied()
                .filter(|_| rng.random_range(0..100) < 5)
                .collect();
            arrivals.extend(repeats);
            arrivals.shuffle(&mut rng);

            let mut tracker = SeqTracker::new(base, expected);
            // The client holds the message before the run (from history), so a
            // loss of the first expected one is a gap for the timeline too.
            let mut timeline = Timeline::new(usize::MAX);
            timeline.insert(msg(base));
            timeline.note_latest(base + expected);
            for &seq in &arrivals {
                let by_timeline = timeline.insert(msg(seq));
                let by_tracker = tracker.record(seq);
                assert_eq!(
                    by_timeline == Inserted::Duplicate,
                    by_tracker == Recorded::Duplicate
                );
            }
            assert_eq!(timeline.len() as u64, tracker.unique() + 1);
            assert_eq!(timeline.missing().is_none(), tracker.complete());
        }
    }
}
