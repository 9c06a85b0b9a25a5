//! Headless tests of the chat worker (through its public handle) against the real server: reconnecting,
//! filling gaps from history, and never showing a message twice. The set-up
//! here is shared with `account` (verification, slow down, rooms, warnings),
//! `avatars` (pictures from the server and the disk cache) and `files`
//! (uploads, downloads, cancelling, a send with files).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod account;
mod avatars;
mod dead_server;
mod files;
mod stall;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatroom_client::Session;
use chatroom_client::chat::{ChatHandle, Command, ConnStatus, Credentials, Secret, UiEvent};
use chatroom_client::session::new_key;
use chatroom_common::protocol::{ChatMessage, Seq};
use chatroom_server::Config;
use chatroom_testkit::{PASS, TestServer};
use tokio::runtime::Runtime;

const WAIT: Duration = Duration::from_secs(30);

/// A real server (bulk limits) on the test's own runtime.
fn start(rt: &Runtime, dir: &Path, addr: SocketAddr) -> TestServer {
    rt.block_on(TestServer::start_at(dir, addr))
}

/// A real server with exactly this configuration.
fn start_config(rt: &Runtime, config: Config) -> TestServer {
    rt.block_on(TestServer::start_config(config))
}

fn stop(rt: &Runtime, server: TestServer) {
    rt.block_on(server.stop());
}

/// Credentials for `name` on `server` with the test passphrase.
fn credentials(server: &TestServer, name: &str) -> Credentials {
    Credentials {
        server: server.addr.clone(),
        trust: server.pin.clone(),
        username: name.into(),
        passphrase: Secret::new(PASS),
        last_count: None,
        rooms: Vec::new(),
    }
}

/// Whether any collected event matches.
fn any(all: &[UiEvent], f: impl Fn(&UiEvent) -> bool) -> bool {
    all.iter().any(f)
}

/// A logged-in session for `name`, registering first when asked.
fn session(rt: &Runtime, server: &TestServer, name: &str, register: bool) -> Session {
    rt.block_on(async {
        if register {
            server.user(name).await
        } else {
            server.login(name).await
        }
    })
}

/// Collects events until `done` holds for the collected list, or panics.
fn collect_until(
    handle: &ChatHandle,
    all: &mut Vec<UiEvent>,
    what: &str,
    done: impl Fn(&[UiEvent]) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    while !done(all) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {all:#?}"
        );
        all.extend(handle.wait(Duration::from_millis(200)));
    }
}

