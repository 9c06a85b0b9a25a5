//! A UDP relay that impairs traffic in user space: it forwards datagrams
//! between clients and a server, dropping each with a given probability (drawn
//! from a seeded generator, so a run can be repeated), delaying every one by a
//! fixed time, and blacking a direction out for a while. "Up" is client →
//! server, "down" server → client; each has its own loss, delay and blackouts,
//! and the symmetric settings apply to both. Each client address gets its own
//! upstream socket, so the server sees one peer per client, as without the relay.
//!
//! Meant for loopback only (`chatroom-bench relay`), to compare how the two
//! stream modes suffer from loss (docs/performance.md, scenario S4), and for
//! tests that cut one direction ([`RelayControl::black_out`]).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::str::FromStr;
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

/// Which way a datagram travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client → server.
    Up,
    /// Server → client.
    Down,
}

/// A time during which one direction passes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blackout {
    /// When it begins, counted from the start of [`Relay::run`].
    pub start: Duration,
    /// How long it lasts.
    pub duration: Duration,
}

impl FromStr for Blackout {
    type Err = BenchError;

    /// Parses `START_MS:DURATION_MS`, as the command line takes it.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BenchError::Invalid(format!("{text:?} (expected START_MS:DURATION_MS)"));
        let (start, duration) = text.split_once(':').ok_or_else(bad)?;
        let ms = |part: &str| part.trim().parse::<u64>().map(Duration::from_millis);
        Ok(Self {
            start: ms(start).map_err(|_| bad())?,
            duration: ms(duration).map_err(|_| bad())?,
        })
    }
}

/// One direction's own settings; `None` takes the symmetric one.
#[derive(Debug, Clone, Default)]
pub struct Link {
    /// Percent of datagrams dropped in this direction.
    pub loss_percent: Option<f64>,
    /// Added to every datagram in this direction.
    pub delay: Option<Duration>,
    /// Times during which this direction passes nothing.
    pub blackouts: Vec<Blackout>,
}

/// What the relay does.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Where clients send (the address they think is the server).
    pub listen: SocketAddr,
    /// The real server.
    pub to: SocketAddr,
    /// Percent of datagrams dropped, in each direction (unless a [`Link`] says otherwise).
    pub loss_percent: f64,
    /// Added to every datagram, in each direction (unless a [`Link`] says otherwise).
    pub delay: Duration,
    /// Client → server overrides and blackouts.
    pub up: Link,
    /// Server → client overrides and blackouts.
    pub down: Link,
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
            up: Link::default(),
            down: Link::default(),
            seed: 1,
            max_peers: 4096,
        }
    }

    fn link(&self, direction: Direction) -> &Link {
        match direction {
            Direction::Up => &self.up,
            Direction::Down => &self.down,
        }
    }

    /// The loss in percent that applies to `direction`.
    pub fn loss_percent(&self, direction: Direction) -> f64 {
        self.link(direction)
            .loss_percent
            .unwrap_or(self.loss_percent)
    }

    /// The delay that applies to `direction`.
    pub fn delay(&self, direction: Direction) -> Duration {
        self.link(direction).delay.unwrap_or(self.delay)
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

/// Blackout windows per direction, shared by the relay and its controls.
#[derive(Debug, Default)]
struct Windows {
    /// Client → server: `(from, until)`.
    up: Vec<(Instant, Instant)>,
    /// Server → client: `(from, until)`.
    down: Vec<(Instant, Instant)>,
}

impl Windows {
    fn of(&mut self, direction: Direction) -> &mut Vec<(Instant, Instant)> {
        match direction {
            Direction::Up => &mut self.up,
            Direction::Down => &mut self.down,
        }
    }
}

/// Blacks out a direction of a running relay from outside (tests); cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct RelayControl {
    /// The windows the relay consults for every datagram.
    windows: Arc<Mutex<Windows>>,
}

impl RelayControl {
    fn windows(&self) -> std::sync::MutexGuard<'_, Windows> {
        // The windows stay valid even if a holder panicked.
        self.windows.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Passes nothing in `direction` from now for `duration`; returns when it ends.
    pub fn black_out(&self, direction: Direction, duration: Duration) -> Instant {
        let from = Instant::now();
        self.black_out_at(direction, from, duration);
        from + duration
    }

    /// Passes nothing in `direction` from `from` for `duration`.
    pub fn black_out_at(&self, direction: Direction, from: Instant, duration: Duration) {
        let mut windows = self.windows();
        let list = windows.of(direction);
        // Forget the windows that are over, so a long run keeps the list short.
        let now = Instant::now();
        list.retain(|&(_, until)| until > now);
        list.push((from, from + duration));
    }

