//! The `chatroom-server` binary: reads its settings through `chatroom_server::cli` and runs the server library.

use anyhow::Context as _;
use chatroom_common::report;
use chatroom_server::cli::{AvatarsCommand, Cli, Command, Invocation};
use chatroom_server::{Server, tls};
use tracing_subscriber::EnvFilter;

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
        eprintln!("chatroom-server: {}", report::one_line(e.chain()));
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let Invocation { config, command } = cli.resolve()?;
    match command {
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
            action: AvatarsCommand::Scrape { url, limit },
        }) => {
            // The pictures go into the server's database, so every node offers them.
            let database = config.database_url();
            let store = chatroom_server::store::open(&database)
                .await
                .with_context(|| {
                    format!("opening {}", chatroom_server::store::redact_url(&database))
                })?;
            let pool = chatroom_server::avatars::AvatarPool::new(store);
            let mut crawl = chatroom_server::avatars::crawl::CrawlConfig::new(url);
            crawl.limit = limit;
            let progress = chatroom_server::avatars::crawl::IndicatifProgress::new();
            let report = chatroom_server::avatars::crawl::scrape(crawl, &pool, progress)
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
            let cluster = config.cluster.clone();
            let server = Server::bind(config).await.context("starting the server")?;
            println!(
                "Chatroom server listening on {} (UDP/QUIC)",
                server.local_addr()?
            );
            println!("CA SHA-256 fingerprint: {}", server.ca_fingerprint());
            if let Some(ca) = server.ca_path() {
                println!("CA certificate for clients: {}", ca.display());
            }
            if let Some(cluster) = cluster {
                println!(
                    "cluster {}, node {} (NATS {})",
                    cluster.name,
                    cluster.node_id,
                    cluster.urls.join(",")
                );
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
