//! Room requests: the room list, joins (after a login every room at once),
//! creating rooms and opening direct ones, gap fills, resyncs and older pages.
//! Each runs in a task beside the loop, and the loop applies the answer to the
//! room's timeline (`sync.rs`), so a long catch-up in one room never holds up
//! another room, a send, or a pushed message.

use chatroom_common::protocol::{
    ChatMessage, HistoryQuery, MAX_HISTORY_PAGE, RoomInfo, RoomKind, Seq,
};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::time::Instant;

use super::UiEvent;
use super::notice::About;
use super::tasks::{Done, Failure};
use super::worker::Worker;
use crate::session::Joined;

/// Messages arrive on separate streams, so a gap often closes by itself within
/// milliseconds; only a gap still open after this is fetched from history.
const GAP_GRACE: Duration = Duration::from_millis(300);
/// Most history pages fetched for one gap, so a broken server cannot loop us.
const MAX_FILL_PAGES: usize = 10_000;
/// The room every account is in.
const LOBBY: &str = "lobby";

impl Worker {
    /// Asks for the room list; after a login (`rejoin`) every room it names is joined.
    pub(super) fn list_rooms(&mut self, rejoin: bool) {
        let Some(session) = self.session() else {
            return;
        };
        let what = if rejoin {
            About::Rejoin
        } else {
            About::RoomList
        };
        self.spawn(async move {
            let result = session.rooms().await.map_err(Failure::of(what));
            Done::RoomList { rejoin, result }
        });
    }

    /// The room list arrived. After a login: join the lobby, the remembered
    /// public rooms and every direct room, all at once; each join then fills
    /// its room's gap from history.
    pub(super) fn room_list(&mut self, rejoin: bool, result: Result<Vec<RoomInfo>, Failure>) {
        let list = match result {
            Ok(list) => list,
            Err(failure) => return self.failed(failure),
        };
        let mut wanted = Vec::new();
        if rejoin && let Some(account) = &self.account {
            wanted.push(LOBBY.to_owned());
            wanted.extend(account.rooms.iter().cloned());
            wanted.extend(self.rooms.public_names());
            // Direct rooms, and public rooms joined on another device.
            wanted.extend(
                list.iter()
                    .filter(|r| r.member || r.kind == RoomKind::Direct)
                    .map(|r| r.name.clone()),
            );
        }
        self.inbox.push(UiEvent::RoomList(list));
        let mut seen = BTreeSet::new();
        for room in wanted {
            if seen.insert(room.to_lowercase()) {
                self.join(room, false);
            }
        }
    }

    /// Joins a room; `news` marks a first join's history unread (see `Rooms::joined`).
    pub(super) fn join(&mut self, room: String, news: bool) {
        let Some(session) = self.session() else {
            return self.offline_notice();
        };
        if !self.rooms.joining.insert(room.to_lowercase()) {
            // Already on its way; its answer covers this one.
            return;
        }
        self.spawn(async move {
            let result = join_answer(session.join(&room).await, &room);
            Done::Joined {
                asked: room,
                news,
                result,
            }
        });
    }

    /// Leaves a public room; when the server agrees, the room is forgotten.
    pub(super) fn leave(&mut self, room: String) {
        let Some(session) = self.session() else {
            return self.offline_notice();
        };
        self.spawn(async move {
            let result = session
                .leave(&room)
                .await
                .map_err(Failure::of(About::Leave(room.clone())));
            Done::Left { room, result }
        });
    }

    /// Forgets a room this user is no longer in: its timeline, its join or
    /// fills on their way, its unsent messages (they could only be refused
    /// now); the UI drops it.
    pub(super) fn forget_room(&mut self, room: &str) {
        let key = room.to_lowercase();
        self.rooms.map.remove(&key);
        self.rooms.joining.remove(&key);
        self.rooms.drop_held(&key);
        self.outbox.drop_room(room);
        self.inbox.push(UiEvent::Left { room: key });
    }

    /// Creates a public room, then joins it.
    pub(super) fn create_room(&mut self, name: String) {
        let Some(session) = self.session() else {
            return self.offline_notice();
        };
        self.spawn(async move {
            let (asked, result) = match session.create_room(&name).await {
                Ok(room) => (
                    room.name.clone(),
                    join_answer(session.join(&room.name).await, &room.name),
                ),
                Err(err) => (
                    name.clone(),
                    Err(Failure::of(About::Create(name.clone()))(err)),
                ),
            };
            Done::Joined {
                asked,
                news: false,
                result,
            }
        });
    }

    /// Opens the direct conversation with `user`, then joins it.
    pub(super) fn open_direct(&mut self, user: String) {
        let Some(session) = self.session() else {
            return self.offline_notice();
        };
        self.spawn(async move {
            let (asked, result) = match session.open_direct(&user).await {
                Ok(room) => (
                    room.name.clone(),
                    join_answer(session.join(&room.name).await, &room.name),
                ),
                Err(err) => (
                    user.clone(),
                    Err(Failure::of(About::Direct(user.clone()))(err)),
                ),
            };
            Done::Joined {
                asked,
                news: false,
                result,
            }
        });
    }