/// Every message the worker reported for `room`, in report order.
fn messages(all: &[UiEvent], room: &str) -> Vec<ChatMessage> {
    all.iter()
        .filter_map(|e| match e {
            UiEvent::Messages {
                room: r, messages, ..
            } if r == room => Some(messages.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn texts(all: &[UiEvent], room: &str) -> Vec<String> {
    let mut by_seq: BTreeMap<Seq, String> = BTreeMap::new();
    for m in messages(all, room) {
        assert!(
            by_seq.insert(m.seq, m.text.clone()).is_none(),
            "message {} reported twice",
            m.seq
        );
    }
    by_seq.into_values().collect()
}

#[test]
fn reconnects_after_a_restart_and_loses_or_repeats_nothing() {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&rt, dir.path(), "127.0.0.1:0".parse().unwrap());
    let addr = server.socket;
    let bob = session(&rt, &server, "bob", true);
    rt.block_on(bob.join("lobby")).unwrap();

    let handle = ChatHandle::spawn(Arc::new(|| {})).unwrap();
    handle.send(Command::Register {
        credentials: Credentials {
            ..credentials(&server, "alice")
        },
        email: "alice@example.org".into(),
    });
    let mut all = Vec::new();
    collect_until(&handle, &mut all, "the lobby", |all| {
        all.iter()
            .any(|e| matches!(e, UiEvent::Joined { room, .. } if room.name == "lobby"))
    });
    let first_count = all.iter().find_map(|e| match e {
        UiEvent::LoggedIn { last_count, .. } => Some(*last_count),
        _ => None,
    });
    assert!(first_count.is_some_and(|c| c < 1000), "{first_count:?}");
    for i in 1..=3 {
        rt.block_on(bob.send("lobby", &format!("before {i}")))
            .unwrap();
    }
    collect_until(&handle, &mut all, "three messages", |all| {
        texts(all, "lobby").len() == 3
    });

    drop(bob);
    stop(&rt, server);
    collect_until(&handle, &mut all, "the drop", |all| {
        all.iter()
            .any(|e| matches!(e, UiEvent::Status(ConnStatus::Reconnecting { .. })))
    });
    // Sent while offline: queued with its key, posted once after the reconnect.
    let key = new_key();
    handle.send(Command::Send {
        room: "lobby".into(),
        text: "queued while offline".into(),
        key,
    });

    let server = start(&rt, dir.path(), addr);
    let bob = session(&rt, &server, "bob", false);
    for i in 1..=5 {
        rt.block_on(bob.send("lobby", &format!("missed {i}")))
            .unwrap();
    }
    collect_until(&handle, &mut all, "the queued send", |all| {
        all.iter()
            .any(|e| matches!(e, UiEvent::Sent { key: k, .. } if *k == key))
    });
    collect_until(&handle, &mut all, "every message", |all| {
        texts(all, "lobby").len() == 9
    });
    let got = texts(&all, "lobby");
    assert_eq!(&got[..3], ["before 1", "before 2", "before 3"]);
    let missed: Vec<_> = got
        .iter()
        .filter(|t| t.starts_with("missed"))
        .cloned()
        .collect();
    assert_eq!(
        missed,
        (1..=5).map(|i| format!("missed {i}")).collect::<Vec<_>>()
    );
    // The server holds the queued message exactly once.
    let (history, _) = rt
        .block_on(bob.history(
            "lobby",
            chatroom_common::protocol::HistoryQuery::After {
                after: 0,
                limit: 100,
            },
        ))
        .unwrap();
    let queued = history
        .iter()
        .filter(|m| m.text == "queued while offline")
        .count();
    assert_eq!(queued, 1);
    assert_eq!(history.len(), 9);
    // The login after the reconnect refused no challenge: the count went down.
    let counts: Vec<u32> = all
        .iter()
        .filter_map(|e| match e {
            UiEvent::LoggedIn { last_count, .. } => Some(*last_count),
            _ => None,
        })
        .collect();
    assert!(
        counts.len() >= 2 && counts.windows(2).all(|w| w[1] < w[0]),
        "{counts:?}"
    );
    drop(handle);
    stop(&rt, server);
}

#[test]
fn a_gap_is_filled_from_history_exactly_once() {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&rt, dir.path(), "127.0.0.1:0".parse().unwrap());
    let addr = server.socket;
    let alice = session(&rt, &server, "alice", true);
    for i in 1..=5 {
        rt.block_on(alice.send("lobby", &format!("m{i}"))).unwrap();
    }
    // Bob's app holds messages 1..=5, then is cut off.
    let handle = ChatHandle::spawn(Arc::new(|| {})).unwrap();
    handle.send(Command::Register {
        credentials: credentials(&server, "bob"),
        email: "bob@example.org".into(),
    });
    let mut all = Vec::new();
    collect_until(&handle, &mut all, "the first five", |all| {
        texts(all, "lobby").len() == 5
    });
    drop(alice);
    stop(&rt, server);
    collect_until(&handle, &mut all, "the drop", |all| {
        any(all, |e| {
            matches!(e, UiEvent::Status(ConnStatus::Reconnecting { .. }))
        })
    });
    let held = all.len();

    // 315 are posted while bob is away: more than one page of history.
    let server = start(&rt, dir.path(), addr);
    let alice = session(&rt, &server, "alice", false);
    for i in 6..=320 {
        rt.block_on(alice.send("lobby", &format!("m{i}"))).unwrap();
    }
    collect_until(&handle, &mut all, "every message", |all| {
        texts(all, "lobby").len() == 320
    });
    // `texts` fails on a message reported twice; every one is there once.
    let seqs: Vec<Seq> = messages(&all, "lobby").iter().map(|m| m.seq).collect();
    assert_eq!(seqs.len(), 320, "no duplicates");
    assert_eq!(
        texts(&all, "lobby"),
        (1..=320).map(|i| format!("m{i}")).collect::<Vec<_>>()
    );
    // Fill-ins count as unread: they are news to this client.
    assert!(all[held..].iter().all(|e| !matches!(
        e,
        UiEvent::Messages { unread: false, room, .. } if room == "lobby"
    )));
    drop(handle);
    stop(&rt, server);
}

#[test]
fn a_wrong_passphrase_is_reported_and_not_retried() {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&rt, dir.path(), "127.0.0.1:0".parse().unwrap());
    drop(session(&rt, &server, "carol", true));
    let handle = ChatHandle::spawn(Arc::new(|| {})).unwrap();
    handle.send(Command::Login(Credentials {
        passphrase: Secret::new("not the passphrase"),
        ..credentials(&server, "carol")
    }));
    let mut all = Vec::new();
    collect_until(&handle, &mut all, "the failure", |all| {
        all.iter().any(|e| matches!(e, UiEvent::LoginFailed(_)))
    });
    assert!(all.iter().any(|e| matches!(
        e,
        UiEvent::LoginFailed(chatroom_client::chat::LoginProblem::WrongPassphrase)
    )));
    std::thread::sleep(Duration::from_secs(1));
    all.extend(handle.drain());
    assert!(
        !all.iter()
            .any(|e| matches!(e, UiEvent::Status(ConnStatus::Reconnecting { .. })))
    );
    drop(handle);
    stop(&rt, server);
}
