//! The `chatroom-server` command line: flags, their environment variables, the config file, subcommands.
//!
//! Every setting comes from the first of these that gives it: a flag, its
//! environment variable, the TOML file named by `--config` or
//! `CHATROOM_CONFIG` ([`crate::config_file`]), the built-in default. clap
//! already puts flags before environment variables; [`Cli::resolve`] slots
//! the file in under both, by asking clap where each value came from. The
//! parser lives here rather than in the binary so that tests drive the real
//! one.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::cluster::ClusterConfig;
use crate::config::{Config, MAX_PUSH_DELAY_MS, StreamMode, TlsSource};
use crate::config_file::{ConfigFileError, FileSettings};

/// Chatroom server: group chat over QUIC.
///
/// Every flag may also be set in a TOML file (`--config`), under its long
/// name: `data-dir = "/var/lib/chatroom"`. Flags win over environment
/// variables, which win over the file.
#[derive(Debug, Parser)]
#[command(name = "chatroom-server", version, about)]
pub struct Flags {
    /// TOML file with settings, one key per flag (e.g. /etc/chatroom/server.toml).
    #[arg(long, env = "CHATROOM_CONFIG")]
    pub config: Option<PathBuf>,
    /// UDP address to listen on.
    #[arg(long, env = "CHATROOM_LISTEN", default_value = "0.0.0.0:4433")]
    pub listen: SocketAddr,
    /// Data directory (SQLite database, certificates, outbox); default: the platform data dir.
    #[arg(long, env = "CHATROOM_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or mysql://USER:PASS@HOST:PORT/DB; default: SQLite in the data dir.
    #[arg(long, env = "CHATROOM_DATABASE_URL")]
    pub database: Option<String>,
    /// Use ca.pem, server.pem and server.key from this directory instead of generating them.
    #[arg(long, env = "CHATROOM_CERTS", conflicts_with_all = ["cert", "key"])]
    pub certs: Option<PathBuf>,
    /// Existing certificate chain (PEM), e.g. from a public CA; needs --key.
    #[arg(long, env = "CHATROOM_CERT", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM) for --cert.
    #[arg(long, env = "CHATROOM_KEY", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Extra DNS name or IP address for the generated certificate (repeatable).
    #[arg(long = "tls-name", env = "CHATROOM_TLS_NAMES", value_delimiter = ',')]
    pub tls_names: Vec<String>,
    /// Name shown to clients.
    #[arg(long, env = "CHATROOM_SERVER_NAME", default_value = "Chatroom")]
    pub name: String,
    /// How requests and events travel: per-message (the protocol) or single,
    /// one framed stream per connection for events and one for requests and
    /// uploads, for the head-of-line-blocking benchmark only.
    #[arg(long, env = "CHATROOM_STREAM_MODE", default_value = "per-message")]
    pub stream_mode: StreamMode,
    /// Most simultaneous connections from one IP address (default 1,000).
    #[arg(long)]
    pub max_connections_per_ip: Option<usize>,
    /// Events queued for one connection before it is told to resync instead (default 1,024).
    #[arg(long)]
    pub outbound_queue: Option<usize>,
    /// KiB of pushed events in flight (sent, not yet acknowledged) per
    /// connection before its writer waits (default 256).
    #[arg(long)]
    pub push_window_kib: Option<u64>,
    /// Milliseconds a connection's writer holds an event after a quiet spell
    /// so that more share its packet (0–20; default 0, at once). Saves CPU
    /// where each connection gets more than about an event per millisecond,
    /// at the cost of that much latency on every message.
    #[arg(long, value_parser = clap::value_parser!(u64).range(..=MAX_PUSH_DELAY_MS))]
    pub push_delay_ms: Option<u64>,
    /// Seconds without traffic before a connection is closed (default 30). An
    /// upper bound: QUIC uses the smaller of this and the client's idle timeout
    /// (8 s for ours, which send keep-alives every 2 s, so keep it above that).
    #[arg(long)]
    pub idle_timeout_secs: Option<u64>,
    /// Messages a user may send per second, sustained (flood control; benchmarks raise it).
    #[arg(long)]
    pub send_rate: Option<f64>,
    /// Messages a user may send at once before --send-rate applies.
    #[arg(long)]
    pub send_burst: Option<u32>,
    /// Largest file (attachment) a user may upload, in MiB (default 25).
    #[arg(long)]
    pub max_file_mib: Option<u64>,
    /// MiB of new files one user may upload in 24 hours (default 1024).
    #[arg(long)]
    pub daily_upload_mib: Option<u64>,
    /// Registrations per source address per hour (benchmarks raise it).
    #[arg(long)]
    pub registrations_per_hour: Option<f64>,
    /// Registrations from one address at once before that rate applies.
    #[arg(long)]
    pub registration_burst: Option<u32>,
    /// SMTP relay for registration mail: smtps://USER:PASS@HOST:465, or
    /// smtp://HOST:587?tls=starttls; default: .eml files in <data dir>/outbox/.
    #[arg(long, env = "CHATROOM_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Sender of registration mail.
    #[arg(
        long,
        env = "CHATROOM_MAIL_FROM",
        default_value = "Chatroom <chatroom@localhost>"
    )]
    pub mail_from: String,
    /// New accounts must enter the 6-digit code from their registration mail
    /// before they can log in.
    #[arg(long, env = "CHATROOM_REQUIRE_EMAIL_VERIFICATION")]
    pub require_email_verification: bool,
    /// Join a cluster of nodes sharing one MySQL database, fanned out through
    /// NATS: nats://HOST:PORT (comma-separated or repeated for several).
    #[arg(long, env = "CHATROOM_CLUSTER", value_delimiter = ',')]
    pub cluster: Vec<String>,
    /// This node's name in the cluster (letters, digits, '-', '_'); default: node-<random>.
    #[arg(long, env = "CHATROOM_NODE_ID")]
    pub node_id: Option<String>,
    /// The cluster's name: nodes with the same name share events (default "chatroom").
    #[arg(long, env = "CHATROOM_CLUSTER_NAME")]
    pub cluster_name: Option<String>,
    /// What to do instead of serving, if anything.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands; without one the server runs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a CA and server certificate into a directory and exit.
    GenCerts {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// DNS names or IP addresses for the certificate (localhost and loopback are always included).
        #[arg(long = "name")]
        names: Vec<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage the avatar pool.
    Avatars {
        /// The avatar pool command.
        #[command(subcommand)]
        action: AvatarsCommand,
    },
}

