//! Presence across nodes: a user connected to two nodes is online once and
//! goes offline once, when their last connection anywhere closes — however
//! close together the two closes are.

use std::collections::HashMap;
use std::time::Duration;

use chatroom_common::protocol::Event;
use chatroom_testkit::mysql::MysqlDb;
use chatroom_testkit::{NatsServer, ServerProcess, presence};
use tokio::sync::mpsc::Receiver;

use crate::cluster::{node, pair};

/// How long a test waits for presence events it expects.
const WAIT: Duration = Duration::from_secs(20);

/// Presence events about one user, counted per (room, online).
#[derive(Default)]
struct Counts(HashMap<(String, bool), usize>);

impl Counts {
    fn get(&self, room: &str, online: bool) -> usize {
        self.0.get(&(room.to_owned(), online)).copied().unwrap_or(0)
    }

    /// Reads events until `done` holds (panics after [`WAIT`]).
    async fn until(
        &mut self,
        events: &mut Receiver<Event>,
        user: &str,
        done: impl Fn(&Self) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(self) {
            let event = tokio::time::timeout_at(deadline, events.recv())
                .await
                .expect("presence events in time")
                .expect("event stream open");
            self.count(event, user);
        }
    }

    /// Reads whatever arrives for `quiet`.
    async fn drain(&mut self, events: &mut Receiver<Event>, user: &str, quiet: Duration) {
        while let Ok(Some(event)) = tokio::time::timeout(quiet, events.recv()).await {
            self.count(event, user);
        }
    }

    fn count(&mut self, event: Event, user: &str) {
        if let Event::Presence {
            room,
            user: u,
            online,
        } = event
            && u.username == user
        {
            *self.0.entry((room, online)).or_default() += 1;
        }
    }
}

#[tokio::test]
async fn a_user_on_two_nodes_closing_at_once_goes_offline_once_per_room() {
    let Some(pair) = pair().await else {
        return;
    };
    let (a, b) = (&pair.a, &pair.b);

    let alice = a.user("alice").await;
    alice.join("lobby").await.unwrap();
    alice.create_room("design").await.unwrap();
    alice.close().await;
    let mut carol = a.user("carol").await;
    let mut events = carol.take_events().unwrap();
    carol.join("lobby").await.unwrap();
    carol.join("design").await.unwrap();
    let rooms = ["lobby", "design"];

    const ROUNDS: usize = 100;
    let mut counts = Counts::default();
    for round in 1..=ROUNDS {
        // One after the other: each login spends the next one-time password.
        let on_a = a.login("alice").await;
        let on_b = b.login("alice").await;
        counts
            .until(&mut events, "alice", |c| {
                rooms.iter().all(|r| c.get(r, true) >= round)
            })
            .await;
        // Both devices close within the same instant, on different nodes.
        tokio::join!(on_a.close(), on_b.close());
        counts
            .until(&mut events, "alice", |c| {
                rooms.iter().all(|r| c.get(r, false) >= round)
            })
            .await;
    }
    counts
        .drain(&mut events, "alice", Duration::from_secs(2))
        .await;
    for room in rooms {
        assert_eq!(counts.get(room, true), ROUNDS, "online in {room}");
        assert_eq!(counts.get(room, false), ROUNDS, "offline in {room}");
    }
    pair.stop().await;
}

#[tokio::test]
async fn closing_one_of_two_nodes_connections_says_nothing_and_who_still_lists_the_user() {
    let Some(pair) = pair().await else {
        return;
    };
    let (a, b) = (&pair.a, &pair.b);

    let on_a = a.user("alice").await;
    on_a.join("lobby").await.unwrap();
    let mut carol = a.user("carol").await;
    let mut events = carol.take_events().unwrap();
    carol.join("lobby").await.unwrap();
    let on_b = b.login("alice").await;

    // Alice's node-a connection closes; she is still on node b.
    on_a.close().await;
    let mut counts = Counts::default();
    counts
        .drain(&mut events, "alice", Duration::from_secs(2))
        .await;
    assert_eq!(counts.get("lobby", false), 0, "no offline while on node b");
    let online = carol.who("lobby").await.unwrap();
    assert!(
        online.iter().any(|u| u.username == "alice"),
        "node a lists alice, connected to node b: {online:?}"
    );

    // Her last connection closes: offline, once.
    on_b.close().await;
    counts
        .until(&mut events, "alice", |c| c.get("lobby", false) >= 1)
        .await;
    counts
        .drain(&mut events, "alice", Duration::from_secs(1))
        .await;
    assert_eq!(counts.get("lobby", false), 1);
    let online = carol.who("lobby").await.unwrap();
    assert!(online.iter().all(|u| u.username != "alice"), "{online:?}");
    pair.stop().await;
}

#[tokio::test]
async fn a_killed_nodes_users_go_offline_on_the_others() {
    let Some(db) = MysqlDb::create().await else {
        return;
    };
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let a = node(&dir.path().join("a"), &db, &nats, "a").await;
    let (database, cluster) = (db.url(), nats.url());
    let b_dir = dir.path().join("b");
    std::fs::create_dir_all(&b_dir).unwrap();
    let b = ServerProcess::start(
        &b_dir,
        "info",
        &[
            "--database",
            &database,
            "--cluster",
            &cluster,
            "--cluster-name",
            "test",
            "--node-id",
            "b",
        ],
    )
    .await;

    let mut carol = a.user("carol").await;
    let mut events = carol.take_events().unwrap();
    carol.join("lobby").await.unwrap();
    let alice = chatroom_testkit::server::user(&b.addr, &b.pin, "alice").await;
    alice.join("lobby").await.unwrap();
    presence(&mut events, "lobby", "alice", true).await;

    // Node b dies without a word: nobody tells the bucket alice left.
    let killed = std::time::Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-KILL", &b.pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut counts = Counts::default();
    counts
        .until(&mut events, "alice", |c| c.get("lobby", false) >= 1)
        .await;
    let after = killed.elapsed();
    assert!(
        after < Duration::from_secs(15),
        "offline {after:?} after the kill"
    );
    let online = carol.who("lobby").await.unwrap();
    assert!(online.iter().all(|u| u.username != "alice"), "{online:?}");
    drop(alice);
    a.stop().await;
}

#[tokio::test]
async fn a_new_avatar_chosen_on_one_node_goes_with_messages_sent_through_another() {
    let Some(pair) = pair().await else {
        return;
    };
    let (a, b) = (&pair.a, &pair.b);
    let on_a = a.user("alice").await;
    on_a.join("lobby").await.unwrap();
    let on_b = b.login("alice").await;
    let mut carol = a.user("carol").await;
    let mut events = carol.take_events().unwrap();
    carol.join("lobby").await.unwrap();

    // Alice picks another picture through node A ...
    let before = on_a.user().unwrap().avatar;
    let pool = on_a.avatar_pool().await.unwrap();
    let pick = *pool.iter().find(|h| Some(**h) != before).unwrap();
    on_a.choose_avatar(pick).await.unwrap();
    // ... and node B, where her other device is, knows it: what she sends
    // there carries it, and node A's `Who` shows it.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        on_b.send("lobby", "hello").await.unwrap();
        let message = chatroom_testkit::next_event(&mut events, |e| match e {
            Event::Message(m) if m.sender == "alice" => Some(m),
            _ => None,
        })
        .await;
        if message.sender_avatar == Some(pick) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node b still sends alice's old picture"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let online = carol.who("lobby").await.unwrap();
    let alice = online.iter().find(|u| u.username == "alice").unwrap();
    assert_eq!(alice.avatar, Some(pick));
    pair.stop().await;
}
