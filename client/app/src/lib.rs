//! The desktop app (egui/eframe): [`ChatApp`] holds the persisted
//! [`Settings`] apart from runtime state, turns worker events into screen
//! state in [`eframe::App::logic`], and draws one screen per module.
//!
//! # Layout
//! - [`settings`]: what is remembered between runs (never the passphrase).
//! - [`model`]: rooms, messages, unread counts, online users, pending sends.
//! - [`store`]: a room's messages with row heights for virtual scrolling.
//! - [`login`]: `login_ui` (log in, register, host here); [`form`]: its
//!   state and per-field checks.
//! - [`trust`]: `trust_ui` (first-use fingerprint prompt, changed-certificate warning).
//! - [`chat_ui`]: `chat_ui` (top bar, panels, notices; narrow windows).
//! - [`rooms`], [`users`], [`messages`], [`composer`]: the chat screen's panels.
//! - [`mentions`]: `@name` in messages and the names to offer;
//!   [`mention_picker`]: the list offered while one is typed.
//! - [`list`]: the virtual message list; [`scroll`]: following, jumps, the
//!   "New" divider; [`time_format`]: message times.
//! - [`banner`]: the connection status with its countdown.
//! - [`alerts`]: desktop notifications (sent by [`notify`]'s thread), the
//!   unread total in the window title, muted rooms, the "@" badge.
//! - [`switcher`]: keyboard shortcuts and "Jump to a room" (Ctrl+K).
//! - [`theme`]: readable colours (contrast) and text sizes.
//! - [`avatars`]: placeholders and the texture cache.
//! - [`files`]: pictures and files: attached in the composer
//!   (`files::outgoing`), shown in messages as thumbnails and file cards
//!   (`files::inline`), the full-size picture (`files::viewer`).
//! - [`profile`]: "Your picture" (pick from the pool, upload a file).
//! - [`fonts`]: CJK and emoji fallback fonts and the missing-glyph guard.
//! - [`i18n`]: every user-visible string, from a Fluent catalogue per
//!   language; [`language_picker`]: choosing the language.
//! - [`demo`]: `--demo`: a local server with a short conversation.
//! - [`host`]: "Host a server on this computer" (the real server on a runtime of its own).
//! - [`actions`]: what the login side's buttons do; `chat_actions`: the chat
//!   side's, and where their failures are shown.

mod actions;
pub mod alerts;
pub mod avatars;
pub mod banner;
mod chat_actions;
pub mod chat_ui;
pub mod composer;
pub mod demo;
pub mod file_pick;
pub mod files;
pub mod fonts;
pub mod form;
pub mod host;
pub mod i18n;
pub mod language_picker;
pub mod list;
pub mod login;
pub mod mention_picker;
pub mod mentions;
pub mod messages;
pub mod model;
pub mod notify;
#[cfg(all(unix, not(target_os = "macos")))]
mod notify_xdg;
pub mod profile;
pub mod rooms;
pub mod scroll;
pub mod settings;
pub mod store;
pub mod switcher;
pub mod theme;
pub mod time_format;
pub mod trust;
pub mod users;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use actions::Screen;
use avatars::AvatarCache;
use chat_actions::Awaiting;
use fonts::GlyphGuard;
use form::LoginForm;
use i18n::{I18n, Language};
use model::ChatModel;
pub use settings::Settings;
use trust::TrustState;

use chatroom_client::chat::{ChatHandle, Command, Secret, UiEvent, WorkerOptions};
use host::{Host, HostInfo};

/// The port "Host here" tries first.
pub const HOST_PORT: u16 = 4433;

/// Log in automatically at start (used by `--demo`).
#[derive(Debug, Clone)]
pub struct AutoLogin {
    /// `host:port`.
    pub server: String,
    /// The server's fingerprint, pinned before connecting.
    pub fingerprint: String,
    /// The account.
    pub username: String,
    /// Its passphrase (memory only).
    pub passphrase: Secret,
}

