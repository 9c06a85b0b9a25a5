//! Sends not yet acknowledged, in the order the user made them. Each keeps its
//! idempotency key for life, so a retry after a reconnect never posts twice.

use std::collections::VecDeque;

use chatroom_common::protocol::IdempotencyKey;

/// One message waiting for the server's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSend {
    /// The room.
    pub room: String,
    /// The text.
    pub text: String,
    /// The key every attempt uses.
    pub key: IdempotencyKey,
}

/// The queue of pending sends.
#[derive(Debug, Default)]
pub struct Outbox {
    /// Oldest first: sent in this order so a room's messages keep the user's order.
    queue: VecDeque<PendingSend>,
}

impl Outbox {
    /// Adds a send at the end (a key already queued is ignored).
    pub fn push(&mut self, send: PendingSend) {
        if !self.queue.iter().any(|p| p.key == send.key) {
            self.queue.push_back(send);
        }
    }

    /// The oldest pending send.
    pub fn front(&self) -> Option<&PendingSend> {
        self.queue.front()
    }

    /// Removes the oldest pending send (acknowledged or refused for good).
    pub fn pop(&mut self) -> Option<PendingSend> {
        self.queue.pop_front()
    }

    /// Forgets everything (logout).
    pub fn clear(&mut self) {
        self.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_ignores_a_repeated_key() {
        let mut outbox = Outbox::default();
        let a = PendingSend {
            room: "lobby".into(),
            text: "a".into(),
            key: IdempotencyKey([1; 16]),
        };
        let b = PendingSend {
            text: "b".into(),
            key: IdempotencyKey([2; 16]),
            ..a.clone()
        };
        outbox.push(a.clone());
        outbox.push(b.clone());
        outbox.push(a.clone());
        assert_eq!(outbox.pop(), Some(a));
        assert_eq!(outbox.front(), Some(&b));
        assert_eq!(outbox.pop(), Some(b));
        assert_eq!(outbox.pop(), None);
    }
}
