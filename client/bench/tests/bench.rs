//! The benchmark's pieces that can be wrong, against the in-process server:
//! its counts, the relay (with and without loss), the single-stream mode, and
//! clients spread over two nodes of a cluster. Nothing here asserts timing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::time::Duration;

use chatroom_bench::crowd::{self, CrowdConfig};
use chatroom_bench::relay::RelayConfig;
use chatroom_bench::{self as bench, BenchConfig, FilesConfig, Report};
use chatroom_client::connection::{ConnectOptions, EventStreams};
use chatroom_client::{Session, Trust};
use chatroom_common::protocol::{ErrorCode, FileRef, OtpAlgorithm};
use chatroom_server::StreamMode;
use chatroom_testkit::mysql::MysqlDb;
use chatroom_testkit::{NatsServer, TestRelay, TestServer, cluster};

/// A server in the given stream mode (bulk limits).
async fn server(dir: &Path, mode: StreamMode) -> TestServer {
    let mut config = chatroom_testkit::server::config(dir).await;
    config.stream_mode = mode;
    TestServer::start_config(config).await
}

fn config(addr: &str, pin: Trust, clients: usize, messages: u64) -> BenchConfig {
    let mut config = BenchConfig::new(addr, pin);
    config.clients = clients;
    config.messages = messages;
    config.connections_per_endpoint = 2;
    config.drain_timeout = Duration::from_secs(30);
    config
}

fn assert_complete(report: &Report, clients: usize, messages: u64) {
    let sent = clients as u64 * messages;
    assert_eq!(report.send_errors, 0, "{:?}", report.first_send_error);
    assert_eq!(report.sent, sent);
    assert_eq!(report.expected_deliveries, sent * clients as u64);
    assert_eq!(report.deliveries, report.expected_deliveries, "{report}");
    assert_eq!(report.lost, 0);
    assert_eq!(report.duplicates, 0);
    assert_eq!(report.resyncs, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_run_counts_every_delivery_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), StreamMode::PerMessage).await;
    let (addr, pin) = (server.addr.clone(), server.pin.clone());
    let report = bench::run(config(&addr, pin, 5, 20)).await.unwrap();
    assert_complete(&report, 5, 20);
    assert_eq!(report.clients, 5);
    assert!(report.room.starts_with("bench-"));
    // One server: no per-node part, in the table or the JSON.
    assert!(report.cluster.is_none());
    assert!(!serde_json::to_string(&report).unwrap().contains("cluster"));
    // Both histograms hold every delivery, and the one-way latency (from the
    // server's stamp, which comes after the send) is never longer than the
    // whole trip but for the stamp's truncation to a millisecond (and the
    // histograms' 0.1 % resolution).
    assert_eq!(report.latency_buckets_us.len(), report.deliveries);
    assert_eq!(report.one_way_buckets_us.len(), report.deliveries);
    let (trip, one_way) = (&report.latency_us, &report.one_way_us);
    assert!(one_way.p50 <= trip.p50 + trip.p50 / 500 + 1_000, "{report}");
    assert!(one_way.max <= trip.max + trip.max / 500 + 1_000, "{report}");
}

/// S3′ in miniature: 24 clients, each in the lobby, one of 3 rooms of 8 and
/// one of 6 groups of 4; every message reaches every member of its room once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_crowd_delivers_every_room_s_messages_to_its_members() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), StreamMode::PerMessage).await;
    let mut config = CrowdConfig::new(server.addr.clone(), server.pin.clone());
    config.clients = 24;
    config.room_size = 8;
    config.connections_per_endpoint = 5;
    config.seconds = 2.0;
    config.scale = 5.0;
    config.group_rate = 0.5;
    config.server_pid = Some(std::process::id());
    let report = crowd::crowd(config).await.unwrap();
    assert_eq!(report.connected, 24, "{report}");
    assert_eq!(report.first_setup_error, None);
    // Rates × 5 over 2 s: the lobby 20 messages, each room 10, each group 5.
    let shape: Vec<(usize, usize, u64)> = report
        .kinds
        .iter()
        .map(|k| (k.rooms, k.members, k.sent))
        .collect();
    assert_eq!(shape, [(1, 24, 20), (3, 8, 30), (6, 4, 30)], "{report}");
    for kind in &report.kinds {
        assert_eq!(kind.send_errors, 0);
        assert_eq!(kind.expected_deliveries, kind.sent * kind.members as u64);
        assert_eq!(kind.deliveries, kind.expected_deliveries, "{report}");
        assert_eq!((kind.lost, kind.duplicates), (0, 0));
        assert!(kind.latency_us.p50 > 0);
    }
    assert_eq!(report.deliveries, 20 * 24 + 30 * 8 + 30 * 4);
    assert_eq!(report.resyncs, 0);
    // The server runs in this process here: its memory is this process's.
    assert!(report.server_rss_idle_mib.is_some_and(|m| m > 0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_sending_into_a_named_room_delivers_everything() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), StreamMode::PerMessage).await;
    let (addr, pin) = (server.addr.clone(), server.pin.clone());
    let mut cfg = config(&addr, pin.clone(), 3, 4);
    cfg.rate = Some(50.0);
    cfg.room = Some("benchroom".into());
    assert_complete(&bench::run(cfg).await.unwrap(), 3, 4);
    // A second run in the same room starts after the first run's messages.
    let mut cfg = config(&addr, pin, 2, 3);
    cfg.room = Some("benchroom".into());
    assert_complete(&bench::run(cfg).await.unwrap(), 2, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_stream_mode_delivers_everything_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), StreamMode::Single).await;
    let (addr, pin) = (server.addr.clone(), server.pin.clone());
    let mut cfg = config(&addr, pin.clone(), 4, 25);
    cfg.event_streams = EventStreams::Single;
    let report = bench::run(cfg).await.unwrap();
    assert_complete(&report, 4, 25);
    assert_eq!(report.stream_mode, "single");
    // With one sender, each message is queued before it is acknowledged and so
    // before the next is sent: on one stream they must arrive in order.
    let mut cfg = config(&addr, pin, 1, 30);
    cfg.event_streams = EventStreams::Single;
    let report = bench::run(cfg).await.unwrap();
    assert_complete(&report, 1, 30);
    assert_eq!(report.out_of_order, 0);
}

