//! The message list: only the rows in view are laid out (a room may hold
//! 100,000 messages), consecutive messages of one sender share one avatar and
//! name, own messages show pending → sent, and older history loads on demand.

use chatroom_common::protocol::Seq;
use egui::{Color32, Pos2, Rect, RichText, UiBuilder, Vec2};
use time::{OffsetDateTime, UtcOffset};

use super::ChatApp;
use super::avatars::{AvatarCache, avatar_ui};
use super::fonts::GlyphGuard;
use super::model::{PendingView, RoomView};
use super::store::{Metrics, Row};

/// Side of the avatars beside messages.
pub const AVATAR: f32 = 32.0;
/// Space above a group's first row.
const GROUP_GAP: f32 = 8.0;
/// Height reserved above the list for "Load older messages".
const OLDER_BAR: f32 = 30.0;

/// Which clock times are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeZone {
    /// This computer's zone, with the offset in force at each moment: a
    /// message from before a daylight-saving change shows the time it had
    /// then, and a change while the app runs is picked up.
    Local,
    /// One fixed offset (tests, and computers whose zone cannot be read).
    Fixed(UtcOffset),
}

impl TimeZone {
    /// The offset from UTC at `ms` milliseconds after the epoch.
    pub fn offset_at(self, ms: i64) -> UtcOffset {
        match self {
            TimeZone::Fixed(offset) => offset,
            TimeZone::Local => {
                use chrono::{Offset, TimeZone as _};
                // chrono reads the zone database itself, which is safe with
                // threads (the time crate refuses to once there are several).
                chrono::Local
                    .timestamp_millis_opt(ms)
                    .single()
                    .and_then(|t| {
                        UtcOffset::from_whole_seconds(t.offset().fix().local_minus_utc()).ok()
                    })
                    .unwrap_or(UtcOffset::UTC)
            }
        }
    }
}

/// `HH:MM` today, `YYYY-MM-DD HH:MM` otherwise, in `zone`.
pub fn format_time(ms: i64, zone: TimeZone) -> String {
    let Some(t) = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.checked_to_offset(zone.offset_at(ms)))
    else {
        return String::new();
    };
    let now = OffsetDateTime::now_utc();
    let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let today = now
        .checked_to_offset(zone.offset_at(now_ms))
        .map(|now| now.date());
    if today == Some(t.date()) {
        format!("{:02}:{:02}", t.hour(), t.minute())
    } else {
        format!(
            "{}-{:02}-{:02} {:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        )
    }
}

/// The metrics the height estimates use, from the current style.
pub fn metrics(ui: &egui::Ui) -> Metrics {
    let line = ui.text_style_height(&egui::TextStyle::Body);
    let font_size = egui::TextStyle::Body.resolve(ui.style()).size;
    let spacing = ui.spacing().item_spacing;
    Metrics {
        line,
        header: GROUP_GAP + line + spacing.y,
        spacing: spacing.y,
        font_size,
        indent: AVATAR + spacing.x * 2.0,
    }
}

/// What a row needs besides the message.
pub struct RowContext<'a> {
    /// Case-folded name of the logged-in user.
    pub me: &'a str,
    /// Missing-glyph guard.
    pub glyphs: &'a mut GlyphGuard,
    /// Avatar textures.
    pub avatars: &'a mut AvatarCache,
    /// The zone times are shown in.
    pub zone: TimeZone,
}

/// Draws the room shown.
pub fn messages_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    let Some(room) = app.model.selected.clone() else {
        ui.label("Join a room to start chatting.");
        return;
    };
    let me = app
        .model
        .me
        .as_ref()
        .map(|m| m.username.to_lowercase())
        .unwrap_or_default();
    let ChatApp {
        model,
        glyphs,
        avatars,
        options,
        ..
    } = app;
    let Some(view) = model.rooms.get_mut(&room) else {
        return;
    };
    let title = glyphs.clean(ui.ctx(), &view.title()).into_owned();
    ui.heading(title);
    ui.separator();
    let mut cx = RowContext {
        me: &me,
        glyphs,
        avatars,
        zone: options.time_zone,
    };
    let want_older = list_ui(ui, view, &mut cx);
    if want_older {
        app.load_older();
    }
}

/// The virtual list; returns true when older messages were asked for.
pub fn list_ui(ui: &mut egui::Ui, view: &mut RoomView, cx: &mut RowContext<'_>) -> bool {
    let metrics = metrics(ui);
    let mut want_older = false;
    egui::ScrollArea::vertical()
        .id_salt(("messages", view.info.name.as_str()))
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .show_viewport(ui, |ui, viewport| {
            let width = ui.available_width();
            let has_older = view.store.first_seq().is_some_and(|s| s > 1);
            let bar = if has_older { OLDER_BAR } else { 0.0 };
            let previous_first = view.anchor;
            let list_height = view.store.layout(width, metrics);
            keep_position_after_older_page(ui, view, previous_first);
            let pending_height = view.pending.len() as f32 * (metrics.line + metrics.spacing);
            ui.set_height(bar + list_height + pending_height);
            let top = ui.max_rect().top();
            let left = ui.max_rect().left();
            if has_older && viewport.min.y < bar {
                let rect = Rect::from_min_size(Pos2::new(left, top), Vec2::new(width, bar));
                ui.scope_builder(UiBuilder::new().max_rect(rect), |ui| {
                    ui.vertical_centered(|ui| {
                        let label = if view.loading_older {
                            "Loading…"
                        } else {
                            "Load older messages"
                        };
                        want_older = ui.small_button(label).clicked();
                    });
                });
            }
            let mut unsettled = false;
            for i in view
                .store
                .visible(viewport.min.y - bar, viewport.max.y - bar)
            {
                let Some(row) = view.store.row(i) else {
                    continue;
                };
                let y = top + bar + view.store.offset(i);
                let rect = Rect::from_min_size(Pos2::new(left, y), Vec2::new(width, metrics.line));
                let builder = UiBuilder::new()
                    .max_rect(rect)
                    .id_salt(("row", row.msg.seq));
                let drawn = ui
                    .scope_builder(builder, |ui| row_ui(ui, row, cx))
                    .response
                    .rect;
                unsettled |= view.store.set_measured(i, drawn.height() + metrics.spacing);
            }
            let mut y = top + bar + list_height;
            for pending in &view.pending {
                let rect = Rect::from_min_size(Pos2::new(left, y), Vec2::new(width, metrics.line));
                let drawn = ui
                    .scope_builder(UiBuilder::new().max_rect(rect), |ui| {
                        pending_ui(ui, pending, cx)
                    })
                    .response
                    .rect;
                y += drawn.height() + metrics.spacing;
            }
            if unsettled {
                // Measured heights replaced estimates; lay out once more so
                // rows sit exactly. Converges: measurements are cached.
                ui.ctx().request_repaint();
            }
        });
    want_older
}

