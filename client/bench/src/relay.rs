//! A UDP relay that impairs traffic in user space: it forwards datagrams
//! between clients and a server, dropping each with a given probability (drawn
//! from a seeded generator, so a run can be repeated) and delaying every one by
//! a fixed time, in both directions. Each client address gets its own upstream
//! socket, so the server sees one peer per client, as without the relay.
//!
//! Meant for loopback only (`chatroom-bench relay`), to compare how the two
//! stream modes suffer from loss (docs/performance.md, scenario S4).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::BenchError;

/// Largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;
/// Datagrams waiting out their delay, per direction; beyond this they are
/// dropped (and counted) rather than held without bound.
const DELAY_QUEUE: usize = 65_536;

/// What the relay does.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Where clients send (the address they think is the server).
    pub listen: SocketAddr,
    /// The real server.
    pub to: SocketAddr,
    /// Percent of datagrams dropped, in each direction.
    pub loss_percent: f64,
    /// Added to every datagram, in each direction.
    pub delay: Duration,
    /// Seed of the drop decisions.
    pub seed: u64,
    /// Most client addresses served (each holds a socket).
    pub max_peers: usize,
}

impl RelayConfig {
    /// A relay from `listen` to `to` that passes everything at once.
    pub fn new(listen: SocketAddr, to: SocketAddr) -> Self {
        Self {
            listen,
            to,
            loss_percent: 0.0,
            delay: Duration::ZERO,
            seed: 1,
            max_peers: 4096,
        }
    }
}

/// The drop decision: a seeded generator, one draw per datagram, so the same
/// seed drops the same datagrams (by their order in each direction).
#[derive(Debug, Clone)]
pub struct Impairment {
    /// The generator.
    rng: StdRng,
    /// Drop probability, 0 to 1.
    loss: f64,
}

impl Impairment {
    /// Drops `loss_percent` % of datagrams, decided by a generator seeded with `seed`.
    pub fn new(loss_percent: f64, seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            loss: (loss_percent / 100.0).clamp(0.0, 1.0),
        }
    }

    /// Whether to drop the next datagram.
    pub fn drops(&mut self) -> bool {
        let draw: f64 = self.rng.random();
        draw < self.loss
    }
}

/// What the relay forwarded and dropped.
#[derive(Debug, Default, Serialize)]
pub struct RelayStats {
    /// Client → server datagrams passed on.
    pub up_forwarded: u64,
    /// Client → server datagrams dropped on purpose.
    pub up_dropped: u64,
    /// Server → client datagrams passed on.
    pub down_forwarded: u64,
    /// Server → client datagrams dropped on purpose.
    pub down_dropped: u64,
    /// Datagrams dropped because a delay queue was full.
    pub overflowed: u64,
    /// Client addresses seen.
    pub peers: u64,
}

#[derive(Debug, Default)]
struct Counters {
    up_forwarded: AtomicU64,
    up_dropped: AtomicU64,
    down_forwarded: AtomicU64,
    down_dropped: AtomicU64,
    overflowed: AtomicU64,
    peers: AtomicU64,
}

/// Where a delayed datagram goes.
enum Out {
    /// Back to a client, from the listening socket.
    ToClient(SocketAddr),
    /// To the server, from that client's upstream socket.
    ToServer(Arc<UdpSocket>),
}

/// A datagram waiting out its delay.
type Delayed = (Instant, Vec<u8>, Out);

/// A bound relay.
pub struct Relay {
    /// The socket clients talk to.
    front: Arc<UdpSocket>,
    /// What to do.
    config: RelayConfig,
}

impl Relay {
    /// Binds the listening socket.
    pub async fn bind(config: RelayConfig) -> Result<Self, BenchError> {
        let front = UdpSocket::bind(config.listen)
            .await
            .map_err(|source| BenchError::Io {
                action: format!("binding {}", config.listen),
                source,
            })?;
        Ok(Self {
            front: Arc::new(front),
            config,
        })
    }

    /// The address clients should use.
    pub fn local_addr(&self) -> Result<SocketAddr, BenchError> {
        self.front.local_addr().map_err(|source| BenchError::Io {
            action: "reading the relay's address".into(),
            source,
        })
    }

