//! What an idle, logged-in connection costs the server: starts the
//! `chatroom-server` binary (`CHATROOM_SERVER_BIN`, else a debug build), opens
//! N connections that each register, log in and join the lobby, lets the
//! server settle, and prints its resident memory before and after, per
//! connection; then the same for connections that only said `Hello`, to part
//! QUIC's share from the chat's. The client process's own growth per
//! connection is printed too (its stream credit is state it holds).
//!
//! `cargo run --release -p chatroom-testkit --example idle_memory -- [N]`
//! (docs/performance.md, "Idle connections").

use std::sync::Arc;
use std::time::Duration;

use chatroom_bench::procstat::{self, Process};
use chatroom_client::Session;
use chatroom_client::connection::{self, ConnectOptions};
use chatroom_common::protocol::OtpAlgorithm;
use chatroom_testkit::PASS;
use chatroom_testkit::process::{BULK_FLAGS, ServerProcess};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Connections per client UDP socket (as a NAT or many clients would look).
const PER_ENDPOINT: usize = 50;

fn rss(process: Process) -> u64 {
    procstat::read(process).map_or(0, |u| u.rss_kib)
}

/// Opens `n` connections to `server`; `chat` ones register, log in and join.
async fn open(server: &ServerProcess, n: usize, chat: bool, tag: &str) -> Vec<Session> {
    let to: std::net::SocketAddr = server.addr.parse().expect("an address");
    let endpoints: Vec<_> = (0..n.div_ceil(PER_ENDPOINT))
        .map(|_| connection::endpoint_for(to).expect("an endpoint"))
        .collect();
    let permits = Arc::new(Semaphore::new(16));
    let mut opening = JoinSet::new();
    for i in 0..n {
        let options = ConnectOptions {
            endpoint: Some(endpoints[i / PER_ENDPOINT].clone()),
            ..ConnectOptions::default()
        };
        let (addr, pin, permits) = (server.addr.clone(), server.pin.clone(), permits.clone());
        let name = format!("{tag}{i}");
        opening.spawn(async move {
            let _permit = permits.acquire().await.expect("open semaphore");
            let mut session = Session::connect_with(&addr, &pin, &options)
                .await
                .expect("connects");
            if chat {
                let email = format!("{name}@example.org");
                session
                    .register(&name, &email, PASS, OtpAlgorithm::Md5)
                    .await
                    .expect("registers");
                session.login(&name, PASS, None).await.expect("logs in");
                session.join("lobby").await.expect("joins");
            }
            session
        });
    }
    let mut sessions = Vec::with_capacity(n);
    while let Some(session) = opening.join_next().await {
        sessions.push(session.expect("a connection task"));
    }
    sessions
}

/// Waits for the server's memory to stop moving (allocator and timers settle).
async fn settled(server: &ServerProcess) -> u64 {
    let mut last = server.rss_kib();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = server.rss_kib();
        if now.abs_diff(last) < 64 {
            return now;
        }
        last = now;
    }
    last
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut flags = BULK_FLAGS.to_vec();
    flags.extend(["--max-connections-per-ip", "100000"]);
    let server = ServerProcess::start(dir.path(), "warn", &flags).await;
    let before = settled(&server).await;
    let client_before = rss(Process::Current);

    let chatting = open(&server, n, true, "idle").await;
    let with_chat = settled(&server).await;
    let client_with = rss(Process::Current);
    let chat_kib = (with_chat.saturating_sub(before)) as f64 / n as f64;
    let client_kib = (client_with.saturating_sub(client_before)) as f64 / n as f64;
    println!(
        "{n} idle logged-in connections in the lobby: server RSS {before} -> {with_chat} KiB, \
         {chat_kib:.1} KiB each; client process {client_before} -> {client_with} KiB, \
         {client_kib:.1} KiB each"
    );

    let bare = open(&server, n, false, "bare").await;
    let with_bare = settled(&server).await;
    let bare_kib = (with_bare.saturating_sub(with_chat)) as f64 / n as f64;
    println!(
        "{n} more connections that only said Hello: server RSS {with_chat} -> {with_bare} KiB, \
         {bare_kib:.1} KiB each"
    );
    drop(bare);
    drop(chatting);
    server.stop().await;
}
