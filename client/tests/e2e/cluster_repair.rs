//! What NATS loses between nodes still reaches every member: each node fills
//! its holes from the database (`server/src/cluster/repair.rs`). NATS stopped
//! for the 10 s, a publish lost on a node's link with nothing after
//! it, and a hole with a message after it: every member gets every message,
//! as a push, once.

use std::time::{Duration, Instant};

use chatroom_common::protocol::{ChatMessage, Event};
use chatroom_server::{ClusterConfig, Config, RepairTiming};
use chatroom_testkit::mysql::MysqlDb;
use chatroom_testkit::server::config;
use chatroom_testkit::{NatsProxy, NatsServer, TestServer, presence};
use tokio::sync::mpsc::{self, Receiver, UnboundedReceiver};

/// How long the test keeps NATS down.
const OUTAGE: Duration = Duration::from_secs(10);
/// How soon after NATS is back every message must have arrived.
const REPAIRED_WITHIN: Duration = Duration::from_secs(3);
/// Longer than any send's acknowledgement may take, NATS or not.
const ACK_BOUND: Duration = Duration::from_secs(1);

/// A node on `db` reaching NATS at `nats`, with this repair timing.
async fn node(
    dir: &std::path::Path,
    db: &MysqlDb,
    nats: &str,
    id: &str,
    repair: RepairTiming,
) -> TestServer {
    let mut config: Config = config(dir).await;
    config.database = Some(db.url());
    let mut cluster = ClusterConfig::new(&[nats.to_owned()], Some("test".into()), Some(id.into()));
    cluster.repair = repair;
    config.cluster = Some(cluster);
    TestServer::start_config(config).await
}

/// A message pushed to a client, with when it came.
type Pushed = (ChatMessage, Instant);

/// Stamps each message pushed to `events` with the time it came, as it
/// comes (a task of its own, so a test that sleeps still learns when).
fn stamped(mut events: Receiver<Event>) -> UnboundedReceiver<Pushed> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let Event::Message(m) = event
                && tx.send((m, Instant::now())).is_err()
            {
                return;
            }
        }
    });
    rx
}

/// The messages pushed until `deadline`.
async fn pushed_until(events: &mut UnboundedReceiver<Pushed>, deadline: Instant) -> Vec<Pushed> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::from_std(deadline);
    while let Ok(Some(pushed)) = tokio::time::timeout_at(deadline, events.recv()).await {
        got.push(pushed);
    }
    got
}

/// Waits (up to `bound`) for `count` pushed messages.
async fn pushed(
    events: &mut UnboundedReceiver<Pushed>,
    count: usize,
    bound: Duration,
) -> Vec<Pushed> {
    let deadline = tokio::time::Instant::now() + bound;
    let mut got = Vec::new();
    while got.len() < count {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(pushed)) => got.push(pushed),
            Ok(None) | Err(_) => break,
        }
    }
    got
}

/// The sequence numbers of `got`, sorted as a client orders them.
fn seqs(got: &[Pushed]) -> Vec<u64> {
    let mut seqs: Vec<u64> = got.iter().map(|(m, _)| m.seq).collect();
    seqs.sort_unstable();
    seqs
}