    /// Whether `direction` is blacked out at `at`.
    pub fn is_dark(&self, direction: Direction, at: Instant) -> bool {
        self.windows()
            .of(direction)
            .iter()
            .any(|&(from, until)| from <= at && at < until)
    }
}

/// What the relay forwarded and dropped.
#[derive(Debug, Default, Serialize)]
pub struct RelayStats {
    /// Client → server datagrams passed on.
    pub up_forwarded: u64,
    /// Client → server datagrams dropped on purpose.
    pub up_dropped: u64,
    /// Client → server datagrams dropped during a blackout.
    pub up_blacked_out: u64,
    /// Server → client datagrams passed on.
    pub down_forwarded: u64,
    /// Server → client datagrams dropped on purpose.
    pub down_dropped: u64,
    /// Server → client datagrams dropped during a blackout.
    pub down_blacked_out: u64,
    /// Datagrams dropped because a delay queue was full.
    pub overflowed: u64,
    /// Client addresses seen.
    pub peers: u64,
}

#[derive(Debug, Default)]
struct Counters {
    up_forwarded: AtomicU64,
    up_dropped: AtomicU64,
    up_blacked_out: AtomicU64,
    down_forwarded: AtomicU64,
    down_dropped: AtomicU64,
    down_blacked_out: AtomicU64,
    overflowed: AtomicU64,
    peers: AtomicU64,
}

impl Counters {
    /// Counts a datagram stopped by a blackout or a drop and says whether it
    /// goes on (the caller counts it forwarded once it is queued).
    fn passes(&self, direction: Direction, dark: bool, dropped: bool) -> bool {
        let (lost, blacked_out) = match direction {
            Direction::Up => (&self.up_dropped, &self.up_blacked_out),
            Direction::Down => (&self.down_dropped, &self.down_blacked_out),
        };
        if dark {
            blacked_out.fetch_add(1, Ordering::Relaxed);
        } else if dropped {
            lost.fetch_add(1, Ordering::Relaxed);
        }
        !dark && !dropped
    }

    /// Counts a queued datagram, or one the full delay queue refused.
    fn queued(&self, direction: Direction, queued: bool) {
        let counter = match (queued, direction) {
            (false, _) => &self.overflowed,
            (true, Direction::Up) => &self.up_forwarded,
            (true, Direction::Down) => &self.down_forwarded,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
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

/// The server → client side, shared by every client's downstream task.
struct DownLink {
    /// Drop decisions (one generator for all clients, as for the way up).
    loss: Mutex<Impairment>,
    /// Added to every datagram.
    delay: Duration,
    /// The delay line back to clients.
    tx: mpsc::Sender<Delayed>,
    /// Blackouts.
    control: RelayControl,
    /// Counts.
    counters: Arc<Counters>,
}

/// A bound relay.
pub struct Relay {
    /// The socket clients talk to.
    front: Arc<UdpSocket>,
    /// What to do.
    config: RelayConfig,
    /// Blackouts, from the configuration and from [`Relay::control`].
    control: RelayControl,
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
            control: RelayControl::default(),
        })
    }

    /// The address clients should use.
    pub fn local_addr(&self) -> Result<SocketAddr, BenchError> {
        self.front.local_addr().map_err(|source| BenchError::Io {
            action: "reading the relay's address".into(),
            source,
        })
    }

    /// A handle that blacks out a direction while the relay runs.
    pub fn control(&self) -> RelayControl {
        self.control.clone()
    }

