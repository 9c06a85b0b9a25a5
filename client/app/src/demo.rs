//! `chatroom --demo`: a throw-away server in a temporary directory, a few
//! users talking (in English and Chinese, with emoji), and the app logged in
//! as one of them, so screenshots are reproducible without any set-up.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use chatroom_client::session::new_key;
use chatroom_common::protocol::{FileRef, OtpAlgorithm};
use chatroom_server::{Config, Running};
use image::{ImageEncoder, Rgb, RgbImage};

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

/// The text file alice shares.
const MINUTES: &str = "Monday meeting\n\n- New server is live\n- Next: pictures and files\n";

/// A sunset over the sea, drawn here so the demo needs no picture file.
fn harbour_picture() -> anyhow::Result<Vec<u8>> {
    const W: u32 = 640;
    const H: u32 = 400;
    let horizon = H * 3 / 5;
    let (sun_x, sun_y, sun_r) = (W as f32 * 0.62, horizon as f32 - 30.0, 48.0);
    let image = RgbImage::from_fn(W, H, |x, y| {
        let t = y as f32 / horizon as f32;
        let (dx, dy) = (x as f32 - sun_x, y as f32 - sun_y);
        if y < horizon {
            if (dx * dx + dy * dy).sqrt() < sun_r {
                return Rgb([255, 224, 130]);
            }
            // Purple high up, orange at the horizon.
            let mix = |a: f32, b: f32| (a + (b - a) * t) as u8;
            Rgb([mix(70.0, 250.0), mix(40.0, 140.0), mix(110.0, 70.0)])
        } else {
            // The sea, with the sun's glitter on it.
            let depth = (y - horizon) as f32 / (H - horizon) as f32;
            let glitter = dx.abs() < sun_r * (1.0 - depth) && (y / 3) % 2 == 0;
            if glitter {
                Rgb([250, 190, 110])
            } else {
                Rgb([
                    (40.0 - 20.0 * depth) as u8,
                    (60.0 - 20.0 * depth) as u8,
                    (110.0 - 30.0 * depth) as u8,
                ])
            }
        }
    });
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(image.as_raw(), W, H, image::ExtendedColorType::Rgb8)
        .context("drawing the demo picture")?;
    Ok(png)
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
    let script: [(&Session, &str); 7] = [
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
    ];
    for (who, text) in script {
        who.send("lobby", text).await?;
    }
    // Pictures and files: a picture shows as its thumbnail, a file as a card.
    let picture = bob
        .upload("harbour.png", &harbour_picture()?, |_| {})
        .await
        .context("uploading the demo picture")?;
    let minutes = alice
        .upload("minutes.txt", MINUTES.as_bytes(), |_| {})
        .await
        .context("uploading the demo file")?;
    let posts = [
        (&bob, "Sunset at the harbour last night:", picture),
        (
            &alice,
            "The minutes from Monday, for anyone who missed it.",
            minutes,
        ),
    ];
    for (who, text, file) in posts {
        let files = vec![FileRef {
            hash: file.hash,
            name: file.name,
        }];
        who.send_with_files("lobby", text, new_key(), files).await?;
    }
    sam.send("lobby", "Hello everyone, glad to be here 🎉")
        .await?;
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
