//! S5, text beside file transfers: clients chat in one room at a steady rate
//! while the first few of them each upload a file and post it. Every text
//! is timed from its sender's send call to each receiver's arrival, and split
//! by whether it was sent while any upload was running; each upload's
//! throughput is reported. The uploaders are among the chatters, because
//! head-of-line blocking is per connection: in `--stream-mode single` only
//! an uploader's own texts queue behind its upload.
//!
//! Each text is sent in a task of its own at its due time (no send waits for
//! the one before), so a text stuck behind an upload does not delay the
//! sending of the next ones and every wait is counted once, by its own text.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chatroom_client::Session;
use chatroom_client::connection::{self, EventStreams};
use chatroom_client::session::new_key;
use chatroom_common::protocol::FileRef;
use hdrhistogram::Histogram;
use rand::{RngCore, SeedableRng};
use serde::Serialize;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::receive::{self, Plan, Sample, Shared};
use crate::run::{Ready, progress_bar, run_id, setup_client};
use crate::stats::{self, Latency};
use crate::{BenchConfig, BenchError, payload};

/// How often the completion check looks at the counters.
const TICK: Duration = Duration::from_millis(20);
/// Texts keep coming while uploads run, but a run never sends more than this
/// many times `messages` per client (a stuck upload still ends the run).
const MAX_TEXT_FACTOR: u64 = 20;

/// What to run: the chat load of a [`BenchConfig`] (clients, messages, rate,
/// payload, stream mode) plus the uploads.
#[derive(Debug, Clone)]
pub struct FilesConfig {
    /// The chat: `rate` must be set (texts are paced).
    pub chat: BenchConfig,
    /// Clients `0..files` each upload one file (and keep chatting).
    pub files: usize,
    /// Bytes per file (random, so nothing compresses or sniffs as a picture).
    pub file_bytes: usize,
    /// When the uploads start, after the first text is due.
    pub files_after: Duration,
}

/// One upload's outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UploadReport {
    /// The uploading client.
    pub client: usize,
    /// From the upload call to the `Uploaded` answer, seconds.
    pub seconds: f64,
    /// The file's size over that time, MiB/s.
    pub mib_per_second: f64,
    /// Whether the file was posted in the room afterwards.
    pub posted: bool,
    /// Why the upload or the post failed, if it did.
    pub error: Option<String>,
}

/// What an S5 run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FilesReport {
    /// `per-message` or `single`.
    pub stream_mode: String,
    /// Clients chatting (the uploaders among them).
    pub clients: usize,
    /// Clients that also uploaded a file.
    pub files: usize,
    /// Bytes per file.
    pub file_bytes: usize,
    /// Texts per second per client.
    pub rate_per_client: f64,
    /// Texts acknowledged.
    pub sent: u64,
    /// Texts that failed.
    pub send_errors: u64,
    /// The first failure, if any.
    pub first_send_error: Option<String>,
    /// Messages posted (texts and file posts) times receivers.
    pub expected_deliveries: u64,
    /// Distinct messages delivered, over all receivers.
    pub deliveries: u64,
    /// Expected deliveries that never arrived.
    pub lost: u64,
    /// Repeated deliveries.
    pub duplicates: u64,
    /// Texts' latency over the whole run, microseconds.
    pub text_all_us: Latency,
    /// Texts sent while at least one upload was running (none without files).
    pub text_during_us: Latency,
    /// Of those, the uploaders' own texts.
    pub text_during_uploaders_us: Latency,
    /// Of those, everyone else's texts.
    pub text_during_others_us: Latency,
    /// Deliveries of texts sent while uploads ran.
    pub text_during_deliveries: u64,
    /// From the first upload's start to the last one's end, seconds.
    pub transfer_seconds: f64,
    /// All files' bytes over `transfer_seconds`, MiB/s.
    pub total_mib_per_second: f64,
    /// Each upload.
    pub uploads: Vec<UploadReport>,
    /// Every text delivery's latency in microseconds, ascending, for a CDF
    /// (`during`: sent while uploads ran; without files, the whole run).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cdf_us: Vec<u64>,
}