    /// Relays until `shutdown` completes; returns the counts.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<RelayStats, BenchError> {
        let started = Instant::now();
        for direction in [Direction::Up, Direction::Down] {
            for blackout in &self.config.link(direction).blackouts {
                self.control
                    .black_out_at(direction, started + blackout.start, blackout.duration);
            }
        }
        let counters = Arc::new(Counters::default());
        let mut tasks = JoinSet::new();
        let (up_tx, up_rx) = mpsc::channel::<Delayed>(DELAY_QUEUE);
        let (down_tx, down_rx) = mpsc::channel::<Delayed>(DELAY_QUEUE);
        tasks.spawn(delay_line(self.front.clone(), up_rx));
        tasks.spawn(delay_line(self.front.clone(), down_rx));
        // Separate generators per direction: each direction's drops depend
        // only on the seed and that direction's order of datagrams.
        let mut up_loss =
            Impairment::new(self.config.loss_percent(Direction::Up), self.config.seed);
        let up_delay = self.config.delay(Direction::Up);
        let down = Arc::new(DownLink {
            loss: Mutex::new(Impairment::new(
                self.config.loss_percent(Direction::Down),
                self.config.seed ^ 0x9e37_79b9_7f4a_7c15,
            )),
            delay: self.config.delay(Direction::Down),
            tx: down_tx,
            control: self.control.clone(),
            counters: counters.clone(),
        });
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
                    tasks.spawn(downstream(socket.clone(), from, down.clone()));
                    socket
                }
            };
            let now = Instant::now();
            // Drawn even in a blackout, so the drop pattern stays tied to the
            // order of datagrams whatever the blackouts.
            let dropped = up_loss.drops();
            if !counters.passes(
                Direction::Up,
                self.control.is_dark(Direction::Up, now),
                dropped,
            ) {
                continue;
            }
            let delayed = (now + up_delay, buf[..len].to_vec(), Out::ToServer(upstream));
            counters.queued(Direction::Up, up_tx.try_send(delayed).is_ok());
        }
        tasks.abort_all();
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Ok(RelayStats {
            up_forwarded: load(&counters.up_forwarded),
            up_dropped: load(&counters.up_dropped),
            up_blacked_out: load(&counters.up_blacked_out),
            down_forwarded: load(&counters.down_forwarded),
            down_dropped: load(&counters.down_dropped),
            down_blacked_out: load(&counters.down_blacked_out),
            overflowed: load(&counters.overflowed),
            peers: load(&counters.peers),
        })
    }
}

/// Server → one client: reads the client's upstream socket and queues what survives.
async fn downstream(upstream: Arc<UdpSocket>, client: SocketAddr, link: Arc<DownLink>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let Ok(len) = upstream.recv(&mut buf).await else {
            continue;
        };
        let now = Instant::now();
        let dropped = link.loss.lock().unwrap_or_else(|e| e.into_inner()).drops();
        let dark = link.control.is_dark(Direction::Down, now);
        if !link.counters.passes(Direction::Down, dark, dropped) {
            continue;
        }
        let delayed = (now + link.delay, buf[..len].to_vec(), Out::ToClient(client));
        link.counters
            .queued(Direction::Down, link.tx.try_send(delayed).is_ok());
    }
}

