//! The first figure: 3 nodes × 10 clients in one room, 100 messages
//! each at 20 per second, through the benchmark (client i on node i mod 3).
//! Nothing lost, nothing twice, every client's timeline contiguous — all of
//! it pushed live, since the benchmark never repairs from history. Latency
//! (same node against cross node) is reported by `chatroom-bench` and in
//! docs/performance.md, never asserted here.

use std::time::Duration;

use chatroom_bench::{self as bench, BenchConfig};
use chatroom_common::protocol::{HistoryQuery, MAX_HISTORY_PAGE, Seq};
use chatroom_testkit::mysql::MysqlDb;
use chatroom_testkit::{NatsServer, TestServer, cluster};

const NODES: usize = 3;
const CLIENTS_PER_NODE: usize = 10;
const MESSAGES: u64 = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_of_ten_clients_lose_nothing_and_repeat_nothing() {
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
    let servers: Vec<&str> = nodes.iter().map(|n| n.addr.as_str()).collect();
    let clients = NODES * CLIENTS_PER_NODE;
    let mut config = BenchConfig::new(servers.join(","), nodes[0].pin.clone());
    config.clients = clients;
    config.messages = MESSAGES;
    config.rate = Some(20.0);
    config.connections_per_endpoint = CLIENTS_PER_NODE;
    // A loaded machine may pause the fan-out for a while: wait, do not judge.
    config.drain_timeout = Duration::from_secs(60);
    let report = bench::run(config).await.unwrap();

    let sent = clients as u64 * MESSAGES;
    assert_eq!(report.connected, clients, "{:?}", report.first_setup_error);
    assert_eq!(report.send_errors, 0, "{:?}", report.first_send_error);
    assert_eq!(report.sent, sent);
    // Each receiver accounts for exactly the run's sequence numbers, so all
    // of them arriving once is a contiguous timeline for every client.
    assert_eq!(report.deliveries, sent * clients as u64, "{report}");
    assert_eq!((report.lost, report.duplicates, report.resyncs), (0, 0, 0));
    let split = report.cluster.as_ref().expect("a per-node report");
    for node in &split.nodes {
        assert_eq!(node.clients, CLIENTS_PER_NODE, "{report}");
        assert_eq!(node.deliveries, node.expected_deliveries, "{report}");
        assert_eq!((node.lost, node.duplicates), (0, 0), "{report}");
    }
    // A third of what each client gets was posted through its own node.
    assert_eq!(split.same_node.deliveries, report.deliveries / NODES as u64);
    assert_eq!(
        split.cross_node.deliveries,
        report.deliveries - report.deliveries / NODES as u64
    );
    eprintln!("{report}");

    // The room in the database: 1..=sent, nothing else.
    let reader = nodes[1].user("reader").await;
    reader.join(&report.room).await.unwrap();
    let mut seqs: Vec<Seq> = Vec::new();
    loop {
        let after = seqs.last().copied().unwrap_or(0);
        let query = HistoryQuery::After {
            after,
            limit: MAX_HISTORY_PAGE,
        };
        let (page, _) = reader.history(&report.room, query).await.unwrap();
        if page.is_empty() {
            break;
        }
        seqs.extend(page.iter().map(|m| m.seq));
    }
    assert_eq!(seqs, (1..=sent).collect::<Vec<Seq>>());
    reader.close().await;
    for node in nodes {
        node.stop().await;
    }
}
