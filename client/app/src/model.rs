//! The UI's runtime picture of the chat (never persisted): joined rooms with
//! their messages, unread counts, online users and pending sends, built only
//! from the worker's events.

use std::collections::BTreeMap;
use std::time::Instant;

use std::time::Duration;

use chatroom_common::protocol::{ErrorCode, IdempotencyKey, RoomInfo, RoomKind, Seq, UserInfo};

use super::mentions::mentions;
use super::scroll::{Jump, ScrollState};
use super::store::MessageStore;
use chatroom_client::chat::{ConnStatus, UiEvent};

/// A message the user sent that the server has not acknowledged yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingView {
    /// The send's key.
    pub key: IdempotencyKey,
    /// The text.
    pub text: String,
    /// The names of the files going with it.
    pub files: Vec<String>,
    /// Why it was refused, if it was.
    pub failed: Option<Refused>,
}

/// Why a send was refused, as the worker reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The server's code, worded in the user's language when shown.
    pub code: Option<ErrorCode>,
    /// The reason in English, for a refusal without a code.
    pub reason: String,
}

/// One joined room as shown.
#[derive(Debug)]
pub struct RoomView {
    /// The room as the server describes it.
    pub info: RoomInfo,
    /// Its messages.
    pub store: MessageStore,
    /// Messages from others that arrived while another room was shown.
    pub unread: usize,
    /// Of those, the ones that mention the user (counted apart, as "@").
    pub mentions: usize,
    /// Members online now, by case-folded name.
    pub online: BTreeMap<String, UserInfo>,
    /// Sends not yet acknowledged, in order.
    pub pending: Vec<PendingView>,
    /// An older page was asked for and has not arrived.
    pub loading_older: bool,
    /// Where the list is scrolled and whether it follows new messages.
    pub scroll: ScrollState,
}

impl RoomView {
    /// An empty view of a room.
    pub fn new(info: RoomInfo) -> Self {
        Self {
            info,
            store: MessageStore::default(),
            unread: 0,
            mentions: 0,
            online: BTreeMap::new(),
            pending: Vec::new(),
            loading_older: false,
            scroll: ScrollState::default(),
        }
    }

    /// The name shown for the room: the peer's name for a direct room.
    pub fn title(&self) -> String {
        match (&self.info.kind, &self.info.peer) {
            (RoomKind::Direct, Some(peer)) => peer.clone(),
            _ => self.info.name.clone(),
        }
    }
}

/// Everything the chat screen shows.
#[derive(Debug)]
pub struct ChatModel {
    /// The logged-in user.
    pub me: Option<UserInfo>,
    /// One-time passwords left.
    pub otp_remaining: Option<u32>,
    /// The connection's state.
    pub status: ConnStatus,
    /// Joined rooms by name.
    pub rooms: BTreeMap<String, RoomView>,
    /// The room shown.
    pub selected: Option<String>,
    /// Every room the server listed (to offer joining).
    pub available: Vec<RoomInfo>,
    /// The last notice, shown until dismissed.
    pub notice: Option<String>,
    /// The notice says the app is not connected: it goes once it is again.
    pub notice_offline: bool,
    /// A room the user asked to open; selected as soon as it is joined.
    pub open_next: Option<String>,
    /// The server asked to slow down for this long; shown by the composer
    /// until a send goes through.
    pub slow_down: Option<Duration>,
    /// When the worker tries to reconnect next (the banner counts down to it).
    pub retry_at: Option<Instant>,
    /// A room was just shown: the composer takes the keyboard focus once.
    pub focus_composer: bool,
}

impl Default for ChatModel {
    fn default() -> Self {
        Self {
            me: None,
            otp_remaining: None,
            status: ConnStatus::Offline,
            rooms: BTreeMap::new(),
            selected: None,
            available: Vec::new(),
            notice: None,
            notice_offline: false,
            open_next: None,
            slow_down: None,
            retry_at: None,
            focus_composer: false,
        }
    }
}

impl ChatModel {
    /// The room shown, if any.
    pub fn current(&self) -> Option<&RoomView> {
        self.selected.as_ref().and_then(|r| self.rooms.get(r))
    }

    /// The room shown, mutably.
    pub fn current_mut(&mut self) -> Option<&mut RoomView> {
        let selected = self.selected.clone()?;
        self.rooms.get_mut(&selected)
    }

    /// Shows a room and clears its unread count. A room entered with unread
    /// messages shows the "New" divider above the first of them and opens
    /// there; the room left forgets its divider.
    pub fn select(&mut self, room: &str) {
        if !self.rooms.contains_key(room) {
            return;
        }
        if let Some(previous) = self.selected.take()
            && previous != room
            && let Some(old) = self.rooms.get_mut(&previous)
        {
            old.scroll.divider = None;
        }
        if let Some(view) = self.rooms.get_mut(room) {
            if view.unread > 0 {
                view.scroll.divider = view.scroll.first_unread;
                view.scroll.jump = Some(Jump::Divider);
            }
            view.scroll.first_unread = None;
            view.unread = 0;
            view.mentions = 0;
        }
        self.selected = Some(room.to_owned());
        self.focus_composer = true;
    }

