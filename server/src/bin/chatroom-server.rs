//! The `chatroom-server` binary: parses flags and runs the server library.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use chatroom_server::{Config, Server, StreamMode, TlsSource, tls};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Chatroom server: group chat over QUIC.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// UDP address to listen on.
    #[arg(long, env = "CHATROOM_LISTEN", default_value = "0.0.0.0:4433")]
    listen: SocketAddr,
    /// Data directory (database, certificates, avatars, outbox); default: the platform data dir.
    #[arg(long, env = "CHATROOM_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or mysql://USER:PASS@HOST:PORT/DB; default: SQLite in the data dir.
    #[arg(long, env = "CHATROOM_DATABASE_URL")]
    database: Option<String>,
    /// Use ca.pem, server.pem and server.key from this directory instead of generating them.
    #[arg(long, env = "CHATROOM_CERTS", conflicts_with_all = ["cert", "key"])]
    certs: Option<PathBuf>,
    /// Existing certificate chain (PEM), e.g. from a public CA; needs --key.
    #[arg(long, env = "CHATROOM_CERT", requires = "key")]
    cert: Option<PathBuf>,
    /// Private key (PEM) for --cert.
    #[arg(long, env = "CHATROOM_KEY", requires = "cert")]
    key: Option<PathBuf>,
    /// Extra DNS name or IP address for the generated certificate (repeatable).
    #[arg(long = "tls-name", env = "CHATROOM_TLS_NAMES", value_delimiter = ',')]
    tls_names: Vec<String>,
    /// Name shown to clients.
    #[arg(long, env = "CHATROOM_SERVER_NAME", default_value = "Chatroom")]
    name: String,
    /// How events are pushed: per-message (the protocol) or single, one framed
    /// stream per connection, for the head-of-line-blocking benchmark only.
    #[arg(long, env = "CHATROOM_STREAM_MODE", default_value = "per-message")]
    stream_mode: StreamMode,
    /// Most simultaneous connections from one IP address (default 1,000).
    #[arg(long)]
    max_connections_per_ip: Option<usize>,
    /// Events queued for one connection before it is told to resync instead (default 1,024).
    #[arg(long)]
    outbound_queue: Option<usize>,
    /// KiB of pushed events in flight (sent, not yet acknowledged) per
    /// connection before its writer waits (default 256).
    #[arg(long)]
    push_window_kib: Option<u64>,
    /// Seconds without traffic before a connection is closed (default 30). An
    /// upper bound: QUIC uses the smaller of this and the client's idle timeout
    /// (8 s for ours, which send keep-alives every 2 s, so keep it above that).
    #[arg(long)]
    idle_timeout_secs: Option<u64>,
    /// Messages a user may send per second, sustained (flood control; benchmarks raise it).
    #[arg(long)]
    send_rate: Option<f64>,
    /// Messages a user may send at once before --send-rate applies.
    #[arg(long)]
    send_burst: Option<u32>,
    /// Registrations per source address per hour (benchmarks raise it).
    #[arg(long)]
    registrations_per_hour: Option<f64>,
    /// Registrations from one address at once before that rate applies.
    #[arg(long)]
    registration_burst: Option<u32>,
    /// SMTP relay for registration mail: smtps://USER:PASS@HOST:465, or
    /// smtp://HOST:587?tls=starttls; default: .eml files in <data dir>/outbox/.
    #[arg(long, env = "CHATROOM_SMTP_URL")]
    smtp_url: Option<String>,
    /// Sender of registration mail.
    #[arg(
        long,
        env = "CHATROOM_MAIL_FROM",
        default_value = "Chatroom <chatroom@localhost>"
    )]
    mail_from: String,
    /// New accounts must enter the 6-digit code from their registration mail
    /// before they can log in.
    #[arg(long, env = "CHATROOM_REQUIRE_EMAIL_VERIFICATION")]
    require_email_verification: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
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
        #[command(subcommand)]
        action: AvatarsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AvatarsCommand {
    /// Fetch a web page and add its images to the avatar pool (operator use only).
    Scrape {
        /// An http(s) page URL.
        url: String,
        /// Stop after this many new avatars.
        #[arg(long)]
        limit: Option<usize>,
        /// Pool directory (default: the data dir's avatar pool).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    directories::ProjectDirs::from("org", "Chatroom", "chatroom-server")
        .map(|d| d.data_dir().to_owned())
        .context("no home directory to put the data directory in; pass --data-dir")
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        // Logs go to stderr; stdout carries only the address and fingerprint lines.
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("chatroom-server: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let data_dir = match cli.data_dir {
        Some(dir) => dir,
        None => default_data_dir()?,
    };
    let mut config = Config::new(cli.listen, &data_dir);
    config.database = cli.database;
    config.server_name = cli.name;
    config.stream_mode = cli.stream_mode;
    config.mail.smtp_url = cli.smtp_url;
    config.mail.from = cli.mail_from;
    config.mail.require_verification = cli.require_email_verification;
    let limits = &mut config.limits;
    if let Some(n) = cli.max_connections_per_ip {
        limits.max_connections_per_ip = n;
    }
    if let Some(n) = cli.outbound_queue {
        limits.outbound_queue = n;
    }
    if let Some(kib) = cli.push_window_kib {
        limits.push_window = kib.saturating_mul(1024).max(1024);
    }
    if let Some(secs) = cli.idle_timeout_secs {
        limits.idle_timeout = std::time::Duration::from_secs(secs);
    }
    if let Some(rate) = cli.send_rate {
        limits.send_rate = rate;
    }
    if let Some(burst) = cli.send_burst {
        limits.send_burst = burst;
    }
    if let Some(rate) = cli.registrations_per_hour {
        limits.registrations_per_hour = rate;
    }
    if let Some(burst) = cli.registration_burst {
        limits.registration_burst = burst;
    }
    config.tls = match (cli.certs, cli.cert, cli.key) {
        (Some(dir), _, _) => TlsSource::Dir(dir),
        (None, Some(cert), Some(key)) => TlsSource::Files { cert, key },
        (None, None, None) => TlsSource::Generated {
            extra_names: cli.tls_names,
        },
        _ => bail!("--cert and --key go together"),
    };
    match cli.command {
        Some(Command::GenCerts { out, names }) => {
            let paths = tls::generate(&out, &tls::server_names(&names))
                .with_context(|| format!("generating certificates in {}", out.display()))?;
            let ca = tls::load_certs(&paths.ca)?;
            println!("CA certificate:     {}", paths.ca.display());
            println!("server certificate: {}", paths.cert.display());
            println!("server key:         {}", paths.key.display());
            if let Some(ca) = ca.first() {
                println!("CA SHA-256:         {}", tls::fingerprint_hex(ca));
            }
            Ok(())
        }
        Some(Command::Avatars {
            action: AvatarsCommand::Scrape { url, limit, out },
        }) => {
            let mut crawl = chatroom_server::avatars::crawl::CrawlConfig::new(
                url,
                out.unwrap_or_else(|| config.avatar_pool_dir()),
            );
            crawl.limit = limit;
            let progress = chatroom_server::avatars::crawl::IndicatifProgress::new();
            let report = chatroom_server::avatars::crawl::scrape(crawl, progress)
                .await
                .context("crawling")?;
            chatroom_server::avatars::crawl::print_summary(&report);
            Ok(())
        }
        Some(Command::Migrate) => {
            let url = config.database_url();
            let applied = chatroom_server::store::migrate(&url)
                .await
                .with_context(|| {
                    format!("migrating {}", chatroom_server::store::redact_url(&url))
                })?;
            println!("applied migrations: {applied:?}");
            Ok(())
        }
        None => {
            let server = Server::bind(config).await.context("starting the server")?;
            println!(
                "Chatroom server listening on {} (UDP/QUIC)",
                server.local_addr()?
            );
            println!("CA SHA-256 fingerprint: {}", server.ca_fingerprint());
            if let Some(ca) = server.ca_path() {
                println!("CA certificate for clients: {}", ca.display());
            }
            server.run(shutdown_signal()).await?;
            Ok(())
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
