//! Server configuration: where to listen, where data and certificates live, limits.

use crate::cluster::ClusterConfig;
pub use chatroom_common::protocol::StreamMode;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the server's TLS certificate comes from.
#[derive(Debug, Clone)]
pub enum TlsSource {
    /// Generate a CA and server certificate under `<data_dir>/certs` on first
    /// start and reuse them; `extra_names` are added to the certificate's SANs.
    Generated {
        /// Additional DNS names or IP addresses.
        extra_names: Vec<String>,
    },
    /// Use `ca.pem`, `server.pem` and `server.key` from a directory (e.g. the repo's `certs/`).
    Dir(PathBuf),
    /// Use an existing chain and key, e.g. from a public CA.
    Files {
        /// PEM certificate chain, leaf first.
        cert: PathBuf,
        /// PEM private key.
        key: PathBuf,
    },
}

/// The longest `--push-delay-ms`: past it the wait is something people
/// notice in a conversation, and the packets saved hardly grow.
pub const MAX_PUSH_DELAY_MS: u64 = 20;

/// Limits that keep one client from hurting the others.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most simultaneous connections.
    pub max_connections: usize,
    /// Most simultaneous connections from one IP address.
    pub max_connections_per_ip: usize,
    /// A connection with no traffic for this long is closed (clients send keep-alives).
    pub idle_timeout: Duration,
    /// A request stream must be fully received within this time.
    pub request_timeout: Duration,
    /// Concurrent request streams per connection. quinn allocates a slot for
    /// each at the handshake and keeps them for the connection's life, so
    /// this is idle memory: 64 cost 4.5 KiB more per connection than 16. A
    /// client opening more waits for credit, which a request frees when it
    /// is answered.
    pub max_concurrent_requests: u32,
    /// Events queued for one connection before it is told to resync instead.
    pub outbound_queue: usize,
    /// Bytes of pushed events sent to one connection and not yet acknowledged
    /// (QUIC's send window). Past it the connection's writer waits, so a slow
    /// reader's events wait in its bounded outbox instead of as QUIC stream
    /// state, and it is told to resync sooner: this bounds server memory per
    /// connection. It also caps one connection's push rate at this window per
    /// round trip (256 KiB over 100 ms is about 1,700 events/s).
    pub push_window: u64,
    /// How long a connection's writer holds the first event after a quiet
    /// spell before pushing it with whatever else arrived meanwhile (zero,
    /// the default: at once). Waiting lets one packet and one wake-up carry
    /// several events to a busy connection: at 1 ms on a 50-client room at
    /// 40 messages/s each, server CPU per delivery fell 21–24 % and packets
    /// per delivery from 0.59 to 0.24, for 1.6 ms more on every message
    /// (docs/performance.md). It pays only where a connection gets more than
    /// about an event per millisecond; a big but slow crowd gains nothing.
    /// At most [`MAX_PUSH_DELAY_MS`] from the command line or file.
    pub push_delay: Duration,
    /// Failed logins for one user before a lock-out starts.
    pub login_failures_per_user: u32,
    /// Failed logins from one IP address before a lock-out starts.
    pub login_failures_per_ip: u32,
    /// First lock-out; each further failure doubles it.
    pub lockout_base: Duration,
    /// Longest lock-out.
    pub lockout_max: Duration,
    /// Avatar uploads received and decoded at once, server-wide; also how
    /// many attached pictures are decoded at once.
    pub concurrent_uploads: usize,
    /// Largest attachment accepted, in bytes.
    pub max_file_bytes: u64,
    /// Bytes of new files one user may upload in 24 hours.
    pub daily_upload_bytes: u64,
    /// Bytes of attachments held in memory at once for uploads and downloads,
    /// server-wide; a transfer that does not fit is told to retry shortly.
    pub transfer_memory: u64,
    /// An upload that receives nothing for this long is dropped.
    pub upload_idle_timeout: Duration,
    /// Messages a user may send per second, sustained.
    pub send_rate: f64,
    /// Messages a user may send at once before the rate applies.
    pub send_burst: u32,
    /// Registrations per source address per hour.
    pub registrations_per_hour: f64,
    /// Registrations from one address at once before that rate applies.
    pub registration_burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            max_connections_per_ip: 1_000,
            idle_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
            max_concurrent_requests: 16,
            outbound_queue: 1024,
            push_window: 256 * 1024,
            push_delay: Duration::ZERO,
            login_failures_per_user: 5,
            login_failures_per_ip: 50,
            lockout_base: Duration::from_secs(1),
            lockout_max: Duration::from_secs(15 * 60),
            concurrent_uploads: 4,
            max_file_bytes: chatroom_common::protocol::DEFAULT_MAX_FILE_BYTES,
            daily_upload_bytes: 1024 * 1024 * 1024,
            transfer_memory: 512 * 1024 * 1024,
            upload_idle_timeout: Duration::from_secs(30),
            send_rate: 5.0,
            send_burst: 10,
            registrations_per_hour: 20.0,
            registration_burst: 5,
        }
    }
}