/// Runs S5 once and reports it.
pub async fn run(config: FilesConfig) -> Result<FilesReport, BenchError> {
    let chat = &config.chat;
    let Some(rate) = chat.rate.filter(|r| *r > 0.0 && r.is_finite()) else {
        return Err(BenchError::Invalid("S5 needs a positive --rate".into()));
    };
    if chat.clients == 0 || chat.messages == 0 || config.files > chat.clients {
        return Err(BenchError::Invalid(
            "need clients, messages, and no more files than clients".into(),
        ));
    }
    let chat = Arc::new(chat.clone());
    let run_id = run_id();
    let room_name = format!("bench-{run_id}");
    let (plan_tx, plan_rx) = watch::channel(None::<Plan>);
    let (stop_tx, stop_rx) = watch::channel(false);
    let delivered = Arc::new(AtomicU64::new(0));

    // Setup: client 0 makes the room; everyone joins, a few at a time.
    let (addr, _) = connection::resolve(&chat.server).await?;
    let per_endpoint = chat.connections_per_endpoint.max(1);
    let endpoints = (0..chat.clients.div_ceil(per_endpoint))
        .map(|_| connection::endpoint_for(addr))
        .collect::<Result<Vec<_>, _>>()?;
    let bar = progress_bar(&chat, chat.clients as u64, "setting up");
    let first = setup_client(
        &chat,
        &chat.server,
        0,
        &run_id,
        &room_name,
        &endpoints[0],
        true,
    )
    .await?;
    let room: Arc<str> = Arc::from(first.1.as_str());
    let shared = Shared {
        room: room.clone(),
        plan_rx,
        stop_rx,
        delivered: delivered.clone(),
        senders: None,
        keep_samples: true,
    };
    let mut receivers = JoinSet::new();
    receivers.spawn(receive::receive(first.2, 0, shared.clone()));
    let mut ready = vec![first.0];
    let permits = Arc::new(Semaphore::new(chat.setup_concurrency.max(1)));
    let mut setups = JoinSet::new();
    for index in 1..chat.clients {
        let (chat, run_id, room) = (chat.clone(), run_id.clone(), room.clone());
        let endpoint = endpoints[index / per_endpoint].clone();
        let permits = permits.clone();
        setups.spawn(async move {
            let _permit = permits.acquire_owned().await;
            setup_client(&chat, &chat.server, index, &run_id, &room, &endpoint, false).await
        });
    }
    while let Some(joined) = setups.join_next().await {
        // Unlike the fan-out run, every client matters here: one missing
        // uploader changes the scenario.
        let (client, _, events) =
            joined.map_err(|e| BenchError::Invalid(format!("a setup task failed: {e}")))??;
        receivers.spawn(receive::receive(events, 0, shared.clone()));
        ready.push(client);
        bar.inc(1);
    }
    drop(shared);
    bar.finish_and_clear();
    ready.sort_by_key(|r| r.index);

    // Measure. Texts may go on past `messages` while uploads run, so the
    // receivers expect up to the cap; completion is counted here instead.
    let receivers_total = ready.len() as u64;
    let base = ready.iter().map(|r| r.latest_seq).max().unwrap_or(0);
    let most_texts = chat.messages * MAX_TEXT_FACTOR;
    let _ = plan_tx.send(Some(Plan {
        base,
        expected: receivers_total * most_texts + config.files as u64,
    }));
    let t0 = Instant::now();
    let sessions: Vec<Arc<Session>> = ready
        .into_iter()
        .map(|Ready { session, .. }| Arc::new(session))
        .collect();
    let uploads_done = Arc::new(AtomicBool::new(config.files == 0));
    let uploads_left = Arc::new(AtomicU64::new(config.files as u64));
    let mut uploaders = JoinSet::new();
    for (index, session) in sessions.iter().enumerate().take(config.files) {
        let (session, room) = (session.clone(), room.clone());
        let (done, left) = (uploads_done.clone(), uploads_left.clone());
        let (bytes, start) = (config.file_bytes, t0 + config.files_after);
        uploaders.spawn(async move {
            let report = upload_and_post(&session, &room, index, bytes, start).await;
            if left.fetch_sub(1, Ordering::AcqRel) == 1 {
                done.store(true, Ordering::Release);
            }
            report
        });
    }
    let mut senders = JoinSet::new();
    for (index, session) in sessions.iter().enumerate() {
        let (chat, session, room) = (chat.clone(), session.clone(), room.clone());
        let done = uploads_done.clone();
        let phase = index as f64 / chat.clients as f64;
        senders.spawn(async move {
            chat_texts(&chat, &session, &room, rate, phase, most_texts, &done, t0).await
        });
    }

    let mut uploads = Vec::new();
    while let Some(report) = uploaders.join_next().await {
        uploads.push(report.map_err(|e| BenchError::Invalid(format!("an upload task: {e}")))?);
    }
    uploads.sort_by_key(|u| u.0.client);
    let (mut sent, mut send_errors, mut first_send_error) = (0u64, 0u64, None::<String>);
    while let Some(outcome) = senders.join_next().await {
        let (ok, errors, first) =
            outcome.map_err(|e| BenchError::Invalid(format!("a sender task: {e}")))?;
        sent += ok;
        send_errors += errors;
        if first_send_error.is_none() {
            first_send_error = first;
        }
    }
    let posted = uploads.iter().filter(|u| u.0.posted).count() as u64;
    let target = (sent + posted) * receivers_total;
    let mut last_progress = (0u64, Instant::now());
    let mut tick = tokio::time::interval(TICK);
    loop {
        tick.tick().await;
        let now = delivered.load(Ordering::Relaxed);
        if now != last_progress.0 {
            last_progress = (now, Instant::now());
        }
        if now >= target || last_progress.1.elapsed() >= chat.drain_timeout {
            break;
        }
    }
    let _ = stop_tx.send(true);

    let mut samples: Vec<Sample> = Vec::new();
    let (mut deliveries, mut duplicates) = (0u64, 0u64);
    while let Some(received) = receivers.join_next().await {
        let received =
            received.map_err(|e| BenchError::Invalid(format!("a receiver task: {e}")))?;
        deliveries += received.unique;
        duplicates += received.duplicates;
        samples.extend(received.samples);
    }
    let mut closing = JoinSet::new();
    for session in sessions {
        closing.spawn(async move { session.close().await });
    }
    while closing.join_next().await.is_some() {}
    for endpoint in &endpoints {
        endpoint.close(0u32.into(), b"bench done");
    }

    let window = uploads
        .iter()
        .map(|u| u.1)
        .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)));
    let mut all = stats::new_histogram();
    let (mut during, mut mine, mut others) = (
        stats::new_histogram(),
        stats::new_histogram(),
        stats::new_histogram(),
    );
    let mut cdf = Vec::new();
    for s in &samples {
        all.saturating_record(s.latency_us);
        let inside = window.is_some_and(|(from, to)| (from..=to).contains(&s.sent_nanos));
        if inside {
            during.saturating_record(s.latency_us);
            let uploader = s.sender.is_some_and(|i| i < config.files);
            let split: &mut Histogram<u64> = if uploader { &mut mine } else { &mut others };
            split.saturating_record(s.latency_us);
        }
        if inside || window.is_none() {
            cdf.push(s.latency_us);
        }
    }
    cdf.sort_unstable();
    let transfer_seconds = window.map_or(0.0, |(from, to)| (to - from) as f64 / 1e9);
    let total_mib = (config.file_bytes * uploads.len()) as f64 / MIB;
    Ok(FilesReport {
        stream_mode: match chat.event_streams {
            EventStreams::PerMessage => "per-message".into(),
            EventStreams::Single => "single".into(),
        },
        clients: chat.clients,
        files: config.files,
        file_bytes: config.file_bytes,
        rate_per_client: rate,
        sent,
        send_errors,
        first_send_error,
        expected_deliveries: target,
        deliveries,
        lost: target.saturating_sub(deliveries),
        duplicates,
        text_all_us: Latency::of(&all),
        text_during_us: Latency::of(&during),
        text_during_uploaders_us: Latency::of(&mine),
        text_during_others_us: Latency::of(&others),
        text_during_deliveries: during.len(),
        transfer_seconds,
        total_mib_per_second: if transfer_seconds > 0.0 {
            total_mib / transfer_seconds
        } else {
            0.0
        },
        uploads: uploads.into_iter().map(|u| u.0).collect(),
        cdf_us: cdf,
    })
}