/// When an older page was inserted above, scrolls by its height so the
/// messages in view stay where they were.
fn keep_position_after_older_page(ui: &mut egui::Ui, view: &mut RoomView, previous: Option<Seq>) {
    let first = view.store.first_seq();
    view.anchor = first;
    let (Some(previous), Some(first)) = (previous, first) else {
        return;
    };
    if first >= previous {
        return;
    }
    let index = view.store.iter().position(|m| m.seq == previous);
    if let Some(index) = index {
        let added = view.store.offset(index);
        ui.scroll_with_delta(Vec2::new(0.0, -added));
    }
}

fn text_ui(ui: &mut egui::Ui, text: &str, own: bool, cx: &mut RowContext<'_>) {
    let text = cx.glyphs.clean(ui.ctx(), text).into_owned();
    ui.horizontal_wrapped(|ui| {
        ui.add(egui::Label::new(text).wrap());
        if own {
            ui.label(RichText::new("✔").small().weak())
                .on_hover_text("sent");
        }
    });
}

/// One message: with avatar, name and time when it starts a group.
pub fn row_ui(ui: &mut egui::Ui, row: &Row, cx: &mut RowContext<'_>) {
    let msg = &row.msg;
    let own = msg.sender.to_lowercase() == cx.me;
    if row.group_start {
        ui.add_space(GROUP_GAP);
        ui.horizontal_top(|ui| {
            avatar_ui(
                ui,
                cx.avatars,
                cx.glyphs,
                &msg.sender,
                msg.sender_avatar,
                AVATAR,
            );
            ui.vertical(|ui| {
                ui.horizontal(|ui| {
                    let name = cx.glyphs.clean(ui.ctx(), &msg.sender).into_owned();
                    ui.label(RichText::new(name).strong());
                    ui.label(
                        RichText::new(format_time(msg.sent_at, cx.zone))
                            .small()
                            .weak(),
                    );
                });
                text_ui(ui, &msg.text, own, cx);
            });
        });
    } else {
        ui.horizontal_top(|ui| {
            ui.add_space(AVATAR + ui.spacing().item_spacing.x);
            ui.vertical(|ui| text_ui(ui, &msg.text, own, cx));
        });
    }
}

fn pending_ui(ui: &mut egui::Ui, pending: &PendingView, cx: &mut RowContext<'_>) {
    ui.horizontal_top(|ui| {
        ui.add_space(AVATAR + ui.spacing().item_spacing.x);
        ui.vertical(|ui| {
            let text = cx.glyphs.clean(ui.ctx(), &pending.text).into_owned();
            ui.horizontal_wrapped(|ui| {
                ui.add(egui::Label::new(RichText::new(text).weak()).wrap());
                match &pending.failed {
                    None => {
                        ui.label(RichText::new("sending…").small().weak());
                    }
                    Some(reason) => {
                        let reason = cx.glyphs.clean(ui.ctx(), reason).into_owned();
                        ui.colored_label(
                            Color32::from_rgb(0xe0, 0x50, 0x50),
                            format!("not sent: {reason}"),
                        );
                    }
                }
            });
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_today_show_the_clock_and_older_ones_the_date() {
        let zone = TimeZone::Fixed(UtcOffset::UTC);
        let now = OffsetDateTime::now_utc();
        let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap();
        assert_eq!(
            format_time(now_ms, zone),
            format!("{:02}:{:02}", now.hour(), now.minute())
        );
        // 2024-03-01 12:34:56 UTC.
        assert_eq!(format_time(1_709_296_496_000, zone), "2024-03-01 12:34");
        let east = TimeZone::Fixed(UtcOffset::from_hms(8, 0, 0).unwrap());
        assert_eq!(format_time(1_709_296_496_000, east), "2024-03-01 20:34");
        // Out of range: nothing rather than a panic.
        assert_eq!(format_time(i64::MAX, zone), "");
    }

    #[test]
    fn the_local_zone_gives_a_whole_offset_for_any_moment() {
        for ms in [0, 1_709_296_496_000, -1_000, i64::MAX, i64::MIN] {
            let offset = TimeZone::Local.offset_at(ms);
            assert!(offset.whole_hours().abs() <= 25, "{offset:?} at {ms}");
        }
    }
}
