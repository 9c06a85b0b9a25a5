//! Test harness: a real server on 127.0.0.1:0 with a temporary data directory.

use std::path::Path;
use std::time::Duration;

use chatroom_client::{Session, Trust};
use chatroom_common::protocol::{Event, UserInfo};
use chatroom_server::{Config, Limits, MailConfig, Server};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// A passphrase that satisfies the RFC's minimum.
pub const PASS: &str = "correct horse battery";

/// A running server.
pub struct TestServer {
    pub addr: String,
    pub pin: Trust,
    pub ca: Trust,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server in `data_dir` with the default limits, except flood
    /// control, which tests that post in bulk would trip (its own test uses the defaults).
    pub async fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, None, bulk_limits()).await
    }

    /// Starts a server with a given database URL and limits.
    pub async fn start_with(data_dir: &Path, database: Option<String>, limits: Limits) -> Self {
        Self::start_with_mail(data_dir, database, limits, MailConfig::default()).await
    }

    /// Starts a server with a given database URL, limits and mail settings
    /// (SMTP relay, verification, back-off).
    pub async fn start_with_mail(
        data_dir: &Path,
        database: Option<String>,
        limits: Limits,
        mail: MailConfig,
    ) -> Self {
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), data_dir);
        config.database = match database {
            Some(url) => Some(url),
            None => database_for(data_dir).await,
        };
        config.limits = limits;
        config.mail = mail;
        let server = Server::bind(config).await.expect("server binds");
        let addr = server.local_addr().unwrap().to_string();
        let pin = Trust::parse_pin(server.ca_fingerprint()).unwrap();
        let ca = Trust::ca_file(server.ca_path().unwrap()).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .run(async {
                    let _ = stopped.await;
                })
                .await
                .expect("server runs");
        });
        Self {
            addr,
            pin,
            ca,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("server stops in time")
                .expect("server task");
        }
    }

    /// A connected session (not logged in).
    pub async fn connect(&self) -> Session {
        Session::connect(&self.addr, &self.pin)
            .await
            .expect("connects")
    }

    /// Registers `name` and returns a logged-in session.
    pub async fn user(&self, name: &str) -> Session {
        let s = self.connect().await;
        s.register(
            name,
            &format!("{}@example.org", name.to_lowercase()),
            PASS,
            chatroom_common::protocol::OtpAlgorithm::Md5,
        )
        .await
        .expect("registers");
        self.login(name).await
    }

    /// A new logged-in session for an existing user.
    pub async fn login(&self, name: &str) -> Session {
        let mut s = self.connect().await;
        s.login(name, PASS, None).await.expect("logs in");
        s
    }
}

/// Default limits with flood control opened up for bulk-posting tests.
pub fn bulk_limits() -> Limits {
    Limits {
        send_rate: 100_000.0,
        send_burst: 100_000,
        registrations_per_hour: 1_000_000.0,
        registration_burst: 10_000,
        ..Limits::default()
    }
}

/// With `CHATROOM_E2E_STORE=mysql` the whole suite runs against MariaDB: each
/// data directory gets its own database (the same one again after a restart).
/// Otherwise `None`: the server's default SQLite file in the data directory.
async fn database_for(data_dir: &Path) -> Option<String> {
    use mysql_async::prelude::Queryable;
    use sha2::{Digest, Sha256};
    if std::env::var("CHATROOM_E2E_STORE").ok().as_deref() != Some("mysql") {
        return None;
    }
    let digest = Sha256::digest(data_dir.to_string_lossy().as_bytes());
    let name = format!("chatroom_e2e_{}", hex::encode(&digest[..8]));
    let base = std::env::var("CHATROOM_E2E_MYSQL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned());
    let mut conn = mysql_async::Conn::from_url(format!("{base}/test"))
        .await
        .expect(
            "MariaDB must be reachable for CHATROOM_E2E_STORE=mysql (scripts/mariadb.sh starts it)",
        );
    conn.query_drop(format!(
        "CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    ))
    .await
    .expect("creating the test database");
    let _ = conn.disconnect().await;
    Some(format!("{base}/{name}"))
}

/// Waits for the next event matching `pick`, failing after a timeout.
pub async fn next_event<T>(
    events: &mut mpsc::Receiver<Event>,
    mut pick: impl FnMut(Event) -> Option<T>,
) -> T {
    let wait = async {
        loop {
            let event = events.recv().await.expect("event stream open");
            if let Some(t) = pick(event) {
                return t;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("event in time")
}

/// Waits for a presence event about `user` in `room`.
pub async fn presence(
    events: &mut mpsc::Receiver<Event>,
    room: &str,
    user: &str,
    online: bool,
) -> UserInfo {
    next_event(events, |e| match e {
        Event::Presence {
            room: r,
            user: u,
            online: o,
        } if r == room && u.username == user && o == online => Some(u),
        _ => None,
    })
    .await
}