const MIB: f64 = 1024.0 * 1024.0;

/// One client's texts: the `n`th is due at `(n + phase) / rate` seconds after
/// `t0` and sent in a task of its own. Stops once `messages` are due and the
/// uploads are done (or at `most`). Returns (acknowledged, failed, first failure).
#[allow(clippy::too_many_arguments)]
async fn chat_texts(
    chat: &BenchConfig,
    session: &Arc<Session>,
    room: &Arc<str>,
    rate: f64,
    phase: f64,
    most: u64,
    uploads_done: &AtomicBool,
    t0: Instant,
) -> (u64, u64, Option<String>) {
    let mut sends = JoinSet::new();
    for n in 0..most {
        if n >= chat.messages && uploads_done.load(Ordering::Acquire) {
            break;
        }
        tokio::time::sleep_until(t0 + Duration::from_secs_f64((n as f64 + phase) / rate)).await;
        let (session, room, size) = (session.clone(), room.clone(), chat.payload);
        sends.spawn(async move {
            let mut text = String::with_capacity(size.max(24));
            payload::write(&mut text, payload::now_nanos(), size);
            session.send(&room, &text).await.map(|_| ())
        });
    }
    let (mut ok, mut failed, mut first) = (0, 0, None);
    while let Some(joined) = sends.join_next().await {
        match joined {
            Ok(Ok(())) => ok += 1,
            Ok(Err(e)) => {
                failed += 1;
                first.get_or_insert_with(|| e.to_string());
            }
            Err(e) => {
                failed += 1;
                first.get_or_insert_with(|| e.to_string());
            }
        }
    }
    (ok, failed, first)
}

