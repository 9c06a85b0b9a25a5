//! The virtual message list: only the rows in view are laid out (a room may
//! hold 100,000 messages); consecutive messages of one sender share one avatar
//! and name; the user's own pending messages always sit in a group under
//! their own name; the "New" divider; older history at the top; messages
//! that mention the user stand out.

use chatroom_common::protocol::Seq;
use egui::{Pos2, Rect, RichText, Shape, UiBuilder, Vec2};

use super::avatars::{AvatarCache, avatar_ui};
use super::files::{Files, inline};
use super::fonts::GlyphGuard;
use super::i18n::{I18n, t, wording};
use super::mentions;
use super::model::{PendingView, RoomView};
use super::scroll::{RowAt, Tops};
use super::store::{GROUP_PAUSE_MS, Metrics, Row};
use super::theme;
use super::time_format::{TimeZone, format_time};

/// Side of the avatars beside messages.
pub const AVATAR: f32 = 32.0;
/// Space above a group's first row.
const GROUP_GAP: f32 = 8.0;
/// Height reserved above the list for "Load older messages".
const OLDER_BAR: f32 = 30.0;

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
    /// The words around the messages ("sending…", "New messages").
    pub i18n: &'a I18n,
    /// Thumbnails, saves and the viewer for the files messages carry.
    pub files: &'a mut Files,
}

/// What the list reports to the panel around it.
#[derive(Debug, Clone, Copy)]
pub struct ListOutput {
    /// "Load older messages" was clicked.
    pub older_clicked: bool,
    /// The top of the list is in view and older messages exist: time to load them.
    pub top_reached: bool,
    /// Where the list is on the screen (for the "new messages" button).
    pub rect: Rect,
}

/// Where the row of `seq` starts, if held.
fn top_of_seq(view: &RoomView, seq: Seq) -> Option<f32> {
    let index = view.store.index_of(seq)?;
    Some(view.store.offset(index))
}

/// Draws the virtual list of the room `view`.
pub fn list_ui(ui: &mut egui::Ui, view: &mut RoomView, cx: &mut RowContext<'_>) -> ListOutput {
    let metrics = metrics(ui);
    let width = if view.scroll.width > 0.0 {
        view.scroll.width
    } else {
        ui.available_width()
    };
    let viewport = ui.available_height();
    let has_older = view.store.first_seq().is_some_and(|s| s > 1);
    let bar = if has_older { OLDER_BAR } else { 0.0 };
    // Heights are brought up to date before the scroll area is shown, so the
    // offset set below already accounts for what arrived since the last frame.
    let list_height = view.store.layout(width, metrics);
    let content = bar + list_height + view.scroll.pending_height;
    view.scroll.begin_page(viewport);
    let row_top = |seq: Option<Seq>| seq.and_then(|seq| top_of_seq(view, seq)).map(|t| bar + t);
    let tops = Tops {
        bottom: (content - viewport).max(0.0),
        viewport,
        divider: row_top(view.scroll.divider),
        top_row: row_top(view.scroll.top_row.map(|r| r.seq)),
        page_row: row_top(view.scroll.page_to.map(|(r, _)| r.seq)),
    };
    let target = view.scroll.target(tops);
    let mut area = egui::ScrollArea::vertical()
        .id_salt(("messages", view.info.name.as_str()))
        .auto_shrink([false, false]);
    if let Some(offset) = target {
        area = area.vertical_scroll_offset(offset);
    }
    let mut older_clicked = false;
    let mut top_reached = false;
    // No springing back past the ends: the offset set above may lie beyond
    // the end of last frame's (shorter) content, and a spring would turn that
    // into a velocity that carries the list away from the newest message.
    let kinetic = ui.spacing().scroll.kinetic;
    ui.spacing_mut().scroll.kinetic.rubber_band = false;
    let out = area.show_viewport(ui, |ui, shown| {
        let width = ui.available_width();
        view.scroll.width = width;
        let list_height = view.store.layout(width, metrics);
        ui.set_height(bar + list_height + view.scroll.pending_height);
        let top = ui.max_rect().top();
        let left = ui.max_rect().left();
        if has_older && shown.min.y < bar {
            top_reached = !view.loading_older;
            let rect = Rect::from_min_size(Pos2::new(left, top), Vec2::new(width, bar));
            ui.scope_builder(UiBuilder::new().max_rect(rect), |ui| {
                ui.vertical_centered(|ui| {
                    let label = if view.loading_older {
                        t!(cx.i18n, "list-loading")
                    } else {
                        t!(cx.i18n, "list-load-older")
                    };
                    older_clicked = ui.small_button(label).clicked();
                });
            });
        }
        let mut unsettled = false;
        for i in view.store.visible(shown.min.y - bar, shown.max.y - bar) {
            let Some(row) = view.store.row(i) else {
                continue;
            };
            let y = top + bar + view.store.offset(i);
            let rect = Rect::from_min_size(Pos2::new(left, y), Vec2::new(width, metrics.line));
            let divider = view.scroll.divider == Some(row.msg.seq);
            let builder = UiBuilder::new()
                .max_rect(rect)
                .id_salt(("row", row.msg.seq));
            let drawn = ui
                .scope_builder(builder, |ui| {
                    if divider {
                        divider_ui(ui, cx.i18n);
                    }
                    row_ui(ui, row, cx);
                })
                .response
                .rect;
            unsettled |= view.store.set_measured(i, drawn.height() + metrics.spacing);
        }
        let pending_top = top + bar + list_height;
        let rect = Rect::from_min_size(Pos2::new(left, pending_top), Vec2::new(width, 0.0));
        let drawn = ui
            .scope_builder(UiBuilder::new().max_rect(rect), |ui| {
                pending_group_ui(ui, view, cx);
            })
            .response
            .rect;
        let pending_height = if view.pending.is_empty() {
            0.0
        } else {
            drawn.height() + metrics.spacing
        };
        if (pending_height - view.scroll.pending_height).abs() >= 0.5 {
            view.scroll.pending_height = pending_height;
            unsettled = true;
        }
        if unsettled {
            // Measured heights replaced estimates; lay out once more so
            // rows sit exactly. Converges: measurements are cached.
            ui.ctx().request_repaint();
        }
    });
    ui.spacing_mut().scroll.kinetic = kinetic;
    let max = (out.content_size.y - out.inner_rect.height()).max(0.0);
    let offset = out.state.clamped_offset().y;
    // The row at the top of the view anchors it while the user reads.
    let first = view.store.visible(offset - bar, offset - bar + 1.0).start;
    let top_row = view.store.row(first).map(|row| RowAt {
        seq: row.msg.seq,
        y: bar + view.store.offset(first) - offset,
    });
    view.scroll.settle(offset, max, target, top_row);
    ListOutput {
        older_clicked,
        top_reached,
        rect: out.inner_rect,
    }
}