/// How the app is set up; the binary and the tests choose differently.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// Where "Host here" keeps the server's data.
    pub host_dir: PathBuf,
    /// Addresses "Host here" tries in order.
    pub host_listen: Vec<SocketAddr>,
    /// Look for a system CJK font (tests turn it off to check the fallback).
    pub search_cjk_font: bool,
    /// Look for system emoji fonts (for emoji newer than egui's own font).
    pub search_emoji_font: bool,
    /// Log in at start.
    pub auto_login: Option<AutoLogin>,
    /// The zone message times are shown in.
    pub time_zone: messages::TimeZone,
    /// Where avatar pictures are kept between runs (memory only when `None`).
    pub avatar_dir: Option<PathBuf>,
    /// The wait before the first reconnect attempt; `None` for the worker's usual.
    pub first_retry: Option<Duration>,
    /// Save files here without asking where (the tests set it; without a
    /// save dialog on the desktop, saves go to the downloads folder).
    pub save_dir: Option<PathBuf>,
    /// The language shown unless the user picked one: the binary asks the
    /// system ([`i18n::locale::system_language`]); the default, and so the
    /// tests, use English whatever the machine's locale.
    pub system_language: Language,
}

impl Default for AppOptions {
    fn default() -> Self {
        let dirs = directories::ProjectDirs::from("org", "Chatroom", "Chatroom");
        let host_dir = dirs
            .as_ref()
            .map(|d| d.data_dir().join("server"))
            .unwrap_or_else(|| std::env::temp_dir().join("chatroom-server"));
        let avatar_dir = dirs.as_ref().map(|d| d.cache_dir().join("avatars"));
        Self {
            host_dir,
            host_listen: vec![
                SocketAddr::from(([0, 0, 0, 0], HOST_PORT)),
                SocketAddr::from(([0, 0, 0, 0], 0)),
            ],
            search_cjk_font: true,
            search_emoji_font: true,
            auto_login: None,
            time_zone: messages::TimeZone::Local,
            avatar_dir,
            first_retry: None,
            save_dir: None,
            system_language: Language::English,
        }
    }
}

/// The app: persisted settings, runtime state, and the worker handle.
pub struct ChatApp {
    /// Remembered between runs.
    pub settings: Settings,
    /// The words shown, in the language chosen (or the system's).
    pub i18n: I18n,
    /// The network side.
    chat: ChatHandle,
    /// Set-up choices.
    options: AppOptions,
    /// The login and registration form.
    pub form: LoginForm,
    /// Certificate trust prompts.
    pub trust: TrustState,
    /// The chat as last reported.
    pub model: ChatModel,
    /// Keeps undrawable characters off the screen.
    glyphs: GlyphGuard,
    /// Avatar textures.
    avatars: AvatarCache,
    /// Attached, shown and saved pictures and files, and their transfers.
    pub files: files::Files,
    /// Starts and stops the server this app hosts.
    host: Host,
    /// The server this app hosts, once running.
    pub hosting: Option<HostInfo>,
    /// The "Your picture" window.
    pub profile: profile::ProfileState,
    /// What is typed in the message box, per room (and direct conversation),
    /// so a draft never moves to another room.
    pub drafts: BTreeMap<String, String>,
    /// The names offered while an `@name` is typed in the composer.
    pub mentions: mention_picker::MentionPicker,
    /// Why the last send was refused, for the room it was typed in.
    pub composer_error: Option<(String, String)>,
    /// The room name typed in "join or create".
    pub room_field: String,
    /// What went wrong with the room field, shown beneath it.
    pub room_problem: Option<rooms::RoomProblem>,
    /// The request whose failure would be shown beside its field.
    awaiting: Option<Awaiting>,
    /// "Jump to a room" (Ctrl+K), while open.
    pub switcher: Option<switcher::Switcher>,
    /// In a narrow window: whether the online list is unfolded.
    pub show_users: bool,
    /// The CJK font found at start.
    pub cjk_font: Option<PathBuf>,
    /// The emoji fonts found at start, in fallback order.
    pub emoji_fonts: Vec<PathBuf>,
    /// Sends desktop notifications from a thread of its own.
    notifier: notify::Notifier,
    /// The window title last set ("(3) Chatroom" with unread messages).
    pub window_title: String,
    /// Whether the window had the keyboard last frame.
    was_focused: bool,
}

impl ChatApp {
    /// Creates the app inside eframe: restores settings, installs fonts, starts the worker.
    pub fn new(cc: &eframe::CreationContext<'_>, options: AppOptions) -> std::io::Result<Self> {
        let settings = cc
            .storage
            .and_then(|s| eframe::get_value::<Settings>(s, settings::STORAGE_KEY))
            .unwrap_or_default();
        Self::with_settings(&cc.egui_ctx, settings, options)
    }