/// The `avatars` subcommands.
#[derive(Debug, Subcommand)]
pub enum AvatarsCommand {
    /// Fetch a web page and add its images to the avatar pool in the
    /// database (`--database`, or the data dir's SQLite), where every node
    /// of a cluster sees them (operator use only).
    Scrape {
        /// An http(s) page URL.
        url: String,
        /// Stop after this many new avatars.
        #[arg(long)]
        limit: Option<usize>,
    },
}

/// Errors turning the command line into a configuration.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration file could not be read or has a mistake.
    #[error(transparent)]
    ConfigFile(#[from] ConfigFileError),
    /// No data directory was given and the platform has none (no home directory).
    #[error(
        "no home directory to put the data directory in; pass --data-dir (or set data-dir in the config file)"
    )]
    NoDataDir,
}

/// A parsed command line, remembering which settings were given as flags or
/// environment variables (and so override the config file).
#[derive(Debug)]
pub struct Cli {
    /// The parsed flags, with clap's defaults filled in.
    flags: Flags,
    /// Argument ids given on the command line or through their environment variable.
    given: BTreeSet<String>,
}

/// What the command line asks for.
#[derive(Debug)]
pub struct Invocation {
    /// The configuration in effect: flags over environment over file over defaults.
    pub config: Config,
    /// The subcommand, or `None` to run the server.
    pub command: Option<Command>,
}

impl Cli {
    /// Parses the process's arguments and environment; prints usage and exits on a bad flag.
    pub fn parse() -> Self {
        Self::try_parse_from(std::env::args_os()).unwrap_or_else(|error| error.exit())
    }