    /// A join ended: record the room and fill what it lacks.
    pub(super) fn joined(&mut self, asked: &str, news: bool, result: Result<Box<Joined>, Failure>) {
        self.rooms.joining.remove(&asked.to_lowercase());
        match result {
            Ok(joined) => {
                let room = self.rooms.joined(&self.inbox, *joined, news);
                self.fill(&room);
            }
            Err(failure) => {
                self.rooms.drop_held(asked);
                self.failed(failure);
            }
        }
    }

    /// A message pushed by the server.
    pub(super) fn live_message(&mut self, message: ChatMessage) {
        let room = message.room.clone();
        if !self.rooms.map.contains_key(&room) {
            // A room this account belongs to but this run has not opened yet
            // (or whose join has not answered): held for the join, and what
            // brought the room up is news.
            self.rooms.hold(message);
            return self.join(room, true);
        }
        self.rooms.accept(&self.inbox, &room, vec![message], true);
        if self.rooms.any_missing() && self.tick_at.is_none() {
            self.tick_at = Some(Instant::now() + GAP_GRACE);
        }
    }

    /// Starts filling every room with a gap.
    pub(super) fn fill_all(&mut self) {
        let gappy: Vec<String> = self
            .rooms
            .map
            .iter()
            .filter(|(_, sync)| sync.timeline.missing().is_some())
            .map(|(name, _)| name.clone())
            .collect();
        for room in gappy {
            self.fill(&room);
        }
    }

    /// Fetches the first page of a room's gap, unless a fetch is on its way
    /// (its answer looks again); each page that brings news starts the next.
    fn fill(&mut self, room: &str) {
        let Some(sync) = self.rooms.map.get_mut(room) else {
            return;
        };
        let Some((after, _)) = sync.timeline.missing() else {
            sync.fill_pages = 0;
            return;
        };
        if sync.fetches > 0 || sync.fill_pages >= MAX_FILL_PAGES {
            return;
        }
        sync.fill_pages += 1;
        self.fetch_after(room, after);
    }

    /// Fetches the page after `after`: for a gap, or after an `Event::Resync`.
    fn fetch_after(&mut self, room: &str, after: Seq) {
        let (Some(session), Some(sync)) = (self.session(), self.rooms.map.get_mut(room)) else {
            return;
        };
        sync.fetches += 1;
        let room = room.to_owned();
        self.spawn(async move {
            let query = HistoryQuery::After {
                after,
                limit: MAX_HISTORY_PAGE,
            };
            let result = session
                .history(&room, query)
                .await
                .map_err(Failure::of(About::MissedMessages));
            Done::Filled { room, result }
        });
    }

    /// A page after a gap or resync point arrived; fetch on while it brings news.
    pub(super) fn filled(&mut self, room: &str, result: Result<(Vec<ChatMessage>, Seq), Failure>) {
        if let Some(sync) = self.rooms.map.get_mut(room) {
            sync.fetches = sync.fetches.saturating_sub(1);
        }
        match result {
            // A page with nothing new (or nothing at all: the server has no
            // more past `after`, so the "known" latest was wrong) ends the fill
            // instead of asking the same again.
            Ok((page, latest)) => {
                if self.rooms.page(&self.inbox, room, page, latest) {
                    self.fill(room);
                }
            }
            Err(failure) => self.failed(failure),
        }
    }

    /// The server dropped events for us: page forward from where it says we
    /// are (or from our own last gap-free point, if earlier). The page tells
    /// the room's latest sequence number, and the fill goes on from there.
    pub(super) fn resync(&mut self, room: String, after_seq: Seq) {
        let Some(sync) = self.rooms.map.get(&room) else {
            return;
        };
        let after = after_seq.min(sync.timeline.contiguous_seq());
        self.fetch_after(&room, after);
    }

    /// Fetches the page before `before` for scrolling back; it goes straight to
    /// the UI, which keeps the long history (the tracker keeps only the recent past).
    pub(super) fn load_older(&mut self, room: String, before: Seq) {
        let Some(session) = self.session() else {
            return self.offline_notice();
        };
        self.spawn(async move {
            let query = HistoryQuery::Before {
                before: Some(before),
                limit: MAX_HISTORY_PAGE,
            };
            let result = session
                .history(&room, query)
                .await
                .map(|(page, _)| page)
                .map_err(Failure::of(About::OlderMessages));
            Done::Older { room, result }
        });
    }
}

/// A join's answer as a task reports it.
fn join_answer(
    result: Result<Joined, crate::ClientError>,
    room: &str,
) -> Result<Box<Joined>, Failure> {
    result
        .map(Box::new)
        .map_err(Failure::of(About::Join(room.to_owned())))
}