/// The line above the first message that was unread on entering the room.
fn divider_ui(ui: &mut egui::Ui, i18n: &I18n) {
    let color = theme::error(ui.visuals());
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        let divider = t!(i18n, "list-new-divider");
        let label = ui.label(RichText::new(divider).small().strong().color(color));
        let y = label.rect.center().y;
        let x = label.rect.right() + 6.0..=ui.max_rect().right();
        ui.painter().hline(x, y, egui::Stroke::new(1.0, color));
    });
}

/// A message's text, with ✔ on the user's own and "@" on one that mentions them.
fn text_ui(ui: &mut egui::Ui, text: &str, own: bool, mention: bool, cx: &mut RowContext<'_>) {
    let text = cx.glyphs.clean(ui.ctx(), text).into_owned();
    ui.horizontal_wrapped(|ui| {
        // A message of files alone has no text to show.
        if !text.is_empty() {
            ui.add(egui::Label::new(text).wrap());
        }
        if own {
            ui.label(RichText::new("✔").small().weak())
                .on_hover_text(t!(cx.i18n, "list-sent"));
        }
        if mention {
            // Said in words too, not by colour alone.
            let color = mentions::mark_color(ui.visuals());
            let mark = ui
                .label(RichText::new("@").small().strong().color(color))
                .on_hover_text(t!(cx.i18n, "list-mention-hover"));
            let mention_mark = t!(cx.i18n, "list-mentions-you");
            // Read out as words, not "@": a text label's words are its
            // accessibility value (an accessible name would not be read).
            ui.ctx()
                .accesskit_node_builder(mark.id, |node| node.set_value(mention_mark));
        }
    });
}

