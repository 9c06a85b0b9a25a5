//! One benchmark run: connect N clients (sharing QUIC endpoints), register
//! and log them in, join one room; then every client posts M timestamped
//! messages — unpaced or at R per second — while every client receives all
//! of them, measuring latency and accounting for each sequence number.
//! Given several servers (the nodes of a cluster), client `i` uses node
//! `i mod n` and the report splits latency by path (see [`crate::nodes`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chatroom_common::protocol::{ErrorCode, Event, OtpAlgorithm, Seq};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::distribution::Buckets;
use crate::nodes::{ClusterReport, NodeReport, Nodes, PathReport, SenderNodes};
use crate::procstat::{self, Process, Usage};
use crate::receive::{self, Plan, Received, Shared};
use crate::stats::{self, Latency, ProcReport, Report};
use crate::transport::{Counters, TransportReport};
use crate::{BenchError, payload};
use chatroom_client::connection::{self, ConnectOptions, EventStreams};
use chatroom_client::{ClientError, Session, Trust};

/// The passphrase of every benchmark account (S/KEY chains are computed here).
pub(crate) const PASSPHRASE: &str = "chatroom benchmark passphrase";
/// How often the progress bar and the completion check look at the counters.
const TICK: Duration = Duration::from_millis(20);

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// `HOST:PORT` of the server (or of the relay in front of it); several,
    /// comma-separated, spread the clients over the nodes of a cluster.
    pub server: String,
    /// How to verify the server (every node shares one CA).
    pub trust: Trust,
    /// Clients, each sending and receiving.
    pub clients: usize,
    /// Messages each client sends.
    pub messages: u64,
    /// Messages per second per client; `None` sends each as soon as the last was acknowledged.
    pub rate: Option<f64>,
    /// Bytes of text per message (at least the timestamp).
    pub payload: usize,
    /// The room; `None` makes a fresh `bench-<run>` room.
    pub room: Option<String>,
    /// The server's process id, to read its CPU time and memory; with
    /// several nodes, one per node in the order of `server` (summed, and
    /// each node's in its part of the report).
    pub server_pids: Vec<u32>,
    /// The NATS server's process id (a cluster run), to report its CPU too.
    pub nats_pid: Option<u32>,
    /// Clients sharing one QUIC endpoint (one UDP socket and driver task).
    pub connections_per_endpoint: usize,
    /// How the server pushes events (must match its `--stream-mode`).
    pub event_streams: EventStreams,
    /// Draw progress bars on the terminal.
    pub progress: bool,
    /// Give up on missing deliveries after this long without progress.
    pub drain_timeout: Duration,
    /// Clients being set up at once.
    pub setup_concurrency: usize,
}

impl BenchConfig {
    /// Defaults: 10 clients × 100 unpaced 64-byte messages, 16 clients per endpoint.
    pub fn new(server: impl Into<String>, trust: Trust) -> Self {
        Self {
            server: server.into(),
            trust,
            clients: 10,
            messages: 100,
            rate: None,
            payload: 64,
            room: None,
            server_pids: Vec::new(),
            nats_pid: None,
            connections_per_endpoint: 16,
            event_streams: EventStreams::PerMessage,
            progress: false,
            drain_timeout: Duration::from_secs(10),
            setup_concurrency: 32,
        }
    }
}

/// One sender's findings.
#[derive(Default, Clone)]
struct SendOutcome {
    sent: u64,
    errors: u64,
    first_error: Option<String>,
}

/// A set-up client: its session, and the latest sequence number it saw at join.
pub(crate) struct Ready {
    /// The client's index (its username ends with it).
    pub index: usize,
    /// Logged in and in the room.
    pub session: Session,
    /// The room's latest sequence number when it joined.
    pub latest_seq: Seq,
}

