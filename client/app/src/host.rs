//! "Host a server on this computer": the real `chatroom_server::Server` on the
//! worker's runtime, with SQLite and generated certificates in the app's data
//! directory, plus the addresses and fingerprint others need to join.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use chatroom_server::{Config, Server};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// How long stopping the hosted server may take (it drains its connections).
const STOP_WAIT: Duration = Duration::from_secs(12);

/// What the user needs to share, and what this app connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    /// The address this app itself connects to (loopback).
    pub local_address: String,
    /// The UDP port.
    pub port: u16,
    /// `ip:port` of each network interface others may reach (may be empty).
    pub addresses: Vec<String>,
    /// SHA-256 of the server's CA certificate, hex: what others pin.
    pub fingerprint: String,
    /// The CA file others may import instead.
    pub ca_path: Option<PathBuf>,
    /// Where the server keeps its data.
    pub data_dir: PathBuf,
}

/// A running hosted server.
pub struct Hosted {
    /// Completing this stops the server.
    stop: Option<oneshot::Sender<()>>,
    /// The server task.
    task: Option<JoinHandle<()>>,
}

impl Hosted {
    /// Stops the server and waits (bounded) for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take()
            && tokio::time::timeout(STOP_WAIT, task).await.is_err()
        {
            warn!("the hosted server did not stop in time");
        }
    }
}

/// Binds the first address of `listen` that is free and starts serving.
pub async fn start(data_dir: PathBuf, listen: &[SocketAddr]) -> Result<(Hosted, HostInfo), String> {
    let mut last_error = String::from("no address to listen on");
    for addr in listen {
        let config = Config::new(*addr, data_dir.clone());
        match Server::bind(config).await {
            Ok(server) => return Ok(run(server, data_dir)),
            Err(e) => {
                info!("hosting on {addr} failed: {e}");
                last_error = e.to_string();
            }
        }
    }
    Err(last_error)
}

fn run(server: Server, data_dir: PathBuf) -> (Hosted, HostInfo) {
    let port = server.local_addr().map(|a| a.port()).unwrap_or_default();
    let info = HostInfo {
        local_address: format!("127.0.0.1:{port}"),
        port,
        addresses: local_addresses(port),
        fingerprint: server.ca_fingerprint().to_owned(),
        ca_path: server.ca_path().map(|p| p.to_owned()),
        data_dir,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = server.run(shutdown).await {
            warn!("the hosted server stopped: {e}");
        }
    });
    info!(port, "hosting a server");
    (
        Hosted {
            stop: Some(stop),
            task: Some(task),
        },
        info,
    )
}

/// `ip:port` for each non-loopback interface, IPv4 first: what others type.
pub fn local_addresses(port: u16) -> Vec<String> {
    let Ok(interfaces) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    let mut ips: Vec<IpAddr> = interfaces
        .iter()
        .filter(|i| !i.is_loopback())
        .map(|i| i.ip())
        .filter(|ip| match ip {
            IpAddr::V4(v4) => !v4.is_link_local(),
            // Link-local IPv6 addresses need a zone to be usable; skip them.
            IpAddr::V6(v6) => !v6.is_unicast_link_local(),
        })
        .collect();
    ips.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    ips.dedup();
    ips.into_iter()
        .map(|ip| SocketAddr::new(ip, port).to_string())
        .collect()
}
