//! Three NATS servers joined by routes, each chat node on a different one;
//! one NATS server is killed. Fan-out goes on between the nodes whose NATS
//! server lives, and the node whose server died, given every NATS address,
//! reconnects to another one and is back in the fan-out.

use std::time::Duration;

use chatroom_common::protocol::Seq;
use chatroom_testkit::mysql::MysqlDb;
use chatroom_testkit::{NatsCluster, TestServer, cluster};
use tokio::time::Instant;

use super::members::{Member, wait_all};

/// How long a node may take to be on another NATS server (a bound).
const RECONNECT: Duration = Duration::from_secs(30);
/// How long members may take to have a round of messages (a bound).
const SETTLE: Duration = Duration::from_secs(30);
/// Messages each member posts per round.
const ROUND: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_survives_the_loss_of_one_nats_server() {
    let Some(db) = MysqlDb::create().await else {
        return;
    };
    let mut nats = NatsCluster::start(3);
    let dir = tempfile::tempdir().unwrap();
    let certs = cluster::shared_certs(dir.path());
    let node = |id: &'static str, urls: Vec<String>| {
        let (dir, db, certs) = (dir.path().join(id), db.url(), certs.clone());
        async move { cluster::node(&dir, &db, &urls, id, &certs).await }
    };
    // Node c gets every address and lands on one of them (the NATS client
    // picks at random); a and b each get one of the other two, so every node
    // is on a server of its own.
    let c = node("c", nats.urls()).await;
    let home = (0..3)
        .find(|&i| on(&nats, i, "c"))
        .expect("node c is connected to one of the NATS servers");
    let a = node("a", vec![nats.url((home + 1) % 3)]).await;
    let b = node("b", vec![nats.url((home + 2) % 3)]).await;
    let nodes: [&TestServer; 3] = [&a, &b, &c];

    let owner = a.user("owner").await;
    owner.create_room("relay").await.unwrap();
    let mut members = Vec::new();
    for (node, name) in nodes.iter().zip(["on-a", "on-b", "on-c"]) {
        members.push(Member::join(&node.addr, &node.pin, name, "relay", None).await);
    }
    let all: Vec<&Member> = members.iter().collect();
    let mut total: Seq = 0;
    total += round(&all, "before", &[0, 1, 2]).await;
    assert!(
        wait_all(&all, SETTLE, |s| s.live.len() as Seq == total).await,
        "before the kill, everything is pushed live to every node"
    );

    // c's NATS server dies. a and b carry on at once: what they post is
    // pushed live to each other, nothing to repair.
    nats.kill(home);
    let killed_at = Instant::now();
    let (on_a, on_b) = (&members[0], &members[1]);
    let start = total;
    total += round(&all, "during", &[0, 1]).await;
    let live_between = wait_all(&[on_a, on_b], SETTLE, |s| {
        (start + 1..=total).all(|seq| s.live.contains(&seq))
    })
    .await;
    assert!(
        live_between,
        "a and b lost fan-out when c's NATS server died"
    );

    // c reconnects to a live NATS server, and is back in the fan-out.
    let deadline = Instant::now() + RECONNECT;
    while !(0..3).any(|i| i != home && on(&nats, i, "c")) {
        assert!(
            Instant::now() < deadline,
            "node c did not reconnect to another NATS server within {RECONNECT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "node c on another NATS server {:?} after the kill",
        killed_at.elapsed()
    );
    // Its subscriptions are renewed on the new server; until that has
    // spread over the routes, a message may reach the others only by
    // repair. Probe until one crosses live both ways.
    let deadline = Instant::now() + RECONNECT;
    loop {
        let start = total;
        total += round(&all, "probe", &[0, 2]).await;
        let crossed = wait_all(&all, Duration::from_secs(2), |s| {
            (start + 1..=total).all(|seq| s.live.contains(&seq))
        })
        .await;
        if crossed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "c never got back into the fan-out"
        );
    }
    // From then on, all three nodes fan out live again.
    let start = total;
    total += round(&all, "after", &[0, 1, 2]).await;
    let live_after = wait_all(&all, SETTLE, |s| {
        (start + 1..=total).all(|seq| s.live.contains(&seq))
    })
    .await;
    assert!(
        live_after,
        "after c's reconnect, not everything was pushed live"
    );
    // And nobody is missing anything or got anything twice.
    assert!(wait_all(&all, SETTLE, |s| s.contiguous() == total).await);
    for m in &members {
        assert_eq!(m.seen.lock().unwrap().duplicates, 0, "{}", m.name);
    }
    drop(members);
    for node in [a, b, c] {
        node.stop().await;
    }
}

/// Whether chat node `id` is connected to NATS server `index`.
fn on(nats: &NatsCluster, index: usize, id: &str) -> bool {
    let name = format!("chatroom-server {id}");
    nats.client_names(index).contains(&name)
}

/// The members at `senders` each post [`ROUND`] messages (acknowledged);
/// returns how many were posted.
async fn round(members: &[&Member], label: &str, senders: &[usize]) -> Seq {
    let mut posted = 0;
    for n in 0..ROUND {
        for &i in senders {
            let m = members[i];
            let session = m.session(Duration::ZERO).await.expect("connected");
            session
                .send("relay", &format!("{label} {} {n}", m.name))
                .await
                .unwrap();
            posted += 1;
        }
    }
    posted
}
