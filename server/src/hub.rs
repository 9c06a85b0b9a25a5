//! Fan-out: which connection listens to which room and who is online; events
//! are queued on each connection's outbox (`outbox/`).
//!
//! An event is encoded once and the same `Bytes` is queued for every recipient.
//! A connection whose queue is full is not waited for: the event is dropped for
//! it and the room is marked for a `Resync`, which its writer sends once the
//! queue drains. History has every message, so nothing is lost. Presence
//! changes and news of new rooms wait beside the queue and are never dropped.
//!
//! In a cluster (`cluster/`), room events and news for everyone also go to the
//! other nodes, and events they publish are delivered here through
//! [`Hub::deliver_room`] and [`Hub::deliver_all_but`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use chatroom_common::codec;
use chatroom_common::protocol::{Event, Seq, UserInfo};

use crate::cluster::Link;
use crate::outbox::{Outbox, Waiting};
use crate::store::{RoomId, UserId};

/// Identifies one connection for the life of the process.
pub type ConnId = u64;

/// A logged-in connection that closed.
#[derive(Debug, PartialEq, Eq)]
pub struct Departed {
    /// Its user.
    pub user: UserId,
    /// The user as others see them.
    pub info: UserInfo,
    /// Whether it was the user's last connection here.
    pub last: bool,
    /// When it was the last: the rooms it was in (id and name), where the
    /// user went offline.
    pub rooms: Vec<(RoomId, String)>,
}

#[derive(Debug)]
struct ConnEntry {
    outbox: Outbox,
    user: Option<(UserId, UserInfo)>,
    rooms: HashSet<RoomId>,
}

#[derive(Debug, Default)]
struct Inner {
    conns: HashMap<ConnId, ConnEntry>,
    rooms: HashMap<RoomId, HashSet<ConnId>>,
    /// Open logged-in connections per user.
    online: HashMap<UserId, usize>,
    /// Room names, for events that name the room.
    names: HashMap<RoomId, String>,
}

/// The in-memory routing table. A std mutex guards it; it is never held across an await.
#[derive(Debug, Default)]
pub struct Hub {
    inner: Mutex<Inner>,
    /// The other nodes, when this one is part of a cluster: room events and
    /// news for everyone are also queued for them, and rooms with a
    /// connection here are watched.
    cluster: OnceLock<Arc<Link>>,
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Links this hub to the other nodes of a cluster (once, at start).
    pub fn attach_cluster(&self, link: Arc<Link>) {
        let _ = self.cluster.set(link);
    }

    /// Tells the cluster link, if any, which rooms gained their first or lost
    /// their last connection here. Called with the routing table still
    /// locked, so the orders reach the link in the order the table changed:
    /// sent after the unlock, a subscribe and a disconnect on two threads
    /// could swap them and leave a room with a connection here unwatched.
    /// (The link only queues; nothing it calls takes this lock.)
    fn watch(&self, started: Option<RoomId>, stopped: &[RoomId]) {
        if let Some(link) = self.cluster.get() {
            if let Some(room) = started {
                link.start_watching(room);
            }
            for &room in stopped {
                link.stop_watching(room);
            }
        }
    }

    /// Registers a new connection (not yet logged in).
    pub fn connect(&self, conn: ConnId, outbox: Outbox) {
        self.lock().conns.insert(
            conn,
            ConnEntry {
                outbox,
                user: None,
                rooms: HashSet::new(),
            },
        );
    }

    /// Marks the connection as logged in; returns true if this is the user's
    /// first connection (they just came online).
    pub fn login(&self, conn: ConnId, user: UserId, info: UserInfo) -> bool {
        let mut inner = self.lock();
        let Some(entry) = inner.conns.get_mut(&conn) else {
            return false;
        };
        if entry.user.is_some() {
            return false;
        }
        entry.user = Some((user, info));
        let count = inner.online.entry(user).or_insert(0);
        *count += 1;
        let first = *count == 1;
        if first && let Some(link) = self.cluster.get() {
            link.start_watching_user(user);
        }
        drop(inner);
        first
    }

