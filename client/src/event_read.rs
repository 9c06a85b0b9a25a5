//! Reading one pushed event stream: inline when its bytes are already here,
//! in a task of its own only when some are still in flight; its events
//! queued in the server's order where that matters (`event_order`).

use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use chatroom_common::codec;
use chatroom_common::protocol::{Event, MAX_EVENT_BYTES, stream_code};
use quinn::{Chunk, ReadError, RecvStream, VarInt};
use tokio::sync::mpsc;
use tracing::debug;

use crate::event_order::EventOrder;

/// Where a connection's pushed events go: the queue the library's user
/// reads, and the order of the streams they came on.
#[derive(Debug, Clone)]
pub(crate) struct Pushed {
    /// Decoded events for the library's user.
    pub(crate) tx: mpsc::Sender<Event>,
    /// Which stream last told what about a user or a room.
    pub(crate) order: Arc<Mutex<EventOrder>>,
}

/// Reads and decodes a pushed stream, then queues its event. Almost every
/// event arrives whole in one packet, FIN included, so one poll reads it and
/// no task is spawned; spawning one per event cost the benchmark (thousands
/// of connections in one process) more than decoding did. A stream still
/// missing bytes continues in its own task, so a lost packet never holds up
/// the streams behind it. A full queue is waited for here: that back-pressure
/// slows accepting streams, which quinn turns into less stream credit.
pub(crate) async fn read_pushed(mut stream: RecvStream, pushed: &Pushed) {
    let settle = Settle {
        index: stream.id().index(),
        order: pushed.order.clone(),
    };
    let mut parts = Vec::new();
    match poll_available(&mut stream, &mut parts) {
        Ok(true) => deliver(&parts, &settle, &pushed.tx).await,
        Ok(false) => {
            let tx = pushed.tx.clone();
            tokio::spawn(async move {
                if read_rest(&mut stream, &mut parts).await.is_ok() {
                    deliver(&parts, &settle, &tx).await;
                }
            });
        }
        Err(()) => {}
    }
}

/// Marks a stream as read when dropped: after its events were queued, when
/// it failed, or when its task ended early, so no later stream waits for it.
struct Settle {
    index: u64,
    order: Arc<Mutex<EventOrder>>,
}

impl Drop for Settle {
    fn drop(&mut self) {
        lock(&self.order).settle(self.index);
    }
}

/// The order's lock; a panic elsewhere while holding it leaves nothing half
/// done that matters here.
fn lock(order: &Mutex<EventOrder>) -> std::sync::MutexGuard<'_, EventOrder> {
    order.lock().unwrap_or_else(|e| e.into_inner())
}

/// Takes the chunks that are already here without waiting. `Ok(true)` once
/// the stream is finished, `Ok(false)` when more is to come, `Err` when the
/// stream failed or is over the cap (both logged).
fn poll_available(stream: &mut RecvStream, parts: &mut Vec<Bytes>) -> Result<bool, ()> {
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        let read = pin!(stream.read_chunk(MAX_EVENT_BYTES, true)).poll(&mut cx);
        match read {
            Poll::Pending => return Ok(false),
            Poll::Ready(result) => {
                if !take(stream, parts, result)? {
                    return Ok(true);
                }
            }
        }
    }
}

/// Reads until the stream is finished.
async fn read_rest(stream: &mut RecvStream, parts: &mut Vec<Bytes>) -> Result<(), ()> {
    loop {
        let result = stream.read_chunk(MAX_EVENT_BYTES, true).await;
        if !take(stream, parts, result)? {
            return Ok(());
        }
    }
}

/// Keeps a chunk; `Ok(false)` at the end of the stream.
fn take(
    stream: &mut RecvStream,
    parts: &mut Vec<Bytes>,
    read: Result<Option<Chunk>, ReadError>,
) -> Result<bool, ()> {
    match read {
        Ok(Some(chunk)) => {
            parts.push(chunk.bytes);
            if parts.iter().map(Bytes::len).sum::<usize>() > MAX_EVENT_BYTES {
                debug!("pushed event over {MAX_EVENT_BYTES} bytes");
                let _ = stream.stop(VarInt::from_u32(stream_code::TOO_LARGE));
                return Err(());
            }
            Ok(true)
        }
        Ok(None) => Ok(false),
        Err(e) => {
            debug!("event stream failed: {e}");
            Err(())
        }
    }
}

/// Decodes the stream's bytes (without copying them when they came in one
/// chunk) and queues its events, but those a newer stream superseded.
async fn deliver(parts: &[Bytes], settle: &Settle, tx: &mpsc::Sender<Event>) {
    let joined;
    let bytes: &[u8] = match parts {
        [one] => one,
        _ => {
            joined = parts.concat();
            &joined
        }
    };
    let event = match codec::decode::<Event>(bytes, MAX_EVENT_BYTES) {
        Ok(event) => event,
        Err(e) => {
            debug!("undecodable event: {e}");
            return;
        }
    };
    for event in unbatched(event) {
        // The slot first, then the check and the send under one lock: a
        // newer stream's event read on another thread cannot be queued
        // between this one's check and its send.
        let Ok(permit) = tx.reserve().await else {
            return;
        };
        let mut order = lock(&settle.order);
        if order.admit(settle.index, &event) {
            permit.send(event);
        } else {
            debug!(
                stream = settle.index,
                "an event a newer stream superseded: dropped"
            );
        }
    }
}

/// Queues a decoded event (the framed mode's, whose order is the frames').
/// `Err` once the receiver is gone.
pub(crate) async fn queue(event: Event, tx: &mpsc::Sender<Event>) -> Result<(), ()> {
    for event in unbatched(event) {
        tx.send(event).await.map_err(drop)?;
    }
    Ok(())
}

/// A `Batch` as its events, so the library's users see each event alone
/// however the server grouped them (a batch inside a batch, which the server
/// never sends, is dropped); any other event as itself.
fn unbatched(event: Event) -> impl Iterator<Item = Event> {
    let (one, batched) = match event {
        Event::Batch { events } => (None, events),
        event => (Some(event), Vec::new()),
    };
    one.into_iter().chain(batched.into_iter().filter(|event| {
        let nested = matches!(event, Event::Batch { .. });
        if nested {
            debug!("a batch inside a batch: dropped");
        }
        !nested
    }))
}