#[tokio::test]
async fn nats_down_for_ten_seconds_loses_nothing_and_sends_keep_their_pace() {
    let Some(db) = MysqlDb::create().await else {
        return;
    };
    let mut nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let timing = RepairTiming::default();
    let a = node(&dir.path().join("a"), &db, &nats.url(), "a", timing).await;
    let b = node(&dir.path().join("b"), &db, &nats.url(), "b", timing).await;
    let mut bob = b.user("bob").await;
    let mut events = bob.take_events().unwrap();
    bob.join("lobby").await.unwrap();
    let alice = a.user("alice").await;
    alice.join("lobby").await.unwrap();
    presence(&mut events, "lobby", "alice", true).await;
    let mut b_events = stamped(events);

    // Live, before: how long an acknowledgement takes here.
    let mut before = Duration::ZERO;
    for i in 1..=5 {
        let started = Instant::now();
        alice.send("lobby", &format!("before {i}")).await.unwrap();
        before = before.max(started.elapsed());
    }
    assert_eq!(
        seqs(&pushed(&mut b_events, 5, Duration::from_secs(20)).await),
        [1, 2, 3, 4, 5]
    );

    // NATS goes; sends are acknowledged as fast as before (they never wait
    // on NATS), each once stored.
    nats.stop();
    let stopped = Instant::now();
    let mut during = Duration::ZERO;
    let count: u64 = 20;
    for i in 1..=count {
        let started = Instant::now();
        let sent = alice.send("lobby", &format!("during {i}")).await.unwrap();
        during = during.max(started.elapsed());
        assert_eq!(sent.seq, 5 + i);
    }
    assert!(during < ACK_BOUND, "a send took {during:?} with NATS down");
    // Bob's node repairs from the database meanwhile: its sweep of room
    // heads does not need NATS.
    let mut got = pushed_until(&mut b_events, stopped + OUTAGE).await;
    let during_outage = got.len();
    nats.restart();
    let back = Instant::now();
    // What it has not by now must come soon: the reconnect reads the heads.
    let missing = count as usize - during_outage.min(count as usize);
    got.extend(pushed(&mut b_events, missing, REPAIRED_WITHIN).await);
    // Nothing twice: copies NATS still delivers (the other node's client
    // buffered its publishes) are not pushed again.
    got.extend(pushed_until(&mut b_events, Instant::now() + Duration::from_secs(2)).await);
    assert_eq!(seqs(&got), (6..=5 + count).collect::<Vec<_>>());
    assert!(
        got.iter()
            .all(|(_, at)| at.saturating_duration_since(back) <= REPAIRED_WITHIN),
        "all within {REPAIRED_WITHIN:?} of NATS being back"
    );
    let first = got.iter().map(|(_, at)| *at).min().unwrap();
    let last = got.iter().map(|(_, at)| *at).max().unwrap();
    eprintln!(
        "acks: up to {before:?} before, up to {during:?} with NATS down; \
         {count} messages reached the other node {:?}..{:?} after NATS stopped, \
         {during_outage} of them before it was back (after {:?})",
        first - stopped,
        last - stopped,
        back - stopped
    );

    // Live again.
    alice.send("lobby", "after").await.unwrap();
    let after = pushed(&mut b_events, 1, Duration::from_secs(20)).await;
    assert_eq!(seqs(&after), [6 + count]);
    a.stop().await;
    b.stop().await;
}

/// Alice on a node whose NATS link is `proxy`, bob on a node straight on
/// NATS, both in the lobby, one message seen live; returns bob's events.
struct Pair {
    /// Alice's node.
    a: TestServer,
    /// Bob's node.
    b: TestServer,
    /// Alice, on `a`.
    alice: chatroom_client::Session,
    /// Bob's pushes, on `b`.
    b_events: UnboundedReceiver<Pushed>,
    /// Bob, kept connected.
    _bob: chatroom_client::Session,
}

impl Pair {
    async fn start(
        dir: &std::path::Path,
        db: &MysqlDb,
        nats: &NatsServer,
        proxy: &NatsProxy,
        b_timing: RepairTiming,
    ) -> Self {
        let a = node(
            &dir.join("a"),
            db,
            &proxy.url(),
            "a",
            RepairTiming::default(),
        )
        .await;
        let b = node(&dir.join("b"), db, &nats.url(), "b", b_timing).await;
        let mut bob = b.user("bob").await;
        let mut events = bob.take_events().unwrap();
        bob.join("lobby").await.unwrap();
        let alice = a.user("alice").await;
        alice.join("lobby").await.unwrap();
        // Bob's node has its subscription once alice's arrival crossed.
        presence(&mut events, "lobby", "alice", true).await;
        let mut b_events = stamped(events);
        alice.send("lobby", "live").await.unwrap();
        assert_eq!(
            seqs(&pushed(&mut b_events, 1, Duration::from_secs(20)).await),
            [1]
        );
        // Let the link fall quiet, so what alice's node sends next is her
        // next message.
        tokio::time::sleep(Duration::from_millis(300)).await;
        Self {
            a,
            b,
            alice,
            b_events,
            _bob: bob,
        }
    }

    async fn stop(self) {
        self.a.stop().await;
        self.b.stop().await;
    }
}

#[tokio::test]
async fn a_lost_last_message_is_delivered_from_the_database_without_a_further_one() {
    let Some(db) = MysqlDb::create().await else {
        return;
    };
    let nats = NatsServer::start();
    let proxy = NatsProxy::start(nats.addr).await;
    let dir = tempfile::tempdir().unwrap();
    let grace = Duration::from_secs(1);
    let timing = RepairTiming {
        grace,
        sweep: Duration::from_millis(500),
    };
    let mut pair = Pair::start(dir.path(), &db, &nats, &proxy, timing).await;

    // Alice's node writes the publish and its link fails under it: the other
    // node never hears of the message, and nothing comes after it.
    proxy.lose_next_write();
    let sent_at = Instant::now();
    let sent = pair.alice.send("lobby", "lost on the way").await.unwrap();
    assert_eq!(sent.seq, 2);
    let got = pushed(&mut pair.b_events, 1, Duration::from_secs(5)).await;
    assert_eq!(proxy.lost(), 1, "the publish was lost");
    assert_eq!(seqs(&got), [2]);
    assert_eq!(got[0].0.text, "lost on the way");
    let took = got[0].1 - sent_at;
    // Found by a sweep of room heads, then given the grace to arrive live.
    assert!(took >= grace, "came after {took:?}: not by repair?");
    eprintln!("a lost last message reached the other node after {took:?}");
    let more = pushed_until(&mut pair.b_events, Instant::now() + Duration::from_secs(2)).await;
    assert!(more.is_empty(), "pushed again: {more:?}");
    pair.stop().await;
}

