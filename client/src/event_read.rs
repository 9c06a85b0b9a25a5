//! Reading one pushed event stream: inline when its bytes are already here,
//! in a task of its own only when some are still in flight.

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use chatroom_common::codec;
use chatroom_common::protocol::{Event, MAX_EVENT_BYTES, stream_code};
use quinn::{Chunk, ReadError, RecvStream, VarInt};
use tokio::sync::mpsc;
use tracing::debug;

/// Reads and decodes a pushed stream, then queues its event. Almost every
/// event arrives whole in one packet, FIN included, so one poll reads it and
/// no task is spawned; spawning one per event cost the benchmark (thousands
/// of connections in one process) more than decoding did. A stream still
/// missing bytes continues in its own task, so a lost packet never holds up
/// the streams behind it. A full queue is waited for here: that back-pressure
/// slows accepting streams, which quinn turns into less stream credit.
pub(crate) async fn read_pushed(mut stream: RecvStream, tx: &mpsc::Sender<Event>) {
    let mut parts = Vec::new();
    match poll_available(&mut stream, &mut parts) {
        Ok(true) => deliver(&parts, tx).await,
        Ok(false) => {
            let tx = tx.clone();
            tokio::spawn(async move {
                if read_rest(&mut stream, &mut parts).await.is_ok() {
                    deliver(&parts, &tx).await;
                }
            });
        }
        Err(()) => {}
    }
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
/// chunk) and queues the event.
async fn deliver(parts: &[Bytes], tx: &mpsc::Sender<Event>) {
    let joined;
    let bytes: &[u8] = match parts {
        [one] => one,
        _ => {
            joined = parts.concat();
            &joined
        }
    };
    match codec::decode::<Event>(bytes, MAX_EVENT_BYTES) {
        Ok(event) => {
            let _ = queue(event, tx).await;
        }
        Err(e) => debug!("undecodable event: {e}"),
    }
}

/// Queues a decoded event; a `Batch` as its events one by one, so the
/// library's users see each event alone however the server grouped them (a
/// batch inside a batch, which the server never sends, is dropped). `Err`
/// once the receiver is gone.
pub(crate) async fn queue(event: Event, tx: &mpsc::Sender<Event>) -> Result<(), ()> {
    match event {
        Event::Batch { events } => {
            for event in events {
                if matches!(event, Event::Batch { .. }) {
                    debug!("a batch inside a batch: dropped");
                    continue;
                }
                tx.send(event).await.map_err(drop)?;
            }
            Ok(())
        }
        event => tx.send(event).await.map_err(drop),
    }
}
