//! GUI test harness: a real server (the test kit's) on its own background tokio runtime, the
//! real app in an `egui_kittest::Harness` (its network worker runs in its own
//! thread, as in production), and helpers that act like a person: find
//! widgets by role and label, type, click, and wait for the screen to change.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use chatroom_app::{AppOptions, ChatApp, Settings};
use chatroom_client::{Session, Trust};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use tokio::runtime::Runtime;

pub use chatroom_testkit::PASS;
/// Longest wait for the screen to change.
const WAIT: Duration = Duration::from_secs(90);

/// A real server (the test kit's) and the runtime it runs on.
pub struct TestServer {
    /// The runtime (server tasks and the test's own sessions).
    pub rt: Runtime,
    /// `127.0.0.1:port`.
    pub addr: SocketAddr,
    /// The CA fingerprint, hex.
    pub fingerprint: String,
    /// The server; taken by [`TestServer::stop`].
    server: Option<chatroom_testkit::TestServer>,
}

impl TestServer {
    /// Starts a server on 127.0.0.1:0 in `dir`.
    pub fn start(dir: &Path) -> Self {
        Self::start_at(dir, "127.0.0.1:0".parse().unwrap())
    }

    /// Starts a server at `addr` (a fixed port to restart on the same one).
    pub fn start_at(dir: &Path, addr: SocketAddr) -> Self {
        let rt = Runtime::new().unwrap();
        let server = rt.block_on(chatroom_testkit::TestServer::start_at(dir, addr));
        Self::on(rt, server)
    }

    /// Starts a server with the given configuration.
    pub fn start_with(config: chatroom_server::Config) -> Self {
        let rt = Runtime::new().unwrap();
        let server = rt.block_on(chatroom_testkit::TestServer::start_config(config));
        Self::on(rt, server)
    }

    fn on(rt: Runtime, server: chatroom_testkit::TestServer) -> Self {
        Self {
            rt,
            addr: server.socket,
            fingerprint: server.fingerprint.clone(),
            server: Some(server),
        }
    }

    /// Stops the server gracefully (clients are told it is shutting down).
    pub fn stop(mut self) {
        if let Some(server) = self.server.take() {
            self.rt.block_on(server.stop());
        }
    }

    /// Settings with this server filled in and its certificate pinned.
    pub fn pinned_settings(&self, username: &str) -> Settings {
        let mut settings = Settings {
            server: self.addr.to_string(),
            username: username.to_owned(),
            ..Settings::default()
        };
        settings.set_pin(&self.addr.to_string(), &self.fingerprint);
        settings
    }

    /// A logged-in session for `name`, registering first when asked.
    pub fn session(&self, name: &str, register: bool) -> Session {
        let trust = Trust::parse_pin(&self.fingerprint).unwrap();
        let addr = self.addr.to_string();
        self.rt.block_on(async {
            if register {
                chatroom_testkit::server::user(&addr, &trust, name).await
            } else {
                chatroom_testkit::server::login(&addr, &trust, name).await
            }
        })
    }
}

/// App options for tests: hosting on loopback only, data under `dir`.
pub fn options(dir: &Path) -> AppOptions {
    AppOptions {
        host_dir: dir.join("hosted"),
        host_listen: vec!["127.0.0.1:0".parse().unwrap()],
        search_cjk_font: false,
        avatar_dir: Some(dir.join("avatars")),
        ..AppOptions::default()
    }
}

/// The app in a kittest harness (missing glyphs panic, as kittest sets them to).
pub fn app(settings: Settings, options: AppOptions) -> Harness<'static, ChatApp> {
    app_sized(settings, options, [1100.0, 720.0])
}

/// The app in a window of the given size.
pub fn app_sized(
    settings: Settings,
    options: AppOptions,
    size: [f32; 2],
) -> Harness<'static, ChatApp> {
    Harness::builder().with_size(size).build_eframe(move |cc| {
        ChatApp::with_settings(&cc.egui_ctx, settings, options).expect("app starts")
    })
}

