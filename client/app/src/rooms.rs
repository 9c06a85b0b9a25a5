//! The left panel: joined rooms and direct conversations with unread counts,
//! joining or creating a room, and the hosted server's details.

use chatroom_common::protocol::RoomKind;
use egui::{RichText, TextEdit};

use super::ChatApp;
use super::login::host_info_ui;

/// The label of a room in the list: its title and, when any, the unread count.
pub fn room_label(title: &str, kind: RoomKind, unread: usize) -> String {
    let prefix = if kind == RoomKind::Public { "# " } else { "@ " };
    if unread == 0 {
        format!("{prefix}{title}")
    } else {
        format!("{prefix}{title} ({unread} unread)")
    }
}

/// Draws the rooms panel.
pub fn rooms_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        let mut clicked = None;
        for (heading, kind) in [
            ("Rooms", RoomKind::Public),
            ("Direct messages", RoomKind::Direct),
        ] {
            ui.label(RichText::new(heading).strong());
            let mut any = false;
            for (name, view) in &app.model.rooms {
                if view.info.kind != kind {
                    continue;
                }
                any = true;
                let label = room_label(&view.title(), kind, view.unread);
                let label = app.glyphs.clean(ui.ctx(), &label).into_owned();
                let selected = app.model.selected.as_deref() == Some(name.as_str());
                let text = if view.unread > 0 {
                    RichText::new(label).strong()
                } else {
                    RichText::new(label)
                };
                if ui.selectable_label(selected, text).clicked() {
                    clicked = Some(name.clone());
                }
            }
            if !any && kind == RoomKind::Direct {
                ui.label(
                    RichText::new("Click a name under Online to start one.")
                        .small()
                        .weak(),
                );
            }
            ui.add_space(8.0);
        }
        if let Some(name) = clicked {
            app.model.select(&name);
        }
        ui.separator();
        join_ui(ui, app);
        if let Some(info) = &app.hosting {
            ui.separator();
            host_info_ui(ui, info);
        }
    });
}

fn join_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    let label = ui.label(RichText::new("Join or create a room").strong());
    let field = ui
        .add(
            TextEdit::singleline(&mut app.room_field)
                .hint_text("room name")
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    ui.horizontal(|ui| {
        if ui.button("Join").clicked() || entered {
            app.join_typed_room(false);
        }
        if ui.button("Create").clicked() {
            app.join_typed_room(true);
        }
    });
    let others: Vec<String> = app
        .model
        .available
        .iter()
        .filter(|r| r.kind == RoomKind::Public && !app.model.rooms.contains_key(&r.name))
        .map(|r| r.name.clone())
        .collect();
    if !others.is_empty() {
        ui.label(RichText::new("Other rooms").small());
        ui.horizontal_wrapped(|ui| {
            for name in others {
                let shown = app.glyphs.clean(ui.ctx(), &name).into_owned();
                if ui.small_button(format!("# {shown}")).clicked() {
                    app.join_room(&name, false);
                }
            }
        });
    }
    if ui.small_button("Refresh the room list").clicked() {
        app.refresh_rooms();
    }
}
