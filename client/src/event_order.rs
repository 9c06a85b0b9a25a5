//! Pushed events that describe a state (who is online in a room, whether the
//! user is in a room) applied in the order the server sent them, although
//! their streams may be read in any order.
//!
//! The server opens a connection's pushed streams one at a time, and newer
//! news about a user's presence in a room or about a room's membership
//! always rides a later stream than older news about the same, so a
//! stream's index orders them. Messages need none of this
//! (their sequence numbers order them); a presence change or a room joined
//! or left does: read after a newer one about the same user or room, it
//! would undo it (a user who went away and came back shown away until they
//! change again). Such an event from a stream older than one already
//! delivered about the same thing is dropped.
//!
//! What is kept stays small: only streams above the lowest one not yet read,
//! and only the keys delivered while an older stream was still out, so a
//! connection whose streams arrive in order keeps nothing.

use std::collections::{BTreeSet, HashMap};

use chatroom_common::protocol::Event;

/// Streams read beyond a stream still missing before that one is given up
/// (its events, should they ever come, count as stale): a stream the server
/// never finished must not make the bookkeeping grow without end.
const MAX_AHEAD: usize = 4096;

/// What a state event is about: a later event about the same supersedes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A user's presence in a room.
    Presence { room: String, user: String },
    /// The user's membership of a room.
    Room(String),
}

impl Key {
    /// The key of a state event; `None` for events that carry their own
    /// order (messages) or mean the same whenever they come.
    fn of(event: &Event) -> Option<Self> {
        match event {
            Event::Presence { room, user, .. } => Some(Self::Presence {
                room: room.clone(),
                user: user.username.clone(),
            }),
            Event::RoomAdded(room) => Some(Self::Room(room.name.clone())),
            Event::RoomLeft { room } => Some(Self::Room(room.clone())),
            Event::Message(_)
            | Event::Resync { .. }
            | Event::RoomCreated(_)
            | Event::Batch { .. } => None,
        }
    }
}

/// The order of one connection's pushed streams, by their index.
#[derive(Debug, Default)]
pub(crate) struct EventOrder {
    /// Every stream below this index has been read (or failed, or was given up).
    settled: u64,
    /// Streams at or above `settled` that have been read.
    read: BTreeSet<u64>,
    /// For a key, the newest stream that delivered an event about it while an
    /// older stream was still out.
    latest: HashMap<Key, u64>,
}

impl EventOrder {
    /// Whether `event`, read from stream `index`, should be delivered: false
    /// when a newer stream already delivered an event about the same thing.
    pub(crate) fn admit(&mut self, index: u64, event: &Event) -> bool {
        let Some(key) = Key::of(event) else {
            return true;
        };
        if index < self.settled {
            // Only a stream given up can still deliver below `settled`.
            return false;
        }
        if self.latest.get(&key).is_some_and(|&newer| newer > index) {
            return false;
        }
        if index > self.settled {
            self.latest.insert(key, index);
        } else {
            // Nothing older is still out: nothing to remember.
            self.latest.remove(&key);
        }
        true
    }

    /// Stream `index` has been read, or failed: older streams no longer
    /// wait for it.
    pub(crate) fn settle(&mut self, index: u64) {
        if index < self.settled {
            return;
        }
        if index == self.settled {
            // In order, as almost every stream is: nothing to note.
            self.settled += 1;
        } else {
            self.read.insert(index);
        }
        while self.read.remove(&self.settled) {
            self.settled += 1;
        }
        if self.read.len() > MAX_AHEAD {
            // Give up the missing streams below the oldest one read.
            if let Some(&first) = self.read.first() {
                self.settled = first;
                while self.read.remove(&self.settled) {
                    self.settled += 1;
                }
            }
        }
        if !self.latest.is_empty() {
            let settled = self.settled;
            self.latest.retain(|_, &mut index| index >= settled);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chatroom_common::protocol::{RoomInfo, RoomKind, UserInfo};

    use super::*;

    fn presence(user: &str, online: bool) -> Event {
        Event::Presence {
            room: "lobby".into(),
            user: UserInfo {
                username: user.into(),
                avatar: None,
            },
            online,
        }
    }

    fn added(room: &str) -> Event {
        Event::RoomAdded(RoomInfo {
            name: room.into(),
            kind: RoomKind::Public,
            latest_seq: 0,
            peer: None,
            member: true,
        })
    }

    fn left(room: &str) -> Event {
        Event::RoomLeft { room: room.into() }
    }

    /// An event with no key (as a message has none).
    fn resync(after_seq: u64) -> Event {
        Event::Resync {
            room: "lobby".into(),
            after_seq,
        }
    }

    /// Reads stream `index` with its events: which were admitted.
    fn read(order: &mut EventOrder, index: u64, events: &[Event]) -> Vec<bool> {
        let admitted = events.iter().map(|e| order.admit(index, e)).collect();
        order.settle(index);
        admitted
    }

    #[test]
    fn streams_read_in_order_deliver_everything_and_keep_nothing() {
        let mut order = EventOrder::default();
        for index in 0..100 {
            let online = index % 2 == 0;
            assert_eq!(
                read(&mut order, index, &[presence("carol", online)]),
                [true]
            );
        }
        assert_eq!(order.settled, 100);
        assert!(order.read.is_empty() && order.latest.is_empty());
    }

    #[test]
    fn an_older_stream_read_late_does_not_undo_a_newer_one() {
        let mut order = EventOrder::default();
        // Stream 0 (carol went away, dave came) is late; stream 1 (carol is
        // back) is read first.
        assert_eq!(read(&mut order, 1, &[presence("carol", true)]), [true]);
        assert_eq!(
            read(
                &mut order,
                0,
                &[presence("carol", false), presence("dave", true), resync(7)]
            ),
            [false, true, true],
            "only what stream 1 superseded is dropped"
        );
        assert_eq!(order.settled, 2);
        assert!(order.read.is_empty() && order.latest.is_empty());
        // Later streams deliver as usual.
        assert_eq!(read(&mut order, 2, &[presence("carol", false)]), [true]);
    }

    #[test]
    fn joining_and_leaving_a_room_share_a_key() {
        let mut order = EventOrder::default();
        assert_eq!(read(&mut order, 3, &[added("rust")]), [true]);
        assert_eq!(read(&mut order, 2, &[left("rust")]), [false]);
        assert_eq!(read(&mut order, 1, &[added("go")]), [true]);
        assert_eq!(
            read(&mut order, 0, &[left("go"), added("rust"), left("c")]),
            [false, false, true],
            "stream 0's news of \"go\" and \"rust\" was superseded, of \"c\" not"
        );
        assert!(order.latest.is_empty());
    }

    #[test]
    fn a_stream_that_never_ends_is_given_up_after_a_bound() {
        let mut order = EventOrder::default();
        // Stream 0 never finishes; thousands after it do.
        let streams = MAX_AHEAD as u64 + 10;
        for index in 1..=streams {
            assert_eq!(read(&mut order, index, &[presence("carol", true)]), [true]);
        }
        assert!(order.read.len() <= MAX_AHEAD, "{} kept", order.read.len());
        assert!(order.latest.len() <= 1);
        assert_eq!(order.settled, streams + 1);
        // Should it end after all, what it says about a user is stale.
        assert_eq!(
            read(&mut order, 0, &[presence("erin", true), resync(1)]),
            [false, true]
        );
    }
}