    /// The rooms in the order the rooms panel lists them: public, then direct.
    pub fn room_order(&self) -> Vec<String> {
        let mut names: Vec<(bool, &String)> = self
            .rooms
            .iter()
            .map(|(name, view)| (view.info.kind != RoomKind::Public, name))
            .collect();
        names.sort();
        names.into_iter().map(|(_, name)| name.clone()).collect()
    }

    /// Shows the room `step` places after (or before) the one shown, wrapping around.
    pub fn select_next(&mut self, step: isize) {
        let order = self.room_order();
        if order.is_empty() {
            return;
        }
        let at = self
            .selected
            .as_ref()
            .and_then(|s| order.iter().position(|r| r == s))
            .unwrap_or(0);
        let len = order.len() as isize;
        let next = (at as isize + step).rem_euclid(len) as usize;
        if let Some(room) = order.get(next).cloned() {
            self.select(&room);
        }
    }

    /// Whether `name` is the logged-in user.
    pub fn is_me(&self, name: &str) -> bool {
        self.me
            .as_ref()
            .is_some_and(|me| me.username.eq_ignore_ascii_case(name))
    }

    /// Queues a pending row for a send and brings the list to the bottom, so
    /// the message shows at once wherever the user had scrolled.
    pub fn add_pending(
        &mut self,
        room: &str,
        key: IdempotencyKey,
        text: String,
        files: Vec<String>,
    ) {
        if let Some(view) = self.rooms.get_mut(room) {
            view.pending.push(PendingView {
                key,
                text,
                files,
                failed: None,
            });
            view.scroll.jump = Some(Jump::Bottom);
        }
    }

    /// Applies one worker event; returns false for events this model does not handle.
    pub fn apply(&mut self, event: UiEvent) -> bool {
        match event {
            UiEvent::Status(status) => {
                self.retry_at = match &status {
                    ConnStatus::Reconnecting { retry_in, .. } => {
                        Instant::now().checked_add(*retry_in)
                    }
                    _ => None,
                };
                // "Not connected right now" is stale once connected again.
                if status == ConnStatus::Online && self.notice_offline {
                    self.notice = None;
                    self.notice_offline = false;
                }
                self.status = status;
            }
            // The warning about skipped passwords is worded by the app
            // (`actions.rs`), in the user's language.
            UiEvent::LoggedIn {
                user,
                otp_remaining,
                ..
            } => {
                self.me = Some(user);
                self.otp_remaining = Some(otp_remaining);
            }
            UiEvent::RoomList(list) => self.available = list,
            UiEvent::Joined { room, online } => self.joined(room, online),
            UiEvent::Left { room } => self.left(&room),
            UiEvent::RoomCreated(info) => {
                if !self.available.iter().any(|r| r.name == info.name) {
                    self.available.push(info);
                }
            }
            UiEvent::Messages {
                room,
                messages,
                unread,
            } => {
                let shown = self.selected.as_deref() == Some(room.as_str());
                let me = self.me.as_ref().map(|m| m.username.to_lowercase());
                let Some(view) = self.rooms.get_mut(&room) else {
                    return true;
                };
                let fresh: Vec<Seq> = messages
                    .iter()
                    .filter(|m| Some(m.sender.to_lowercase()) != me)
                    .filter(|m| !view.store.contains(m.seq))
                    .map(|m| m.seq)
                    .collect();
                let fresh_mentions = match me.as_deref() {
                    Some(me) if unread && !shown => messages
                        .iter()
                        .filter(|m| m.sender.to_lowercase() != me && !view.store.contains(m.seq))
                        .filter(|m| mentions(&m.text, me))
                        .count(),
                    _ => 0,
                };
                view.loading_older = false;
                view.store.insert(messages);
                if unread && !shown {
                    view.unread += fresh.len();
                    view.mentions += fresh_mentions;
                    let first = fresh.iter().min().copied();
                    view.scroll.first_unread = match (view.scroll.first_unread, first) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                if unread && shown && !view.scroll.follow {
                    // Below the view while the user reads further up.
                    view.scroll.unseen += fresh.len();
                }
            }
            UiEvent::Sent { room, key, .. } => {
                self.slow_down = None;
                if let Some(view) = self.rooms.get_mut(&room) {
                    view.pending.retain(|p| p.key != key);
                }
            }
            UiEvent::SendFailed {
                room,
                key,
                reason,
                code,
            } => {
                if let Some(p) = self
                    .rooms
                    .get_mut(&room)
                    .and_then(|v| v.pending.iter_mut().find(|p| p.key == key))
                {
                    p.failed = Some(Refused { code, reason });
                }
            }
            UiEvent::Presence { room, user, online } => {
                if let Some(view) = self.rooms.get_mut(&room) {
                    let key = user.username.to_lowercase();
                    if online {
                        view.online.insert(key, user);
                    } else {
                        view.online.remove(&key);
                    }
                }
            }
            // The app words and places notices itself (`chat_actions.rs`);
            // this is the English fallback.
            UiEvent::Notice(notice) => {
                self.notice_offline = notice.cause == chatroom_client::chat::Cause::Offline;
                self.notice = Some(notice.to_string());
            }
            UiEvent::AvatarChanged(avatar) => {
                if let Some(me) = self.me.as_mut() {
                    me.avatar = Some(avatar);
                }
                // Our own entries in the online lists show the new picture too.
                let key = self.me.as_ref().map(|m| m.username.to_lowercase());
                for view in self.rooms.values_mut() {
                    if let Some(user) = key.as_ref().and_then(|k| view.online.get_mut(k)) {
                        user.avatar = Some(avatar);
                    }
                }
            }
            UiEvent::SlowDown { retry_in } => self.slow_down = Some(retry_in),
            _ => return false,
        }
        true
    }

    /// Drops a room the user left (here or on another device); the room
    /// shown moves to the first one left in the list. The room stays on
    /// offer to join again.
    fn left(&mut self, room: &str) {
        if self.rooms.remove(room).is_none() {
            return;
        }
        if let Some(info) = self.available.iter_mut().find(|r| r.name == room) {
            info.member = false;
        }
        if self.selected.as_deref() == Some(room) {
            self.selected = None;
            if let Some(next) = self.room_order().into_iter().next() {
                self.select(&next);
            }
        }
    }

    fn joined(&mut self, room: RoomInfo, online: Vec<UserInfo>) {
        let name = room.name.clone();
        let view = self
            .rooms
            .entry(name.clone())
            .or_insert_with(|| RoomView::new(room.clone()));
        view.info = room;
        view.online = online
            .into_iter()
            .map(|u| (u.username.to_lowercase(), u))
            .collect();
        if self.open_next.as_deref() == Some(name.as_str()) || self.selected.is_none() {
            self.open_next = None;
            self.select(&name);
        }
    }
}

#[cfg(test)]
mod tests {
    use chatroom_common::protocol::ChatMessage;

