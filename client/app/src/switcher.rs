//! Getting around by keyboard: Alt+↑/↓ and Ctrl+Tab (Ctrl+Shift+Tab back)
//! step through the rooms, Ctrl+K opens "Jump to a room" to pick one by name,
//! and End, Ctrl+End, Page Up and Page Down scroll the messages.

use egui::{Key, Modifiers, RichText, TextEdit};

use super::ChatApp;
use super::i18n::t;
use super::scroll::Jump;

/// The "Jump to a room" dialog's state.
#[derive(Debug, Default)]
pub struct Switcher {
    /// What was typed.
    pub query: String,
    /// The highlighted match (arrow keys move it, Enter opens it).
    pub chosen: usize,
    /// The field had its focus set (once, when the dialog opened).
    focused: bool,
}

/// One room the dialog offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The room's name (the key to open or join it).
    pub room: String,
    /// What the list shows.
    pub label: String,
    /// Not joined yet: choosing it joins.
    pub join: bool,
}

/// Joined rooms whose title contains `query` (any case), then public rooms
/// not joined yet.
pub fn matches(app: &ChatApp, query: &str) -> Vec<Match> {
    let query = query.trim().to_lowercase();
    let mut found: Vec<Match> = app
        .model
        .room_order()
        .into_iter()
        .filter_map(|room| {
            let view = app.model.rooms.get(&room)?;
            let title = view.title();
            let prefix = if view.info.kind == chatroom_common::protocol::RoomKind::Public {
                "#"
            } else {
                "@"
            };
            title.to_lowercase().contains(&query).then(|| Match {
                label: format!("{prefix} {title}"),
                room,
                join: false,
            })
        })
        .collect();
    found.extend(
        app.joinable_rooms()
            .into_iter()
            .filter(|room| room.contains(&query))
            .map(|room| Match {
                label: t!(app.i18n, "room-join-named", room = room.as_str()),
                room,
                join: true,
            }),
    );
    found
}

/// Handles the chat screen's keys; runs before the panels so the message
/// box does not also act on them.
pub fn shortcuts(ui: &mut egui::Ui, app: &mut ChatApp) {
    if app.switcher.is_some() {
        return;
    }
    let typing = ui.ctx().egui_wants_keyboard_input();
    let (open, back, forward, jump) = ui.input_mut(|i| {
        let open = i.consume_key(Modifiers::COMMAND, Key::K);
        let back = i.consume_key(Modifiers::ALT, Key::ArrowUp)
            || i.consume_key(Modifiers::CTRL | Modifiers::SHIFT, Key::Tab);
        let forward = i.consume_key(Modifiers::ALT, Key::ArrowDown)
            || i.consume_key(Modifiers::CTRL, Key::Tab);
        let jump = if i.consume_key(Modifiers::NONE, Key::PageUp) {
            Some(Jump::PageUp)
        } else if i.consume_key(Modifiers::NONE, Key::PageDown) {
            Some(Jump::PageDown)
        } else if i.consume_key(Modifiers::CTRL, Key::End)
            // In a text field plain End belongs to the cursor.
            || (!typing && i.consume_key(Modifiers::NONE, Key::End))
        {
            Some(Jump::Bottom)
        } else {
            None
        };
        (open, back, forward, jump)
    });
    if open {
        app.switcher = Some(Switcher::default());
        // Rooms created since the last list can be jumped to as well.
        app.refresh_rooms();
    }
    if back {
        app.model.select_next(-1);
    }
    if forward {
        app.model.select_next(1);
    }
    if let (Some(jump), Some(view)) = (jump, app.model.current_mut()) {
        view.scroll.jump = Some(jump);
    }
}

/// Draws "Jump to a room" while it is open.
pub fn switcher_ui(ctx: &egui::Context, app: &mut ChatApp) {
    let Some(mut state) = app.switcher.take() else {
        return;
    };
    let found = matches(app, &state.query);
    let mut open = true;
    let mut chosen = None;
    let modal = egui::Modal::new(egui::Id::unique("room switcher")).show(ctx, |ui| {
        ui.set_width(320.0_f32.min(ctx.content_rect().width() - 40.0));
        ui.label(RichText::new(t!(app.i18n, "switcher-title")).strong());
        let (up, down) = ui.input_mut(|i| {
            (
                i.consume_key(Modifiers::NONE, Key::ArrowUp),
                i.consume_key(Modifiers::NONE, Key::ArrowDown),
            )
        });
        if down {
            state.chosen = (state.chosen + 1).min(found.len().saturating_sub(1));
        }
        if up {
            state.chosen = state.chosen.saturating_sub(1);
        }
        let label = ui.label(t!(app.i18n, "switcher-field"));
        let field = ui
            .add(
                TextEdit::singleline(&mut state.query)
                    .hint_text(t!(app.i18n, "switcher-hint"))
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label.id);
        if !state.focused {
            field.request_focus();
            state.focused = true;
        }
        if field.changed() {
            state.chosen = 0;
        }
        if field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) {
            chosen = found.get(state.chosen).cloned();
            if chosen.is_none() {
                open = false;
            }
        }
        egui::ScrollArea::vertical()
            .max_height(240.0)
            .show(ui, |ui| {
                for (i, m) in found.iter().enumerate() {
                    let text = app.glyphs.clean(ui.ctx(), &m.label).into_owned();
                    if ui.selectable_label(i == state.chosen, text).clicked() {
                        chosen = Some(m.clone());
                    }
                }
                if found.is_empty() {
                    ui.label(RichText::new(t!(app.i18n, "switcher-none")).weak());
                }
            });
        let help = t!(app.i18n, "switcher-help");
        let help = app.glyphs.clean(ui.ctx(), &help).into_owned();
        ui.label(RichText::new(help).small().weak());
    });
    if modal.should_close() {
        open = false;
    }
    if let Some(m) = chosen {
        open = false;
        if m.join {
            app.join_room(&m.room, false);
        } else {
            app.model.select(&m.room);
        }
    }
    if open {
        app.switcher = Some(state);
    }
}
