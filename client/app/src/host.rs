//! "Host a server on this computer": the real server, started with
//! `chatroom_server::spawn` on a runtime of its own (apart from the chat
//! worker's, so the app's own connection and the server it hosts never wait on
//! each other), with SQLite and generated certificates in the app's data
//! directory. Results reach the UI through a mutex-guarded queue and a repaint,
//! like the worker's events.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use chatroom_client::chat::Waker;
use chatroom_server::{Config, Running};
use tokio::runtime::Runtime;
use tracing::{info, warn};

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

/// What hosting reports to the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostEvent {
    /// The hosted server is running.
    Hosting(HostInfo),
    /// The hosted server could not start, in the server's words.
    Failed(String),
}

/// The state shared with the runtime's task.
#[derive(Default)]
struct Shared {
    /// Reports not yet drained by the UI.
    events: VecDeque<HostEvent>,
    /// The running server and what was reported about it.
    running: Option<(Running, HostInfo)>,
    /// A start is under way (a second click waits for it).
    starting: bool,
}

/// The app's end of hosting: starts at most one server, stops it on drop.
pub struct Host {
    /// The server's runtime, made on the first start.
    runtime: Option<Runtime>,
    /// Reports and the running server.
    shared: Arc<Mutex<Shared>>,
    /// Wakes the UI after a report.
    waker: Waker,
}

impl Host {
    /// No server yet; `waker` is called after each report.
    pub fn new(waker: Waker) -> Self {
        Self {
            runtime: None,
            shared: Arc::default(),
            waker,
        }
    }

    /// Binds the first address of `listen` that is free and starts serving;
    /// reports [`HostEvent::Hosting`] (again, if already running) or [`HostEvent::Failed`].
    pub fn start(&mut self, data_dir: PathBuf, listen: Vec<SocketAddr>) {
        {
            let mut shared = lock(&self.shared);
            if let Some((_, info)) = &shared.running {
                let info = info.clone();
                shared.events.push_back(HostEvent::Hosting(info));
                drop(shared);
                return (self.waker)();
            }
            if shared.starting {
                return;
            }
            shared.starting = true;
        }
        let runtime = match &self.runtime {
            Some(runtime) => runtime,
            None => match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("hosted-server")
                .enable_all()
                .build()
            {
                Ok(runtime) => self.runtime.insert(runtime),
                Err(e) => {
                    let mut shared = lock(&self.shared);
                    shared.starting = false;
                    shared
                        .events
                        .push_back(HostEvent::Failed(format!("no runtime: {e}")));
                    drop(shared);
                    return (self.waker)();
                }
            },
        };
        let shared = self.shared.clone();
        let waker = self.waker.clone();
        runtime.spawn(async move {
            let outcome = bind_first(data_dir, &listen).await;
            let mut shared = lock(&shared);
            shared.starting = false;
            match outcome {
                Ok((running, info)) => {
                    shared.events.push_back(HostEvent::Hosting(info.clone()));
                    shared.running = Some((running, info));
                }
                Err(e) => shared.events.push_back(HostEvent::Failed(e)),
            }
            drop(shared);
            waker();
        });
    }

    /// Takes every report since the last call.
    pub fn drain(&self) -> Vec<HostEvent> {
        lock(&self.shared).events.drain(..).collect()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        let running = lock(&self.shared).running.take();
        if let Some((running, _)) = running {
            // Clients are told "server shutting down" rather than timing out.
            if let Err(e) = runtime.block_on(running.stop()) {
                warn!("the hosted server did not stop cleanly: {e}");
            }
        }
    }
}

/// The shared state, even after a panic elsewhere (it holds only data).
fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Tries each address in turn; the first that binds serves.
async fn bind_first(
    data_dir: PathBuf,
    listen: &[SocketAddr],
) -> Result<(Running, HostInfo), String> {
    let mut last_error = None;
    for addr in listen {
        match chatroom_server::spawn(Config::new(*addr, data_dir.clone())).await {
            Ok(running) => {
                let port = running.addr.port();
                info!(port, "hosting a server");
                let info = HostInfo {
                    local_address: format!("127.0.0.1:{port}"),
                    port,
                    addresses: local_addresses(port),
                    fingerprint: running.fingerprint.clone(),
                    ca_path: running.ca_path.clone(),
                    data_dir,
                };
                return Ok((running, info));
            }
            Err(e) => {
                info!("hosting on {addr} failed: {e}");
                last_error = Some(e);
            }
        }
    }
    Err(last_error.map_or_else(|| "no address to listen on".to_owned(), |e| e.to_string()))
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