    /// Routes the room's events to this connection.
    pub fn subscribe(&self, conn: ConnId, room: RoomId, name: &str) {
        let mut started = None;
        {
            let mut inner = self.lock();
            if let Some(entry) = inner.conns.get_mut(&conn) {
                entry.rooms.insert(room);
                let members = inner.rooms.entry(room).or_default();
                let first = members.is_empty();
                if members.insert(conn) && first {
                    started = Some(room);
                }
                inner.names.insert(room, name.to_owned());
            }
            self.watch(started, &[]);
        }
    }

    /// Routes the room's events to every connection of `user`.
    pub fn subscribe_user(&self, user: UserId, room: RoomId, name: &str) -> Vec<ConnId> {
        let mut inner = self.lock();
        inner.names.insert(room, name.to_owned());
        let first = inner.rooms.get(&room).is_none_or(HashSet::is_empty);
        let conns: Vec<ConnId> = inner
            .conns
            .iter()
            .filter(|(_, e)| e.user.as_ref().is_some_and(|(id, _)| *id == user))
            .map(|(&c, _)| c)
            .collect();
        for &c in &conns {
            if let Some(entry) = inner.conns.get_mut(&c) {
                entry.rooms.insert(room);
            }
            inner.rooms.entry(room).or_default().insert(c);
        }
        self.watch((first && !conns.is_empty()).then_some(room), &[]);
        drop(inner);
        conns
    }

    /// Stops routing the room's events to every connection of `user`; returns
    /// those connections.
    pub fn unsubscribe_user(&self, user: UserId, room: RoomId) -> Vec<ConnId> {
        let mut inner = self.lock();
        let conns: Vec<ConnId> = inner
            .conns
            .iter()
            .filter(|(_, e)| e.user.as_ref().is_some_and(|(id, _)| *id == user))
            .map(|(&c, _)| c)
            .collect();
        for &c in &conns {
            if let Some(entry) = inner.conns.get_mut(&c) {
                entry.rooms.remove(&room);
            }
            if let Some(set) = inner.rooms.get_mut(&room) {
                set.remove(&c);
            }
        }
        let emptied = inner.rooms.get(&room).is_some_and(HashSet::is_empty);
        if emptied {
            inner.rooms.remove(&room);
        }
        if emptied {
            self.watch(None, &[room]);
        }
        drop(inner);
        conns
    }

    /// Removes a connection; for a logged-in one, who it was and whether it
    /// was their last here.
    pub fn disconnect(&self, conn: ConnId) -> Option<Departed> {
        let mut inner = self.lock();
        let entry = inner.conns.remove(&conn)?;
        let mut emptied = Vec::new();
        for room in &entry.rooms {
            if let Some(set) = inner.rooms.get_mut(room) {
                set.remove(&conn);
                if set.is_empty() {
                    inner.rooms.remove(room);
                    emptied.push(*room);
                }
            }
        }
        self.watch(None, &emptied);
        let (user, info) = entry.user?;
        let remaining = inner.online.get_mut(&user).map(|c| {
            *c -= 1;
            *c
        });
        if remaining == Some(0) {
            inner.online.remove(&user);
            if let Some(link) = self.cluster.get() {
                link.stop_watching_user(user);
            }
            let rooms = entry
                .rooms
                .into_iter()
                .map(|r| (r, inner.names.get(&r).cloned().unwrap_or_default()))
                .collect();
            Some(Departed {
                user,
                info,
                last: true,
                rooms,
            })
        } else {
            Some(Departed {
                user,
                info,
                last: false,
                rooms: Vec::new(),
            })
        }
    }

    /// Replaces the user's public details (after an avatar change) on all
    /// their connections here, and tells the nodes holding their others.
    pub fn change_user(&self, user: UserId, info: UserInfo) {
        if let Some(link) = self.cluster.get()
            && let Ok(bytes) = codec::encode(&info)
        {
            link.publish_details(user, &Bytes::from(bytes));
        }
        self.update_user(user, info);
    }