    /// Relays until `shutdown` completes; returns the counts.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<RelayStats, BenchError> {
        let counters = Arc::new(Counters::default());
        let mut tasks = JoinSet::new();
        let (up_tx, up_rx) = mpsc::channel::<Delayed>(DELAY_QUEUE);
        let (down_tx, down_rx) = mpsc::channel::<Delayed>(DELAY_QUEUE);
        tasks.spawn(delay_line(self.front.clone(), up_rx));
        tasks.spawn(delay_line(self.front.clone(), down_rx));
        // Separate generators per direction: each direction's drops depend
        // only on the seed and that direction's order of datagrams.
        let mut up_loss = Impairment::new(self.config.loss_percent, self.config.seed);
        let down_loss = Arc::new(Mutex::new(Impairment::new(
            self.config.loss_percent,
            self.config.seed ^ 0x9e37_79b9_7f4a_7c15,
        )));
        let mut peers: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let upstream_bind: SocketAddr = if self.config.to.is_ipv6() {
            (std::net::Ipv6Addr::LOCALHOST, 0).into()
        } else {
            (std::net::Ipv4Addr::LOCALHOST, 0).into()
        };
        tokio::pin!(shutdown);
        loop {
            let (len, from) = tokio::select! {
                received = self.front.recv_from(&mut buf) => match received {
                    Ok(received) => received,
                    // ICMP errors surface here on some systems; keep relaying.
                    Err(_) => continue,
                },
                () = &mut shutdown => break,
            };
            let upstream = match peers.get(&from) {
                Some(socket) => socket.clone(),
                None => {
                    if peers.len() >= self.config.max_peers {
                        continue;
                    }
                    let socket =
                        UdpSocket::bind(upstream_bind)
                            .await
                            .map_err(|source| BenchError::Io {
                                action: "binding an upstream socket".into(),
                                source,
                            })?;
                    socket
                        .connect(self.config.to)
                        .await
                        .map_err(|source| BenchError::Io {
                            action: format!("connecting to {}", self.config.to),
                            source,
                        })?;
                    let socket = Arc::new(socket);
                    peers.insert(from, socket.clone());
                    counters.peers.fetch_add(1, Ordering::Relaxed);
                    tasks.spawn(downstream(
                        socket.clone(),
                        from,
                        down_loss.clone(),
                        self.config.delay,
                        down_tx.clone(),
                        counters.clone(),
                    ));
                    socket
                }
            };
            if up_loss.drops() {
                counters.up_dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let delayed = (
                Instant::now() + self.config.delay,
                buf[..len].to_vec(),
                Out::ToServer(upstream),
            );
            if up_tx.try_send(delayed).is_err() {
                counters.overflowed.fetch_add(1, Ordering::Relaxed);
            } else {
                counters.up_forwarded.fetch_add(1, Ordering::Relaxed);
            }
        }
        tasks.abort_all();
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Ok(RelayStats {
            up_forwarded: load(&counters.up_forwarded),
            up_dropped: load(&counters.up_dropped),
            down_forwarded: load(&counters.down_forwarded),
            down_dropped: load(&counters.down_dropped),
            overflowed: load(&counters.overflowed),
            peers: load(&counters.peers),
        })
    }
}

/// Server → one client: reads the client's upstream socket and queues what survives.
async fn downstream(
    upstream: Arc<UdpSocket>,
    client: SocketAddr,
    loss: Arc<Mutex<Impairment>>,
    delay: Duration,
    down_tx: mpsc::Sender<Delayed>,
    counters: Arc<Counters>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let Ok(len) = upstream.recv(&mut buf).await else {
            continue;
        };
        let dropped = loss.lock().unwrap_or_else(|e| e.into_inner()).drops();
        if dropped {
            counters.down_dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let delayed = (
            Instant::now() + delay,
            buf[..len].to_vec(),
            Out::ToClient(client),
        );
        if down_tx.try_send(delayed).is_err() {
            counters.overflowed.fetch_add(1, Ordering::Relaxed);
        } else {
            counters.down_forwarded.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Sends each datagram when its delay is over. The delay is the same for all,
/// so the queue is already in time order.
async fn delay_line(front: Arc<UdpSocket>, mut rx: mpsc::Receiver<Delayed>) {
    while let Some((at, datagram, out)) = rx.recv().await {
        tokio::time::sleep_until(at).await;
        let _ = match out {
            Out::ToClient(client) => front.send_to(&datagram, client).await,
            Out::ToServer(upstream) => upstream.send(&datagram).await,
        };
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pattern(loss: f64, seed: u64, n: usize) -> Vec<bool> {
        let mut imp = Impairment::new(loss, seed);
        (0..n).map(|_| imp.drops()).collect()
    }

    #[test]
    fn same_seed_drops_the_same_datagrams() {
        assert_eq!(pattern(2.0, 42, 10_000), pattern(2.0, 42, 10_000));
        assert_ne!(pattern(2.0, 42, 10_000), pattern(2.0, 43, 10_000));
    }

    #[test]
    fn loss_rate_is_about_right() {
        let dropped = pattern(2.0, 7, 100_000).iter().filter(|&&d| d).count();
        assert!((1_500..2_500).contains(&dropped), "{dropped} dropped");
        assert!(!pattern(0.0, 7, 10_000).contains(&true));
        assert!(!pattern(100.0, 7, 10_000).contains(&false));
    }
}
