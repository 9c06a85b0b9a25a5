//! `chatroom --demo`: a throw-away server in a temporary directory, a few
//! users talking (in English and Chinese, with emoji), and the app logged in
//! as one of them, so screenshots are reproducible without any set-up.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use chatroom_common::protocol::OtpAlgorithm;
use chatroom_server::{Config, Running};

use super::AutoLogin;
use chatroom_client::chat::Secret;
use chatroom_client::{Session, Trust};

/// The demo accounts' passphrase (they live only in a temporary directory).
const PASSPHRASE: &str = "demo passphrase 123";
/// The user the app logs in as.
pub const DEMO_USER: &str = "sam";

/// Keeps the demo server and its chatting users alive while the app runs.
pub struct Demo {
    /// The server's data and the app's demo settings; deleted when the demo ends.
    _dir: tempfile::TempDir,
    /// The demo server; it stops with the runtime.
    _server: Running,
    /// Runs the server and the other users' sessions.
    _runtime: tokio::runtime::Runtime,
    /// How the app logs in.
    pub auto_login: AutoLogin,
}

impl Demo {
    /// Where the app keeps its settings during the demo (thrown away after).
    pub fn settings_path(&self) -> std::path::PathBuf {
        self._dir.path().join("app-settings.ron")
    }
}

/// Starts the demo server and conversation.
pub fn start() -> anyhow::Result<Demo> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the demo runtime")?;
    let (auto_login, server) = runtime.block_on(setup(dir.path()))?;
    Ok(Demo {
        _dir: dir,
        _server: server,
        _runtime: runtime,
        auto_login,
    })
}

async fn user(server: &str, trust: &Trust, name: &str, email: &str) -> anyhow::Result<Session> {
    let mut session = Session::connect(server, trust).await?;
    session
        .register(name, email, PASSPHRASE, OtpAlgorithm::Md5)
        .await
        .with_context(|| format!("registering {name}"))?;
    session.login(name, PASSPHRASE, None).await?;
    Ok(session)
}

async fn setup(dir: &std::path::Path) -> anyhow::Result<(AutoLogin, Running)> {
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = chatroom_server::spawn(Config::new(listen, dir))
        .await
        .context("starting the demo server")?;
    let address = server.addr.to_string();
    let fingerprint = server.fingerprint.clone();
    let trust = Trust::parse_pin(&fingerprint)?;

    let alice = user(&address, &trust, "alice", "alice@example.org").await?;
    let bob = user(&address, &trust, "bob", "bob@example.org").await?;
    let lilei = user(&address, &trust, "李雷", "lilei@example.org").await?;
    let sam = user(&address, &trust, DEMO_USER, "sam@example.org").await?;
    for s in [&alice, &bob, &lilei, &sam] {
        s.join("lobby").await?;
    }
    let script: [(&Session, &str); 8] = [
        (&alice, "Welcome to the Chatroom demo! 👋"),
        (&bob, "Hi Alice. Is the new server up?"),
        (
            &alice,
            "It is: QUIC, one-time-password logins, and history that survives restarts.",
        ),
        (&lilei, "大家好！我是李雷，很高兴认识你们。"),
        (&lilei, "这个聊天室支持中文吗？"),
        (
            &alice,
            "支持！Chinese text renders with the system CJK font 🎉",
        ),
        (
            &bob,
            "Consecutive messages from one sender\nshare one avatar and name.",
        ),
        (&sam, "Hello everyone, glad to be here 🎉"),
    ];
    for (who, text) in script {
        who.send("lobby", text).await?;
    }
    alice.create_room("books").await?;
    alice.send("books", "Reading anything good?").await?;
    bob.join("books").await?;
    sam.join("books").await?;
    sam.close().await;

    // A little later, while the app is open: a direct message and a room
    // message, so the room list shows unread counts.
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(4)).await;
        if let Ok(dm) = alice.open_direct(DEMO_USER).await {
            let _ = alice.send(&dm.name, "psst, welcome aboard!").await;
        }
        let _ = bob
            .send("books", "Just started 三体 (The Three-Body Problem).")
            .await;
        // The other users stay online for the user list.
        let _keep = (alice, bob, lilei);
        std::future::pending::<()>().await;
    });

    let auto_login = AutoLogin {
        server: address,
        fingerprint,
        username: DEMO_USER.to_owned(),
        passphrase: Secret::new(PASSPHRASE),
    };
    Ok((auto_login, server))
}