/// Waits until `start`, uploads `bytes` random bytes and posts the file.
/// Returns the report and the upload's span in Unix nanoseconds.
async fn upload_and_post(
    session: &Session,
    room: &str,
    client: usize,
    bytes: usize,
    start: Instant,
) -> (UploadReport, (u64, u64)) {
    let mut file = vec![0u8; bytes];
    rand::rngs::StdRng::seed_from_u64(client as u64).fill_bytes(&mut file);
    tokio::time::sleep_until(start).await;
    let name = format!("file-{client}.bin");
    let (began, from) = (Instant::now(), payload::now_nanos());
    let uploaded = session.upload(&name, &file, |_| {}).await;
    let (seconds, to) = (began.elapsed().as_secs_f64(), payload::now_nanos());
    let mut report = UploadReport {
        client,
        seconds,
        mib_per_second: if seconds > 0.0 {
            bytes as f64 / MIB / seconds
        } else {
            0.0
        },
        ..UploadReport::default()
    };
    let posted = match uploaded {
        Ok(attachment) => {
            let files = vec![FileRef {
                hash: attachment.hash,
                name: attachment.name,
            }];
            // No timestamp in the text: a file post is not one of the texts timed.
            session
                .send_with_files(room, &format!("file {client}"), new_key(), files)
                .await
                .map(|_| ())
        }
        Err(e) => Err(e),
    };
    match posted {
        Ok(()) => report.posted = true,
        Err(e) => report.error = Some(e.to_string()),
    }
    (report, (from, to))
}