/// Runs the benchmark through the relay; returns the report and the relay's counts.
async fn through_relay(
    mode: StreamMode,
    loss_percent: f64,
    clients: usize,
    messages: u64,
) -> (Report, bench::relay::RelayStats) {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), mode).await;
    let (addr, pin) = (server.addr.clone(), server.pin.clone());
    let mut relay_config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), addr.parse().unwrap());
    relay_config.loss_percent = loss_percent;
    relay_config.seed = 5;
    let relay = TestRelay::start(relay_config).await;
    let relay_addr = relay.addr.to_string();
    let mut cfg = config(&relay_addr, pin, clients, messages);
    if mode == StreamMode::Single {
        cfg.event_streams = EventStreams::Single;
    }
    let report = bench::run(cfg).await.unwrap();
    let stats = relay.stop().await;
    (report, stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_without_loss_passes_everything() {
    let (report, stats) = through_relay(StreamMode::PerMessage, 0.0, 3, 10).await;
    assert_complete(&report, 3, 10);
    assert_eq!(stats.up_dropped + stats.down_dropped, 0);
    assert!(stats.up_forwarded > 0 && stats.down_forwarded > 0);
    assert_eq!(stats.peers, 2, "one upstream socket per client endpoint");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_loss_both_modes_still_deliver_everything_once() {
    for mode in [StreamMode::PerMessage, StreamMode::Single] {
        let (report, stats) = through_relay(mode, 5.0, 3, 10).await;
        assert_complete(&report, 3, 10);
        assert!(
            stats.up_dropped + stats.down_dropped > 0,
            "{mode:?}: the relay dropped nothing"
        );
    }
}

/// `--server a,b`: client i uses node i mod 2; every delivery is counted for
/// its receiver's node and by path (sender on the same node or the other).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_spread_over_two_nodes_are_counted_per_node_and_path() {
    let Some(db) = MysqlDb::create().await else {
        return;
    };
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let certs = cluster::shared_certs(dir.path());
    let urls = [nats.url()];
    let a = cluster::node(&dir.path().join("a"), &db.url(), &urls, "a", &certs).await;
    let b = cluster::node(&dir.path().join("b"), &db.url(), &urls, "b", &certs).await;
    let (clients, messages) = (6, 10);
    let servers = format!("{},{}", a.addr, b.addr);
    let report = bench::run(config(&servers, a.pin.clone(), clients, messages))
        .await
        .unwrap();
    assert_complete(&report, clients, messages);

    let split = report.cluster.as_ref().expect("a per-node report");
    let sent = clients as u64 * messages;
    // Three clients per node, each receiving the 30 messages posted through
    // its own node and the 30 posted through the other.
    let per_node_sent = sent / 2;
    for (node, addr) in split.nodes.iter().zip([&a.addr, &b.addr]) {
        assert_eq!(&node.server, addr);
        assert_eq!((node.clients, node.setup_errors), (3, 0));
        assert_eq!((node.sent, node.send_errors), (per_node_sent, 0));
        assert_eq!(node.expected_deliveries, 3 * sent);
        assert_eq!(node.deliveries, node.expected_deliveries, "{report}");
        assert_eq!((node.lost, node.duplicates, node.resyncs), (0, 0, 0));
        assert_eq!(node.same_node_deliveries, 3 * per_node_sent);
        assert_eq!(node.cross_node_deliveries, 3 * per_node_sent);
    }
    assert_eq!(split.nodes.len(), 2);
    assert_eq!(split.same_node.deliveries, report.deliveries / 2);
    assert_eq!(split.cross_node.deliveries, report.deliveries / 2);
    assert!(split.same_node.latency_us.max > 0 && split.cross_node.latency_us.max > 0);
    // The table names both paths and both nodes.
    let table = report.to_string();
    for line in ["same node", "cross node", &a.addr, &b.addr] {
        assert!(table.contains(line), "{line:?} missing from:\n{table}");
    }
    a.stop().await;
    b.stop().await;
}

/// S5's machinery, through the lossy relay in both modes: every text and
/// file post is delivered to every client once, and every upload completes
/// and is posted. (How long anything took is the benchmark's business.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_delivers_every_text_once_and_completes_every_upload() {
    for mode in [StreamMode::PerMessage, StreamMode::Single] {
        let dir = tempfile::tempdir().unwrap();
        let server = server(dir.path(), mode).await;
        let (addr, pin) = (server.addr.clone(), server.pin.clone());
        let mut relay_config =
            RelayConfig::new("127.0.0.1:0".parse().unwrap(), addr.parse().unwrap());
        relay_config.loss_percent = 1.0;
        relay_config.delay = Duration::from_millis(5);
        relay_config.seed = 3;
        let relay = TestRelay::start(relay_config).await;
        let mut chat = config(&relay.addr.to_string(), pin, 4, 6);
        chat.rate = Some(20.0);
        if mode == StreamMode::Single {
            chat.event_streams = EventStreams::Single;
        }
        let report = bench::transfers::run(FilesConfig {
            chat,
            files: 2,
            file_bytes: 256 * 1024,
            files_after: Duration::from_millis(100),
        })
        .await
        .unwrap();
        let stats = relay.stop().await;
        assert_eq!(report.send_errors, 0, "{:?}", report.first_send_error);
        assert!(report.sent >= 4 * 6, "{mode:?}: {} texts", report.sent);
        assert_eq!(report.expected_deliveries, (report.sent + 2) * 4);
        assert_eq!(report.deliveries, report.expected_deliveries, "{mode:?}");
        assert_eq!((report.lost, report.duplicates), (0, 0), "{mode:?}");
        assert_eq!(report.uploads.len(), 2);
        for upload in &report.uploads {
            assert!(upload.posted, "{mode:?}: {:?}", upload.error);
            assert!(upload.mib_per_second > 0.0);
        }
        assert!(report.transfer_seconds > 0.0);
        assert!(report.text_all_us.max > 0);
        assert!(
            stats.up_dropped + stats.down_dropped > 0,
            "{mode:?}: no loss"
        );
    }
}

