//! Events that wait beside a connection's queue rather than in it: presence
//! changes, news of public rooms, and the user's rooms joined or left on
//! another device. They are never dropped, a later one replaces an earlier
//! one with the same key, and the writer sends all that waited together, as
//! `Batch` events when the client reads them.
//!
//! An event is encoded once when it happens and every recipient shares those
//! bytes; a `Batch` is a fixed prefix, an array header and the waiting
//! events' own bytes one after another (checked against the real encoder by
//! the tests), so batching copies bytes but encodes nothing per recipient.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{BufMut, Bytes, BytesMut};
use chatroom_common::codec;
use chatroom_common::protocol::{Event, MAX_EVENT_BYTES, UserInfo};
use tokio::sync::Notify;

use crate::store::RoomId;

/// `{"Presence": ` in MessagePack: how every encoded `Presence` event begins.
const PRESENCE_PREFIX: &[u8] = b"\x81\xa8Presence";
/// `{"Batch": {"events": ` in MessagePack, before the array header.
const BATCH_PREFIX: &[u8] = b"\x81\xa5Batch\x81\xa6events";
/// The longest array header.
const ARRAY_HEADER: usize = 5;
/// A batch stops growing at this many bytes: a quarter of what a client
/// reads in one event, so a batch fits a few datagrams and a lost packet
/// delays few events.
pub const BATCH_BYTES: usize = 16 * 1024;
const _: () = assert!(BATCH_BYTES + BATCH_PREFIX.len() + ARRAY_HEADER <= MAX_EVENT_BYTES);

/// What makes two waiting events the same, so the later replaces the earlier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A user's presence in a room: only the latest matters.
    Presence(RoomId, Arc<str>),
    /// The user's membership of a room (joined: `RoomAdded`, left:
    /// `RoomLeft`), by the room's name: only the latest matters.
    Membership(Arc<str>),
    /// Anything else, by its bytes: the same news twice is told once.
    Event(Bytes),
}

/// One encoded event that waits rather than queues, shared by its recipients.
#[derive(Debug)]
pub struct Waiting {
    key: Key,
    event: Bytes,
}

impl Waiting {
    /// A presence change. `None` only if encoding fails (a bug, logged).
    pub fn presence(
        room: RoomId,
        room_name: &str,
        user: &UserInfo,
        online: bool,
    ) -> Option<Arc<Self>> {
        let event = Event::Presence {
            room: room_name.to_owned(),
            user: user.clone(),
            online,
        };
        match codec::encode(&event) {
            Ok(bytes) => Some(Arc::new(Self {
                key: Key::Presence(room, user.username.as_str().into()),
                event: Bytes::from(bytes),
            })),
            Err(e) => {
                tracing::warn!("encoding a presence change failed: {e}");
                None
            }
        }
    }

    /// The presence change an encoded event carries, if it is a `Presence`
    /// event (one another node published, say).
    pub fn presence_from(room: RoomId, event: Bytes) -> Option<Arc<Self>> {
        if !event.starts_with(PRESENCE_PREFIX) {
            return None;
        }
        match codec::decode::<Event>(&event, MAX_EVENT_BYTES) {
            Ok(Event::Presence { user, .. }) => Some(Arc::new(Self {
                key: Key::Presence(room, user.username.into()),
                event,
            })),
            _ => None,
        }
    }

    /// The membership change an encoded event carries, if it is a
    /// `RoomAdded` or `RoomLeft` (this node's or one another node published).
    pub fn membership(event: Bytes) -> Option<Arc<Self>> {
        let room = match codec::decode::<Event>(&event, MAX_EVENT_BYTES) {
            Ok(Event::RoomAdded(info)) => info.name,
            Ok(Event::RoomLeft { room }) => room,
            _ => return None,
        };
        Some(Arc::new(Self {
            key: Key::Membership(room.into()),
            event,
        }))
    }

    /// An encoded event that is news for many (a new public room).
    pub fn news(event: Bytes) -> Arc<Self> {
        Arc::new(Self {
            key: Key::Event(event.clone()),
            event,
        })
    }

    /// The encoded event.
    pub fn event(&self) -> &Bytes {
        &self.event
    }
}

/// The events waiting for one connection.
#[derive(Debug, Default)]
pub(super) struct WaitingQueue {
    waiting: Mutex<HashMap<Key, Arc<Waiting>>>,
    /// The client reads `Batch`.
    batches: AtomicBool,
    /// The writer is gone: nothing here would ever be taken.
    closed: AtomicBool,
    /// Wakes the writer when the map stops being empty.
    queued: Notify,
}

impl WaitingQueue {
    pub(super) fn push(&self, item: &Arc<Waiting>) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let was_empty = {
            let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            let was_empty = waiting.is_empty();
            waiting.insert(item.key.clone(), item.clone());
            was_empty
        };
        if was_empty {
            self.queued.notify_one();
        }
    }

    /// Drops what waits and refuses more: when a crowd leaves at once, the
    /// connections already closing would otherwise each collect a change
    /// from every other one until the hub lets go of them.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        drop(std::mem::take(
            &mut *self.waiting.lock().unwrap_or_else(|e| e.into_inner()),
        ));
    }

    pub(super) fn has_any(&self) -> bool {
        !self
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    pub(super) fn enable_batches(&self) {
        self.batches.store(true, Ordering::Relaxed);
    }

    pub(super) async fn queued(&self) {
        self.queued.notified().await;
    }

    pub(super) fn take(&self) -> Vec<Bytes> {
        let waiting = std::mem::take(&mut *self.waiting.lock().unwrap_or_else(|e| e.into_inner()));
        let items: Vec<Arc<Waiting>> = waiting.into_values().collect();
        if items.len() > 1 && self.batches.load(Ordering::Relaxed) {
            batches(&items)
        } else {
            items.iter().map(|item| item.event.clone()).collect()
        }
    }
}

/// The items as `Batch` events of at most [`BATCH_BYTES`] of events each.
fn batches(items: &[Arc<Waiting>]) -> Vec<Bytes> {
    let mut events = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < items.len() && (end == start || bytes + items[end].event.len() <= BATCH_BYTES) {
            bytes += items[end].event.len();
            end += 1;
        }
        events.push(batch(&items[start..end]));
        start = end;
    }
    events
}

/// One `Batch` of the items' events; a single item is sent as itself.
pub(super) fn batch(items: &[Arc<Waiting>]) -> Bytes {
    if let [item] = items {
        return item.event.clone();
    }
    let len: usize = items.iter().map(|i| i.event.len()).sum();
    let mut out = BytesMut::with_capacity(BATCH_PREFIX.len() + ARRAY_HEADER + len);
    out.put_slice(BATCH_PREFIX);
    // A MessagePack array header: fixarray, array 16 or array 32.
    let n = items.len();
    if let Ok(small) = u8::try_from(n)
        && small < 16
    {
        out.put_u8(0x90 | small);
    } else if let Ok(n) = u16::try_from(n) {
        out.put_u8(0xdc);
        out.put_u16(n);
    } else {
        out.put_u8(0xdd);
        out.put_u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    for item in items {
        out.put_slice(&item.event);
    }
    out.freeze()
}
