//! The right panel: who is online in the room shown, with avatars; clicking a
//! name starts a direct conversation.

use egui::RichText;

use super::ChatApp;
use super::avatars::avatar_ui;
use super::i18n::t;

/// Side of the avatars in the list.
const AVATAR: f32 = 24.0;

/// Draws the online-users panel.
pub fn users_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    let users: Vec<_> = app
        .model
        .current()
        .map(|room| room.online.values().cloned().collect())
        .unwrap_or_default();
    ui.label(RichText::new(t!(app.i18n, "online-count", count = users.len())).strong());
    ui.add_space(4.0);
    let mut open = None;
    egui::ScrollArea::vertical().show(ui, |ui| {
        for user in &users {
            ui.horizontal(|ui| {
                avatar_ui(
                    ui,
                    &mut app.avatars,
                    &mut app.glyphs,
                    &user.username,
                    user.avatar,
                    AVATAR,
                );
                let name = app.glyphs.clean(ui.ctx(), &user.username).into_owned();
                if app.model.is_me(&user.username) {
                    ui.label(t!(app.i18n, "online-you", user = name));
                } else if ui
                    .add(egui::Button::new(name).frame(false))
                    .on_hover_text(t!(app.i18n, "online-direct-hover"))
                    .clicked()
                {
                    open = Some(user.username.clone());
                }
            });
        }
    });
    if let Some(user) = open {
        app.open_direct(&user);
    }
}
