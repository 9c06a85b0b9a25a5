//! A thousand connections that vanish without a close while others chat: the
//! server notices each by its idle timeout, frees it (handler, routing entry,
//! tasks, memory), and the chatters never miss a message.

use std::sync::Arc;
use std::time::Duration;

use chatroom_client::Session;
use chatroom_client::connection::{self, ConnectOptions};
use chatroom_testkit::TestRelay;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::chatters::{self, Chat};
use super::raw::RawClient;
use chatroom_testkit::PASS;
use chatroom_testkit::process::{BULK_FLAGS, Load, ServerProcess};

/// Connections opened and abandoned per round.
const GHOSTS: usize = 1000;
/// Of those, how many also log in (as distinct users) and join the lobby, so
/// their disappearance also runs presence and routing clean-up.
const LOGGED_IN: usize = 50;
/// Connections per client UDP socket.
const PER_ENDPOINT: usize = 50;
/// The server's idle timeout for this test (clients send keep-alives every 5 s).
const IDLE_SECS: u64 = 10;
/// Rounds before the baseline is taken (see the test).
const WARM_UP_ROUNDS: usize = 2;
/// Honest clients chatting throughout.
const CHATTERS: usize = 3;

/// Opens `GHOSTS` connections through a relay (handshake and `Hello`; the
/// first `LOGGED_IN` also log in and join), then stops the relay before
/// dropping them: their close packets go nowhere, so the server only learns
/// from the silence. Returns the server's RSS with all of them open.
async fn open_and_vanish(server: &ServerProcess) -> u64 {
    let to = server.addr.parse().unwrap();
    let relay = TestRelay::to(to).await;
    let relay_addr = relay.addr;
    let endpoints: Vec<_> = (0..GHOSTS / PER_ENDPOINT)
        .map(|_| connection::endpoint_for(relay_addr).unwrap())
        .collect();
    // A few handshakes at a time: this is about vanishing, not a connect storm.
    let permits = Arc::new(Semaphore::new(32));
    let mut opening = JoinSet::new();
    for i in 0..GHOSTS {
        let options = ConnectOptions {
            endpoint: Some(endpoints[i / PER_ENDPOINT].clone()),
            ..ConnectOptions::default()
        };
        let (addr, pin, permits) = (relay_addr.to_string(), server.pin.clone(), permits.clone());
        opening.spawn(async move {
            let _permit = permits.acquire().await.unwrap();
            let mut session = Session::connect_with(&addr, &pin, &options)
                .await
                .expect("a ghost connects");
            if i < LOGGED_IN {
                session
                    .login(&format!("ghost{i}"), PASS, None)
                    .await
                    .expect("a ghost logs in");
                session.join("lobby").await.expect("a ghost joins");
            }
            session
        });
    }
    let mut ghosts = Vec::with_capacity(GHOSTS);
    while let Some(session) = opening.join_next().await {
        ghosts.push(session.unwrap());
    }
    // The server prints its load once a second, and only when it changed: a
    // line that counts every ghost must be in the log before they vanish, or
    // the wait for their release could read the line from before the round
    // (all released, it would seem) while they are still open.
    let all_open = |l: Load| l.handlers >= CHATTERS + GHOSTS;
    wait_for(
        server,
        Duration::from_secs(30),
        "every ghost counted",
        all_open,
    )
    .await;
    let rss_open = server.rss_kib();
    relay.stop().await;
    drop(ghosts);
    drop(endpoints);
    rss_open
}

/// Waits until only the chatters' connections remain (bounded: idle timeout
/// plus a generous allowance for a loaded machine).
async fn wait_for_chatters_only(server: &ServerProcess) -> Load {
    let only = |l: Load| l.handlers == CHATTERS && l.connections == CHATTERS;
    wait_for(
        server,
        Duration::from_secs(IDLE_SECS + 90),
        "connections released",
        only,
    )
    .await
}

/// Waits until the server's load line satisfies `done`; fails the test with
/// the last line after `limit`.
async fn wait_for(
    server: &ServerProcess,
    limit: Duration,
    what: &str,
    done: impl Fn(Load) -> bool,
) -> Load {
    match server.wait_for_load(limit, done).await {
        Some(load) => load,
        None => panic!("not reached: {what}; last load line: {:?}", server.load()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs the server binary and measures its memory; scripts/test.sh runs it serially"]
async fn a_thousand_vanished_connections_are_released_and_chat_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let idle = IDLE_SECS.to_string();
    let mut flags = BULK_FLAGS.to_vec();
    flags.extend([
        "--idle-timeout-secs",
        &idle,
        "--max-connections-per-ip",
        "10000",
    ]);
    let server = ServerProcess::start(dir.path(), "warn,chatroom_server=debug", &flags).await;
    let registrar = RawClient::connect(&server.addr, &server.pin, 16).await;
    for i in 0..LOGGED_IN {
        registrar.register(&format!("ghost{i}")).await;
    }
    registrar.close().await;
    let chatters = chatters::join_all(&server.addr, &server.pin, "talker", CHATTERS).await;
    let baseline_load = wait_for_chatters_only(&server).await;
    let cold = server.rss_kib();

    let chat = Chat::start(&chatters, Duration::from_millis(100));

    // The first rounds are the warm-up: they grow the heap to what a thousand
    // connections need, and glibc keeps much of that for reuse instead of
    // returning it to the system. So the fair baseline for "everything was
    // freed" is the memory after the warm-up; a leak shows as growth in the
    // measured round on top of it.
    let started = std::time::Instant::now();
    let mut rounds = Vec::new();
    let mut load = baseline_load;
    for _ in 0..=WARM_UP_ROUNDS {
        let open = open_and_vanish(&server).await;
        load = wait_for_chatters_only(&server).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        rounds.push((open, server.rss_kib(), started.elapsed()));
    }
    let baseline = rounds[WARM_UP_ROUNDS - 1].1;
    let after = rounds[WARM_UP_ROUNDS].1;
    eprintln!(
        "abrupt disconnects: RSS cold {cold} KiB; per round (with {GHOSTS} open, after release, \
         time since the first round began): {rounds:?}; peak {} KiB; \
         load before {baseline_load:?}, after {load:?}",
        server.peak_rss_kib()
    );
    assert!(
        after * 10 <= baseline * 11,
        "RSS after the measured round ({after} KiB) is more than 10 % over the baseline ({baseline} KiB)"
    );
    // Chatters' requests in flight come and go; a leaked connection would
    // leave at least its handler, writer and quinn driver tasks: thousands.
    assert!(
        load.tasks <= baseline_load.tasks + 10,
        "tasks did not return to the baseline: {load:?} vs {baseline_load:?}"
    );

    let posted = chat.finish(&chatters).await;
    eprintln!(
        "abrupt disconnects: {posted} messages, each delivered to all {CHATTERS} chatters once"
    );
    server.stop().await;
}
