//! S3′, a realistic crowd: every client in one lobby, in one of the
//! mid-sized rooms and in one small group, each room posting at its own rate
//! (scaled together), every member receiving and accounting for every
//! message. Reports latency and losses per kind of room and the server's
//! memory before set-up, with everyone idle in their rooms, and at the end.
//!
//! The shape (docs/performance.md, "S3′"): 2,000 clients; the lobby gets
//! 2 msg/s in total, 20 rooms × 100 members 1 msg/s each, 500 groups × 4
//! 0.05 msg/s each; run at ×1 and ×10.
//!
//! `receive` is one client's receiving side, `report` what a run reports.

mod receive;
mod report;

pub use report::{CrowdReport, KindReport};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chatroom_client::connection::{self, ConnectOptions};
use chatroom_client::{ClientError, Session, Trust};
use chatroom_common::protocol::{ErrorCode, Event, Seq};
use hdrhistogram::Histogram;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::procstat::{self, Process, Usage};
use crate::run::{PASSPHRASE, progress_bar_with, register, run_id};
use crate::stats::{self, Latency};
use crate::{BenchError, payload};
use receive::{Plan, receive};

/// The kinds of room, in the order reports list them.
const KINDS: [&str; 3] = ["lobby", "rooms", "groups"];

/// What to run.
#[derive(Debug, Clone)]
pub struct CrowdConfig {
    /// `HOST:PORT` of the server.
    pub server: String,
    /// How to verify it.
    pub trust: Trust,
    /// Clients; each is in the lobby, one room and one group.
    pub clients: usize,
    /// Members per room (the clients are split into `clients / room_size` rooms).
    pub room_size: usize,
    /// Members per group.
    pub group_size: usize,
    /// Messages per second in the lobby, in total, at ×1.
    pub lobby_rate: f64,
    /// Messages per second in each room at ×1.
    pub room_rate: f64,
    /// Messages per second in each group at ×1.
    pub group_rate: f64,
    /// Every rate is multiplied by this.
    pub scale: f64,
    /// How long the posting lasts.
    pub seconds: f64,
    /// Bytes of text per message.
    pub payload: usize,
    /// The server's process id, for its CPU time and memory.
    pub server_pid: Option<u32>,
    /// Clients sharing one QUIC endpoint.
    pub connections_per_endpoint: usize,
    /// Clients set up at once.
    pub setup_concurrency: usize,
    /// Give up on missing deliveries after this long without progress.
    pub drain_timeout: Duration,
    /// Draw progress bars.
    pub progress: bool,
}

impl CrowdConfig {
    /// The issue's crowd at ×1 for 60 s.
    pub fn new(server: impl Into<String>, trust: Trust) -> Self {
        Self {
            server: server.into(),
            trust,
            clients: 2000,
            room_size: 100,
            group_size: 4,
            lobby_rate: 2.0,
            room_rate: 1.0,
            group_rate: 0.05,
            scale: 1.0,
            seconds: 60.0,
            payload: 64,
            server_pid: None,
            connections_per_endpoint: 50,
            setup_concurrency: 32,
            drain_timeout: Duration::from_secs(10),
            progress: false,
        }
    }
}

/// One room of the crowd.
#[derive(Debug, Clone)]
struct Room {
    /// Index into [`KINDS`].
    kind: usize,
    /// Its canonical name, once created.
    name: String,
    /// Member client indexes; the first creates it.
    members: Vec<usize>,
    /// Messages per second (scaled).
    rate: f64,
    /// Messages it posts over the run.
    messages: u64,
    /// Its last sequence number before the first post.
    base: Seq,
}

