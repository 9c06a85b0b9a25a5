//! "Your picture": pick an avatar from the server's pool or upload an image
//! file; the window lists the pool's pictures as buttons (fetched like every
//! other avatar) and shows the current one.

use chatroom_common::protocol::AvatarHash;
use egui::{RichText, Vec2};

use super::ChatApp;
use super::avatars::avatar_ui;
use chatroom_client::chat::Command;

/// Side of the pictures in the window.
const PICTURE: f32 = 48.0;

/// The window's state.
#[derive(Debug, Default)]
pub struct ProfileState {
    /// Whether the window is open.
    pub open: bool,
    /// The server's pool, once listed.
    pub pool: Vec<AvatarHash>,
    /// The image file path being typed.
    pub path: String,
}

impl ChatApp {
    /// Opens "Your picture" and asks for the pool.
    pub fn open_profile(&mut self) {
        self.profile.open = true;
        self.chat.send(Command::AvatarPool);
    }

    /// Uses a pool picture.
    pub fn choose_avatar(&mut self, hash: AvatarHash) {
        self.chat.send(Command::ChooseAvatar(hash));
    }

    /// Uploads the file named in the path field.
    pub fn upload_avatar(&mut self) {
        let path = self.profile.path.trim();
        if path.is_empty() {
            self.model.notice = Some("Type the path of an image file first.".into());
            return;
        }
        self.chat.send(Command::UploadAvatar(path.into()));
    }
}

/// Draws the window when open.
pub fn profile_ui(ctx: &egui::Context, app: &mut ChatApp) {
    let mut open = app.profile.open;
    egui::Window::new("Your picture")
        .open(&mut open)
        .collapsible(false)
        .default_width(420.0)
        .show(ctx, |ui| window_ui(ui, app));
    app.profile.open = open;
}

fn window_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    let me = app.model.me.clone();
    if let Some(me) = &me {
        ui.horizontal(|ui| {
            avatar_ui(
                ui,
                &mut app.avatars,
                &mut app.glyphs,
                &me.username,
                me.avatar,
                PICTURE,
            );
            ui.label("This is you now. Everyone sees the picture you pick.");
        });
    }
    ui.separator();
    ui.label(RichText::new("Pick one").strong());
    let mut picked = None;
    if app.profile.pool.is_empty() {
        ui.label("Asking the server for its pictures…");
    }
    egui::ScrollArea::vertical()
        .max_height(240.0)
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                for (i, hash) in app.profile.pool.iter().enumerate() {
                    let label = format!("Picture {}", i + 1);
                    let current = me.as_ref().and_then(|m| m.avatar) == Some(*hash);
                    // The id comes from the hash, and both kinds of button are laid
                    // out alike, so a click is not lost when the picture arrives
                    // between two frames and replaces the placeholder.
                    let button = match app.avatars.get(hash) {
                        Some(texture) => egui::Button::image(
                            egui::Image::new(texture).fit_to_exact_size(Vec2::splat(PICTURE)),
                        ),
                        None => egui::Button::new("…"),
                    };
                    let response = ui
                        .push_id(hash, |ui| {
                            ui.add_sized(Vec2::splat(PICTURE + 8.0), button.selected(current))
                        })
                        .inner;
                    if response.accessible_name(&label).clicked() {
                        picked = Some(*hash);
                    }
                }
            });
        });
    if let Some(hash) = picked {
        app.choose_avatar(hash);
    }
    ui.separator();
    ui.label(RichText::new("Or upload your own").strong());
    ui.label(
        RichText::new("PNG, JPEG, GIF or WebP up to 2 MiB; the server crops it to a square.")
            .small(),
    );
    let label = ui.label("Image file");
    ui.add(
        egui::TextEdit::singleline(&mut app.profile.path)
            .hint_text("/home/you/Pictures/me.png")
            .desired_width(f32::INFINITY),
    )
    .labelled_by(label.id);
    if ui.button("Upload").clicked() {
        app.upload_avatar();
    }
}