/// Sends each datagram when its delay is over. The delay is the same for all
/// datagrams of one direction, so each direction's queue is already in time order.
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

    #[test]
    fn symmetric_settings_apply_to_both_directions_unless_overridden() {
        let any = "127.0.0.1:1".parse().unwrap();
        let mut config = RelayConfig::new(any, any);
        config.loss_percent = 5.0;
        config.delay = Duration::from_millis(20);
        assert_eq!(config.loss_percent(Direction::Up), 5.0);
        assert_eq!(config.delay(Direction::Down), Duration::from_millis(20));
        config.up.loss_percent = Some(50.0);
        config.down.delay = Some(Duration::from_millis(7));
        assert_eq!(config.loss_percent(Direction::Up), 50.0);
        assert_eq!(config.loss_percent(Direction::Down), 5.0);
        assert_eq!(config.delay(Direction::Up), Duration::from_millis(20));
        assert_eq!(config.delay(Direction::Down), Duration::from_millis(7));
    }

    #[test]
    fn a_blackout_is_start_and_duration_in_milliseconds() {
        assert_eq!(
            "1500:3000".parse::<Blackout>().unwrap(),
            Blackout {
                start: Duration::from_millis(1500),
                duration: Duration::from_secs(3),
            }
        );
        for bad in ["1500", "a:3000", "1500:", ":3000", "-1:5", "1:2:3"] {
            assert!(bad.parse::<Blackout>().is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn a_window_darkens_only_its_direction_and_time() {
        let control = RelayControl::default();
        let from = Instant::now() + Duration::from_secs(10);
        control.black_out_at(Direction::Up, from, Duration::from_secs(1));
        assert!(!control.is_dark(Direction::Up, from - Duration::from_millis(1)));
        assert!(control.is_dark(Direction::Up, from));
        assert!(control.is_dark(Direction::Up, from + Duration::from_millis(999)));
        assert!(!control.is_dark(Direction::Up, from + Duration::from_secs(1)));
        assert!(!control.is_dark(Direction::Down, from));
    }

    /// A server that echoes every datagram and reports it with its arrival time.
    async fn echo_server() -> (SocketAddr, mpsc::UnboundedReceiver<(Instant, Vec<u8>)>) {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut buf = vec![0u8; MAX_DATAGRAM];
            while let Ok((len, from)) = socket.recv_from(&mut buf).await {
                let _ = tx.send((Instant::now(), buf[..len].to_vec()));
                let _ = socket.send_to(&buf[..len], from).await;
            }
        });
        (addr, rx)
    }

    /// Starts a relay to an echo server; returns the client's socket (connected
    /// to the relay), what the server received, the relay's control and a stop.
    async fn relayed(
        configure: impl FnOnce(&mut RelayConfig),
    ) -> (
        UdpSocket,
        mpsc::UnboundedReceiver<(Instant, Vec<u8>)>,
        RelayControl,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<Result<RelayStats, BenchError>>,
    ) {
        let (server, received) = echo_server().await;
        let mut config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), server);
        configure(&mut config);
        let relay = Relay::bind(config).await.unwrap();
        let (addr, control) = (relay.local_addr().unwrap(), relay.control());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(relay.run(async {
            let _ = stop_rx.await;
        }));
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.connect(addr).await.unwrap();
        (client, received, control, stop_tx, task)
    }

    /// The next datagram back at the client, if one comes within `within`.
    async fn echo(client: &UdpSocket, within: Duration) -> Option<(Instant, Vec<u8>)> {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let len = tokio::time::timeout(within, client.recv(&mut buf))
            .await
            .ok()?
            .ok()?;
        Some((Instant::now(), buf[..len].to_vec()))
    }

    const QUIET: Duration = Duration::from_millis(300);

    #[tokio::test]
    async fn loss_up_and_loss_down_drop_one_way_only() {
        let (client, mut server, _, stop, task) =
            relayed(|c| c.up.loss_percent = Some(100.0)).await;
        client.send(b"up").await.unwrap();
        assert!(echo(&client, QUIET).await.is_none());
        assert!(server.try_recv().is_err(), "nothing reached the server");
        stop.send(()).unwrap();
        let stats = task.await.unwrap().unwrap();
        assert_eq!((stats.up_dropped, stats.up_forwarded), (1, 0));

        let (client, mut server, _, stop, task) =
            relayed(|c| c.down.loss_percent = Some(100.0)).await;
        client.send(b"down").await.unwrap();
        assert!(echo(&client, QUIET).await.is_none());
        assert_eq!(server.recv().await.unwrap().1, b"down");
        stop.send(()).unwrap();
        let stats = task.await.unwrap().unwrap();
        assert_eq!((stats.up_forwarded, stats.down_dropped), (1, 1));
    }

    #[tokio::test]
    async fn delay_up_and_delay_down_apply_each_to_their_way() {
        let (up, down) = (Duration::from_millis(100), Duration::from_millis(250));
        let (client, mut server, _, stop, _) = relayed(|c| {
            c.delay = Duration::from_secs(5);
            c.up.delay = Some(up);
            c.down.delay = Some(down);
        })
        .await;
        let sent = Instant::now();
        client.send(b"ping").await.unwrap();
        let (arrived, _) = server.recv().await.unwrap();
        let (back, bytes) = echo(&client, Duration::from_secs(4)).await.unwrap();
        assert_eq!(bytes, b"ping");
        assert!(arrived - sent >= up, "up took {:?}", arrived - sent);
        assert!(back - arrived >= down, "down took {:?}", back - arrived);
        let _ = stop.send(());
    }

    #[tokio::test]
    async fn a_blackout_from_the_control_cuts_one_way_for_its_time() {
        let (client, mut server, control, stop, task) = relayed(|_| {}).await;
        let ends = control.black_out(Direction::Up, QUIET);
        client.send(b"lost").await.unwrap();
        assert!(echo(&client, QUIET / 2).await.is_none());
        tokio::time::sleep_until(ends).await;
        client.send(b"after").await.unwrap();
        assert_eq!(echo(&client, QUIET).await.unwrap().1, b"after");
        assert_eq!(
            server.recv().await.unwrap().1,
            b"after",
            "the first one was lost"
        );
        stop.send(()).unwrap();
        let stats = task.await.unwrap().unwrap();
        assert_eq!((stats.up_blacked_out, stats.up_forwarded), (1, 1));
        assert_eq!(stats.down_blacked_out, 0);
    }

    #[tokio::test]
    async fn a_configured_blackout_starts_at_its_offset_from_the_start() {
        let (client, mut server, _, stop, task) = relayed(|c| {
            c.down.blackouts = vec![Blackout {
                start: Duration::ZERO,
                duration: QUIET,
            }];
        })
        .await;
        client.send(b"unanswered").await.unwrap();
        assert_eq!(server.recv().await.unwrap().1, b"unanswered");
        assert!(echo(&client, QUIET / 2).await.is_none());
        tokio::time::sleep(QUIET).await;
        client.send(b"answered").await.unwrap();
        assert_eq!(echo(&client, QUIET).await.unwrap().1, b"answered");
        stop.send(()).unwrap();
        let stats = task.await.unwrap().unwrap();
        assert_eq!((stats.down_blacked_out, stats.down_forwarded), (1, 1));
    }
}
