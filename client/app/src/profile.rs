//! "Your picture": pick an avatar from the server's pool or upload an image
//! file (typed, chosen with the desktop's file chooser, or dropped on the
//! window). The pool is a grid that scrolls inside a window sized to the
//! screen, so every picture can be reached in any window; problems show
//! inside the window, and Esc closes it.

use std::path::PathBuf;

use chatroom_common::protocol::AvatarHash;
use egui::{RichText, Vec2};

use super::avatars::avatar_ui;
use super::chat_actions::Awaiting;
use super::file_pick::{self, FileKind, FilePicker};
use super::i18n::t;
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
    /// The file chooser behind "Choose…".
    pub picker: FilePicker,
}

impl ChatApp {
    /// Opens "Your picture" and asks for the pool.
    pub fn open_profile(&mut self) {
        self.profile.open = true;
        self.profile.error = None;
        // A file chosen after the window was closed is not uploaded unasked.
        self.profile.picker.discard();
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
            self.profile.error = Some(t!(self.i18n, "profile-type-path"));
            return;
        }
        let path = PathBuf::from(path);
        self.upload_avatar_file(path);
    }

    /// Uploads a file chosen or dropped: shown in the path field (so a
    /// problem can be fixed by editing it), then sent as a typed one is.
    pub fn upload_avatar_file(&mut self, path: PathBuf) {
        self.profile.path = path.to_string_lossy().into_owned();
        self.profile.error = None;
        self.awaiting = Some(Awaiting::Picture);
        self.chat.send(Command::UploadAvatar(path));
    }
}

/// Draws the window when open.
pub fn profile_ui(ctx: &egui::Context, app: &mut ChatApp) {
    if let Some(path) = app.profile.picker.take() {
        app.upload_avatar_file(path);
    }
    // A file dropped anywhere on the app while the window is open; the
    // first only, since there is one picture. The server checks the bytes,
    // so a file that is no image gets the same refusal as a typed one.
    if let Some(path) = ctx.input(|i| i.raw.dropped_files.first().map(|f| f.path().to_path_buf())) {
        app.upload_avatar_file(path);
    }
    let mut open = app.profile.open;
    let screen = ctx.content_rect();
    // Never wider or taller than the window, so nothing ends up off screen.
    let width = (screen.width() - 32.0).clamp(200.0, 440.0);
    // The same id in every language, so switching keeps its place.
    egui::Window::new(t!(app.i18n, "profile-title"))
        .id(egui::Id::unique("your picture"))
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
            ui.add(egui::Label::new(t!(app.i18n, "profile-you-now")).wrap());
        });
    }
    ui.separator();
    ui.label(RichText::new(t!(app.i18n, "profile-pick")).strong());
    if app.profile.pool.is_empty() && app.profile.error.is_none() {
        ui.label(t!(app.i18n, "profile-asking"));
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
    ui.label(RichText::new(t!(app.i18n, "profile-upload-heading")).strong());
    ui.label(
        RichText::new(t!(app.i18n, "profile-upload-help"))
            .small()
            .weak(),
    );
    if ui.input(|i| !i.raw.hovered_files.is_empty()) {
        // While a file is dragged over the app: where it goes when let go.
        ui.label(
            RichText::new(t!(app.i18n, "profile-drop-here"))
                .strong()
                .color(theme::ok(ui.visuals())),
        );
    }
    let label = ui.label(t!(app.i18n, "profile-file"));
    let picker = app.profile.picker.clone();
    let field = file_pick::path_field_ui(
        ui,
        &app.i18n,
        &mut app.profile.path,
        // An example path: the same in every language.
        "/home/you/Pictures/me.png",
        label.id,
        &picker,
        FileKind::Image,
    );
    file_pick::notice_ui(ui, &app.i18n, &picker);
    if field.changed() {
        app.profile.error = None;
    }
    let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    if ui.button(t!(app.i18n, "profile-upload")).clicked() || entered {
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
    let label = t!(app.i18n, "profile-picture", number = index + 1);
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