    /// Replaces the user's public details on all their connections here.
    pub fn update_user(&self, user: UserId, info: UserInfo) {
        let mut inner = self.lock();
        for entry in inner.conns.values_mut() {
            if let Some((id, old)) = entry.user.as_mut()
                && *id == user
            {
                *old = info.clone();
            }
        }
    }

    /// For a `Send` on `conn` to the room named `name` (case-folded): the room's
    /// id if this connection is subscribed to it, and the sender as others see
    /// them now (the hub follows avatar changes on every connection). One lock,
    /// no store trip. A routing hint, not the authority: the store checks
    /// membership in the transaction that appends the message.
    pub fn send_route(&self, conn: ConnId, name: &str) -> (Option<RoomId>, Option<UserInfo>) {
        let inner = self.lock();
        let Some(entry) = inner.conns.get(&conn) else {
            return (None, None);
        };
        let room = entry
            .rooms
            .iter()
            .copied()
            .find(|room| inner.names.get(room).is_some_and(|n| n == name));
        (room, entry.user.as_ref().map(|(_, info)| info.clone()))
    }

    /// The user as others see them, if they have a connection here.
    pub fn user_info(&self, user: UserId) -> Option<UserInfo> {
        let inner = self.lock();
        if !inner.online.contains_key(&user) {
            return None;
        }
        inner
            .conns
            .values()
            .filter_map(|e| e.user.as_ref())
            .find(|(id, _)| *id == user)
            .map(|(_, info)| info.clone())
    }

    /// Users with a connection here.
    pub fn online_users(&self) -> Vec<UserId> {
        self.lock().online.keys().copied().collect()
    }

    /// Whether `user` has at least one logged-in connection.
    pub fn is_online(&self, user: UserId) -> bool {
        self.lock().online.contains_key(&user)
    }

    /// Distinct users with a connection subscribed to the room.
    pub fn online_in(&self, room: RoomId) -> Vec<UserInfo> {
        let inner = self.lock();
        let mut seen = HashSet::new();
        let mut users = Vec::new();
        for conn in inner.rooms.get(&room).into_iter().flatten() {
            if let Some((id, info)) = inner.conns.get(conn).and_then(|e| e.user.as_ref())
                && seen.insert(*id)
            {
                users.push(info.clone());
            }
        }
        users.sort_by(|a, b| a.username.cmp(&b.username));
        users
    }

    /// Queues an encoded event for every connection subscribed to the room.
    /// `seq` is the message's sequence number (for a resync mark if a queue is full).
    /// In a cluster the event is also queued for the other nodes.
    pub fn broadcast(&self, room: RoomId, room_name: &str, seq: Option<Seq>, event: &Bytes) {
        {
            let inner = self.lock();
            for conn in inner.rooms.get(&room).into_iter().flatten() {
                if let Some(entry) = inner.conns.get(conn) {
                    entry.outbox.queue(room_name, seq, event);
                }
            }
        }
        if let Some(link) = self.cluster.get() {
            link.publish_room(room, seq, event);
        }
    }

    /// Queues a room's event another node published for this node's
    /// connections in the room (never published again).
    pub fn deliver_room(&self, room: RoomId, seq: Option<Seq>, event: &Bytes) {
        if seq.is_none()
            && let Some(item) = Waiting::presence_from(room, event.clone())
        {
            self.deliver_presence(room, &item);
            return;
        }
        let inner = self.lock();
        let name = inner.names.get(&room).map_or("", String::as_str);
        for conn in inner.rooms.get(&room).into_iter().flatten() {
            if let Some(entry) = inner.conns.get(conn) {
                entry.outbox.queue(name, seq, event);
            }
        }
    }

    /// Encodes `event` once and queues it for every connection subscribed to
    /// the room (see [`Hub::broadcast`]). An event that cannot be encoded is a
    /// bug, logged rather than sent.
    pub fn broadcast_event(&self, room: RoomId, room_name: &str, seq: Option<Seq>, event: &Event) {
        if let Some(bytes) = encode(event) {
            self.broadcast(room, room_name, seq, &bytes);
        }
    }

