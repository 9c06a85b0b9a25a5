//! A room's messages as a client holds them: ordered and de-duplicated by
//! sequence number, with the gaps that out-of-order streams or a lost
//! connection leave, so the client knows which range to fetch.
//!
//! Each message travels on its own QUIC stream, so message 7 may arrive before
//! message 6. The timeline accepts them in any order; `missing()` says what to
//! ask the server for.

use std::collections::BTreeMap;

use crate::protocol::{ChatMessage, Seq};

/// What [`Timeline::insert`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// It was new.
    New,
    /// A message with that sequence number was already held; nothing changed.
    Duplicate,
    /// It is older than the window the timeline keeps; dropped.
    TooOld,
}

/// Messages of one room, keyed by sequence number, bounded in count.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// The held messages, ascending.
    messages: BTreeMap<Seq, ChatMessage>,
    /// Every sequence number from the first held one up to this is held (0: none).
    contiguous: Seq,
    /// The highest sequence number known to exist (from a message or the server).
    latest_known: Seq,
    /// Most messages held; older ones are dropped (the server keeps history).
    capacity: usize,
}

impl Timeline {
    /// An empty timeline keeping at most `capacity` messages (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            messages: BTreeMap::new(),
            contiguous: 0,
            latest_known: 0,
            capacity: capacity.max(1),
        }
    }

    /// Adds a message from a live event or a history page.
    pub fn insert(&mut self, message: ChatMessage) -> Inserted {
        let seq = message.seq;
        if self.messages.contains_key(&seq) {
            return Inserted::Duplicate;
        }
        if self.messages.len() >= self.capacity
            && self
                .messages
                .first_key_value()
                .is_some_and(|(&first, _)| seq < first)
        {
            return Inserted::TooOld;
        }
        let new_first = self.first_seq().is_none_or(|first| seq < first);
        self.messages.insert(seq, message);
        self.latest_known = self.latest_known.max(seq);
        if new_first {
            // A new first message: contiguity is recomputed from it.
            self.contiguous = 0;
        }
        self.extend_contiguous();
        while self.messages.len() > self.capacity {
            self.messages.pop_first();
        }
        self.extend_contiguous();
        Inserted::New
    }

    /// Records that the server has messages up to `seq` (from a room listing or
    /// a history reply), so a silent gap at the end is noticed too.
    pub fn note_latest(&mut self, seq: Seq) {
        self.latest_known = self.latest_known.max(seq);
    }

    /// The range a client should fetch, as `(after, up_to)`: every sequence number
    /// in `after+1 ..= up_to` is missing or unconfirmed. `None` when complete.
    pub fn missing(&self) -> Option<(Seq, Seq)> {
        (self.latest_known > self.contiguous).then_some((self.contiguous, self.latest_known))
    }

    /// The highest sequence number up to which the timeline is gap-free.
    pub fn contiguous_seq(&self) -> Seq {
        self.contiguous
    }

    /// The highest sequence number known to exist.
    pub fn latest_known(&self) -> Seq {
        self.latest_known
    }

    /// The oldest held sequence number.
    pub fn first_seq(&self) -> Option<Seq> {
        self.messages.first_key_value().map(|(&s, _)| s)
    }

    /// Number of held messages.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// True when no message is held.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The held messages in sequence order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &ChatMessage> + ExactSizeIterator {
        self.messages.values()
    }

    /// The message at position `index` in sequence order (for virtual scrolling).
    pub fn nth(&self, index: usize) -> Option<&ChatMessage> {
        self.messages.values().nth(index)
    }

    fn extend_contiguous(&mut self) {
        let Some(first) = self.first_seq() else {
            self.contiguous = 0;
            return;
        };
        let mut next = if self.contiguous >= first {
            self.contiguous
        } else {
            first
        };
        if !self.messages.contains_key(&next) {
            return;
        }
        while self.messages.contains_key(&(next + 1)) {
            next += 1;
        }
        self.contiguous = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: Seq) -> ChatMessage {
        ChatMessage {
            room: "lobby".into(),
            seq,
            sender: "alice".into(),
            sender_avatar: None,
            text: format!("m{seq}"),
            sent_at: 0,
            attachments: Vec::new(),
        }
    }

    fn seqs(t: &Timeline) -> Vec<Seq> {
        t.iter().map(|m| m.seq).collect()
    }

    #[test]
    fn orders_and_deduplicates() {
        let mut t = Timeline::new(100);
        for s in [3, 1, 2, 2, 5, 4, 1] {
            t.insert(msg(s));
        }
        assert_eq!(seqs(&t), vec![1, 2, 3, 4, 5]);
        assert_eq!(t.insert(msg(4)), Inserted::Duplicate);
        assert_eq!(t.missing(), None);
    }

    #[test]
    fn reports_gaps_and_fills_them() {
        let mut t = Timeline::new(100);
        t.insert(msg(1));
        t.insert(msg(2));
        t.insert(msg(6));
        assert_eq!(t.missing(), Some((2, 6)));
        for s in 3..=5 {
            t.insert(msg(s));
        }
        assert_eq!(t.missing(), None);
        t.note_latest(8);
        assert_eq!(t.missing(), Some((6, 8)));
    }

    #[test]
    fn history_before_the_first_message_is_not_a_gap() {
        let mut t = Timeline::new(100);
        t.insert(msg(51));
        t.insert(msg(52));
        assert_eq!(t.missing(), None);
        t.insert(msg(50));
        assert_eq!(t.contiguous_seq(), 52);
    }

    #[test]
    fn bounded_capacity_keeps_the_newest() {
        let mut t = Timeline::new(3);
        for s in 1..=5 {
            t.insert(msg(s));
        }
        assert_eq!(seqs(&t), vec![3, 4, 5]);
        assert_eq!(t.insert(msg(1)), Inserted::TooOld);
        assert_eq!(t.missing(), None);
    }
}
