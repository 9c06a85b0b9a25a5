//! The listener: binds the QUIC endpoint, accepts connections within the
//! limits, and shuts down gracefully.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatroom_common::protocol::{ALPN, RoomKind, close_code};
use quinn::{Endpoint, VarInt};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::avatars::{AvatarPool, import};
use crate::cluster::{Cluster, ClusterError};
use crate::config::{Config, StreamMode, TlsSource};
use crate::congestion::FlooredCubic;
use crate::connection;
use crate::context::Context;
use crate::mail::transport::Transport;
use crate::mail::{MailError, Mailer, outbox};
use crate::store::{self, Store, StoreError};
use crate::tls::{self, TlsError};
use crate::udp::CappedSegments;

/// How long a handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for connections to finish.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// UDP socket buffers asked for. Linux's default (208 KiB) overflows when
/// many clients acknowledge a fan-out burst at once, and every datagram
/// dropped there costs a retransmission; the kernel caps the request at
/// `net.core.rmem_max`/`wmem_max`.
const SOCKET_BUFFER_BYTES: usize = 4 << 20;
/// Bytes one client stream may have in flight unread. Requests are at most
/// 16 KiB; an upload's throughput is at most this per round trip (10 MiB/s
/// at 100 ms), and the upload path reads it promptly into memory it
/// budgets itself (`Limits::transfer_memory`).
const STREAM_RECEIVE_WINDOW: u32 = 1024 * 1024;
/// Bytes all of one client's streams together may have in flight unread:
/// the most QUIC buffers for one connection on the receiving side. quinn's
/// default has no connection limit, so each concurrent request stream could
/// hold a whole stream window (16 at quinn's 1.25 MB default: 20 MB). With
/// this and the push window (`Limits::push_window`, 256 KiB unacknowledged)
/// a connection's transport buffers are bounded by about 2.25 MiB, whatever
/// the client does; an idle one holds neither.
const RECEIVE_WINDOW: u32 = 2 * 1024 * 1024;
/// Datagrams one send to one connection may batch (quinn's own limit is 10):
/// each connection keeps a transmit buffer this many datagrams long for
/// life (see `udp.rs`).
const MAX_SEGMENTS_PER_SEND: usize = 2;
/// Packets a client may receive before it must acknowledge (see [`ack_frequency`]).
const ACK_ELICITING_THRESHOLD: u32 = 8;
/// How often the listener looks at its load figures; a `load` line is logged
/// at debug level only when they changed, so an idle server stays quiet.
const LOAD_INTERVAL: Duration = Duration::from_secs(1);