/// Runs the benchmark and reports what it measured.
pub async fn run(config: BenchConfig) -> Result<Report, BenchError> {
    if config.clients == 0 || config.messages == 0 {
        return Err(BenchError::Invalid(
            "need at least one client and one message".into(),
        ));
    }
    if config.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        return Err(BenchError::Invalid(
            "--rate must be a positive number".into(),
        ));
    }
    let nodes = Nodes::parse(&config.server)?;
    if nodes.is_cluster() && config.server_pids.len() > 1 && config.server_pids.len() != nodes.len()
    {
        return Err(BenchError::Invalid(format!(
            "{} server pids for {} servers: give one per server, in the same order",
            config.server_pids.len(),
            nodes.len()
        )));
    }
    let config = Arc::new(config);
    let run_id = run_id();
    let room_name = config
        .room
        .clone()
        .unwrap_or_else(|| format!("bench-{run_id}"));
    let (plan_tx, plan_rx) = watch::channel(None::<Plan>);
    let (stop_tx, stop_rx) = watch::channel(false);
    let delivered = Arc::new(AtomicU64::new(0));

    // Setup: client 0 makes the room, then everyone registers, logs in and
    // joins, a few at a time. Each receiver starts draining events at once, so
    // the presence events of the setup never back up.
    let setup_started = Instant::now();
    let (addr, _) = connection::resolve(nodes.addr(0)).await?;
    let per_endpoint = config.connections_per_endpoint.max(1);
    let endpoints = (0..config.clients.div_ceil(per_endpoint))
        .map(|_| connection::endpoint_for(addr))
        .collect::<Result<Vec<_>, _>>()?;
    let bar = progress_bar(&config, config.clients as u64, "setting up");
    let mut receivers = JoinSet::new();
    let first = setup_client(
        &config,
        nodes.addr(0),
        0,
        &run_id,
        &room_name,
        &endpoints[0],
        true,
    )
    .await?;
    let canonical_room: Arc<str> = Arc::from(first.1.as_str());
    let shared = Shared {
        room: canonical_room.clone(),
        plan_rx,
        stop_rx,
        delivered: delivered.clone(),
        senders: nodes
            .is_cluster()
            .then(|| Arc::new(SenderNodes::new(&run_id, nodes.len()))),
        keep_samples: false,
    };
    receivers.spawn(receive::receive(first.2, 0, shared.clone()));
    let mut ready = vec![first.0];
    bar.inc(1);
    let permits = Arc::new(Semaphore::new(config.setup_concurrency.max(1)));
    let mut setups = JoinSet::new();
    for index in 1..config.clients {
        let (config, run_id, room) = (config.clone(), run_id.clone(), canonical_room.clone());
        let server = nodes.addr(nodes.of_client(index)).to_owned();
        let endpoint = endpoints[index / per_endpoint].clone();
        let permits = permits.clone();
        setups.spawn(async move {
            let _permit = permits.acquire_owned().await;
            setup_client(&config, &server, index, &run_id, &room, &endpoint, false).await
        });
    }
    let (mut setup_errors, mut first_setup_error) = (0usize, None::<String>);
    let mut node_setup_errors = vec![0usize; nodes.len()];
    while let Some(joined) = setups.join_next().await {
        let joined =
            joined.map_err(|e| BenchError::Invalid(format!("a setup task failed: {e}")))?;
        // A client that cannot connect is counted, not fatal: how many of a
        // crowd get in is one of the results.
        let (client, _, events) = match joined {
            Ok(client) => client,
            Err(e) => {
                setup_errors += 1;
                if let BenchError::Setup { index, .. } = &e {
                    node_setup_errors[nodes.of_client(*index)] += 1;
                }
                first_setup_error.get_or_insert_with(|| e.to_string());
                bar.inc(1);
                continue;
            }
        };
        let node = nodes.of_client(client.index);
        receivers.spawn(receive::receive(events, node, shared.clone()));
        ready.push(client);
        bar.inc(1);
    }
    drop(shared);
    bar.finish_and_clear();
    ready.sort_by_key(|r| r.index);
    let setup_seconds = setup_started.elapsed().as_secs_f64();

    // Measure: start the clocks, tell the receivers what to expect, send.
    let base = ready.iter().map(|r| r.latest_seq).max().unwrap_or(0);
    let connected = ready.len();
    let mut node_clients = vec![0usize; nodes.len()];
    for r in &ready {
        node_clients[nodes.of_client(r.index)] += 1;
    }
    let expected_per_receiver = connected as u64 * config.messages;
    let server_before = procstat::read_all(&config.server_pids)?;
    let nats_before = config
        .nats_pid
        .map(|pid| procstat::read(Process::Pid(pid)))
        .transpose()?;
    let bench_before = procstat::read(Process::Current)?;
    let transport_before = Counters::read(ready.iter().map(|r| r.session.connection().quic()));
    let t0 = Instant::now();
    let _ = plan_tx.send(Some(Plan {
        base,
        expected: expected_per_receiver,
    }));
    let sessions: Vec<(usize, Arc<Session>)> = ready
        .into_iter()
        .map(|r| (r.index, Arc::new(r.session)))
        .collect();
    let mut senders = JoinSet::new();
    for (index, session) in &sessions {
        let (config, session, room) = (config.clone(), session.clone(), canonical_room.clone());
        let index = *index;
        senders.spawn(async move { (index, send_all(&config, &session, &room, index, t0).await) });
    }
    let receivers_total = connected as u64;
    let bar = progress_bar(
        &config,
        expected_per_receiver * receivers_total,
        "deliveries",
    );
    let mut outcome = SendOutcome::default();
    let mut node_sent = vec![SendOutcome::default(); nodes.len()];
    let mut senders_done = false;
    let mut last_progress = (0u64, Instant::now());
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            finished = senders.join_next(), if !senders_done => match finished {
                Some(Ok((index, one))) => {
                    let node = &mut node_sent[nodes.of_client(index)];
                    node.sent += one.sent;
                    node.errors += one.errors;
                    outcome.sent += one.sent;
                    outcome.errors += one.errors;
                    if outcome.first_error.is_none() {
                        outcome.first_error = one.first_error;
                    }
                }
                Some(Err(e)) => return Err(BenchError::Invalid(format!("a sender task failed: {e}"))),
                None => senders_done = true,
            },
            _ = tick.tick() => {
                let now = delivered.load(Ordering::Relaxed);
                bar.set_position(now);
                if now != last_progress.0 {
                    last_progress = (now, Instant::now());
                }
                if senders_done {
                    let target = outcome.sent * receivers_total;
                    if now >= target || last_progress.1.elapsed() >= config.drain_timeout {
                        break;
                    }
                }
            }
        }
    }
    let _ = stop_tx.send(true);
    bar.finish_and_clear();

    let (mut hist, mut one_way) = (stats::new_histogram(), stats::new_histogram());
    let (mut same_node, mut cross_node) = (stats::new_histogram(), stats::new_histogram());
    let (mut unique, mut duplicates, mut out_of_order, mut resyncs) = (0, 0, 0, 0);
    let mut node_received: Vec<NodeReport> = vec![NodeReport::default(); nodes.len()];
    let mut last_arrival = None::<Instant>;
    while let Some(received) = receivers.join_next().await {
        let received =
            received.map_err(|e| BenchError::Invalid(format!("a receiver task failed: {e}")))?;
        let _ = hist.add(&received.hist);
        let _ = one_way.add(&received.one_way);
        let _ = same_node.add(&received.same_node);
        let _ = cross_node.add(&received.cross_node);
        unique += received.unique;
        duplicates += received.duplicates;
        out_of_order += received.out_of_order;
        resyncs += received.resyncs;
        last_arrival = last_arrival.max(received.last_arrival);
        tally(&mut node_received[received.node % nodes.len()], &received);
    }
    let server_after = procstat::read_all(&config.server_pids)?;
    let nats_after = config
        .nats_pid
        .map(|pid| procstat::read(Process::Pid(pid)))
        .transpose()?;
    let bench_after = procstat::read(Process::Current)?;
    let elapsed = last_arrival
        .map_or(Duration::ZERO, |t| t.duration_since(t0))
        .as_secs_f64();

    let transport = TransportReport::between(
        transport_before,
        Counters::read(sessions.iter().map(|(_, s)| s.connection().quic())),
        unique,
    );

    let mut closing = JoinSet::new();
    for (_, session) in sessions {
        closing.spawn(async move { session.close().await });
    }
    while closing.join_next().await.is_some() {}
    for endpoint in &endpoints {
        endpoint.close(0u32.into(), b"bench done");
    }

    let expected_deliveries = outcome.sent * receivers_total;
    let cluster = nodes.is_cluster().then(|| {
        let mut reports = node_received;
        for (node, report) in reports.iter_mut().enumerate() {
            report.server = nodes.addr(node).to_owned();
            report.clients = node_clients[node];
            report.setup_errors = node_setup_errors[node];
            report.sent = node_sent[node].sent;
            report.send_errors = node_sent[node].errors;
            report.expected_deliveries = report.clients as u64 * outcome.sent;
            report.lost = report.expected_deliveries.saturating_sub(report.deliveries);
            report.process = match (server_before.get(node), server_after.get(node)) {
                (Some(before), Some(after)) if server_before.len() == nodes.len() => {
                    Some(proc_report(*before, *after, report.deliveries))
                }
                _ => None,
            };
        }
        ClusterReport {
            nodes: reports,
            same_node: PathReport::of(&same_node),
            cross_node: PathReport::of(&cross_node),
        }
    });
    Ok(Report {
        run_id,
        room: canonical_room.to_string(),
        stream_mode: match config.event_streams {
            EventStreams::PerMessage => "per-message".into(),
            EventStreams::Single => "single".into(),
        },
        clients: config.clients,
        connected,
        setup_errors,
        first_setup_error,
        messages_per_client: config.messages,
        rate_per_client: config.rate,
        payload_bytes: config.payload,
        connections_per_endpoint: per_endpoint,
        setup_seconds,
        sent: outcome.sent,
        send_errors: outcome.errors,
        first_send_error: outcome.first_error,
        expected_deliveries,
        deliveries: unique,
        duplicates,
        lost: expected_deliveries.saturating_sub(unique),
        out_of_order,
        resyncs,
        elapsed_seconds: elapsed,
        deliveries_per_second: if elapsed > 0.0 {
            unique as f64 / elapsed
        } else {
            0.0
        },
        latency_us: Latency::of(&hist),
        one_way_us: Latency::of(&one_way),
        latency_buckets_us: Buckets::of(&hist),
        one_way_buckets_us: Buckets::of(&one_way),
        server: procstat::sum(&server_before)
            .zip(procstat::sum(&server_after))
            .map(|(before, after)| proc_report(before, after, unique)),
        nats: nats_before
            .zip(nats_after)
            .map(|(before, after)| proc_report(before, after, unique)),
        bench: proc_report(bench_before, bench_after, unique),
        transport,
        cluster,
    })
}