    use super::*;

    fn room(name: &str) -> RoomInfo {
        RoomInfo {
            name: name.into(),
            kind: RoomKind::Public,
            latest_seq: 0,
            peer: None,
            member: true,
        }
    }

    fn msg(room: &str, seq: u64, sender: &str) -> ChatMessage {
        ChatMessage {
            room: room.into(),
            seq,
            sender: sender.into(),
            sender_avatar: None,
            text: "hi".into(),
            sent_at: 0,
            attachments: Vec::new(),
        }
    }

    #[test]
    fn counts_unread_only_for_other_rooms_and_other_senders() {
        let mut m = ChatModel::default();
        m.apply(UiEvent::LoggedIn {
            server: "s".into(),
            user: UserInfo {
                username: "Me".into(),
                avatar: None,
            },
            otp_remaining: 99,
            last_count: 1,
            warning: None,
            skipped: 0,
        });
        m.apply(UiEvent::Joined {
            room: room("lobby"),
            online: vec![],
        });
        m.apply(UiEvent::Joined {
            room: room("books"),
            online: vec![],
        });
        assert_eq!(m.selected.as_deref(), Some("lobby"));
        let batch = vec![
            msg("books", 1, "bob"),
            msg("books", 2, "me"),
            msg("books", 3, "bob"),
        ];
        m.apply(UiEvent::Messages {
            room: "books".into(),
            messages: batch.clone(),
            unread: true,
        });
        m.apply(UiEvent::Messages {
            room: "books".into(),
            messages: batch,
            unread: true,
        });
        m.apply(UiEvent::Messages {
            room: "lobby".into(),
            messages: vec![msg("lobby", 1, "bob")],
            unread: true,
        });
        assert_eq!(m.rooms["books"].unread, 2);
        assert_eq!(m.rooms["lobby"].unread, 0);
        m.select("books");
        assert_eq!(m.rooms["books"].unread, 0);
    }

    #[test]
    fn entering_a_room_with_unread_messages_marks_the_first_and_steps_wrap() {
        let mut m = ChatModel::default();
        for name in ["lobby", "books"] {
            m.apply(UiEvent::Joined {
                room: room(name),
                online: vec![],
            });
        }
        m.apply(UiEvent::Messages {
            room: "books".into(),
            messages: vec![msg("books", 7, "bob"), msg("books", 8, "bob")],
            unread: true,
        });
        assert_eq!(m.rooms["books"].scroll.first_unread, Some(7));
        m.focus_composer = false;
        m.select("books");
        let view = &m.rooms["books"];
        assert_eq!(view.scroll.divider, Some(7));
        assert_eq!(view.scroll.jump, Some(Jump::Divider));
        assert!(m.focus_composer);
        // Public rooms in name order, then direct ones; stepping wraps.
        assert_eq!(m.room_order(), vec!["books".to_owned(), "lobby".to_owned()]);
        m.select_next(1);
        assert_eq!(m.selected.as_deref(), Some("lobby"));
        assert_eq!(m.rooms["books"].scroll.divider, None);
        m.select_next(1);
        assert_eq!(m.selected.as_deref(), Some("books"));
        m.select_next(-1);
        assert_eq!(m.selected.as_deref(), Some("lobby"));
    }
}