#[tokio::test]
async fn a_hole_is_filled_about_a_second_after_the_next_message_shows_it() {
    let Some(db) = MysqlDb::create().await else {
        return;
    };
    let nats = NatsServer::start();
    let proxy = NatsProxy::start(nats.addr).await;
    let dir = tempfile::tempdir().unwrap();
    let grace = Duration::from_secs(1);
    // No sweep during the test: the hole alone must bring the message.
    let timing = RepairTiming {
        grace,
        sweep: Duration::from_secs(3600),
    };
    let mut pair = Pair::start(dir.path(), &db, &nats, &proxy, timing).await;

    proxy.lose_next_write();
    pair.alice.send("lobby", "lost on the way").await.unwrap();
    pair.alice.send("lobby", "shows the gap").await.unwrap();
    let next = pushed(&mut pair.b_events, 1, Duration::from_secs(5)).await;
    assert_eq!(seqs(&next), [3], "the next message comes live");
    let gap_seen = next[0].1;
    let filled = pushed(&mut pair.b_events, 1, Duration::from_secs(5)).await;
    assert_eq!(proxy.lost(), 1, "the publish was lost");
    assert_eq!(seqs(&filled), [2]);
    // The grace runs from when bob's node saw the gap, a moment before bob did.
    let took = filled[0].1 - gap_seen;
    assert!(
        took >= grace - Duration::from_millis(100),
        "filled after {took:?}"
    );
    eprintln!("a hole was filled {took:?} after the next message showed it");
    let more = pushed_until(&mut pair.b_events, Instant::now() + Duration::from_secs(2)).await;
    assert!(more.is_empty(), "pushed again: {more:?}");
    pair.stop().await;
}

#[tokio::test]
async fn a_node_cut_off_from_nats_repairs_when_it_reconnects() {
    let Some(db) = MysqlDb::create().await else {
        return;
    };
    let nats = NatsServer::start();
    let proxy = NatsProxy::start(nats.addr).await;
    let dir = tempfile::tempdir().unwrap();
    // Bob's node is the one behind the proxy here, and never sweeps: only
    // its reconnect can tell it what it missed.
    let grace = Duration::from_secs(1);
    let no_sweep = RepairTiming {
        grace,
        sweep: Duration::from_secs(3600),
    };
    let a = node(&dir.path().join("a"), &db, &nats.url(), "a", no_sweep).await;
    let b = node(&dir.path().join("b"), &db, &proxy.url(), "b", no_sweep).await;
    let mut bob = b.user("bob").await;
    let mut events = bob.take_events().unwrap();
    bob.join("lobby").await.unwrap();
    let alice = a.user("alice").await;
    alice.join("lobby").await.unwrap();
    // Alice's arrival crossed: bob's node has its subscription (without
    // sweeps, a message lost before it would wait for the next message).
    presence(&mut events, "lobby", "alice", true).await;
    let mut b_events = stamped(events);
    alice.send("lobby", "live").await.unwrap();
    assert_eq!(
        seqs(&pushed(&mut b_events, 1, Duration::from_secs(20)).await),
        [1]
    );

    // Cut off, bob's node hears nothing of what alice's node publishes.
    let outage = Duration::from_secs(2);
    proxy.cut_for(outage);
    let cut = Instant::now();
    for i in 1..=5 {
        alice.send("lobby", &format!("missed {i}")).await.unwrap();
    }
    let meanwhile = pushed_until(&mut b_events, cut + outage).await;
    assert!(meanwhile.is_empty(), "came through the cut: {meanwhile:?}");
    let back = cut + outage;
    let got = pushed(&mut b_events, 5, REPAIRED_WITHIN).await;
    assert_eq!(seqs(&got), [2, 3, 4, 5, 6]);
    let last = got.iter().map(|(_, at)| *at).max().unwrap();
    assert!(last - back <= REPAIRED_WITHIN);
    eprintln!(
        "a node cut off from NATS for {outage:?} had what it missed {:?} after the link was back",
        last - back
    );
    let more = pushed_until(&mut b_events, Instant::now() + Duration::from_secs(2)).await;
    assert!(more.is_empty(), "pushed again: {more:?}");
    a.stop().await;
    b.stop().await;
}