/// In the single-stream mode a client's requests, uploads and downloads all
/// go framed on one stream, and still do what they do in the protocol.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_stream_mode_uploads_downloads_and_answers_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), StreamMode::Single).await;
    let options = ConnectOptions {
        event_streams: EventStreams::Single,
        endpoint: None,
    };
    let mut session = Session::connect_with(&server.addr, &server.pin, &options)
        .await
        .unwrap();
    let passphrase = "single stream test passphrase";
    session
        .register(
            "framed",
            "framed@example.org",
            passphrase,
            OtpAlgorithm::Md5,
        )
        .await
        .unwrap();
    session.login("framed", passphrase, None).await.unwrap();
    session.create_room("framed-room").await.unwrap();
    let room = session.join("framed-room").await.unwrap().room;
    let file: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    // An upload and a send at once: both answered, each by its own id.
    let (uploaded, sent) = tokio::join!(
        session.upload("data.bin", &file, |_| {}),
        session.send(&room.name, "beside the upload"),
    );
    let uploaded = uploaded.unwrap();
    sent.unwrap();
    assert_eq!(uploaded.size, file.len() as u64);
    let posted = session
        .send_with_files(
            &room.name,
            "",
            chatroom_client::session::new_key(),
            vec![FileRef {
                hash: uploaded.hash,
                name: uploaded.name.clone(),
            }],
        )
        .await;
    posted.unwrap();
    let mut seen = 0;
    let downloaded = session
        .download(uploaded.hash, |got, _| seen = got)
        .await
        .unwrap();
    assert_eq!(downloaded.bytes, file);
    assert_eq!(seen, file.len() as u64);
    // A refusal comes back framed too, and the stream stays usable.
    let missing = session
        .download(chatroom_common::protocol::FileHash([7; 32]), |_, _| {})
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some(ErrorCode::NoSuchFile));
    session.send(&room.name, "still here").await.unwrap();
}
