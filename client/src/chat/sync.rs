//! Keeping each joined room complete: a [`Timeline`] per room orders and
//! de-duplicates what arrives (live events, join history, history pages), and
//! its gaps are filled with `HistoryQuery::After` so nothing is lost across a
//! dropped connection or a server-side resync. Only messages new to the
//! timeline reach the UI, so nothing is shown twice.

use std::collections::BTreeMap;

use chatroom_common::protocol::{
    ChatMessage, HistoryQuery, MAX_HISTORY_PAGE, RoomInfo, RoomKind, Seq,
};
use chatroom_common::timeline::{Inserted, Timeline};

use super::{Inbox, UiEvent};
use crate::{ClientError, Session};

/// Messages each room's tracker keeps. The UI keeps its own, larger store; this
/// one only needs the recent past, for de-duplication and gap detection (it
/// must exceed a join's history plus one page, so a fill stays contiguous).
const TRACKED: usize = 4096;
/// Most history pages fetched for one gap, so a broken server cannot loop us.
const MAX_FILL_PAGES: usize = 10_000;

/// One joined room as the worker tracks it.
pub struct RoomSync {
    /// The room as the server last described it.
    pub info: RoomInfo,
    /// Recent messages by sequence number: ordering, duplicates, gaps.
    pub timeline: Timeline,
}

/// Every joined room, by the server's (case-folded) name.
#[derive(Default)]
pub struct Rooms {
    /// The rooms.
    pub map: BTreeMap<String, RoomSync>,
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

    /// Whether any room has a gap to fill.
    pub fn any_missing(&self) -> bool {
        self.map.values().any(|r| r.timeline.missing().is_some())
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

fn report(inbox: &Inbox, room: &str, messages: Vec<ChatMessage>, unread: bool) {
    if !messages.is_empty() {
        inbox.push(UiEvent::Messages {
            room: room.to_owned(),
            messages,
            unread,
        });
    }
}

/// Joins (or rejoins) a room: records it, reports who is online and the
/// messages not seen yet, then fills any gap back to what was held before.
/// `news` says whether a first join's history is unread (a room someone else
/// opened for us) or old news (a room the user chose to join).
pub async fn join(
    session: &Session,
    inbox: &Inbox,
    rooms: &mut Rooms,
    name: &str,
    news: bool,
) -> Result<String, ClientError> {
    let joined = session.join(name).await?;
    let key = joined.room.name.clone();
    let first_time = !rooms.map.contains_key(&key);
    let sync = rooms.map.entry(key.clone()).or_insert_with(|| RoomSync {
        info: joined.room.clone(),
        timeline: Timeline::new(TRACKED),
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
    fill_gaps(session, inbox, sync).await?;
    Ok(key)
}

/// Fetches every range the timeline reports missing.
pub async fn fill_gaps(
    session: &Session,
    inbox: &Inbox,
    sync: &mut RoomSync,
) -> Result<(), ClientError> {
    let room = sync.info.name.clone();
    for _ in 0..MAX_FILL_PAGES {
        let Some((after, _)) = sync.timeline.missing() else {
            return Ok(());
        };
        let query = HistoryQuery::After {
            after,
            limit: MAX_HISTORY_PAGE,
        };
        let (page, latest) = session.history(&room, query).await?;
        if page.is_empty() {
            // The server has nothing past `after`: the "known" latest was wrong
            // (a message the server no longer has). Stop instead of looping.
            return Ok(());
        }
        sync.timeline.note_latest(latest);
        let fresh = insert_all(&mut sync.timeline, page);
        report(inbox, &room, fresh, true);
    }
    Ok(())
}

/// Catches up after the server dropped events for us: pages forward from
/// `after_seq` until the server's latest, then fills what is still missing.
pub async fn resync(
    session: &Session,
    inbox: &Inbox,
    sync: &mut RoomSync,
    after_seq: Seq,
) -> Result<(), ClientError> {
    let room = sync.info.name.clone();
    let mut after = after_seq.min(sync.timeline.contiguous_seq());
    for _ in 0..MAX_FILL_PAGES {
        let query = HistoryQuery::After {
            after,
            limit: MAX_HISTORY_PAGE,
        };
        let (page, latest) = session.history(&room, query).await?;
        sync.timeline.note_latest(latest);
        let Some(last) = page.last().map(|m| m.seq) else {
            break;
        };
        let full = page.len() >= MAX_HISTORY_PAGE as usize;
        let fresh = insert_all(&mut sync.timeline, page);
        report(inbox, &room, fresh, true);
        if !full || last >= latest {
            break;
        }
        after = last;
    }
    fill_gaps(session, inbox, sync).await
}

/// Fetches the page before `before` for scrolling back; it goes straight to the
/// UI, which keeps the long history (the tracker keeps only the recent past).
pub async fn load_older(
    session: &Session,
    inbox: &Inbox,
    room: &str,
    before: Seq,
) -> Result<(), ClientError> {
    let query = HistoryQuery::Before {
        before: Some(before),
        limit: MAX_HISTORY_PAGE,
    };
    let (page, _) = session.history(room, query).await?;
    report(inbox, room, page, false);
    Ok(())
}