    /// Creates the app with given settings (tests inject pins this way).
    pub fn with_settings(
        ctx: &egui::Context,
        settings: Settings,
        options: AppOptions,
    ) -> std::io::Result<Self> {
        let found = fonts::install_with(ctx, options.search_cjk_font, options.search_emoji_font);
        theme::install(ctx);
        // Thumbnails are drawn from their PNG bytes by egui's image loaders.
        egui_extras::install_image_loaders(ctx);
        let repaint_ctx = ctx.clone();
        let worker = WorkerOptions {
            avatar_dir: options.avatar_dir.clone(),
            first_retry: options.first_retry,
        };
        let waker: chatroom_client::chat::Waker = Arc::new(move || repaint_ctx.request_repaint());
        let chat = ChatHandle::spawn_with(waker.clone(), worker)?;
        let notifier = notify::Notifier::start(waker.clone());
        let language = settings
            .language
            .as_deref()
            .and_then(Language::from_tag)
            .unwrap_or(options.system_language);
        let save_dir = options.save_dir.clone();
        let mut app = Self {
            settings,
            i18n: I18n::new(language),
            chat,
            options,
            form: LoginForm::default(),
            trust: TrustState::None,
            model: ChatModel::default(),
            glyphs: GlyphGuard::default(),
            avatars: AvatarCache::default(),
            files: files::Files::new(save_dir),
            host: Host::new(waker),
            hosting: None,
            profile: profile::ProfileState::default(),
            drafts: BTreeMap::new(),
            mentions: mention_picker::MentionPicker::default(),
            composer_error: None,
            room_field: String::new(),
            room_problem: None,
            awaiting: None,
            switcher: None,
            show_users: false,
            cjk_font: found.cjk,
            emoji_fonts: found.emoji,
            notifier,
            window_title: alerts::TITLE.to_owned(),
            was_focused: true,
        };
        if let Some(auto) = app.options.auto_login.clone() {
            app.auto_login(auto);
        }
        Ok(app)
    }

    /// Whether the avatar picture for `hash` arrived and is drawn.
    pub fn shows_avatar_picture(&self, hash: &chatroom_common::protocol::AvatarHash) -> bool {
        self.avatars.holds(hash)
    }

    /// Which screen is showing.
    pub fn screen(&self) -> Screen {
        if self.model.me.is_some() {
            Screen::Chat
        } else {
            Screen::Login
        }
    }
}

impl eframe::App for ChatApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        // Drain the worker's queue; the lock is held only for the swap.
        for event in self.chat.drain() {
            match event {
                // Pictures become textures here, where the context is at hand.
                UiEvent::Avatar { hash, png } => {
                    if let Err(e) = self.avatars.insert_png(ctx, hash, &png) {
                        tracing::warn!("avatar {hash} not shown: {e}");
                    }
                }
                UiEvent::AvatarMissing(hash) => self.avatars.missing(hash),
                UiEvent::AvatarPool(pool) => self.profile.pool = pool,
                ref transfer if self.files.event(ctx, &self.i18n, transfer) => {}
                UiEvent::Messages {
                    ref room,
                    ref messages,
                    unread,
                } => {
                    // Before the model takes them: it tells what is new.
                    self.notify_arrivals(ctx, room, messages, unread);
                    self.handle(event);
                }
                other => self.handle(other),
            }
        }
        for event in self.host.drain() {
            self.hosted(event);
        }
        self.attention(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        match self.screen() {
            Screen::Login => login::login_ui(ui, self),
            Screen::Chat => {
                chat_ui::chat_ui(ui, self);
                files::viewer::viewer_ui(ui.ctx(), self);
                files::outgoing::drop_hint_ui(ui.ctx(), self);
            }
        }
        // Choosers asked for by this frame's buttons, on top of this window.
        file_pick::open_asked(ui.ctx(), frame);
        self.files.poll_save_picker();
        for command in self.files.take_commands() {
            self.chat.send(command);
        }
        // The avatars drawn this frame and not held yet: fetch them once.
        let wanted = self.avatars.take_wanted();
        if !wanted.is_empty() {
            self.chat.send(Command::FetchAvatars(wanted));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, settings::STORAGE_KEY, &self.settings);
    }
}
