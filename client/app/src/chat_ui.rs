//! The chat screen's frame: the top bar (who, where, one-time passwords when
//! few are left, log out), the panels (rooms, users, composer, messages), a
//! notice that concerns nothing on screen floating over them, and the
//! keyboard shortcuts. In a narrow window the side panels shrink and the
//! online list folds away behind a button, so messages keep most of the width.

use egui::{Align, Layout, RichText};

use super::switcher::{shortcuts, switcher_ui};
use super::{ChatApp, alerts, composer, messages, profile, rooms, theme, users};

/// Below this window width the online list folds away and the rooms panel narrows.
pub const NARROW: f32 = 900.0;
/// The one-time password count shows from this many left down.
pub const FEW_PASSWORDS: u32 = 50;

/// The top bar's word on one-time passwords: only when few are left.
pub fn passwords_left(left: u32) -> Option<String> {
    (left <= FEW_PASSWORDS).then(|| match left {
        1 => "1 one-time password left".to_owned(),
        n => format!("{n} one-time passwords left"),
    })
}

/// Draws the chat screen.
pub fn chat_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    shortcuts(ui, app);
    let width = ui.ctx().content_rect().width();
    let narrow = width < NARROW;
    egui::Panel::top("top_bar").show(ui, |ui| top_bar_ui(ui, app, narrow));
    let rooms_width = if narrow { 150.0 } else { 210.0 };
    egui::Panel::left("rooms")
        .resizable(true)
        .default_size(rooms_width)
        .size_range(120.0..=(width * 0.3).max(120.0))
        .show(ui, |ui| rooms::rooms_ui(ui, app));
    if !narrow || app.show_users {
        egui::Panel::right("users")
            .resizable(true)
            .default_size(if narrow { 150.0 } else { 190.0 })
            .size_range(110.0..=(width * 0.25).max(110.0))
            .show(ui, |ui| users::users_ui(ui, app));
    }
    egui::Panel::bottom("composer").show(ui, |ui| composer::composer_ui(ui, app));
    egui::CentralPanel::default().show(ui, |ui| messages::messages_ui(ui, app));
    notice_ui(ui.ctx(), app);
    if app.profile.open {
        profile::profile_ui(ui.ctx(), app);
    }
    switcher_ui(ui.ctx(), app);
}

fn top_bar_ui(ui: &mut egui::Ui, app: &mut ChatApp, narrow: bool) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Chatroom").strong());
        ui.separator();
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            if ui.button("Log out").clicked() {
                app.logout();
            }
            if ui.button("Change picture").clicked() {
                app.open_profile();
            }
            alerts::notifications_ui(ui, app);
            if narrow {
                let online = app.model.current().map_or(0, |r| r.online.len());
                let label = format!("Online ({online})");
                if ui
                    .add(egui::Button::selectable(app.show_users, label))
                    .on_hover_text("Show or hide who is online")
                    .clicked()
                {
                    app.show_users = !app.show_users;
                }
            }
            if let Some(text) = app.model.otp_remaining.and_then(passwords_left) {
                ui.label(RichText::new(text).color(theme::warning(ui.visuals())))
                    .on_hover_text(
                        "Each login uses one one-time password. When fewer than 10 are left, \
                         the app sets up a new series by itself at the next login.",
                    );
            }
            ui.with_layout(Layout::left_to_right(Align::Center), |ui| {
                if let Some(me) = &app.model.me {
                    let who = format!("{} on {}", me.username, app.settings.server);
                    let who = app.glyphs.clean(ui.ctx(), &who).into_owned();
                    ui.add(egui::Label::new(who).truncate());
                }
            });
        });
    });
}

/// A notice that concerns nothing on screen (a warning after login, a
/// failure of something done in the background), over the bottom of the
/// window until dismissed, so nothing underneath moves.
fn notice_ui(ctx: &egui::Context, app: &mut ChatApp) {
    let Some(notice) = app.model.notice.clone() else {
        return;
    };
    let notice = app.glyphs.clean(ctx, &notice).into_owned();
    let width = (ctx.content_rect().width() - 40.0).clamp(200.0, 560.0);
    egui::Area::new(egui::Id::unique("notice"))
        .anchor(egui::Align2::CENTER_BOTTOM, egui::vec2(0.0, -90.0))
        .order(egui::Order::Foreground)
        .show(ctx, |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.set_max_width(width);
                ui.horizontal(|ui| {
                    ui.add(egui::Label::new(notice).wrap());
                    if ui.button("Dismiss").clicked() {
                        app.model.notice = None;
                    }
                });
            });
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_count_shows_only_when_few_are_left() {
        assert_eq!(passwords_left(998), None);
        assert_eq!(
            passwords_left(12).as_deref(),
            Some("12 one-time passwords left")
        );
        assert_eq!(
            passwords_left(1).as_deref(),
            Some("1 one-time password left")
        );
    }
}
