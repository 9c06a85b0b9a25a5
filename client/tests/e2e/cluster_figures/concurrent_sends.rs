//! Concurrent sends through three nodes into one room: the shared database
//! orders them, so sequence numbers stay contiguous and unique, and the same
//! send (same sender, same idempotency key) arriving through two nodes at
//! once is stored once, both answers naming the same `seq`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chatroom_client::session::new_key;
use chatroom_common::protocol::{HistoryQuery, MAX_HISTORY_PAGE, Seq};
use chatroom_testkit::mysql::MysqlDb;
use chatroom_testkit::{NatsServer, TestServer, cluster};
use tokio::task::JoinSet;

use super::members::{Member, wait_all};

/// Senders per node.
const SENDERS_PER_NODE: usize = 3;
/// Messages per sender.
const MESSAGES: usize = 30;
/// How long the members may take to have everything (a bound, not a target).
const SETTLE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_through_three_nodes_stay_contiguous_and_unique() {
    let Some(db) = MysqlDb::create().await else {
        return;
    };
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let certs = cluster::shared_certs(dir.path());
    let urls = [nats.url()];
    let mut nodes: Vec<TestServer> = Vec::new();
    for id in ["a", "b", "c"] {
        nodes.push(cluster::node(&dir.path().join(id), &db.url(), &urls, id, &certs).await);
    }
    let owner = nodes[0].user("owner").await;
    owner.create_room("race").await.unwrap();

    // Each sender is a member on its node and has a second session on the
    // next node, through which every send is repeated at the same moment.
    let mut members = Vec::new();
    let mut jobs = JoinSet::new();
    for i in 0..SENDERS_PER_NODE * nodes.len() {
        let (home, other) = (&nodes[i % 3], &nodes[(i + 1) % 3]);
        let name = format!("s{i}");
        let member = Member::join(&home.addr, &home.pin, &name, "race", None).await;
        let first = member.session(Duration::ZERO).await.unwrap();
        let second = Arc::new(other.login(&name).await);
        members.push(member);
        jobs.spawn(async move {
            let mut acks = Vec::with_capacity(MESSAGES);
            for n in 0..MESSAGES {
                let (text, key) = (format!("{name} {n}"), new_key());
                let (a, b) = tokio::join!(
                    first.send_with_key("race", &text, key),
                    second.send_with_key("race", &text, key)
                );
                let (a, b) = (a.unwrap(), b.unwrap());
                assert_eq!(a.seq, b.seq, "{text}: one key, two numbers");
                assert!(
                    a.duplicate != b.duplicate,
                    "{text}: exactly one of the two posts it ({a:?}, {b:?})"
                );
                acks.push(a.seq);
            }
            acks
        });
    }
    let mut acked: Vec<Seq> = Vec::new();
    while let Some(acks) = jobs.join_next().await {
        acked.extend(acks.unwrap());
    }
    let total = (SENDERS_PER_NODE * nodes.len() * MESSAGES) as Seq;
    acked.sort_unstable();
    assert_eq!(
        acked,
        (1..=total).collect::<Vec<_>>(),
        "contiguous, none twice"
    );

    // Every member, on every node, ends up with all of them once.
    let all: Vec<&Member> = members.iter().collect();
    let complete = wait_all(&all, SETTLE, |s| s.contiguous() == total).await;
    for m in &members {
        let seen = m.seen.lock().unwrap();
        assert!(
            complete,
            "{} has up to {} of {total}",
            m.name,
            seen.contiguous()
        );
        assert_eq!(seen.duplicates, 0, "{}", m.name);
        assert_eq!(seen.messages.len() as Seq, total, "{}", m.name);
    }

    // The database holds each (sender, text) once, numbered 1..=total.
    let mut stored = Vec::new();
    loop {
        let after = stored.len() as Seq;
        let query = HistoryQuery::After {
            after,
            limit: MAX_HISTORY_PAGE,
        };
        let (page, _) = owner.history("race", query).await.unwrap();
        if page.is_empty() {
            break;
        }
        stored.extend(page);
    }
    let seqs: Vec<Seq> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=total).collect::<Vec<_>>());
    let distinct: BTreeSet<(&str, &str)> = stored
        .iter()
        .map(|m| (m.sender.as_str(), m.text.as_str()))
        .collect();
    assert_eq!(
        distinct.len() as Seq,
        total,
        "a (sender, text) stored twice"
    );
    drop(members);
    for node in nodes {
        node.stop().await;
    }
}