/// Adds one receiver's counts to its node's.
fn tally(node: &mut NodeReport, received: &Received) {
    node.deliveries += received.unique;
    node.same_node_deliveries += received.same_node.len();
    node.cross_node_deliveries += received.cross_node.len();
    node.duplicates += received.duplicates;
    node.resyncs += received.resyncs;
}

fn proc_report(before: Usage, after: Usage, deliveries: u64) -> ProcReport {
    let cpu_seconds = (after.cpu_seconds - before.cpu_seconds).max(0.0);
    ProcReport {
        cpu_seconds,
        cpu_us_per_delivery: if deliveries > 0 {
            cpu_seconds * 1e6 / deliveries as f64
        } else {
            0.0
        },
        peak_rss_mib: after.peak_rss_kib as f64 / 1024.0,
        rss_mib: after.rss_kib as f64 / 1024.0,
    }
}

/// A short random id in the alphabet user and room names allow.
pub(crate) fn run_id() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..6)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)]))
        .collect()
}

pub(crate) fn progress_bar(config: &BenchConfig, len: u64, what: &'static str) -> ProgressBar {
    progress_bar_with(config.progress, len, what)
}

/// A progress bar of `len` steps, or a hidden one when `show` is false.
pub(crate) fn progress_bar_with(show: bool, len: u64, what: &'static str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {per_sec} {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}

/// Connects to `server`, registers `bench-<run>-<index>`, logs in and joins the room
/// (client 0 creates it first). Returns the session, the room's canonical
/// name and the event stream.
pub(crate) async fn setup_client(
    config: &BenchConfig,
    server: &str,
    index: usize,
    run_id: &str,
    room: &str,
    endpoint: &quinn::Endpoint,
    create: bool,
) -> Result<(Ready, String, mpsc::Receiver<Event>), BenchError> {
    let failed = |source| BenchError::Setup { index, source };
    let options = ConnectOptions {
        event_streams: config.event_streams,
        endpoint: Some(endpoint.clone()),
    };
    let mut session = Session::connect_with(server, &config.trust, &options)
        .await
        .map_err(failed)?;
    let events = session
        .take_events()
        .ok_or_else(|| failed(ClientError::Protocol("no event stream".into())))?;
    let username = format!("bench-{run_id}-{index}");
    register(&session, &username).await.map_err(failed)?;
    session
        .login(&username, PASSPHRASE, None)
        .await
        .map_err(failed)?;
    if create {
        match session.create_room(room).await {
            Ok(_) => {}
            Err(e) if e.code() == Some(ErrorCode::RoomExists) => {}
            Err(e) => return Err(failed(e)),
        }
    }
    let joined = session.join(room).await.map_err(failed)?;
    let name = joined.room.name.clone();
    Ok((
        Ready {
            index,
            session,
            latest_seq: joined.room.latest_seq,
        },
        name,
        events,
    ))
}

/// Registers a benchmark account (`<username>@example.org`, [`PASSPHRASE`]).
pub(crate) async fn register(session: &Session, username: &str) -> Result<(), ClientError> {
    session
        .register(
            username,
            &format!("{username}@example.org"),
            PASSPHRASE,
            OtpAlgorithm::Md5,
        )
        .await
        .map(|_| ())
        .map_err(explain)
}

/// Adds a hint to the rate-limit refusal a default server gives a benchmark.
fn explain(e: ClientError) -> ClientError {
    match &e {
        ClientError::Server(reply) if reply.code == ErrorCode::RateLimited => {
            ClientError::Protocol(format!(
                "{e} (start the server with --registrations-per-hour and --registration-burst raised for benchmarks)"
            ))
        }
        _ => e,
    }
}

/// Posts this client's messages: back to back, or on a schedule offset by
/// the client's index so that paced clients do not all send at once.
async fn send_all(
    config: &BenchConfig,
    session: &Session,
    room: &str,
    index: usize,
    t0: Instant,
) -> SendOutcome {
    let mut outcome = SendOutcome::default();
    let mut text = String::with_capacity(config.payload.max(24));
    let phase = index as f64 / config.clients as f64;
    for n in 0..config.messages {
        if let Some(rate) = config.rate {
            tokio::time::sleep_until(t0 + Duration::from_secs_f64((n as f64 + phase) / rate)).await;
        }
        payload::write(&mut text, payload::now_nanos(), config.payload);
        match session.send(room, &text).await {
            Ok(_) => {
                outcome.sent += 1;
            }
            Err(e) => {
                outcome.errors += 1;
                let closed = matches!(e, ClientError::Closed(_));
                outcome.first_error.get_or_insert_with(|| e.to_string());
                if closed {
                    // Every further send on this connection fails the same way.
                    outcome.errors += config.messages - n - 1;
                    break;
                }
            }
        }
    }
    outcome
}
