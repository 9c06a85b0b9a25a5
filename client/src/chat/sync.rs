//! Keeping each joined room complete: a [`Timeline`] per room orders and
//! de-duplicates what arrives (live events, join history, history pages) and
//! reports the gaps that `rooms.rs` then fills with `HistoryQuery::After`, so
//! nothing is lost across a dropped connection or a server-side resync. Only
//! messages new to the timeline reach the UI, so nothing is shown twice.
//!
//! This is the state only; the requests run in tasks beside the loop, and the
//! loop applies their answers here.

use std::collections::{BTreeMap, BTreeSet};

use chatroom_common::protocol::{ChatMessage, RoomInfo, RoomKind};
use chatroom_common::timeline::{Inserted, Timeline};

use super::{Inbox, UiEvent};
use crate::session::Joined;

/// Messages each room's tracker keeps. The UI keeps its own, larger store; this
/// one only needs the recent past, for de-duplication and gap detection (it
/// must exceed a join's history plus one page, so a fill stays contiguous).
const TRACKED: usize = 4096;
/// Live messages held for a room whose join has not answered yet.
const HELD: usize = TRACKED;

/// One joined room as the worker tracks it.
pub struct RoomSync {
    /// The room as the server last described it.
    pub info: RoomInfo,
    /// Recent messages by sequence number: ordering, duplicates, gaps.
    pub timeline: Timeline,
    /// History requests on their way for this room; a fill starts only when
    /// none is, so one gap is not fetched twice.
    pub fetches: u32,
    /// Pages fetched since the room was last complete, so a broken server
    /// cannot keep us fetching for ever.
    pub fill_pages: usize,
}

/// Every joined room, by the server's (case-folded) name.
#[derive(Default)]
pub struct Rooms {
    /// The rooms.
    pub map: BTreeMap<String, RoomSync>,
    /// Joins on their way, by the lower-cased name asked for, so a room is
    /// not asked for twice while its answer travels.
    pub joining: BTreeSet<String>,
    /// Live messages for rooms not joined yet, by lower-cased room name: they
    /// can overtake the join's answer, and the join's history may not hold them.
    held: BTreeMap<String, Vec<ChatMessage>>,
}

impl Rooms {
    /// Names of the joined public rooms (what to rejoin after a reconnect).
    pub fn public_names(&self) -> Vec<String> {
        self.map
            .values()
            .filter(|r| r.info.kind == RoomKind::Public)
            .map(|r| r.info.name.clone())
            .collect()
    }

    /// Inserts messages into a room's timeline and reports those that were new.
    pub fn accept(&mut self, inbox: &Inbox, room: &str, messages: Vec<ChatMessage>, unread: bool) {
        let Some(sync) = self.map.get_mut(room) else {
            return;
        };
        let fresh = insert_all(&mut sync.timeline, messages);
        report(inbox, room, fresh, unread);
    }

    /// Keeps a live message for a room not joined yet, until its join answers.
    pub fn hold(&mut self, message: ChatMessage) {
        let held = self.held.entry(message.room.to_lowercase()).or_default();
        if held.len() < HELD {
            held.push(message);
        }
    }

    /// Forgets what was held for a room whose join failed.
    pub fn drop_held(&mut self, asked: &str) {
        self.held.remove(&asked.to_lowercase());
    }

    /// Whether any room has a gap to fill.
    pub fn any_missing(&self) -> bool {
        self.map.values().any(|r| r.timeline.missing().is_some())
    }

    /// Forgets the requests on their way (their connection is gone, so their
    /// answers will be ignored): joins and fills may start again at once.
    pub fn forget_requests(&mut self) {
        self.joining.clear();
        // The next join's history (and its gap fill) brings these back.
        self.held.clear();
        for sync in self.map.values_mut() {
            sync.fetches = 0;
            sync.fill_pages = 0;
        }
    }

    /// Applies a join's answer: records the room, reports who is online and the
    /// messages not seen yet (with what arrived live meanwhile), and returns
    /// the room's name. `news` says whether a first join's history is unread (a
    /// room someone else opened for us) or old news (a room the user chose).
    pub fn joined(&mut self, inbox: &Inbox, joined: Joined, news: bool) -> String {
        let key = joined.room.name.clone();
        let first_time = !self.map.contains_key(&key);
        let sync = self.map.entry(key.clone()).or_insert_with(|| RoomSync {
            info: joined.room.clone(),
            timeline: Timeline::new(TRACKED),
            fetches: 0,
            fill_pages: 0,
        });
        sync.info = joined.room.clone();
        sync.timeline.note_latest(joined.room.latest_seq);
        inbox.push(UiEvent::Joined {
            room: joined.room,
            online: joined.online,
        });
        let fresh = insert_all(&mut sync.timeline, joined.history);
        // History shown on a first join is old news; after a reconnect it is not.
        report(inbox, &key, fresh, news || !first_time);
        if let Some(held) = self.held.remove(&key.to_lowercase()) {
            let fresh = insert_all(&mut sync.timeline, held);
            report(inbox, &key, fresh, true);
        }
        key
    }

    /// Applies a page of history after a gap (or a resync point); returns
    /// whether it brought anything new, which is when fetching on makes sense.
    pub fn page(
        &mut self,
        inbox: &Inbox,
        room: &str,
        page: Vec<ChatMessage>,
        latest: chatroom_common::protocol::Seq,
    ) -> bool {
        let Some(sync) = self.map.get_mut(room) else {
            return false;
        };
        sync.timeline.note_latest(latest);
        let fresh = insert_all(&mut sync.timeline, page);
        let progressed = !fresh.is_empty();
        report(inbox, room, fresh, true);
        progressed
    }
}

fn insert_all(timeline: &mut Timeline, messages: Vec<ChatMessage>) -> Vec<ChatMessage> {
    let mut fresh: Vec<ChatMessage> = messages
        .into_iter()
        .filter(|m| timeline.insert(m.clone()) == Inserted::New)
        .collect();
    fresh.sort_by_key(|m| m.seq);
    fresh
}

/// Reports messages to the UI (nothing when there are none).
pub fn report(inbox: &Inbox, room: &str, messages: Vec<ChatMessage>, unread: bool) {
    if !messages.is_empty() {
        inbox.push(UiEvent::Messages {
            room: room.to_owned(),
            messages,
            unread,
        });
    }
}
