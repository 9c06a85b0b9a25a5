//! The message panel: a title row with the room's name and the connection
//! status (a fixed row, so a dropped connection moves nothing), the virtual
//! list ([`list_ui`]), and over it, while the user reads further up, the
//! "N new messages ⬇" button.

use chatroom_client::chat::{Command, ConnStatus};
use chatroom_common::protocol::RoomKind;
use egui::{Align, Layout, RichText, Vec2};

use super::ChatApp;
use super::banner::banner_ui;
use super::fonts::GlyphGuard;
use super::i18n::{I18n, t};
use super::model::RoomView;
use super::scroll::Jump;

pub use super::list::{AVATAR, ListOutput, RowContext, list_ui, metrics, row_ui};
pub use super::time_format::{TimeZone, format_time};

/// The label of the button that jumps to the newest messages.
pub fn jump_label(i18n: &I18n, unseen: usize) -> String {
    match unseen {
        0 => t!(i18n, "jump-newest"),
        n => t!(i18n, "jump-new", count = n),
    }
}

/// Draws the room shown.
pub fn messages_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    title_row_ui(ui, app);
    ui.separator();
    let Some(room) = app.model.selected.clone() else {
        ui.label(t!(app.i18n, "messages-join-first"));
        return;
    };
    let me = app
        .model
        .me
        .as_ref()
        .map(|m| m.username.to_lowercase())
        .unwrap_or_default();
    let online = app.model.status == ConnStatus::Online;
    let ChatApp {
        model,
        glyphs,
        avatars,
        options,
        i18n,
        files,
        ..
    } = app;
    let Some(view) = model.rooms.get_mut(&room) else {
        return;
    };
    let mut cx = RowContext {
        me: &me,
        glyphs: &mut *glyphs,
        avatars,
        zone: options.time_zone,
        i18n,
        files,
    };
    let out = list_ui(ui, view, &mut cx);
    jump_button_ui(ui, view, glyphs, i18n, out);
    // Reaching the top loads the page before by itself; offline it would only
    // bring "not connected" notices, so it waits (the button still works).
    if out.older_clicked || (out.top_reached && online) {
        app.load_older();
    }
}

/// The room's title and "Leave" on the left, the connection status on the
/// right; one row of fixed height whether or not there is a status to show.
fn title_row_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    let height = ui.text_style_height(&egui::TextStyle::Heading) + 6.0;
    let size = Vec2::new(ui.available_width(), height);
    ui.allocate_ui_with_layout(size, Layout::left_to_right(Align::Center), |ui| {
        ui.set_min_size(size);
        let current = app.model.current();
        let title = current.map(RoomView::title).unwrap_or_default();
        let title = app.glyphs.clean(ui.ctx(), &title).into_owned();
        // Direct conversations cannot be left; public rooms can.
        let leavable = current
            .filter(|view| view.info.kind == RoomKind::Public)
            .map(|view| view.info.name.clone());
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            if banner_ui(ui, &app.i18n, &app.model.status, app.model.retry_at) {
                app.chat.send(Command::ReconnectNow);
            }
            ui.with_layout(Layout::left_to_right(Align::Center), |ui| {
                ui.add(egui::Label::new(RichText::new(title).heading()).truncate());
                if let Some(room) = leavable {
                    let shown = app.glyphs.clean(ui.ctx(), &room).into_owned();
                    let leave = ui
                        .small_button(t!(app.i18n, "messages-leave"))
                        .accessible_name(leave_label(&app.i18n, &shown))
                        .on_hover_text(t!(app.i18n, "messages-leave-hover", room = shown));
                    if leave.clicked() {
                        app.leave_room(&room);
                    }
                }
            });
        });
    });
}

/// The accessible name of the button (or menu item) that leaves `room`.
pub fn leave_label(i18n: &I18n, room: &str) -> String {
    t!(i18n, "room-leave-named", room = room)
}

/// "N new messages ⬇" (or "Newest ⬇") over the bottom of the list while the
/// user reads further up; a click goes to the newest message and follows.
fn jump_button_ui(
    ui: &mut egui::Ui,
    view: &mut RoomView,
    glyphs: &mut GlyphGuard,
    i18n: &I18n,
    out: ListOutput,
) {
    if view.scroll.follow {
        return;
    }
    let label = jump_label(i18n, view.scroll.unseen);
    let label = glyphs.clean(ui.ctx(), &label).into_owned();
    let size = Vec2::new(170.0, 26.0);
    let rect = egui::Rect::from_center_size(
        egui::pos2(out.rect.center().x, out.rect.bottom() - size.y / 2.0 - 10.0),
        size,
    );
    let button = egui::Button::new(RichText::new(label).strong()).corner_radius(13.0);
    if ui.put(rect, button).clicked() {
        view.scroll.jump = Some(Jump::Bottom);
    }
}
