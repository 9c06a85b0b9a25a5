//! Group commit for message appends: sends that arrive while a batch is being
//! written wait in a queue and go into the next transaction together.
//!
//! Every caller still gets its answer only after the transaction holding its
//! message has committed ("acknowledged means stored"). What changes is the
//! cost under load: one commit (one write-ahead-log append and its page
//! writes) and one trip to the blocking pool per batch instead of per message.
//! A quiet room sees no delay: a send that finds no batch running starts one
//! at once.

use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::ops::{self, AppendResult};
use crate::store::{NewMessage, StoreError};

/// The most messages written in one transaction, so a long queue is committed
/// (and acknowledged) in steps rather than all at the end.
const MAX_BATCH: usize = 256;

/// Appends waiting for the writer, and whether a writer is running.
#[derive(Default)]
pub(super) struct AppendQueue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    waiting: Vec<(NewMessage, oneshot::Sender<AppendResult>)>,
    /// True while a blocking task is draining `waiting`; it alone clears it.
    writing: bool,
}

impl AppendQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Queues `message` and waits for the commit that stores it; starts the writer
/// on tokio's blocking pool if none is running.
pub(super) async fn append(
    queue: &Arc<AppendQueue>,
    conn: &Arc<Mutex<Connection>>,
    message: NewMessage,
) -> AppendResult {
    let (done, answer) = oneshot::channel();
    let start_writer = {
        let mut state = queue.lock();
        state.waiting.push((message, done));
        !std::mem::replace(&mut state.writing, true)
    };
    if start_writer {
        let (queue, conn) = (Arc::clone(queue), Arc::clone(conn));
        tokio::task::spawn_blocking(move || write_batches(&queue, &conn));
    }
    answer.await.unwrap_or_else(|_| {
        Err(StoreError::Other(
            "the SQLite writer stopped before storing the message".into(),
        ))
    })
}

/// Writes batches until the queue is empty, then marks the writer stopped.
fn write_batches(queue: &AppendQueue, conn: &Mutex<Connection>) {
    // If a batch panics, its callers' senders are dropped (they get an error)
    // and this guard lets the next append start a new writer.
    let _stopped = StopWriting(queue);
    loop {
        let batch: Vec<_> = {
            let mut state = queue.lock();
            if state.waiting.is_empty() {
                state.writing = false;
                return;
            }
            let n = state.waiting.len().min(MAX_BATCH);
            state.waiting.drain(..n).collect()
        };
        let (messages, senders): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        // The connection is released before the callers are answered.
        let results = ops::append_messages(&mut super::lock(conn), &messages);
        match results {
            Ok(results) => {
                for (sender, result) in senders.into_iter().zip(results) {
                    let _ = sender.send(result);
                }
            }
            Err(e) => {
                for sender in senders {
                    let _ = sender.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Clears `writing` when the writer panics. (A writer that ends normally
/// clears it under the same lock as its last look at the queue; clearing it
/// again here could stop a writer started since.)
struct StopWriting<'a>(&'a AppendQueue);

impl Drop for StopWriting<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().writing = false;
        }
    }
}
