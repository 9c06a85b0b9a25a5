//! A connection's writer: pushes its queued events, each on a stream of its
//! own (or, for the benchmark's comparison, all as frames on one stream).

use std::time::Duration;

use bytes::Bytes;
use quinn::{Connection, SendStream};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::time::Instant;

use crate::outbox::{OutboxReceiver, Waited};

/// Events pushed in a row before resyncs and the events waiting beside the
/// queue get a turn, when the queue never runs dry.
const EVENTS_PER_TURN: usize = 64;
/// The least time between two sends of what waited beside the queue. A
/// presence change or a new room after a quiet spell goes at once; in a
/// crowd's storm of them, a connection gets at most one batch per gap
/// instead of a stream per change as fast as it drains, which is what keeps
/// thousands of connections from each holding a hundred streams in flight.
const WAITING_GAP: Duration = Duration::from_millis(20);

/// Pushes queued events, one unidirectional stream each. Writing into a stream
/// only buffers, so a lost packet on one stream never holds up the next one.
/// `delay` is [`crate::config::Limits::push_delay`]: how long the first event
/// after a quiet spell waits for company.
pub async fn write_events(conn: Connection, mut outbox: OutboxReceiver, delay: Duration) {
    let _ = drain(&mut outbox, Out::Streams(&conn), delay).await;
}

/// Pushes one event on a stream of its own. The bytes are handed to quinn as
/// they are: every recipient's stream shares the one encoded buffer. Dropping
/// the stream finishes it (quinn's `Drop`), which saves the lock round trip
/// and driver wake-up an explicit `finish` would add per event.
async fn push(conn: &Connection, bytes: Bytes) -> Result<(), PushError> {
    let mut stream = conn.open_uni().await?;
    stream.write_chunk(bytes).await?;
    Ok(())
}

/// The benchmark's comparison mode ([`crate::config::StreamMode::Single`]):
/// every event goes on one unidirectional stream as a frame (u32 big-endian
/// length, then the encoded event), so a lost packet holds up every event
/// behind it.
pub async fn write_framed_events(conn: Connection, mut outbox: OutboxReceiver) {
    let Ok(mut stream) = conn.open_uni().await else {
        return;
    };
    if drain(&mut outbox, Out::Frames(&mut stream), Duration::ZERO)
        .await
        .is_ok()
    {
        let _ = stream.finish();
    }
}

async fn write_frame(stream: &mut SendStream, bytes: Bytes) -> Result<(), PushError> {
    let len = u32::try_from(bytes.len()).map_err(|_| PushError::TooLong(bytes.len()))?;
    stream.write_all(&len.to_be_bytes()).await?;
    stream.write_chunk(bytes).await?;
    Ok(())
}

/// Where a writer puts events.
enum Out<'a> {
    /// A stream of its own for each.
    Streams(&'a Connection),
    /// Frames on one stream (the benchmark's comparison).
    Frames(&'a mut SendStream),
}

impl Out<'_> {
    async fn send(&mut self, bytes: Bytes) -> Result<(), PushError> {
        match self {
            Out::Streams(conn) => push(conn, bytes).await,
            Out::Frames(stream) => write_frame(stream, bytes).await,
        }
    }
}

/// Sends everything the outbox gets until it closes: queued events first,
/// then, whenever the queue runs dry (or after [`EVENTS_PER_TURN`] in a row),
/// the rooms to resync and, at most once per [`WAITING_GAP`], the presence
/// changes and room news that waited meanwhile, which is what turns a
/// crowd's thousands of those into a few batches.
///
/// One event at a time: a writer blocked on stream credit then holds one
/// event beyond its bounded queue, never a batch (taking 64 at once was
/// measured neutral in instructions and broke that bound for a stalled
/// reader; docs/performance.md, third round). Taking from a non-empty queue
/// does not yield, so a backlog is still written without a wake-up between
/// events and quinn's driver packs their frames together.
///
/// With a `delay`, an event that woke the writer from a quiet spell waits
/// that long first, so the events arriving meanwhile are written in the same
/// run and share its packets and wake-ups. A backlog never waits: only the
/// wake-up does, so no event waits longer than `delay` for it.
async fn drain(
    outbox: &mut OutboxReceiver,
    mut out: Out<'_>,
    delay: Duration,
) -> Result<(), PushError> {
    let mut in_a_row = 0;
    // When what waits beside the queue may next be sent.
    let mut waiting_due = Instant::now();
    loop {
        match outbox.rx.try_recv() {
            Ok(event) => {
                out.send(event).await?;
                in_a_row += 1;
                if in_a_row < EVENTS_PER_TURN {
                    continue;
                }
            }
            Err(TryRecvError::Disconnected) => return Ok(()),
            Err(TryRecvError::Empty) => {}
        }
        in_a_row = 0;
        for resync in outbox.take_resyncs() {
            out.send(resync).await?;
        }
        let waiting = outbox.has_waiting();
        if waiting && Instant::now() >= waiting_due {
            for waited in outbox.take_waiting() {
                out.send(waited).await?;
            }
            waiting_due = Instant::now() + WAITING_GAP;
            continue;
        }
        if !outbox.rx.is_empty() {
            continue;
        }
        // With nothing beside the queue, an event put there after the check
        // above left a wake-up behind, so waiting never strands it.
        match outbox.wait(waiting.then_some(waiting_due)).await {
            Waited::Event(event) => {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                out.send(event).await?;
                in_a_row = 1;
            }
            Waited::Beside => {}
            Waited::Closed => return Ok(()),
        }
    }
}

/// Why an event could not be pushed: the connection is gone or going, so the
/// writer stops (the client catches up from history when it comes back).
#[derive(Debug, thiserror::Error)]
enum PushError {
    /// No stream could be opened.
    #[error("opening a stream: {0}")]
    Open(#[from] quinn::ConnectionError),
    /// The stream broke while writing.
    #[error("writing: {0}")]
    Write(#[from] quinn::WriteError),
    /// A frame longer than its u32 length prefix can say.
    #[error("an event of {0} bytes does not fit a frame")]
    TooLong(usize),
}
