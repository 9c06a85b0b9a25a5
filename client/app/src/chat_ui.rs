//! The chat screen's frame: top bar (who, where, one-time passwords left), the
//! connection banner, and the panels (rooms, users, composer, messages).

use egui::{Color32, RichText};

use super::{ChatApp, composer, messages, profile, rooms, users};
use chatroom_client::chat::ConnStatus;

/// The banner's text for a connection state; `None` when all is well.
pub fn banner_text(status: &ConnStatus) -> Option<String> {
    match status {
        ConnStatus::Online | ConnStatus::Offline => None,
        ConnStatus::Connecting => Some("Connecting…".into()),
        ConnStatus::Reconnecting {
            reason,
            attempt,
            retry_in,
        } => Some(format!(
            "Connection lost ({reason}). Reconnecting by itself: attempt {attempt}, next try in {:.1} s.",
            retry_in.as_secs_f32()
        )),
    }
}

/// Draws the chat screen.
pub fn chat_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    egui::Panel::top("top_bar").show(ui, |ui| top_bar_ui(ui, app));
    if let Some(text) = banner_text(&app.model.status) {
        let text = app.glyphs.clean(ui.ctx(), &text).into_owned();
        egui::Panel::top("connection_banner")
            .frame(
                egui::Frame::new()
                    .fill(Color32::from_rgb(0x8a, 0x5a, 0x00))
                    .inner_margin(8.0),
            )
            .show(ui, |ui| {
                ui.colored_label(Color32::WHITE, text);
            });
    }
    if let Some(notice) = app.model.notice.clone() {
        let notice = app.glyphs.clean(ui.ctx(), &notice).into_owned();
        egui::Panel::top("notice").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(notice);
                if ui.small_button("Dismiss").clicked() {
                    app.model.notice = None;
                }
            });
        });
    }
    egui::Panel::left("rooms")
        .resizable(true)
        .default_size(210.0)
        .show(ui, |ui| rooms::rooms_ui(ui, app));
    egui::Panel::right("users")
        .resizable(true)
        .default_size(190.0)
        .show(ui, |ui| users::users_ui(ui, app));
    egui::Panel::bottom("composer").show(ui, |ui| composer::composer_ui(ui, app));
    egui::CentralPanel::default().show(ui, |ui| messages::messages_ui(ui, app));
    if app.profile.open {
        profile::profile_ui(ui.ctx(), app);
    }
}

fn top_bar_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Chatroom").strong());
        ui.separator();
        if let Some(me) = &app.model.me {
            let who = format!("{} on {}", me.username, app.settings.server);
            let who = app.glyphs.clean(ui.ctx(), &who).into_owned();
            ui.label(who);
        }
        if let Some(left) = app.model.otp_remaining {
            ui.separator();
            ui.label(format!("{left} one-time passwords left"))
                .on_hover_text(
                    "Each login uses one; the app sets up a new chain when fewer than 10 remain.",
                );
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button("Log out").clicked() {
                app.logout();
            }
            if ui.button("Change picture").clicked() {
                app.open_profile();
            }
        });
    });
}
