//! "Your picture": pick an avatar from the server's pool or upload an image
//! file. The pool is a grid that scrolls inside a window sized to the screen,
//! so every picture can be reached in any window; problems show inside the
//! window, and Esc closes it.

use chatroom_common::protocol::AvatarHash;
use egui::{RichText, Vec2};

use super::avatars::avatar_ui;
use super::chat_actions::Awaiting;
use super::{ChatApp, theme};
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
    /// The last problem, shown in the window until the next try works or the path changes.
    pub error: Option<String>,
}

impl ChatApp {
    /// Opens "Your picture" and asks for the pool.
    pub fn open_profile(&mut self) {
        self.profile.open = true;
        self.profile.error = None;
        self.chat.send(Command::AvatarPool);
    }

    /// Uses a pool picture.
    pub fn choose_avatar(&mut self, hash: AvatarHash) {
        self.profile.error = None;
        self.awaiting = Some(Awaiting::Picture);
        self.chat.send(Command::ChooseAvatar(hash));
    }

    /// Uploads the file named in the path field.
    pub fn upload_avatar(&mut self) {
        let path = self.profile.path.trim();
        if path.is_empty() {
            self.profile.error = Some("Type the path of an image file first.".into());
            return;
        }
        self.profile.error = None;
        self.awaiting = Some(Awaiting::Picture);
        self.chat.send(Command::UploadAvatar(path.into()));
    }
}

/// Draws the window when open.
pub fn profile_ui(ctx: &egui::Context, app: &mut ChatApp) {
    let mut open = app.profile.open;
    let screen = ctx.content_rect();
    // Never wider or taller than the window, so nothing ends up off screen.
    let width = (screen.width() - 32.0).clamp(200.0, 440.0);
    egui::Window::new("Your picture")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .default_width(width)
        .max_width(width)
        .max_height(screen.height() - 32.0)
        // Placed where it fits whole, however small the window.
        .anchor(egui::Align2::CENTER_TOP, [0.0, 16.0])
        .show(ctx, |ui| window_ui(ui, app, width));
    if ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
        open = false;
    }
    app.profile.open = open;
}

fn window_ui(ui: &mut egui::Ui, app: &mut ChatApp, width: f32) {
    ui.set_width(width - 16.0);
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
            ui.add(egui::Label::new("This is you now. Everyone sees the picture you pick.").wrap());
        });
    }
    ui.separator();
    ui.label(RichText::new("Pick one").strong());
    if app.profile.pool.is_empty() && app.profile.error.is_none() {
        ui.label("Asking the server for its pictures…");
    }
    // The grid takes what is left of the screen after the rest of the window.
    let grid_height = (ui.ctx().content_rect().height() - 330.0).clamp(64.0, 240.0);
    let mut picked = None;
    egui::ScrollArea::vertical()
        .max_height(grid_height)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            let pool = app.profile.pool.clone();
            let current = me.as_ref().and_then(|m| m.avatar);
            // Rows of as many as fit. (A wrapping layout does not wrap the
            // id scopes each button sits in, so the rows are made here.)
            let cell = PICTURE + 8.0 + ui.spacing().item_spacing.x;
            let columns = ((ui.available_width() / cell).floor() as usize).max(1);
            for (row, hashes) in pool.chunks(columns).enumerate() {
                ui.horizontal(|ui| {
                    for (col, hash) in hashes.iter().enumerate() {
                        if pool_button(ui, app, row * columns + col, *hash, current) {
                            picked = Some(*hash);
                        }
                    }
                });
            }
        });
    if let Some(hash) = picked {
        app.choose_avatar(hash);
    }
    ui.separator();
    ui.label(RichText::new("Or upload your own").strong());
    ui.label(
        RichText::new("PNG, JPEG, GIF or WebP up to 2 MiB; the server crops it to a square.")
            .small()
            .weak(),
    );
    let label = ui.label("Image file");
    let field = ui
        .add(
            egui::TextEdit::singleline(&mut app.profile.path)
                .hint_text("/home/you/Pictures/me.png")
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    if field.changed() {
        app.profile.error = None;
    }
    let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    if ui.button("Upload").clicked() || entered {
        app.upload_avatar();
    }
    if let Some(error) = app.profile.error.clone() {
        let error = app.glyphs.clean(ui.ctx(), &error).into_owned();
        ui.add(egui::Label::new(RichText::new(error).color(theme::error(ui.visuals()))).wrap());
    }
}

/// One pool picture as a button; true when clicked.
fn pool_button(
    ui: &mut egui::Ui,
    app: &mut ChatApp,
    index: usize,
    hash: AvatarHash,
    current: Option<AvatarHash>,
) -> bool {
    let label = format!("Picture {}", index + 1);
    // The id comes from the hash, and both kinds of button are laid out
    // alike, so a click is not lost when the picture arrives between two
    // frames and replaces the placeholder.
    let button = match app.avatars.get(&hash) {
        Some(texture) => {
            egui::Button::image(egui::Image::new(texture).fit_to_exact_size(Vec2::splat(PICTURE)))
        }
        None => egui::Button::new("…"),
    };
    ui.push_id(hash, |ui| {
        ui.add_sized(
            Vec2::splat(PICTURE + 8.0),
            button.selected(current == Some(hash)),
        )
    })
    .inner
    .accessible_name(&label)
    .clicked()
}