/// The rooms of a crowd of `config.clients`.
fn layout(config: &CrowdConfig, run_id: &str) -> Vec<Room> {
    let all: Vec<usize> = (0..config.clients).collect();
    let mut rooms = vec![room(
        0,
        format!("crowd-{run_id}-lobby"),
        all,
        config.lobby_rate,
        config,
    )];
    for (kind, size, rate, tag) in [
        (1, config.room_size, config.room_rate, "r"),
        (2, config.group_size, config.group_rate, "g"),
    ] {
        for (i, members) in (0..config.clients / size.max(1))
            .map(|i| (i * size..(i + 1) * size).collect::<Vec<_>>())
            .enumerate()
        {
            rooms.push(room(
                kind,
                format!("crowd-{run_id}-{tag}{i}"),
                members,
                rate,
                config,
            ));
        }
    }
    rooms
}

fn room(kind: usize, name: String, members: Vec<usize>, rate: f64, config: &CrowdConfig) -> Room {
    let rate = rate * config.scale;
    Room {
        kind,
        name,
        members,
        rate,
        messages: (rate * config.seconds).round() as u64,
        base: 0,
    }
}

/// Runs the crowd and reports what it measured.
pub async fn crowd(config: CrowdConfig) -> Result<CrowdReport, BenchError> {
    let valid = |x: f64| x.is_finite() && x >= 0.0;
    if config.clients == 0 || config.room_size == 0 || config.group_size == 0 {
        return Err(BenchError::Invalid(
            "need clients and non-empty rooms and groups".into(),
        ));
    }
    let rates_valid = [config.lobby_rate, config.room_rate, config.group_rate]
        .into_iter()
        .all(valid);
    let span_valid =
        config.scale > 0.0 && config.seconds > 0.0 && valid(config.scale * config.seconds);
    if !(rates_valid && span_valid) {
        return Err(BenchError::Invalid(
            "rates must be non-negative, --scale and --seconds positive".into(),
        ));
    }
    let run_id = run_id();
    let mut rooms = layout(&config, &run_id);
    let server = config.server_pid.map(Process::Pid);
    let server_start = server.map(procstat::read).transpose()?;
    let setup_started = Instant::now();

    // Everyone connects, registers and logs in; each receiver starts at once
    // (the set-up's presence events must not back up).
    let (addr, _) = connection::resolve(&config.server).await?;
    let per_endpoint = config.connections_per_endpoint.max(1);
    let endpoints = (0..config.clients.div_ceil(per_endpoint))
        .map(|_| connection::endpoint_for(addr))
        .collect::<Result<Vec<_>, _>>()?;
    let (plan_tx, plan_rx) = watch::channel(None::<Plan>);
    let (stop_tx, stop_rx) = watch::channel(false);
    let delivered = Arc::new(AtomicU64::new(0));
    let bar = progress_bar_with(config.progress, config.clients as u64, "logging in");
    let permits = Arc::new(Semaphore::new(config.setup_concurrency.max(1)));
    let mut setups = JoinSet::new();
    for index in 0..config.clients {
        let (server, trust) = (config.server.clone(), config.trust.clone());
        let (endpoint, permits, run_id) = (
            endpoints[index / per_endpoint].clone(),
            permits.clone(),
            run_id.clone(),
        );
        setups.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (
                index,
                log_in(&server, &trust, &endpoint, &run_id, index).await,
            )
        });
    }
    let mut sessions: Vec<Option<Arc<Session>>> = vec![None; config.clients];
    let mut receivers = JoinSet::new();
    let (mut setup_errors, mut first_setup_error) = (0, None);
    while let Some(joined) = setups.join_next().await {
        let (index, result) =
            joined.map_err(|e| BenchError::Invalid(format!("a set-up task failed: {e}")))?;
        bar.inc(1);
        match result {
            Ok((session, events)) => {
                sessions[index] = Some(Arc::new(session));
                receivers.spawn(receive(
                    events,
                    plan_rx.clone(),
                    stop_rx.clone(),
                    delivered.clone(),
                ));
            }
            Err(e) => {
                setup_errors += 1;
                first_setup_error.get_or_insert_with(|| format!("client {index}: {e}"));
            }
        }
    }
    bar.finish_and_clear();

    // Each room's first member creates it, then everyone joins their rooms.
    let bar = progress_bar_with(config.progress, rooms.len() as u64, "making rooms");
    let mut creating = JoinSet::new();
    for (i, room) in rooms.iter().enumerate() {
        let creator = room.members.iter().find_map(|&m| sessions[m].clone());
        let name = room.name.clone();
        creating.spawn(async move {
            let Some(creator) = creator else {
                return (i, Err(ClientError::Protocol("no member connected".into())));
            };
            let made = match creator.create_room(&name).await {
                Ok(info) => Ok(info.name),
                Err(e) if e.code() == Some(ErrorCode::RoomExists) => Ok(name),
                Err(e) => Err(e),
            };
            (i, made)
        });
    }
    while let Some(made) = creating.join_next().await {
        let (i, made) = made.map_err(|e| BenchError::Invalid(format!("a task failed: {e}")))?;
        rooms[i].name = made.map_err(|source| BenchError::Setup {
            index: rooms[i].members[0],
            source,
        })?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let joins: usize = rooms.iter().map(|r| r.members.len()).sum();
    let bar = progress_bar_with(config.progress, joins as u64, "joining");
    let mut joining = JoinSet::new();
    for (i, room) in rooms.iter().enumerate() {
        for &member in &room.members {
            let (Some(session), name) = (sessions[member].clone(), room.name.clone()) else {
                continue;
            };
            let permits = permits.clone();
            joining.spawn(async move {
                let _permit = permits.acquire_owned().await;
                (i, session.join(&name).await.map(|j| j.room.latest_seq))
            });
        }
    }
    while let Some(joined) = joining.join_next().await {
        let (i, latest) = joined.map_err(|e| BenchError::Invalid(format!("a task failed: {e}")))?;
        let latest = latest.map_err(|source| BenchError::Setup {
            index: rooms[i].members[0],
            source,
        })?;
        rooms[i].base = rooms[i].base.max(latest);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let setup_seconds = setup_started.elapsed().as_secs_f64();
    // Let the set-up's last events settle before the idle reading.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let server_idle = server.map(procstat::read).transpose()?;

    // Post: one task per room, on a schedule with a random phase, each
    // message from the next member in turn.
    let plan = rooms
        .iter()
        .map(|r| (r.name.clone(), (r.kind, r.base, r.messages)))
        .collect();
    let _ = plan_tx.send(Some(Plan {
        rooms: Arc::new(plan),
    }));
    let sessions = Arc::new(sessions);
    let server_before = server.map(procstat::read).transpose()?;
    let bench_before = procstat::read(Process::Current)?;
    let t0 = Instant::now();
    let mut senders = JoinSet::new();
    for (i, room) in rooms.iter().enumerate() {
        let (room, sessions, size) = (room.clone(), sessions.clone(), config.payload);
        let seconds = config.seconds;
        senders.spawn(async move { (i, post(&room, &sessions, size, seconds, t0).await) });
    }
    let expected_total = |sent: &[(u64, u64)]| -> u64 {
        rooms
            .iter()
            .zip(sent)
            .map(|(r, (ok, _))| ok * connected_members(r, &sessions))
            .sum()
    };
    let total_messages: u64 = rooms.iter().map(|r| r.messages).sum();
    let bar = progress_bar_with(config.progress, total_messages, "posting");
    let mut sent = vec![(0u64, 0u64); rooms.len()];
    let mut first_send_error = None;
    let mut senders_done = false;
    let mut last_progress = (0u64, Instant::now());
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            finished = senders.join_next(), if !senders_done => match finished {
                Some(Ok((i, (ok, errors, error)))) => {
                    sent[i] = (ok, errors);
                    bar.inc(ok + errors);
                    if first_send_error.is_none() {
                        first_send_error = error;
                    }
                }
                Some(Err(e)) => return Err(BenchError::Invalid(format!("a sender failed: {e}"))),
                None => senders_done = true,
            },
            _ = tick.tick() => {
                let now = delivered.load(Ordering::Relaxed);
                if now != last_progress.0 {
                    last_progress = (now, Instant::now());
                }
                if senders_done
                    && (now >= expected_total(&sent)
                        || last_progress.1.elapsed() >= config.drain_timeout)
                {
                    break;
                }
            }
        }
    }
    let _ = stop_tx.send(true);
    bar.finish_and_clear();
    let server_after = server.map(procstat::read).transpose()?;
    let bench_after = procstat::read(Process::Current)?;

    let mut kinds: Vec<(Histogram<u64>, u64, u64)> = (0..KINDS.len())
        .map(|_| (stats::new_histogram(), 0, 0))
        .collect();
    let (mut all, mut resyncs) = (stats::new_histogram(), 0);
    let mut last_arrival = None::<Instant>;
    while let Some(received) = receivers.join_next().await {
        let received =
            received.map_err(|e| BenchError::Invalid(format!("a receiver failed: {e}")))?;
        for (kind, got) in kinds.iter_mut().zip(&received.kinds) {
            let _ = kind.0.add(&got.0);
            kind.1 += got.1;
            kind.2 += got.2;
            let _ = all.add(&got.0);
        }
        resyncs += received.resyncs;
        last_arrival = last_arrival.max(received.last_arrival);
    }
    let elapsed = last_arrival.map_or(0.0, |t| t.duration_since(t0).as_secs_f64());

    let mut closing = JoinSet::new();
    for session in sessions.iter().flatten() {
        let session = Arc::clone(session);
        closing.spawn(async move { session.close().await });
    }
    while closing.join_next().await.is_some() {}
    for endpoint in &endpoints {
        endpoint.close(0u32.into(), b"bench done");
    }

    let mut kind_reports: Vec<KindReport> = KINDS
        .iter()
        .zip(&kinds)
        .map(|(name, (hist, unique, duplicates))| KindReport {
            kind: (*name).into(),
            deliveries: *unique,
            duplicates: *duplicates,
            latency_us: Latency::of(hist),
            ..KindReport::default()
        })
        .collect();
    for (room, (ok, errors)) in rooms.iter().zip(&sent) {
        let report = &mut kind_reports[room.kind];
        report.rooms += 1;
        report.members = room.members.len();
        report.rate_per_room = room.rate;
        report.sent += ok;
        report.send_errors += errors;
        report.expected_deliveries += ok * connected_members(room, &sessions);
    }
    for report in &mut kind_reports {
        report.lost = report.expected_deliveries.saturating_sub(report.deliveries);
    }
    let deliveries: u64 = kind_reports.iter().map(|k| k.deliveries).sum();
    let expected_deliveries: u64 = kind_reports.iter().map(|k| k.expected_deliveries).sum();
    let mib = |u: Usage| u.rss_kib as f64 / 1024.0;
    let per_delivery = |before: Usage, after: Usage| {
        (deliveries > 0)
            .then(|| (after.cpu_seconds - before.cpu_seconds).max(0.0) * 1e6 / deliveries as f64)
    };
    Ok(CrowdReport {
        run_id,
        clients: config.clients,
        connected: config.clients - setup_errors,
        setup_errors,
        first_setup_error: first_setup_error.or(first_send_error),
        scale: config.scale,
        seconds: config.seconds,
        setup_seconds,
        expected_deliveries,
        deliveries,
        lost: expected_deliveries.saturating_sub(deliveries),
        duplicates: kind_reports.iter().map(|k| k.duplicates).sum(),
        kinds: kind_reports,
        resyncs,
        deliveries_per_second: if elapsed > 0.0 {
            deliveries as f64 / elapsed
        } else {
            0.0
        },
        latency_us: Latency::of(&all),
        server_rss_start_mib: server_start.map(mib),
        server_rss_idle_mib: server_idle.map(mib),
        server_peak_rss_mib: server_after.map(|u| u.peak_rss_kib as f64 / 1024.0),
        server_cpu_us_per_delivery: server_before
            .zip(server_after)
            .and_then(|(b, a)| per_delivery(b, a)),
        bench_cpu_us_per_delivery: per_delivery(bench_before, bench_after).unwrap_or(0.0),
    })
}

