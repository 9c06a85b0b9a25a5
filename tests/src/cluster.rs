//! Cluster nodes for tests: several servers on one MariaDB database, fanned
//! out through NATS, sharing one CA (as `chatroom-server gen-certs` once and
//! `--certs` on each node does), so one pin holds on every node. In this
//! process ([`node`]) or as child processes that can be killed ([`node_process`]).

use std::path::{Path, PathBuf};

use chatroom_server::{ClusterConfig, Config, TlsSource};

use crate::process::{BULK_FLAGS, ServerProcess};
use crate::server::{TestServer, config};

/// The cluster name every test node uses.
pub const CLUSTER_NAME: &str = "test";

/// Generates one CA and server certificate for loopback under `dir/certs`
/// and returns that directory.
pub fn shared_certs(dir: &Path) -> PathBuf {
    let certs = dir.join("certs");
    chatroom_server::tls::ensure(&certs, &["localhost".into(), "127.0.0.1".into()])
        .expect("generating the cluster's certificates");
    certs
}

/// An in-process node `id` in `dir` on the database `database_url`, joined
/// to the NATS servers `nats_urls` (any one is enough), with the
/// certificates in `certs`.
pub async fn node(
    dir: &Path,
    database_url: &str,
    nats_urls: &[String],
    id: &str,
    certs: &Path,
) -> TestServer {
    let mut config: Config = config(dir).await;
    config.database = Some(database_url.to_owned());
    config.tls = TlsSource::Dir(certs.to_owned());
    config.cluster = Some(ClusterConfig::new(
        nats_urls,
        Some(CLUSTER_NAME.into()),
        Some(id.into()),
    ));
    TestServer::start_config(config).await
}

/// The same node as a `chatroom-server` child process (for `kill -9`), with
/// flood control opened up and `log_filter` as its `RUST_LOG`.
pub async fn node_process(
    dir: &Path,
    database_url: &str,
    nats_urls: &[String],
    id: &str,
    certs: &Path,
    log_filter: &str,
) -> ServerProcess {
    std::fs::create_dir_all(dir).expect("creating the node's directory");
    let nats = nats_urls.join(",");
    let certs = certs.to_string_lossy();
    let mut flags = vec![
        "--database",
        database_url,
        "--certs",
        &certs,
        "--cluster",
        &nats,
        "--cluster-name",
        CLUSTER_NAME,
        "--node-id",
        id,
    ];
    flags.extend_from_slice(BULK_FLAGS);
    ServerProcess::start(dir, log_filter, &flags).await
}