/// Steps the UI until `done` holds, sleeping between frames so network events
/// arrive; panics after a generous bound with `what` and the visible tree.
pub fn wait_for(
    harness: &mut Harness<'static, ChatApp>,
    what: &str,
    done: impl Fn(&Harness<'static, ChatApp>) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    loop {
        harness.step();
        if done(harness) {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}; the screen shows:\n{:#?}",
                harness.root()
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Whether a node with exactly this label exists.
pub fn shows(harness: &Harness<'static, ChatApp>, label: &str) -> bool {
    harness.query_all_by_label(label).next().is_some()
}

/// Whether a node whose label contains `part` exists.
/// (A wrapped label also has a text-run node per line, so this may match several.)
pub fn shows_part(harness: &Harness<'static, ChatApp>, part: &str) -> bool {
    harness.query_all_by_label_contains(part).next().is_some()
}

/// Types into the text field labelled `label`, as a person would: focus it,
/// check that the cursor is there, then type.
pub fn fill(harness: &mut Harness<'static, ChatApp>, label: &str, text: &str) {
    for _ in 0..20 {
        if harness.get_by_label(label).is_focused() {
            break;
        }
        harness.get_by_label(label).focus();
        harness.step();
    }
    assert!(
        harness.get_by_label(label).is_focused(),
        "{label} takes no focus"
    );
    harness.get_by_label(label).type_text(text);
    harness.step();
}

/// Clicks the button labelled `label`.
pub fn click(harness: &mut Harness<'static, ChatApp>, label: &str) {
    harness.get_by_role_and_label(Role::Button, label).click();
    harness.step();
    harness.step();
}

/// Logs in through the form (the server must be pinned in the settings).
pub fn log_in(harness: &mut Harness<'static, ChatApp>, passphrase: &str) {
    fill(harness, "Passphrase", passphrase);
    click(harness, "Connect and log in");
}

/// Registers through the form with the server and username already filled in.
pub fn register(harness: &mut Harness<'static, ChatApp>, email: &str) {
    click(harness, "Register");
    fill(harness, "E-mail", email);
    fill(harness, "Passphrase", PASS);
    fill(harness, "Passphrase again", PASS);
    click(harness, "Create the account");
}

/// Waits until the chat screen shows the lobby.
pub fn wait_for_lobby(harness: &mut Harness<'static, ChatApp>) {
    wait_for(harness, "the lobby", |h| {
        shows(h, "# lobby") && shows(h, "Log out")
    });
}

/// Types a message and presses Enter; checks the composer took it.
pub fn send(harness: &mut Harness<'static, ChatApp>, text: &str) {
    fill(harness, "Message", text);
    assert_eq!(
        harness.get_by_label("Message").value().as_deref(),
        Some(text)
    );
    harness.key_press(egui::Key::Enter);
    harness.step();
    assert_eq!(harness.get_by_label("Message").value().as_deref(), Some(""));
}

/// The vertical position of the (single) label `text`, for order checks.
pub fn top_of(harness: &Harness<'static, ChatApp>, text: &str) -> f32 {
    rect_of(harness, text).min.y
}

/// Where the (single) node labelled `text` is.
pub fn rect_of(harness: &Harness<'static, ChatApp>, text: &str) -> egui::Rect {
    let all = harness.get_all_by_label(text).collect::<Vec<_>>();
    assert_eq!(all.len(), 1, "{text:?} is shown {} times", all.len());
    all[0].rect()
}

/// Whether the message `text` is drawn and not hidden under the composer
/// (the list lays out only the rows in view, so one scrolled away is absent).
pub fn in_view(harness: &Harness<'static, ChatApp>, text: &str) -> bool {
    let Some(node) = harness.query_by_label(text) else {
        return false;
    };
    let composer_top = harness.get_by_label("Message").rect().min.y;
    node.rect().max.y <= composer_top + 1.0
}

/// Presses a key (with modifiers) and lets the app draw twice.
pub fn press(harness: &mut Harness<'static, ChatApp>, modifiers: egui::Modifiers, key: egui::Key) {
    harness.key_press_modifiers(modifiers, key);
    harness.step();
    harness.step();
}

/// A user who posted `count` numbered lines (`"{prefix} 1"`…) in the lobby.
pub fn chatter(server: &TestServer, name: &str, prefix: &str, count: usize) -> Session {
    let session = server.session(name, true);
    server.rt.block_on(async {
        session.join("lobby").await.unwrap();
        for i in 1..=count {
            session
                .send("lobby", &format!("{prefix} {i}"))
                .await
                .unwrap();
        }
    });
    session
}

/// Whether a CJK font is installed. Without one a test that needs it is
/// skipped on a developer's machine, but fails under `CI=true`, where
/// `scripts/setup.sh` has installed fonts-noto-cjk: a skip there would hide a
/// missing install step.
pub fn have_cjk_font() -> bool {
    if chatroom_app::fonts::find_cjk().is_some() {
        return true;
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "no CJK font installed under CI=true (scripts/apt-packages.txt lists fonts-noto-cjk)"
    );
    eprintln!("no CJK font installed (scripts/apt-packages.txt lists one); skipping");
    false
}