/// Why the server could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Certificates could not be generated or loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The TLS configuration was refused (for example a key that does not match).
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The avatar pool could not be prepared (importing old files, defaults).
    #[error("avatar pool: {0}")]
    Avatars(#[from] crate::avatars::PoolError),
    /// The mail settings are unusable (sender, SMTP URL, outbox directory).
    #[error("mail: {0}")]
    Mail(#[from] MailError),
    /// The node could not join its cluster (the message names the flag or
    /// address at fault, so nothing is prefixed).
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// Binding the UDP socket or creating a directory failed.
    #[error("{action}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A bound server, ready to run.
pub struct Server {
    /// The QUIC endpoint.
    endpoint: Endpoint,
    /// Shared state for connection handlers.
    ctx: Arc<Context>,
    /// SHA-256 of the root-most certificate served (the generated CA).
    ca_fingerprint: String,
    /// The CA file clients can import, when the server generated it.
    ca_path: Option<PathBuf>,
    /// How events are pushed (per-message streams unless benchmarking).
    stream_mode: StreamMode,
    /// Where the outbox worker delivers mail (started by `run`).
    mail_transport: Transport,
    /// The other nodes, when this one is part of a cluster.
    cluster: Option<Cluster>,
}

impl Server {
    /// Prepares certificates and the store, and binds the UDP socket.
    pub async fn bind(config: Config) -> Result<Self, ServerError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| ServerError::Io {
            action: format!("creating data directory {}", config.data_dir.display()),
            source,
        })?;
        // Mail settings are checked first: a typo in them fails the start at once.
        let mailer = Mailer::new(config.mail.clone())?;
        let mail_transport = Transport::new(&config.mail, &config.outbox_dir())?;
        let (chain, key, ca_path) = match &config.tls {
            TlsSource::Generated { extra_names } => {
                let paths = tls::ensure(
                    &config.data_dir.join("certs"),
                    &tls::server_names(extra_names),
                )?;
                let (chain, key) = tls::load(&paths.cert, &paths.key)?;
                (chain, key, Some(paths.ca))
            }
            TlsSource::Dir(dir) => {
                let paths = tls::CertPaths::in_dir(dir);
                let (chain, key) = tls::load(&paths.cert, &paths.key)?;
                (chain, key, Some(paths.ca))
            }
            TlsSource::Files { cert, key } => {
                let (chain, key) = tls::load(cert, key)?;
                (chain, key, None)
            }
        };
        let ca_fingerprint = chain.last().map(tls::fingerprint_hex).unwrap_or_default();
        if config.cluster.is_some() && config.database_url().starts_with("sqlite:") {
            return Err(ClusterError::NeedsSharedDatabase.into());
        }

        let store = store::open(&config.database_url()).await?;
        match store.create_room("lobby", RoomKind::Public).await {
            Ok(_) | Err(StoreError::RoomExists) => {}
            Err(e) => return Err(e.into()),
        }

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls_config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        tls_config.alpn_protocols = vec![ALPN.to_vec()];
        let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls_config)
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        let mut server_config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        let mut transport = quinn::TransportConfig::default();
        let limits = &config.limits;
        transport
            .max_idle_timeout(limits.idle_timeout.try_into().ok())
            // Clients never open unidirectional streams; the server pushes on them.
            .max_concurrent_uni_streams(VarInt::from_u32(0))
            .max_concurrent_bidi_streams(VarInt::from_u32(limits.max_concurrent_requests))
            .send_window(limits.push_window)
            .stream_receive_window(VarInt::from_u32(STREAM_RECEIVE_WINDOW))
            .receive_window(VarInt::from_u32(RECEIVE_WINDOW))
            // Each pushed event is one small stream written whole: with
            // fairness on, quinn round-robins streams and a frame split across
            // packets waits behind every other stream's turn.
            .send_fairness(false)
            .ack_frequency_config(Some(ack_frequency()))
            .congestion_controller_factory(Arc::new(FlooredCubic::new()));
        server_config.transport_config(Arc::new(transport));

        let endpoint =
            bind_endpoint(server_config, config.listen).map_err(|source| ServerError::Io {
                action: format!("binding UDP {}", config.listen),
                source,
            })?;
        let avatar_pool = open_avatars(&config, Arc::clone(&store)).await?;
        let ctx = Arc::new(Context::new(
            store,
            avatar_pool,
            config.limits.clone(),
            config.server_name.clone(),
            mailer,
        ));
        let cluster = match &config.cluster {
            Some(cluster) => {
                let cluster = Cluster::join(cluster, &ctx.hub, ctx.store.clone()).await?;
                let _ = ctx.presence.set(cluster.presence());
                Some(cluster)
            }
            None => None,
        };
        Ok(Self {
            endpoint,
            ctx,
            ca_fingerprint,
            ca_path,
            stream_mode: config.stream_mode,
            mail_transport,
            cluster,
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, ServerError> {
        self.endpoint
            .local_addr()
            .map_err(|source| ServerError::Io {
                action: "reading the local address".into(),
                source,
            })
    }

    /// SHA-256 of the CA certificate, hex: what clients pin.
    pub fn ca_fingerprint(&self) -> &str {
        &self.ca_fingerprint
    }

    /// The CA certificate file, when there is one.
    pub fn ca_path(&self) -> Option<&std::path::Path> {
        self.ca_path.as_deref()
    }

    /// Serves until `shutdown` completes, then stops accepting, lets requests
    /// finish, closes every connection with a reason and waits for the endpoint.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let per_ip: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
        let mut handlers = JoinSet::new();
        let limits = self.ctx.limits.clone();
        let stream_mode = self.stream_mode;
        let mut mail_worker = tokio::spawn(outbox::run(
            self.ctx.clone(),
            self.mail_transport,
            stop_rx.clone(),
        ));
        tokio::pin!(shutdown);
        let mut load_tick = tokio::time::interval(LOAD_INTERVAL);
        load_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last_load = None;
        loop {
            tokio::select! {
                incoming = self.endpoint.accept() => {
                    let Some(incoming) = incoming else { break };
                    if handlers.len() >= limits.max_connections {
                        debug!("connection limit reached; refusing {}", incoming.remote_address());
                        incoming.refuse();
                        continue;
                    }
                    let ip = incoming.remote_address().ip();
                    let slot = IpSlot::take(&per_ip, ip, limits.max_connections_per_ip);
                    let ctx = self.ctx.clone();
                    let stop_rx = stop_rx.clone();
                    handlers.spawn(async move {
                        let conn = match tokio::time::timeout(HANDSHAKE_TIMEOUT, incoming).await {
                            Ok(Ok(conn)) => conn,
                            Ok(Err(e)) => {
                                debug!("handshake failed: {e}");
                                return;
                            }
                            Err(_) => {
                                debug!("handshake timed out");
                                return;
                            }
                        };
                        let Some(_slot) = slot else {
                            conn.close(
                                VarInt::from_u32(close_code::LIMIT),
                                b"too many connections from your address",
                            );
                            return;
                        };
                        connection::handle(conn, ctx, stop_rx, stream_mode).await;
                    });
                }
                Some(_) = handlers.join_next(), if !handlers.is_empty() => {}
                _ = load_tick.tick() => {
                    // What the fault tests (and an operator) watch to see that
                    // dropped connections really go away: handler tasks, routed
                    // connections and every task on the runtime.
                    let load = (
                        handlers.len(),
                        self.ctx.hub.connection_count(),
                        tokio::runtime::Handle::current().metrics().num_alive_tasks(),
                    );
                    if last_load != Some(load) {
                        let (handlers, connections, tasks) = load;
                        debug!(handlers, connections, tasks, "load");
                        last_load = Some(load);
                    }
                }
                () = &mut shutdown => break,
            }
        }

        info!("shutting down: no new connections");
        self.endpoint.set_server_config(None);
        let _ = stop_tx.send(true);
        let drained = async { while handlers.join_next().await.is_some() {} };
        if tokio::time::timeout(SHUTDOWN_TIMEOUT, drained)
            .await
            .is_err()
        {
            warn!("connections still open after {SHUTDOWN_TIMEOUT:?}; closing them");
            handlers.abort_all();
        }
        // The worker finishes the mail it is sending (bounded by the send
        // timeout); what is still queued stays in the store for the next start.
        if tokio::time::timeout(SHUTDOWN_TIMEOUT, &mut mail_worker)
            .await
            .is_err()
        {
            warn!("the mail worker is still sending after {SHUTDOWN_TIMEOUT:?}; stopping it");
            mail_worker.abort();
        }
        self.endpoint.close(
            VarInt::from_u32(close_code::SHUTDOWN),
            b"server shutting down",
        );
        let _ = tokio::time::timeout(Duration::from_secs(3), self.endpoint.wait_idle()).await;
        if let Some(cluster) = self.cluster {
            cluster.leave().await;
        }
        self.ctx.transport.log();
        info!("shutdown complete");
        Ok(())
    }
}

/// Asks clients (QUIC ACK frequency extension, which quinn speaks on both
/// ends) to acknowledge every few packets instead of every other one: a
/// fan-out burst is mostly one-way, and processing acknowledgements was a
/// large share of the server's time per delivery (docs/performance.md).
fn ack_frequency() -> quinn::AckFrequencyConfig {
    let mut config = quinn::AckFrequencyConfig::default();
    config.ack_eliciting_threshold(VarInt::from_u32(ACK_ELICITING_THRESHOLD));
    config
}

/// `Endpoint::server`, with larger socket buffers.
fn bind_endpoint(
    server_config: quinn::ServerConfig,
    addr: SocketAddr,
) -> std::io::Result<Endpoint> {
    let socket = std::net::UdpSocket::bind(addr)?;
    let sock = socket2::SockRef::from(&socket);
    // Best effort: a smaller buffer only means more retransmissions under load.
    let _ = sock.set_recv_buffer_size(SOCKET_BUFFER_BYTES);
    let _ = sock.set_send_buffer_size(SOCKET_BUFFER_BYTES);
    let runtime = quinn::default_runtime()
        .ok_or_else(|| std::io::Error::other("no async runtime for the QUIC endpoint"))?;
    let socket = Arc::new(CappedSegments::new(
        runtime.wrap_udp_socket(socket)?,
        MAX_SEGMENTS_PER_SEND,
    ));
    Endpoint::new_with_abstract_socket(
        quinn::EndpointConfig::default(),
        Some(server_config),
        socket,
        runtime,
    )
}

/// The avatar pool in the database: imports the avatar directories an
/// install kept before the database held avatars (once; see
/// [`crate::avatars::import`]), then fills the pool with generated defaults,
/// so a fresh install has avatars without network access.
async fn open_avatars(config: &Config, store: Arc<dyn Store>) -> Result<AvatarPool, ServerError> {
    let pool = AvatarPool::new(store);
    let report = import::import_dirs(
        &pool,
        &config.avatar_pool_dir(),
        &config.avatar_upload_dir(),
    )
    .await?;
    if report != import::ImportReport::default() {
        info!(
            pool = report.pool,
            uploads = report.uploads,
            skipped = report.skipped.len(),
            unreadable = report.unreadable.len(),
            "imported avatar files into the database; moved aside: {:?}",
            report.moved
        );
    }
    pool.ensure_defaults(config.default_avatars).await?;
    Ok(pool)
}

/// A counted connection from one address; the count drops with it.
struct IpSlot {
    map: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl IpSlot {
    fn take(map: &Arc<Mutex<HashMap<IpAddr, usize>>>, ip: IpAddr, max: usize) -> Option<Self> {
        let mut counts = map.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(ip).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Self {
            map: map.clone(),
            ip,
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Binds and runs a server until `shutdown` completes.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
    Server::bind(config).await?.run(shutdown).await
}
