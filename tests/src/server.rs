//! The real server in this process: [`TestServer`] starts it through
//! `chatroom_server::spawn` on `127.0.0.1:0` (or a chosen address, to restart
//! on the same port) and logs users in with the client library.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use chatroom_client::{Session, Trust};
use chatroom_common::protocol::OtpAlgorithm;
use chatroom_server::{Config, Limits, MailConfig, Running, ServerError};

/// How long a restart on the same port waits for the old socket to go.
const RESTART_WAIT: Duration = Duration::from_secs(10);

/// A passphrase that satisfies the RFC's minimum.
pub const PASS: &str = "correct horse battery";

/// A running in-process server.
pub struct TestServer {
    /// `127.0.0.1:port`.
    pub addr: String,
    /// The socket address (for restarting on the same port).
    pub socket: SocketAddr,
    /// The CA fingerprint, hex, as the server prints it.
    pub fingerprint: String,
    /// Its CA fingerprint as a pin.
    pub pin: Trust,
    /// Its CA file as a trust anchor.
    pub ca: Trust,
    /// The server task.
    running: Running,
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

    /// Starts a server with a given database URL, limits and mail settings.
    pub async fn start_with_mail(
        data_dir: &Path,
        database: Option<String>,
        limits: Limits,
        mail: MailConfig,
    ) -> Self {
        let mut config = config(data_dir).await;
        if database.is_some() {
            config.database = database;
        }
        config.limits = limits;
        config.mail = mail;
        Self::start_config(config).await
    }

    /// Starts a server at `addr` (a fixed port, to restart on the same one)
    /// with bulk limits.
    pub async fn start_at(data_dir: &Path, addr: SocketAddr) -> Self {
        let mut config = config(data_dir).await;
        config.listen = addr;
        Self::start_config(config).await
    }

    /// Starts a server with exactly this configuration.
    pub async fn start_config(config: Config) -> Self {
        let running = spawn_retrying(config).await;
        let ca = Trust::ca_file(running.ca_path.as_deref().expect("a generated CA"))
            .expect("the CA file loads");
        Self {
            addr: running.addr.to_string(),
            socket: running.addr,
            pin: Trust::parse_pin(&running.fingerprint).expect("a valid fingerprint"),
            fingerprint: running.fingerprint.clone(),
            ca,
            running,
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(self) {
        self.running.stop().await.expect("the server stops cleanly");
    }

    /// A connected session (not logged in).
    pub async fn connect(&self) -> Session {
        Session::connect(&self.addr, &self.pin)
            .await
            .expect("connects")
    }

    /// Registers `name` (e-mail `<name>@example.org`) and returns a logged-in session.
    pub async fn user(&self, name: &str) -> Session {
        user(&self.addr, &self.pin, name).await
    }

    /// A new logged-in session for an existing user.
    pub async fn login(&self, name: &str) -> Session {
        login(&self.addr, &self.pin, name).await
    }
}

/// Starts the server; on a fixed port (a restart), waits out the moment in
/// which the stopped server's socket is still being released.
async fn spawn_retrying(config: Config) -> Running {
    let deadline = tokio::time::Instant::now() + RESTART_WAIT;
    loop {
        match chatroom_server::spawn(config.clone()).await {
            Ok(running) => return running,
            Err(ServerError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::AddrInUse
                    && config.listen.port() != 0
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the server does not start: {e}"),
        }
    }
}

/// Registers `name` with [`PASS`] (e-mail `<name>@example.org`) on the
/// server at `addr` and logs in on the same connection.
pub async fn user(addr: &str, trust: &Trust, name: &str) -> Session {
    let mut session = Session::connect(addr, trust).await.expect("connects");
    session
        .register(
            name,
            &format!("{}@example.org", name.to_lowercase()),
            PASS,
            OtpAlgorithm::Md5,
        )
        .await
        .expect("registers");
    session.login(name, PASS, None).await.expect("logs in");
    session
}

/// A new session logged in as `name` with [`PASS`].
pub async fn login(addr: &str, trust: &Trust, name: &str) -> Session {
    let mut session = Session::connect(addr, trust).await.expect("connects");
    session.login(name, PASS, None).await.expect("logs in");
    session
}

/// The test configuration: `127.0.0.1:0`, data under `data_dir`, bulk limits,
/// and MariaDB instead of SQLite when `CHATROOM_E2E_STORE=mysql`.
pub async fn config(data_dir: &Path) -> Config {
    let mut config = Config::new(SocketAddr::from(([127, 0, 0, 1], 0)), data_dir);
    config.limits = bulk_limits();
    config.database = crate::mysql::database_for(data_dir).await;
    config
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
