//! Two clients chatting through a relay that drops 10 % of datagrams in each
//! direction (seeded): every message arrives exactly once and the timeline,
//! ordered by sequence number, has no gap.

use std::collections::BTreeMap;
use std::time::Duration;

use chatroom_bench::relay::RelayConfig;
use chatroom_client::Session;
use chatroom_common::protocol::{ChatMessage, Event, Seq};
use chatroom_common::timeline::{Inserted, Timeline};
use chatroom_testkit::TestRelay;

use chatroom_testkit::TestServer;
use chatroom_testkit::in_lobby;

/// Messages each of the two posts.
const PER_CLIENT: usize = 40;

/// Posts `PER_CLIENT` messages, each after the previous one was acknowledged;
/// returns their seqs and texts.
async fn post(session: &Session, name: &str) -> Vec<(Seq, String)> {
    let mut sent = Vec::new();
    for i in 0..PER_CLIENT {
        let text = format!("{name} {i}");
        let seq = session
            .send("lobby", &text)
            .await
            .expect("acknowledged")
            .seq;
        sent.push((seq, text));
    }
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_loss_each_way_delivers_every_message_once_in_seq_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), server.addr.parse().unwrap());
    config.loss_percent = 10.0;
    config.seed = 2026;
    let relay = TestRelay::start(config).await;
    let relay_addr = relay.addr.to_string();

    let (alice, mut alice_events) = in_lobby(&relay_addr, &server.pin, "alice").await;
    let (bob, mut bob_events) = in_lobby(&relay_addr, &server.pin, "bob").await;
    // Both post at once, each message after the previous one was acknowledged.
    let (a_sent, b_sent) = tokio::join!(post(&alice, "alice"), post(&bob, "bob"));
    let sent: BTreeMap<Seq, String> = a_sent.into_iter().chain(b_sent).collect();
    assert_eq!(sent.len(), 2 * PER_CLIENT, "no seq was acknowledged twice");
    let (first, last) = (*sent.keys().next().unwrap(), *sent.keys().last().unwrap());
    assert_eq!(
        last - first + 1,
        sent.len() as Seq,
        "the room's seqs are contiguous"
    );

    for (name, events) in [("alice", &mut alice_events), ("bob", &mut bob_events)] {
        let mut pushed: Vec<ChatMessage> = Vec::new();
        let wait = async {
            while pushed.len() < sent.len() {
                match events.recv().await.expect("events open") {
                    Event::Message(m) => pushed.push(m),
                    Event::Resync { .. } => panic!("{name} was told to resync"),
                    _ => {}
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .unwrap_or_else(|_| panic!("{name} got {} of {} messages", pushed.len(), sent.len()));
        // Anything more would be a duplicate.
        while let Ok(Some(event)) =
            tokio::time::timeout(Duration::from_millis(500), events.recv()).await
        {
            if let Event::Message(m) = event {
                panic!("{name} got seq {} again", m.seq);
            }
        }
        let mut timeline = Timeline::new(1000);
        for m in pushed {
            assert_eq!(timeline.insert(m), Inserted::New, "{name}: a duplicate");
        }
        assert_eq!(timeline.missing(), None, "{name}: a gap");
        let got: BTreeMap<Seq, String> = timeline.iter().map(|m| (m.seq, m.text.clone())).collect();
        assert_eq!(got, sent, "{name}: every message, once, in seq order");
    }

    let stats = relay.stop().await;
    eprintln!("10 % loss: {stats:?}");
    assert!(
        stats.up_dropped > 0 && stats.down_dropped > 0,
        "the relay dropped in both directions: {stats:?}"
    );
    server.stop().await;
}