    /// Tells the connections in a room, here and on the other nodes, that
    /// `user` came (`online`) or went. The change is encoded once; it waits
    /// beside each connection's queue, replacing one of theirs for the same
    /// room that has not gone out yet.
    pub fn broadcast_presence(&self, room: RoomId, room_name: &str, user: &UserInfo, online: bool) {
        let Some(item) = Waiting::presence(room, room_name, user, online) else {
            return;
        };
        self.deliver_presence(room, &item);
        if let Some(link) = self.cluster.get() {
            link.publish_room(room, None, item.event());
        }
    }

    /// Puts a presence change beside the queues of this node's connections in its room.
    fn deliver_presence(&self, room: RoomId, item: &Arc<Waiting>) {
        let inner = self.lock();
        for conn in inner.rooms.get(&room).into_iter().flatten() {
            if let Some(entry) = inner.conns.get(conn) {
                entry.outbox.queue_waiting(item);
            }
        }
    }

    /// The client on `conn` reads `Batch` events.
    pub fn enable_batches(&self, conn: ConnId) {
        if let Some(entry) = self.lock().conns.get(&conn) {
            entry.outbox.enable_batches();
        }
    }

    /// Encodes `event` once and puts it beside the queue of every logged-in
    /// connection except `user`'s own (news about the server as a whole, such
    /// as a new public room). One pass over the connections under the lock.
    pub fn send_event_to_others(&self, user: UserId, event: &Event) {
        let Some(bytes) = encode(event) else { return };
        self.deliver_all_but(user, &bytes);
        if let Some(link) = self.cluster.get() {
            link.publish_all_but(user, &bytes);
        }
    }

    /// Puts an encoded event beside the queue of every logged-in connection
    /// here except `user`'s (also for news another node published): news for
    /// everyone waits rather than queues, so a crowd making rooms costs each
    /// connection a few batches, not a stream per room.
    pub fn deliver_all_but(&self, user: UserId, event: &Bytes) {
        let item = Waiting::news(event.clone());
        let inner = self.lock();
        for entry in inner.conns.values() {
            if entry.user.as_ref().is_some_and(|(id, _)| *id != user) {
                entry.outbox.queue_waiting(&item);
            }
        }
    }

    /// Encodes `event` once and queues it for `user`'s connections but
    /// `except` (the one that made the change), here and on the other nodes.
    /// `left` names the room the event says they left, so other nodes stop
    /// routing it to them too.
    pub fn send_event_to_user(
        &self,
        user: UserId,
        except: Option<ConnId>,
        left: Option<RoomId>,
        event: &Event,
    ) {
        let Some(bytes) = encode(event) else { return };
        self.deliver_user(user, except, &bytes);
        if let Some(link) = self.cluster.get() {
            link.publish_user(user, left, &bytes);
        }
    }

    /// Queues an encoded event for `user`'s connections here but `except`.
    /// A room joined or left waits beside the queue, where a full queue
    /// cannot drop it (nothing would tell the device later) and a later
    /// change of the same room replaces it.
    pub fn deliver_user(&self, user: UserId, except: Option<ConnId>, event: &Bytes) {
        let membership = Waiting::membership(event.clone());
        let inner = self.lock();
        for (&conn, entry) in &inner.conns {
            if Some(conn) != except && entry.user.as_ref().is_some_and(|(id, _)| *id == user) {
                match &membership {
                    Some(item) => entry.outbox.queue_waiting(item),
                    None => entry.outbox.queue("", None, event),
                }
            }
        }
    }

    /// Number of registered connections (for tests and metrics).
    pub fn connection_count(&self) -> usize {
        self.lock().conns.len()
    }
}