/// Registration mail: where it goes, whether the address must be verified, and
/// how the outbox retries (see `crate::mail`).
#[derive(Clone)]
pub struct MailConfig {
    /// SMTP relay, e.g. `smtps://user:pass@host:465` or `smtp://host:587?tls=starttls`;
    /// `None` writes each mail as an `.eml` file into `<data_dir>/outbox/`.
    pub smtp_url: Option<String>,
    /// The `From:` mailbox, e.g. `Chatroom <chat@example.org>`.
    pub from: String,
    /// Accounts cannot log in before they entered the code the server mailed.
    pub require_verification: bool,
    /// How long a verification code stays valid.
    pub code_ttl: Duration,
    /// Codes tried against one code before it is void.
    pub code_attempts: u32,
    /// Shortest time between two verification mails for one account.
    pub resend_interval: Duration,
    /// Wait before the first retry of a failed delivery; doubles per failure.
    pub retry_first: Duration,
    /// Longest wait between two delivery attempts.
    pub retry_max: Duration,
    /// A mail not delivered this long after it was queued is given up (and logged).
    pub give_up_after: Duration,
    /// Bound on one delivery attempt (connect, TLS, the whole SMTP dialogue).
    pub send_timeout: Duration,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "Chatroom <chatroom@localhost>".into(),
            require_verification: false,
            code_ttl: Duration::from_secs(15 * 60),
            code_attempts: 5,
            resend_interval: Duration::from_secs(60),
            retry_first: Duration::from_secs(30),
            retry_max: Duration::from_secs(60 * 60),
            give_up_after: Duration::from_secs(48 * 60 * 60),
            send_timeout: Duration::from_secs(60),
        }
    }
}

impl std::fmt::Debug for MailConfig {
    // The SMTP URL may carry a password: it is printed redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field(
                "smtp_url",
                &self.smtp_url.as_deref().map(crate::store::redact_url),
            )
            .field("from", &self.from)
            .field("require_verification", &self.require_verification)
            .field("code_ttl", &self.code_ttl)
            .field("code_attempts", &self.code_attempts)
            .field("resend_interval", &self.resend_interval)
            .field("retry_first", &self.retry_first)
            .field("retry_max", &self.retry_max)
            .field("give_up_after", &self.give_up_after)
            .field("send_timeout", &self.send_timeout)
            .finish()
    }
}

/// Everything `Server::bind` needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// UDP address to listen on.
    pub listen: SocketAddr,
    /// Directory for the SQLite database, certificates and outbox (avatars are in the database).
    pub data_dir: PathBuf,
    /// Database URL; `None` means SQLite at `<data_dir>/chatroom.sqlite3`.
    pub database: Option<String>,
    /// Certificate source.
    pub tls: TlsSource,
    /// Name shown to clients.
    pub server_name: String,
    /// Generated avatars the pool is filled up to at start.
    pub default_avatars: usize,
    /// Limits.
    pub limits: Limits,
    /// How requests and events travel; [`StreamMode::PerMessage`] is the
    /// protocol, the other mode exists only for the head-of-line-blocking benchmark.
    pub stream_mode: StreamMode,
    /// Registration mail and e-mail verification.
    pub mail: MailConfig,
    /// The cluster this node joins (`--cluster`); `None` for a single node.
    pub cluster: Option<ClusterConfig>,
}

impl Config {
    /// A configuration with defaults for everything but the data directory.
    pub fn new(listen: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen,
            data_dir: data_dir.into(),
            database: None,
            tls: TlsSource::Generated {
                extra_names: Vec::new(),
            },
            server_name: "Chatroom".into(),
            default_avatars: 24,
            limits: Limits::default(),
            stream_mode: StreamMode::PerMessage,
            mail: MailConfig::default(),
            cluster: None,
        }
    }

    /// Where an install kept its avatar pool (crawled and generated
    /// pictures) before the database held avatars; imported at start, then
    /// renamed `pool.imported`.
    pub fn avatar_pool_dir(&self) -> PathBuf {
        self.data_dir.join("avatars").join("pool")
    }

    /// Where an install kept uploaded avatars before the database held
    /// them; imported at start, then renamed `uploads.imported`.
    pub fn avatar_upload_dir(&self) -> PathBuf {
        self.data_dir.join("avatars").join("uploads")
    }

    /// Where mails go when no SMTP relay is configured.
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}",
                self.data_dir.join("chatroom.sqlite3").display()
            ),
        }
    }
}