/// A group's first line: avatar beside the sender's name and the time.
fn header_ui(
    ui: &mut egui::Ui,
    cx: &mut RowContext<'_>,
    sender: &str,
    avatar: Option<chatroom_common::protocol::AvatarHash>,
    time: &str,
    body: impl FnOnce(&mut egui::Ui, &mut RowContext<'_>),
) {
    ui.add_space(GROUP_GAP);
    ui.horizontal_top(|ui| {
        avatar_ui(ui, cx.avatars, cx.glyphs, sender, avatar, AVATAR);
        ui.vertical(|ui| {
            ui.horizontal(|ui| {
                let name = cx.glyphs.clean(ui.ctx(), sender).into_owned();
                ui.label(RichText::new(name).strong());
                if !time.is_empty() {
                    ui.label(RichText::new(time).small().weak());
                }
            });
            body(ui, cx);
        });
    });
}

/// One message: with avatar, name and time when it starts a group.
pub fn row_ui(ui: &mut egui::Ui, row: &Row, cx: &mut RowContext<'_>) {
    let msg = &row.msg;
    let own = msg.sender.to_lowercase() == cx.me;
    // A tinted background behind a message that mentions the user, painted
    // under the row once its size is known (the layout stays the same).
    let mention = !own && mentions::mentions(&msg.text, cx.me);
    let background = mention.then(|| ui.painter().add(Shape::Noop));
    if row.group_start {
        let time = format_time(msg.sent_at, cx.zone);
        header_ui(ui, cx, &msg.sender, msg.sender_avatar, &time, |ui, cx| {
            text_ui(ui, &msg.text, own, mention, cx);
            files_ui(ui, &msg.attachments, cx);
        });
    } else {
        ui.horizontal_top(|ui| {
            ui.add_space(AVATAR + ui.spacing().item_spacing.x);
            ui.vertical(|ui| {
                text_ui(ui, &msg.text, own, mention, cx);
                files_ui(ui, &msg.attachments, cx);
            });
        });
    }
    if let Some(background) = background {
        let rect = ui.min_rect().expand2(Vec2::new(2.0, 1.0));
        let fill = mentions::highlight_fill(ui.visuals());
        ui.painter()
            .set(background, Shape::rect_filled(rect, 4.0, fill));
    }
}

/// The pictures and files a message carries, under its text.
fn files_ui(
    ui: &mut egui::Ui,
    attachments: &[chatroom_common::protocol::Attachment],
    cx: &mut RowContext<'_>,
) {
    if !attachments.is_empty() {
        inline::attachments_ui(ui, attachments, cx.files, cx.glyphs, cx.i18n);
    }
}

/// Milliseconds since the epoch, now.
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Whether the pending rows continue the last shown group: only when it is
/// the user's own and recent. Otherwise they would read as the last sender's.
fn continues_own_group(view: &RoomView, me: &str) -> bool {
    let last = view
        .store
        .len()
        .checked_sub(1)
        .and_then(|i| view.store.row(i));
    last.is_some_and(|row| {
        row.msg.sender.to_lowercase() == me && now_ms() - row.msg.sent_at <= GROUP_PAUSE_MS
    })
}

/// The user's messages the server has not acknowledged, under their own name.
fn pending_group_ui(ui: &mut egui::Ui, view: &RoomView, cx: &mut RowContext<'_>) {
    if view.pending.is_empty() {
        return;
    }
    let rows = |ui: &mut egui::Ui, cx: &mut RowContext<'_>| {
        for pending in &view.pending {
            pending_ui(ui, pending, cx);
        }
    };
    if continues_own_group(view, cx.me) {
        ui.horizontal_top(|ui| {
            ui.add_space(AVATAR + ui.spacing().item_spacing.x);
            ui.vertical(|ui| rows(ui, cx));
        });
    } else {
        // The name as the server spells it, and the picture, from the online
        // list (the user is always in it); the case-folded name otherwise.
        let me = view.online.get(cx.me);
        let name = me.map_or(cx.me, |u| u.username.as_str()).to_owned();
        let avatar = me.and_then(|u| u.avatar);
        header_ui(ui, cx, &name, avatar, "", rows);
    }
}

fn pending_ui(ui: &mut egui::Ui, pending: &PendingView, cx: &mut RowContext<'_>) {
    let text = cx.glyphs.clean(ui.ctx(), &pending.text).into_owned();
    for name in &pending.files {
        let name = cx.glyphs.clean(ui.ctx(), name).into_owned();
        ui.label(RichText::new(format!("📎 {name}")).weak());
    }
    ui.horizontal_wrapped(|ui| {
        if !text.is_empty() {
            ui.add(egui::Label::new(RichText::new(text).weak()).wrap());
        }
        match &pending.failed {
            None => {
                ui.label(RichText::new(t!(cx.i18n, "list-sending")).small().weak());
            }
            Some(refused) => {
                let reason = match refused.code {
                    Some(code) => wording::refusal(cx.i18n, code, &refused.reason),
                    None => refused.reason.clone(),
                };
                let reason = cx.glyphs.clean(ui.ctx(), &reason).into_owned();
                let text = t!(cx.i18n, "list-not-sent", reason = reason);
                ui.colored_label(theme::error(ui.visuals()), text);
            }
        }
    });
}