    /// Parses `args` (the program name first) and the process's environment.
    pub fn try_parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Flags::command().try_get_matches_from(args)?;
        let flags = Flags::from_arg_matches(&matches)?;
        let given = given_ids(&matches);
        Ok(Self { flags, given })
    }

    /// The flags as parsed, before the config file is layered in.
    pub fn flags(&self) -> &Flags {
        &self.flags
    }

    /// Reads the config file, if any, and layers flags, environment, file and defaults into a [`Config`].
    pub fn resolve(self) -> Result<Invocation, CliError> {
        let Self { flags, given } = self;
        let file = match &flags.config {
            Some(path) => FileSettings::load(path)?,
            None => FileSettings::default(),
        };
        let given = |id: &str| given.contains(id);
        let file_sets_tls = file.sets_tls();

        let data_dir = match pick_opt(given("data_dir"), flags.data_dir, file.data_dir) {
            Some(dir) => dir,
            None => default_data_dir()?,
        };
        let listen = pick(given("listen"), flags.listen, file.listen);
        let mut config = Config::new(listen, data_dir);
        config.database = pick_opt(given("database"), flags.database, file.database);
        config.server_name = pick(given("name"), flags.name, file.name);
        config.stream_mode = pick(given("stream_mode"), flags.stream_mode, file.stream_mode);
        config.mail.smtp_url = pick_opt(given("smtp_url"), flags.smtp_url, file.smtp_url);
        config.mail.from = pick(given("mail_from"), flags.mail_from, file.mail_from);
        config.mail.require_verification = pick(
            given("require_email_verification"),
            flags.require_email_verification,
            file.require_email_verification,
        );

        let limits = &mut config.limits;
        if let Some(n) = pick_opt(
            given("max_connections_per_ip"),
            flags.max_connections_per_ip,
            file.max_connections_per_ip,
        ) {
            limits.max_connections_per_ip = n;
        }
        if let Some(n) = pick_opt(
            given("outbound_queue"),
            flags.outbound_queue,
            file.outbound_queue,
        ) {
            limits.outbound_queue = n;
        }
        if let Some(kib) = pick_opt(
            given("push_window_kib"),
            flags.push_window_kib,
            file.push_window_kib,
        ) {
            limits.push_window = kib.saturating_mul(1024).max(1024);
        }
        if let Some(ms) = pick_opt(
            given("push_delay_ms"),
            flags.push_delay_ms,
            file.push_delay_ms,
        ) {
            limits.push_delay = Duration::from_millis(ms);
        }
        if let Some(secs) = pick_opt(
            given("idle_timeout_secs"),
            flags.idle_timeout_secs,
            file.idle_timeout_secs,
        ) {
            limits.idle_timeout = Duration::from_secs(secs);
        }
        if let Some(rate) = pick_opt(given("send_rate"), flags.send_rate, file.send_rate) {
            limits.send_rate = rate;
        }
        if let Some(burst) = pick_opt(given("send_burst"), flags.send_burst, file.send_burst) {
            limits.send_burst = burst;
        }
        if let Some(mib) = pick_opt(given("max_file_mib"), flags.max_file_mib, file.max_file_mib) {
            limits.max_file_bytes = mib.saturating_mul(1024 * 1024);
        }
        if let Some(mib) = pick_opt(
            given("daily_upload_mib"),
            flags.daily_upload_mib,
            file.daily_upload_mib,
        ) {
            limits.daily_upload_bytes = mib.saturating_mul(1024 * 1024);
        }
        if let Some(rate) = pick_opt(
            given("registrations_per_hour"),
            flags.registrations_per_hour,
            file.registrations_per_hour,
        ) {
            limits.registrations_per_hour = rate;
        }
        if let Some(burst) = pick_opt(
            given("registration_burst"),
            flags.registration_burst,
            file.registration_burst,
        ) {
            limits.registration_burst = burst;
        }

        // The certificate source is one choice, not three settings: a flag for
        // any of them replaces the file's choice whole, so `--certs` never
        // meets a `cert` from the file. Each layer is consistent on its own
        // (clap checks the flags, `config_file` the file).
        let (certs, cert, key) = if given("certs") || given("cert") || given("key") {
            (flags.certs, flags.cert, flags.key)
        } else if file_sets_tls {
            (file.certs, file.cert, file.key)
        } else {
            (None, None, None)
        };
        let tls_names = pick(given("tls_names"), flags.tls_names, file.tls_name);
        let cluster = pick(given("cluster"), flags.cluster, file.cluster);
        if !cluster.is_empty() {
            config.cluster = Some(ClusterConfig::new(
                &cluster,
                pick_opt(given("cluster_name"), flags.cluster_name, file.cluster_name),
                pick_opt(given("node_id"), flags.node_id, file.node_id),
            ));
        }
        config.tls = match (certs, cert, key) {
            (Some(dir), _, _) => TlsSource::Dir(dir),
            (None, Some(cert), Some(key)) => TlsSource::Files { cert, key },
            _ => TlsSource::Generated {
                extra_names: tls_names,
            },
        };
        Ok(Invocation {
            config,
            command: flags.command,
        })
    }
}

/// The ids of the arguments given as flags or environment variables (not defaults).
fn given_ids(matches: &ArgMatches) -> BTreeSet<String> {
    matches
        .ids()
        .filter(|id| {
            matches!(
                matches.value_source(id.as_str()),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        })
        .map(|id| id.as_str().to_owned())
        .collect()
}

/// A setting with a default: the flag's value if given, else the file's, else the default (clap's).
fn pick<T>(given: bool, flag: T, file: Option<T>) -> T {
    match file {
        Some(value) if !given => value,
        _ => flag,
    }
}

/// An optional setting: the flag's value if given, else the file's.
fn pick_opt<T>(given: bool, flag: Option<T>, file: Option<T>) -> Option<T> {
    if given { flag } else { file.or(flag) }
}

/// The platform's data directory for the server (`~/.local/share/chatroom-server` on Linux).
fn default_data_dir() -> Result<PathBuf, CliError> {
    directories::ProjectDirs::from("org", "Chatroom", "chatroom-server")
        .map(|dirs| dirs.data_dir().to_owned())
        .ok_or(CliError::NoDataDir)
}
