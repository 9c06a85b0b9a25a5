//! The chat screen's frame: the top bar (who, where, one-time passwords when
//! few are left, log out), the panels (rooms, users, composer, messages), a
//! notice that concerns nothing on screen floating over them, and the
//! keyboard shortcuts; the language picker sits in the top bar. In a narrow window the side panels shrink and the
//! online list folds away behind a button, so messages keep most of the width.

use egui::{Align, Layout, RichText};

use super::i18n::{I18n, t};
use super::language_picker::language_picker_ui;
use super::switcher::{shortcuts, switcher_ui};
use super::{ChatApp, alerts, composer, messages, profile, rooms, theme, users};

/// Below this window width the online list folds away and the rooms panel narrows.
pub const NARROW: f32 = 900.0;
/// The one-time password count shows from this many left down.
pub const FEW_PASSWORDS: u32 = 50;

/// The top bar's word on one-time passwords: only when few are left.
pub fn passwords_left(i18n: &I18n, left: u32) -> Option<String> {
    (left <= FEW_PASSWORDS).then(|| t!(i18n, "top-passwords-left", count = left))
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
        ui.label(RichText::new(t!(app.i18n, "app-name")).strong());
        ui.separator();
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            if ui.button(t!(app.i18n, "top-log-out")).clicked() {
                app.logout();
            }
            if ui.button(t!(app.i18n, "top-change-picture")).clicked() {
                app.open_profile();
            }
            alerts::notifications_ui(ui, app);
            language_picker_ui(ui, app);
            if narrow {
                let online = app.model.current().map_or(0, |r| r.online.len());
                let label = t!(app.i18n, "online-count", count = online);
                if ui
                    .add(egui::Button::selectable(app.show_users, label))
                    .on_hover_text(t!(app.i18n, "top-online-hover"))
                    .clicked()
                {
                    app.show_users = !app.show_users;
                }
            }
            let left = app.model.otp_remaining;
            if let Some(text) = left.and_then(|n| passwords_left(&app.i18n, n)) {
                ui.label(RichText::new(text).color(theme::warning(ui.visuals())))
                    .on_hover_text(t!(app.i18n, "top-passwords-hover"));
            }
            ui.with_layout(Layout::left_to_right(Align::Center), |ui| {
                if let Some(me) = &app.model.me {
                    let who = t!(
                        app.i18n,
                        "top-who",
                        user = me.username.as_str(),
                        server = app.settings.server.as_str()
                    );
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
                    if ui.button(t!(app.i18n, "notice-dismiss")).clicked() {
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
        let en = I18n::new(crate::i18n::Language::English);
        assert_eq!(passwords_left(&en, 998), None);
        assert_eq!(
            passwords_left(&en, 12).as_deref(),
            Some("12 one-time passwords left")
        );
        assert_eq!(
            passwords_left(&en, 1).as_deref(),
            Some("1 one-time password left")
        );
    }
}
