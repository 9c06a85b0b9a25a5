//! The hub's side of the cluster: hands events to the publisher without ever
//! waiting (a bounded queue; a full one is counted and logged, never blocks
//! the sender), and asks for a room's subject only while this node has a
//! connection in that room.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use chatroom_common::protocol::Seq;
use tokio::sync::mpsc;
use tracing::warn;

use super::repair::Repair;
use crate::store::{RoomId, UserId};

/// An event on its way to the other nodes.
#[derive(Debug)]
pub(super) struct Outgoing {
    /// Where it goes.
    pub(super) to: Audience,
    /// The event, encoded once for every connection anywhere.
    pub(super) event: Bytes,
}

/// Who, on the other nodes, an event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Audience {
    /// The connections in a room; `seq` for a message (kept in a header so a
    /// node can tell how far it has delivered).
    Room {
        /// The room.
        room: RoomId,
        /// The message's sequence number, if the event is one.
        seq: Option<Seq>,
    },
    /// Every logged-in user but one (news such as a new public room).
    AllBut(UserId),
    /// One user's connections (their other devices); `left` names a room
    /// they left, which the receiving node stops routing to them.
    User {
        /// The user.
        user: UserId,
        /// The room the event says they left, if it does.
        left: Option<RoomId>,
    },
    /// The nodes holding one user's connections, told how others now see
    /// the user (the payload is a `UserInfo`, not an event: after an avatar
    /// change, so their messages through any node carry the new picture).
    Details(UserId),
}

/// A subject a node listens to only while it has a connection it concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Topic {
    /// A room's events.
    Room(RoomId),
    /// A user's own events (for their devices).
    User(UserId),
}

/// What the subscription task is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Watch {
    /// The topic got its first connection on this node: subscribe to it.
    Start(Topic),
    /// The topic's last connection on this node went: unsubscribe.
    Stop(Topic),
}

/// Held by the hub; cheap to call from under its lock.
#[derive(Debug)]
pub struct Link {
    /// The publisher's queue.
    publish: mpsc::Sender<Outgoing>,
    /// The subscription task's orders (unbounded: one per room change, and
    /// losing one would leave a room deaf or subscribed for ever).
    watch: mpsc::UnboundedSender<Watch>,
    /// Events not published because the queue was full.
    dropped: AtomicU64,
    /// What was delivered here, per watched room: the local broadcasts are
    /// recorded so repair knows them.
    repair: Arc<Repair>,
}

impl Link {
    /// A link feeding these queues.
    pub(super) fn new(
        publish: mpsc::Sender<Outgoing>,
        watch: mpsc::UnboundedSender<Watch>,
        repair: Arc<Repair>,
    ) -> Self {
        Self {
            publish,
            watch,
            dropped: AtomicU64::new(0),
            repair,
        }
    }

    /// Queues a room's event for the other nodes (a message is also recorded
    /// as delivered here: the hub has just queued it for every connection).
    pub fn publish_room(&self, room: RoomId, seq: Option<Seq>, event: &Bytes) {
        if let Some(seq) = seq {
            self.repair.delivered(room, seq);
        }
        self.queue(Outgoing {
            to: Audience::Room { room, seq },
            event: event.clone(),
        });
    }

    /// Queues an event for every user but `except` on the other nodes.
    pub fn publish_all_but(&self, except: UserId, event: &Bytes) {
        self.queue(Outgoing {
            to: Audience::AllBut(except),
            event: event.clone(),
        });
    }

    /// Queues an event for `user`'s connections on the other nodes; `left`
    /// when it says they left that room.
    pub fn publish_user(&self, user: UserId, left: Option<RoomId>, event: &Bytes) {
        self.queue(Outgoing {
            to: Audience::User { user, left },
            event: event.clone(),
        });
    }

    /// Queues `user`'s new public details for the nodes holding their other
    /// connections (`details` is an encoded `UserInfo`).
    pub fn publish_details(&self, user: UserId, details: &Bytes) {
        self.queue(Outgoing {
            to: Audience::Details(user),
            event: details.clone(),
        });
    }

    /// This node now has a connection in `room`.
    pub fn start_watching(&self, room: RoomId) {
        self.repair.watch(room);
        let _ = self.watch.send(Watch::Start(Topic::Room(room)));
    }

    /// This node no longer has a connection in `room`.
    pub fn stop_watching(&self, room: RoomId) {
        self.repair.unwatch(room);
        let _ = self.watch.send(Watch::Stop(Topic::Room(room)));
    }

    /// `user` now has a connection on this node.
    pub fn start_watching_user(&self, user: UserId) {
        let _ = self.watch.send(Watch::Start(Topic::User(user)));
    }

    /// `user` no longer has a connection on this node.
    pub fn stop_watching_user(&self, user: UserId) {
        let _ = self.watch.send(Watch::Stop(Topic::User(user)));
    }

    /// Events that could not be queued for the other nodes so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn queue(&self, outgoing: Outgoing) {
        if self.publish.try_send(outgoing).is_err() {
            // Nodes elsewhere find the message by its seq (a gap, or their
            // sweep of room heads) and repair it from the database, so this
            // costs latency, not messages. Logged at powers of two.
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                warn!(
                    dropped = n,
                    "cluster publish queue full; events not sent to other nodes"
                );
            }
        }
    }
}
