//! The left panel: joined rooms and direct conversations with unread badges
//! (a public room's context menu leaves it); joining or creating a room (the
//! name as it will be, problems beside the field, "create it" when it does not
//! exist; rooms others create appear under "Other rooms" as the server
//! announces them); and the hosted server's details.

use chatroom_common::protocol::RoomKind;
use chatroom_common::validate;
use egui::{Color32, RichText, TextEdit, Vec2};

use super::i18n::t;
use super::login::host_info_ui;
use super::messages::leave_label;
use super::{ChatApp, alerts, theme};

/// Turns what was typed into a room name the server accepts: lower case,
/// spaces and other separators as '-', at most 32 characters ("Design Team"
/// becomes "design-team"). Empty when nothing usable is left.
pub fn room_slug(typed: &str) -> String {
    let mut slug = String::new();
    for c in typed.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '_' {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(32).collect();
    slug.trim_end_matches('-').to_owned()
}

/// A problem with the room field, shown under it until the field changes or a join works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomProblem {
    /// What went wrong, in plain words.
    pub text: String,
    /// The room does not exist: offer to create it under this name.
    pub create: Option<String>,
}

/// Draws the rooms panel.
pub fn rooms_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        let mut clicked = None;
        let mut leave = None;
        let mut mute = None;
        for (heading, kind) in [
            (t!(app.i18n, "rooms-heading"), RoomKind::Public),
            (t!(app.i18n, "rooms-direct-heading"), RoomKind::Direct),
        ] {
            ui.label(RichText::new(heading).strong());
            let mut any = false;
            for (name, view) in &app.model.rooms {
                if view.info.kind != kind {
                    continue;
                }
                any = true;
                let title = app.glyphs.clean(ui.ctx(), &view.title()).into_owned();
                let selected = app.model.selected.as_deref() == Some(name.as_str());
                // A muted room is drawn dimmed, its unread badge grey.
                let muted = app.is_muted(name);
                let button = room_button(ui, &title, kind, (view.unread, muted), selected);
                // The "@" badge for mentions, and "muted" (alerts.rs).
                let counts = (view.unread, view.mentions);
                let button = alerts::room_marks(ui, &app.i18n, button, &title, kind, counts, muted);
                if button.clicked() {
                    clicked = Some(name.clone());
                }
                button.context_menu(|ui| {
                    let leave_text = leave_label(&app.i18n, &title);
                    if kind == RoomKind::Public && ui.button(leave_text).clicked() {
                        leave = Some(name.clone());
                    }
                    if ui
                        .button(alerts::mute_label(&app.i18n, &title, kind, muted))
                        .clicked()
                    {
                        mute = Some(name.clone());
                    }
                });
            }
            if !any && kind == RoomKind::Direct {
                ui.label(
                    RichText::new(t!(app.i18n, "rooms-direct-empty"))
                        .small()
                        .weak(),
                );
            }
            ui.add_space(8.0);
        }
        if let Some(name) = clicked {
            app.model.select(&name);
        }
        if let Some(name) = leave {
            app.leave_room(&name);
        }
        if let Some(name) = mute {
            app.toggle_mute(&name);
        }
        ui.separator();
        join_ui(ui, app);
        if let Some(info) = &app.hosting {
            ui.separator();
            host_info_ui(ui, &app.i18n, info);
        }
    });
}