/// An event's wire bytes, shared by every recipient's queue.
fn encode(event: &Event) -> Option<Bytes> {
    match codec::encode(event) {
        Ok(bytes) => Some(Bytes::from(bytes)),
        Err(e) => {
            tracing::warn!("encoding an event failed: {e}");
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chatroom_common::protocol::{RoomInfo, RoomKind};

    use super::*;
    use crate::outbox::outbox;

    fn info(name: &str) -> UserInfo {
        UserInfo {
            username: name.into(),
            avatar: None,
        }
    }

    #[test]
    fn presence_waits_for_the_room_s_connections_only() {
        let hub = Hub::default();
        let (a, mut ra) = outbox(4);
        let (b, rb) = outbox(4);
        hub.connect(1, a);
        hub.connect(2, b);
        hub.login(1, 10, info("alice"));
        hub.login(2, 11, info("bob"));
        hub.subscribe(1, 7, "lobby");
        hub.broadcast_presence(7, "lobby", &info("carol"), true);
        // Another node's presence event waits the same way, not in the queue.
        let remote = Event::Presence {
            room: "lobby".into(),
            user: info("dave"),
            online: false,
        };
        hub.deliver_room(7, None, &Bytes::from(codec::encode(&remote).unwrap()));
        assert!(ra.rx.try_recv().is_err());
        let events = ra.take_waiting();
        assert_eq!(events.len(), 2, "no batches asked for");
        let mut names: Vec<String> = events
            .iter()
            .map(|e| match codec::decode::<Event>(e, 1024).unwrap() {
                Event::Presence { user, .. } => user.username,
                other => panic!("{other:?}"),
            })
            .collect();
        names.sort();
        assert_eq!(names, ["carol", "dave"]);
        assert!(rb.take_waiting().is_empty());
    }

    #[test]
    fn rooms_joined_or_left_elsewhere_wait_beside_a_full_queue() {
        let hub = Hub::default();
        let (a, mut ra) = outbox(1);
        let (b, _rb) = outbox(1);
        hub.connect(1, a.clone());
        hub.connect(2, b);
        hub.login(1, 10, info("alice"));
        hub.login(2, 10, info("alice"));
        // The queue of connection 1 is full: a message would be dropped.
        let message = Bytes::from_static(b"a message");
        a.queue("lobby", Some(1), &message);
        let encoded = |event: &Event| Bytes::from(codec::encode(event).unwrap());
        let added = |name: &str| {
            Event::RoomAdded(RoomInfo {
                name: name.into(),
                kind: RoomKind::Public,
                latest_seq: 0,
                peer: None,
                member: true,
            })
        };
        // Joined "rust" and "go" on connection 2, then left "rust" again.
        hub.send_event_to_user(10, Some(2), None, &added("rust"));
        hub.send_event_to_user(10, Some(2), None, &added("go"));
        hub.send_event_to_user(
            10,
            Some(2),
            Some(3),
            &Event::RoomLeft {
                room: "rust".into(),
            },
        );
        assert_eq!(ra.rx.try_recv().unwrap(), message);
        assert!(ra.rx.try_recv().is_err(), "nothing more was queued");
        let mut waited: Vec<Bytes> = ra.take_waiting();
        waited.sort();
        let mut expected = vec![
            encoded(&added("go")),
            encoded(&Event::RoomLeft {
                room: "rust".into(),
            }),
        ];
        expected.sort();
        assert_eq!(
            waited, expected,
            "the latest change of each room, none lost"
        );
    }

    #[test]
    fn presence_counts_connections() {
        let hub = Hub::default();
        let (a, _ra) = outbox(4);
        let (b, _rb) = outbox(4);
        hub.connect(1, a);
        hub.connect(2, b);
        assert!(hub.login(1, 10, info("alice")));
        assert!(!hub.login(2, 10, info("alice")));
        hub.subscribe(1, 7, "lobby");
        hub.subscribe(2, 7, "lobby");
        assert_eq!(hub.online_in(7).len(), 1);
        let first = hub.disconnect(1).unwrap();
        assert!(!first.last && first.rooms.is_empty());
        assert_eq!(hub.user_info(10), Some(info("alice")));
        let second = hub.disconnect(2).unwrap();
        assert!(second.last);
        assert_eq!(second.rooms, vec![(7, "lobby".to_string())]);
        assert_eq!(hub.user_info(10), None);
        assert!(hub.online_users().is_empty());
        assert!(!hub.is_online(10));
    }
}
