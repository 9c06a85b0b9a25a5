//! `--push-delay-ms`: events posted while a writer holds the first one share
//! its packets, each still on a stream of its own, and none is lost.

use std::time::Duration;

use chatroom_server::Limits;
use chatroom_testkit::{TestServer, bulk_limits, message, next_event};

/// Far longer than the burst takes to post even on a loaded machine, so the
/// whole burst is queued before the writer wakes (this is not a timing
/// assertion: a slower post only splits the burst across more packets).
const DELAY: Duration = Duration::from_secs(1);
/// Messages in the burst: short, so all fit one datagram.
const BURST: u64 = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_shares_packets_when_pushes_wait() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        push_delay: DELAY,
        ..bulk_limits()
    };
    let server = TestServer::start_with(dir.path(), None, limits).await;
    let sender = server.user("sender").await;
    sender.join("lobby").await.unwrap();
    let mut receiver = server.user("receiver").await;
    let mut events = receiver.take_events().unwrap();
    receiver.join("lobby").await.unwrap();

    // Everything the join set off (presence, the first message) has arrived
    // before counting starts.
    let first = sender.send("lobby", "ready").await.unwrap().seq;
    next_event(&mut events, |e| message(e).filter(|m| m.seq == first)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let before = receiver.connection().quic().stats();
    for i in 1..=BURST {
        sender.send("lobby", &format!("m{i}")).await.unwrap();
    }
    let mut seqs = Vec::new();
    while seqs.len() < BURST as usize {
        seqs.push(next_event(&mut events, message).await.seq);
    }
    let after = receiver.connection().quic().stats();

    seqs.sort_unstable();
    assert_eq!(seqs, (first + 1..=first + BURST).collect::<Vec<_>>());
    let streams = after.frame_rx.stream - before.frame_rx.stream;
    assert!(
        streams >= BURST,
        "each event on a stream of its own: {streams} frames"
    );
    // At once, each event is a datagram of its own (six). Held, the burst
    // goes in one; one more allows for the answer to a keep-alive.
    let datagrams = after.udp_rx.datagrams - before.udp_rx.datagrams;
    assert!(
        datagrams <= 2,
        "{BURST} events held for {DELAY:?} came in {datagrams} datagrams"
    );
    server.stop().await;
}
