//! Sends not yet acknowledged: a queue per room in the order the user typed,
//! with at most one send of each room on the wire. Each send keeps its
//! idempotency key for life, so a retry after a reconnect never posts twice.
//!
//! One at a time per room is what keeps a room's messages in the user's order
//! on the server: requests travel on independent QUIC streams, so two sends of
//! one room in flight together could be stored the other way round. Rooms are
//! independent of each other, so they send in parallel.

use std::collections::{BTreeMap, VecDeque};

use chatroom_common::protocol::{Attachment, FileRef, IdempotencyKey};

/// One message waiting for the server's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSend {
    /// The room.
    pub room: String,
    /// The text.
    pub text: String,
    /// The key every attempt uses.
    pub key: IdempotencyKey,
    /// Uploaded files posted with the text, as the server described them
    /// (the message shown at once when it is acknowledged carries them).
    pub files: Vec<Attachment>,
}

impl PendingSend {
    /// What the request names of each file: its hash, under the name shown.
    pub fn file_refs(&self) -> Vec<FileRef> {
        self.files
            .iter()
            .map(|f| FileRef {
                hash: f.hash,
                name: f.name.clone(),
            })
            .collect()
    }
}

/// One room's sends.
#[derive(Debug, Default)]
struct RoomQueue {
    /// Oldest first; the front is the one on the wire when `in_flight`.
    queue: VecDeque<PendingSend>,
    /// Whether the front has been handed out and not answered yet.
    in_flight: bool,
}

/// The pending sends of every room.
#[derive(Debug, Default)]
pub struct Outbox {
    /// By room name as the UI gave it; a room with nothing pending is removed.
    rooms: BTreeMap<String, RoomQueue>,
}

impl Outbox {
    /// Adds a send at the end of its room's queue (a key already queued is ignored).
    pub fn push(&mut self, send: PendingSend) {
        let known = self
            .rooms
            .values()
            .any(|r| r.queue.iter().any(|p| p.key == send.key));
        if !known {
            self.rooms
                .entry(send.room.clone())
                .or_default()
                .queue
                .push_back(send);
        }
    }

    /// The front send of every room that has none in flight, now marked in flight.
    pub fn start_ready(&mut self) -> Vec<PendingSend> {
        self.rooms
            .values_mut()
            .filter(|r| !r.in_flight)
            .filter_map(|r| {
                let front = r.queue.front().cloned()?;
                r.in_flight = true;
                Some(front)
            })
            .collect()
    }

    /// Removes the send of `room` with `key`, which must be that room's send in
    /// flight (acknowledged, or refused for good), and frees the room for its next.
    pub fn finish(&mut self, room: &str, key: IdempotencyKey) -> Option<PendingSend> {
        let queue = self.in_flight_front(room, key)?;
        let done = queue.queue.pop_front();
        queue.in_flight = false;
        if queue.queue.is_empty() {
            self.rooms.remove(room);
        }
        done
    }

    /// Keeps the send of `room` with `key` at the front, to be started again.
    pub fn retry_later(&mut self, room: &str, key: IdempotencyKey) {
        if let Some(queue) = self.in_flight_front(room, key) {
            queue.in_flight = false;
        }
    }

    /// Forgets what is in flight (the connection it went on is gone): every
    /// front is started again, with its key, on the next connection.
    pub fn forget_in_flight(&mut self) {
        for queue in self.rooms.values_mut() {
            queue.in_flight = false;
        }
    }

    /// Forgets a room's sends (the user left it). An answer to the one in
    /// flight finds nothing to finish and is ignored.
    pub fn drop_room(&mut self, room: &str) {
        self.rooms.remove(room);
    }

    /// Forgets everything (logout).
    pub fn clear(&mut self) {
        self.rooms.clear();
    }

    /// The queue of `room` when its send in flight has this key.
    fn in_flight_front(&mut self, room: &str, key: IdempotencyKey) -> Option<&mut RoomQueue> {
        self.rooms
            .get_mut(room)
            .filter(|q| q.in_flight && q.queue.front().is_some_and(|p| p.key == key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(room: &str, n: u8) -> PendingSend {
        PendingSend {
            room: room.into(),
            text: format!("{room} {n}"),
            key: IdempotencyKey([n; 16]),
            files: Vec::new(),
        }
    }

    fn keys(sends: &[PendingSend]) -> Vec<u8> {
        sends.iter().map(|s| s.key.0[0]).collect()
    }

    #[test]
    fn one_in_flight_per_room_in_order_and_rooms_in_parallel() {
        let mut outbox = Outbox::default();
        outbox.push(send("lobby", 1));
        outbox.push(send("lobby", 2));
        outbox.push(send("dm:a:b", 3));
        outbox.push(send("lobby", 1));
        assert_eq!(keys(&outbox.start_ready()), [3, 1]);
        assert!(
            outbox.start_ready().is_empty(),
            "each room waits for its answer"
        );
        // Only the send in flight can finish.
        assert_eq!(outbox.finish("lobby", IdempotencyKey([2; 16])), None);
        assert_eq!(
            outbox.finish("lobby", IdempotencyKey([1; 16])),
            Some(send("lobby", 1))
        );
        assert_eq!(
            outbox.finish("lobby", IdempotencyKey([1; 16])),
            None,
            "once"
        );
        assert_eq!(keys(&outbox.start_ready()), [2]);
        assert_eq!(
            outbox.finish("dm:a:b", IdempotencyKey([3; 16])),
            Some(send("dm:a:b", 3))
        );
        assert_eq!(
            outbox.finish("lobby", IdempotencyKey([2; 16])),
            Some(send("lobby", 2))
        );
        assert!(outbox.start_ready().is_empty());
    }

    #[test]
    fn a_retry_or_a_lost_connection_starts_the_same_send_again() {
        let mut outbox = Outbox::default();
        outbox.push(send("lobby", 1));
        outbox.push(send("lobby", 2));
        assert_eq!(keys(&outbox.start_ready()), [1]);
        outbox.retry_later("lobby", IdempotencyKey([1; 16]));
        assert_eq!(keys(&outbox.start_ready()), [1]);
        outbox.forget_in_flight();
        assert_eq!(keys(&outbox.start_ready()), [1]);
        outbox.clear();
        assert!(outbox.start_ready().is_empty());
    }
}