/// Members of `room` that are connected (the others receive nothing).
fn connected_members(room: &Room, sessions: &[Option<Arc<Session>>]) -> u64 {
    room.members
        .iter()
        .filter(|&&m| sessions.get(m).is_some_and(Option::is_some))
        .count() as u64
}

/// Connects, registers `crowd-<run>-<index>` and logs in.
async fn log_in(
    server: &str,
    trust: &Trust,
    endpoint: &quinn::Endpoint,
    run_id: &str,
    index: usize,
) -> Result<(Session, mpsc::Receiver<Event>), ClientError> {
    let options = ConnectOptions {
        endpoint: Some(endpoint.clone()),
        ..ConnectOptions::default()
    };
    let mut session = Session::connect_with(server, trust, &options).await?;
    let events = session
        .take_events()
        .ok_or_else(|| ClientError::Protocol("no event stream".into()))?;
    let username = format!("crowd-{run_id}-{index}");
    register(&session, &username).await?;
    session.login(&username, PASSPHRASE, None).await?;
    Ok((session, events))
}

/// Posts a room's messages on its schedule, each from the next connected
/// member in turn; returns (acknowledged, failed, the first error).
async fn post(
    room: &Room,
    sessions: &[Option<Arc<Session>>],
    size: usize,
    seconds: f64,
    t0: Instant,
) -> (u64, u64, Option<String>) {
    let members: Vec<&Arc<Session>> = room
        .members
        .iter()
        .filter_map(|&m| sessions.get(m).and_then(Option::as_ref))
        .collect();
    let (mut ok, mut errors, mut first) = (0, 0, None);
    if members.is_empty() || room.rate <= 0.0 {
        return (ok, errors, first);
    }
    // Evenly spaced over the run, from a random phase: a room with one
    // message in the run (a group at ×1) posts it at a random moment of it.
    let phase: f64 = rand::random();
    let spacing = seconds / room.messages.max(1) as f64;
    let mut text = String::with_capacity(size.max(24));
    for n in 0..room.messages {
        let due = t0 + Duration::from_secs_f64((n as f64 + phase) * spacing);
        tokio::time::sleep_until(due).await;
        payload::write(&mut text, payload::now_nanos(), size);
        let sender = members[n as usize % members.len()];
        match sender.send(&room.name, &text).await {
            Ok(_) => ok += 1,
            Err(e) => {
                errors += 1;
                first.get_or_insert_with(|| format!("{}: {e}", room.name));
            }
        }
    }
    (ok, errors, first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_s_crowd_has_everyone_in_three_rooms() {
        let config = CrowdConfig::new("127.0.0.1:1", Trust::Pin([0; 32]));
        let rooms = layout(&config, "t");
        assert_eq!(rooms.len(), 1 + 20 + 500);
        let mut memberships = vec![0; config.clients];
        for room in &rooms {
            for &m in &room.members {
                memberships[m] += 1;
            }
        }
        assert!(memberships.iter().all(|&n| n == 3));
        let per_second: f64 = rooms.iter().map(|r| r.rate).sum();
        assert!((per_second - (2.0 + 20.0 + 25.0)).abs() < 1e-9);
        let deliveries: f64 = rooms.iter().map(|r| r.rate * r.members.len() as f64).sum();
        assert!((deliveries - (4000.0 + 2000.0 + 100.0)).abs() < 1e-9);
        // 500 groups at 0.05 msg/s for 60 s: three messages each.
        assert_eq!(rooms[21].messages, 3);
        assert!(rooms.iter().all(|r| r.name.len() <= 32));
    }
}
