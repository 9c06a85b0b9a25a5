//! A connection's queue of events to push: a bounded channel of encoded
//! events, the rooms to resync when it overflowed, and the events waiting
//! beside it (`waiting.rs`).
//!
//! Messages go through the channel, and one that does not fit is dropped
//! and its room marked for a `Resync` (history has every message, so
//! nothing is lost). Presence changes, news of new public rooms and the
//! user's rooms joined or left elsewhere do not: they wait in a map, a later
//! change of a user's presence in a room (or of the user's membership of a
//! room) replacing the earlier one, so a crowd logging in or making rooms
//! costs one entry per change instead of a stream each, nothing is dropped,
//! and the writer puts all that waited on a few `Batch` streams.

mod waiting;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chatroom_common::codec;
use chatroom_common::protocol::{Event, Seq};
use tokio::sync::mpsc;
use tokio::time::Instant;

pub use waiting::Waiting;
use waiting::WaitingQueue;

/// The sending half of a connection's event queue.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// Encoded events for the connection's writer task.
    tx: mpsc::Sender<Bytes>,
    /// Rooms whose events were dropped, with the last sequence number before the drop.
    lagging: Arc<Mutex<BTreeMap<String, Seq>>>,
    /// Events waiting for the writer beside the queue.
    waiting: Arc<WaitingQueue>,
}

/// The receiving half, owned by the connection's writer task.
#[derive(Debug)]
pub struct OutboxReceiver {
    /// Encoded events to push, one stream each.
    pub rx: mpsc::Receiver<Bytes>,
    /// Shared with the [`Outbox`]: rooms to resync.
    lagging: Arc<Mutex<BTreeMap<String, Seq>>>,
    /// Shared with the [`Outbox`]: events waiting beside the queue.
    waiting: Arc<WaitingQueue>,
}

/// A bounded outbox of `capacity` events (presence and news wait beside it).
pub fn outbox(capacity: usize) -> (Outbox, OutboxReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let lagging = Arc::new(Mutex::new(BTreeMap::new()));
    let waiting = Arc::new(WaitingQueue::default());
    (
        Outbox {
            tx,
            lagging: lagging.clone(),
            waiting: waiting.clone(),
        },
        OutboxReceiver {
            rx,
            lagging,
            waiting,
        },
    )
}

impl Outbox {
    /// Queues an encoded event without waiting. When the queue is full the
    /// event is dropped; if it is a message (`seq`), its room is marked for a
    /// `Resync` from before it.
    pub fn queue(&self, room_name: &str, seq: Option<Seq>, event: &Bytes) {
        match self.tx.try_send(event.clone()) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                if let Some(seq) = seq {
                    let mut lagging = self.lagging.lock().unwrap_or_else(|e| e.into_inner());
                    let mark = lagging.entry(room_name.to_owned()).or_insert(seq - 1);
                    *mark = (*mark).min(seq - 1);
                }
            }
        }
    }

    /// Puts an event beside the queue, where it replaces one with the same
    /// key that has not gone out yet.
    pub fn queue_waiting(&self, item: &Arc<Waiting>) {
        self.waiting.push(item);
    }

    /// The client reads `Batch` events (it said so in `Hello`).
    pub fn enable_batches(&self) {
        self.waiting.enable_batches();
    }
}

impl OutboxReceiver {
    /// Takes the rooms marked for resync, as encoded `Resync` events.
    pub fn take_resyncs(&self) -> Vec<Bytes> {
        let taken = std::mem::take(&mut *self.lagging.lock().unwrap_or_else(|e| e.into_inner()));
        taken
            .into_iter()
            .filter_map(|(room, after_seq)| {
                codec::encode(&Event::Resync { room, after_seq })
                    .ok()
                    .map(Bytes::from)
            })
            .collect()
    }

    /// Takes the events that waited beside the queue: one `Batch` per
    /// [`waiting::BATCH_BYTES`] when the client reads them and more than one
    /// waited, else each as itself.
    pub fn take_waiting(&self) -> Vec<Bytes> {
        self.waiting.take()
    }

    /// Whether events wait beside the queue.
    pub fn has_waiting(&self) -> bool {
        self.waiting.has_any()
    }

    /// Waits for the next queued event or, whichever comes first, for the
    /// events beside the queue to be due: `waiting_due` when some wait
    /// already, else as soon as one is put there (one put there since the
    /// last wait returns at once: the wake-up is kept, never lost). The queue
    /// goes first when both are ready.
    pub async fn wait(&mut self, waiting_due: Option<Instant>) -> Waited {
        let beside = async {
            match waiting_due {
                Some(due) => tokio::time::sleep_until(due).await,
                None => self.waiting.queued().await,
            }
        };
        tokio::select! {
            biased;
            event = self.rx.recv() => event.map_or(Waited::Closed, Waited::Event),
            () = beside => Waited::Beside,
        }
    }
}

impl Drop for OutboxReceiver {
    /// The writer stopped (its connection is going): nothing is kept beside
    /// the queue for it any more, as the closed channel takes no events.
    fn drop(&mut self) {
        self.waiting.close();
    }
}

/// What [`OutboxReceiver::wait`] saw.
#[derive(Debug)]
pub enum Waited {
    /// An event from the queue.
    Event(Bytes),
    /// Events beside the queue may be due.
    Beside,
    /// The hub let go of the connection: nothing more will come.
    Closed,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
