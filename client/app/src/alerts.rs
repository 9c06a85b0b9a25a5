//! What calls for the user's attention outside the message list: desktop
//! notifications for direct messages and mentions while the window is in
//! the background, the unread total in the window title, muted rooms, the
//! "@" badge beside a room's unread count, and the notifications switch.

use chatroom_common::protocol::{ChatMessage, RoomKind};
use egui::{Color32, Vec2, ViewportCommand};

use super::i18n::{I18n, t};
use super::mentions::mentions;
use super::notify::Alert;
use super::{ChatApp, theme};

/// The window's title when it opens, before the first frame words it in
/// the user's language.
pub const TITLE: &str = "Chatroom";

/// The window title for `unread` messages waiting: "(3) Chatroom".
pub fn window_title(i18n: &I18n, unread: usize) -> String {
    if unread == 0 {
        t!(i18n, "app-name")
    } else {
        t!(i18n, "window-title-unread", count = unread)
    }
}

/// A room's title as the list shows it: "# books", "@ bob".
pub fn room_title(title: &str, kind: RoomKind) -> String {
    let prefix = if kind == RoomKind::Public { "# " } else { "@ " };
    format!("{prefix}{title}")
}

/// The accessible name of the menu item that mutes or unmutes a room.
pub fn mute_label(i18n: &I18n, title: &str, kind: RoomKind, muted: bool) -> String {
    let prefix = if kind == RoomKind::Public { "#" } else { "@" };
    let room = format!("{prefix}{title}");
    if muted {
        t!(i18n, "room-unmute", room = room)
    } else {
        t!(i18n, "room-mute", room = room)
    }
}

/// The accessible name of a room in the list with its unread count, its
/// mentions and whether it is muted: "# books (2 unread, 1 mention)",
/// "# books (muted)"; the screen shows these as badges.
pub fn room_list_label(
    i18n: &I18n,
    title: &str,
    kind: RoomKind,
    unread: usize,
    mentions: usize,
    muted: bool,
) -> String {
    let mut marks = Vec::new();
    if unread > 0 {
        marks.push(t!(i18n, "room-unread", count = unread));
    }
    if mentions > 0 {
        marks.push(t!(i18n, "room-mentions", count = mentions));
    }
    if muted {
        marks.push(t!(i18n, "room-muted"));
    }
    let room = room_title(title, kind);
    if marks.is_empty() {
        return room;
    }
    let marks = marks.join(&t!(i18n, "room-marks-separator"));
    t!(i18n, "room-with-marks", room = room, marks = marks)
}

/// Whether a message should become a desktop notification.
#[derive(Debug, Clone, Copy)]
pub struct Attention {
    /// Notifications are on in the settings.
    pub enabled: bool,
    /// The window has the keyboard (the user sees the app).
    pub focused: bool,
    /// The room is muted.
    pub muted: bool,
    /// The room is a direct conversation.
    pub direct: bool,
}

impl Attention {
    /// A message new to the app, from someone else, as live news (not
    /// history): notify for a direct message or one that mentions `me`.
    pub fn notifies(self, text: &str, me: &str) -> bool {
        self.enabled && !self.focused && !self.muted && (self.direct || mentions(text, me))
    }
}

impl ChatApp {
    /// Whether the logged-in account muted `room`.
    pub fn is_muted(&self, room: &str) -> bool {
        self.settings
            .is_muted(&self.settings.server, &self.settings.username, room)
    }

    /// Mutes a room, or unmutes a muted one (persisted).
    pub fn toggle_mute(&mut self, room: &str) {
        let muted = !self.is_muted(room);
        let (server, user) = (self.settings.server.clone(), self.settings.username.clone());
        self.settings.set_muted(&server, &user, room, muted);
    }

    /// Before a batch of messages reaches the model: sends one notification
    /// for the room when any of them calls for one.
    pub(super) fn notify_arrivals(
        &mut self,
        ctx: &egui::Context,
        room: &str,
        messages: &[ChatMessage],
        unread: bool,
    ) {
        let Some(me) = self.model.me.as_ref().map(|m| m.username.to_lowercase()) else {
            return;
        };
        let Some(view) = self.model.rooms.get(room) else {
            return;
        };
        if !unread {
            return;
        }
        let attention = Attention {
            enabled: self.settings.notifications,
            focused: ctx.input(|i| i.focused),
            muted: self.is_muted(room),
            direct: view.info.kind == RoomKind::Direct,
        };
        let news: Vec<&ChatMessage> = messages
            .iter()
            .filter(|m| m.sender.to_lowercase() != me && !view.store.contains(m.seq))
            .filter(|m| attention.notifies(&m.text, &me))
            .collect();
        let Some(latest) = news.last() else {
            return;
        };
        self.notifier.alert(Alert {
            room: room.to_owned(),
            title: view.title(),
            direct: attention.direct,
            sender: latest.sender.clone(),
            text: latest.text.clone(),
            count: news.len(),
            language: self.i18n.language(),
        });
    }