/// One room in the list: the whole row is the button; unread messages show
/// as a count in a badge at its right end.
fn room_button(
    ui: &mut egui::Ui,
    title: &str,
    kind: RoomKind,
    (unread, muted): (usize, bool),
    selected: bool,
) -> egui::Response {
    let prefix = if kind == RoomKind::Public { "# " } else { "@ " };
    let text = RichText::new(format!("{prefix}{title}"));
    let text = if muted {
        text.weak()
    } else if unread > 0 {
        text.strong()
    } else {
        text
    };
    let count = unread.to_string();
    let mut button = egui::Button::selectable(selected, text)
        .truncate()
        .min_size(Vec2::new(ui.available_width(), 0.0));
    if unread > 0 {
        // Keeps room for the badge, which is painted over it.
        button = button.right_text(RichText::new(&count).strong());
    }
    // The accessible name, with the counts, is set by `alerts::room_marks`.
    let response = ui.add(button);
    if unread > 0 {
        let (fill, fg) = if muted {
            theme::badge_muted(ui.visuals())
        } else {
            theme::badge(ui.visuals())
        };
        let font = egui::TextStyle::Small.resolve(ui.style());
        let galley = ui.painter().layout_no_wrap(count, font, fg);
        let size = Vec2::new((galley.size().x + 10.0).max(18.0), 16.0);
        let rect = egui::Rect::from_min_size(
            egui::pos2(
                response.rect.right() - size.x - 4.0,
                response.rect.center().y - size.y / 2.0,
            ),
            size,
        );
        ui.painter().rect_filled(rect, 8.0, fill);
        ui.painter()
            .galley(rect.center() - galley.size() / 2.0, galley, Color32::WHITE);
    }
    response
}

fn join_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    let label = ui.label(RichText::new(t!(app.i18n, "room-join-heading")).strong());
    let before = app.room_field.clone();
    let field = ui
        .add(
            TextEdit::singleline(&mut app.room_field)
                .hint_text(t!(app.i18n, "room-name-hint"))
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    if app.room_field != before {
        app.room_problem = None;
    }
    let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    let typed = app.room_field.trim().to_owned();
    let slug = room_slug(&typed);
    if !typed.is_empty() {
        if validate::room_name(&slug).is_err() {
            ui.colored_label(
                theme::error(ui.visuals()),
                RichText::new(t!(app.i18n, "room-name-rule")).small(),
            );
        } else if slug != typed {
            let shown = app.glyphs.clean(ui.ctx(), &slug).into_owned();
            ui.label(
                RichText::new(t!(app.i18n, "room-becomes", room = shown))
                    .small()
                    .weak(),
            );
        }
    }
    ui.horizontal(|ui| {
        if ui.button(t!(app.i18n, "room-join")).clicked() || entered {
            app.join_typed_room(false);
        }
        if ui.button(t!(app.i18n, "room-create")).clicked() {
            app.join_typed_room(true);
        }
    });
    if let Some(problem) = app.room_problem.clone() {
        let text = app.glyphs.clean(ui.ctx(), &problem.text).into_owned();
        ui.add(egui::Label::new(RichText::new(text).color(theme::error(ui.visuals()))).wrap());
        if let Some(name) = problem.create {
            let shown = app.glyphs.clean(ui.ctx(), &name).into_owned();
            if ui
                .button(t!(app.i18n, "room-create-named", room = shown))
                .clicked()
            {
                app.room_problem = None;
                app.join_room(&name, true);
            }
        }
    }
    let others = app.joinable_rooms();
    if !others.is_empty() {
        ui.label(RichText::new(t!(app.i18n, "room-others")).small().weak());
        ui.horizontal_wrapped(|ui| {
            for name in others {
                let shown = app.glyphs.clean(ui.ctx(), &name).into_owned();
                let button = ui.small_button(format!("# {shown}")).accessible_name(t!(
                    app.i18n,
                    "room-join-named",
                    room = shown
                ));
                if button.clicked() {
                    app.join_room(&name, false);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_names_become_valid_room_names() {
        assert_eq!(room_slug("Design Team"), "design-team");
        assert_eq!(room_slug("  books "), "books");
        assert_eq!(room_slug("R&D / Q3!"), "r-d-q3");
        assert_eq!(room_slug("读书 会"), "读书-会");
        assert_eq!(room_slug("!!!"), "");
        assert_eq!(room_slug(&"ab ".repeat(20)).chars().count(), 32);
        for typed in ["Design Team", "R&D / Q3!", &"ab ".repeat(20)] {
            assert!(validate::room_name(&room_slug(typed)).is_ok(), "{typed}");
        }
    }
}