    /// Once per frame: the unread total in the window title, notifications
    /// closed when the window gets the keyboard back, and a clicked
    /// notification's room brought forward.
    pub(super) fn attention(&mut self, ctx: &egui::Context) {
        let focused = ctx.input(|i| i.focused);
        if focused && !self.was_focused {
            self.notifier.seen();
        }
        self.was_focused = focused;
        for room in self.notifier.take_clicked() {
            if self.model.rooms.contains_key(&room) {
                self.model.select(&room);
            }
            // Best effort: a window manager may refuse to raise the window.
            ctx.send_viewport_cmd(ViewportCommand::Focus);
        }
        let unread = self
            .model
            .rooms
            .iter()
            .filter(|(name, _)| !self.is_muted(name))
            .map(|(_, view)| view.unread)
            .sum();
        let title = window_title(&self.i18n, unread);
        if title != self.window_title {
            ctx.send_viewport_cmd(ViewportCommand::Title(title.clone()));
            self.window_title = title;
        }
    }
}

/// Paints the "@" badge of a room's unread mentions left of its unread
/// badge, and gives the row its full accessible name.
pub fn room_marks(
    ui: &egui::Ui,
    i18n: &I18n,
    response: egui::Response,
    title: &str,
    kind: RoomKind,
    (unread, mentions): (usize, usize),
    muted: bool,
) -> egui::Response {
    if mentions > 0 {
        // Where the unread badge (rooms.rs) sits: its width from its text.
        let font = egui::TextStyle::Small.resolve(ui.style());
        let count = ui
            .painter()
            .layout_no_wrap(unread.to_string(), font.clone(), Color32::WHITE);
        let unread_width = (count.size().x + 10.0).max(18.0);
        let (fill, fg) = theme::badge(ui.visuals());
        let at = ui.painter().layout_no_wrap("@".to_owned(), font, fg);
        let size = Vec2::new(18.0, 16.0);
        let rect = egui::Rect::from_min_size(
            egui::pos2(
                response.rect.right() - unread_width - 4.0 - 3.0 - size.x,
                response.rect.center().y - size.y / 2.0,
            ),
            size,
        );
        ui.painter().rect_filled(rect, 8.0, fill);
        ui.painter()
            .galley(rect.center() - at.size() / 2.0, at, Color32::WHITE);
    }
    let response = if muted {
        response.on_hover_text(t!(i18n, "room-muted-hover"))
    } else {
        response
    };
    response.accessible_name(room_list_label(i18n, title, kind, unread, mentions, muted))
}

/// The notifications switch (top bar): on or off for every room.
pub fn notifications_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    let label = t!(app.i18n, "notifications");
    ui.checkbox(&mut app.settings.notifications, label)
        .on_hover_text(t!(app.i18n, "notifications-hover"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn english() -> I18n {
        I18n::new(crate::i18n::Language::English)
    }

    #[test]
    fn the_title_counts_unread_messages() {
        let en = english();
        assert_eq!(window_title(&en, 0), "Chatroom");
        assert_eq!(window_title(&en, 3), "(3) Chatroom");
    }

    #[test]
    fn labels_say_mentions_and_muting() {
        let en = english();
        assert_eq!(
            room_list_label(&en, "books", RoomKind::Public, 2, 1, false),
            "# books (2 unread, 1 mention)"
        );
        assert_eq!(
            room_list_label(&en, "books", RoomKind::Public, 0, 0, true),
            "# books (muted)"
        );
        assert_eq!(
            room_list_label(&en, "bob", RoomKind::Direct, 3, 2, true),
            "@ bob (3 unread, 2 mentions, muted)"
        );
        assert_eq!(
            room_list_label(&en, "books", RoomKind::Public, 0, 0, false),
            "# books"
        );
        assert_eq!(
            mute_label(&en, "books", RoomKind::Public, false),
            "Mute #books"
        );
        assert_eq!(
            mute_label(&en, "bob", RoomKind::Direct, true),
            "Unmute @bob"
        );
        let zh = I18n::new(crate::i18n::Language::ChineseSimplified);
        let label = room_list_label(&zh, "books", RoomKind::Public, 2, 1, true);
        assert!(
            label.starts_with("# books") && label.contains('2'),
            "{label}"
        );
        assert!(en.misses().is_empty() && zh.misses().is_empty());
    }

    #[test]
    fn only_direct_messages_and_mentions_in_the_background_notify() {
        let base = Attention {
            enabled: true,
            focused: false,
            muted: false,
            direct: false,
        };
        assert!(base.notifies("hi @alice", "alice"));
        assert!(!base.notifies("hi all", "alice"));
        let direct = Attention {
            direct: true,
            ..base
        };
        assert!(direct.notifies("hi", "alice"));
        for quiet in [
            Attention {
                focused: true,
                ..direct
            },
            Attention {
                muted: true,
                ..direct
            },
            Attention {
                enabled: false,
                ..direct
            },
        ] {
            assert!(!quiet.notifies("hi @alice", "alice"), "{quiet:?}");
        }
    }
}
