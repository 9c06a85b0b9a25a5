//! Checkpoints of the write-ahead log on a thread of their own, so the disk's
//! flushes never stall the connection that appends messages.
//!
//! SQLite's default checkpoints the log from inside the commit that takes it
//! past 1,000 pages: that commit, and every send queued behind the store's
//! one connection, waits while the log and the database file are flushed to
//! disk (`fsync`), which on a shared virtual disk is milliseconds. With a
//! busy room that shows in every receiver's latency (docs/performance.md,
//! "S4: checkpoints off the append path"). So the store's connection turns
//! automatic checkpoints off, and this thread, with a connection of its own,
//! runs a `PASSIVE` checkpoint every [`INTERVAL`]: it copies what the log
//! holds into the database without taking the write lock, so appends go on
//! meanwhile. After a complete checkpoint the next write starts the log over
//! from its beginning, so the log stays about one interval of writes long.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::Duration;

use rusqlite::Connection;
use tracing::{debug, warn};

use crate::store::StoreError;

/// How often the log is copied into the database.
const INTERVAL: Duration = Duration::from_secs(1);

/// The checkpoint thread's handle: dropping it (with the store) ends the thread
/// at once, without waiting for it.
#[derive(Debug)]
pub(super) struct Checkpointer {
    /// Never sent on; its drop wakes the thread, which then exits.
    _stop: Sender<()>,
}

/// Starts checkpointing the database at `path` every [`INTERVAL`] through
/// `conn`, a connection of the checkpointer's own.
pub(super) fn start(conn: Connection, path: &Path) -> Result<Checkpointer, StoreError> {
    let (stop, stopped) = mpsc::channel::<()>();
    let name = path.display().to_string();
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                if let Err(e) = checkpoint(&conn) {
                    // The next round tries again; meanwhile the log only grows.
                    warn!("checkpoint of {name} failed: {e}");
                }
            }
        })
        .map_err(|e| StoreError::Other(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(Checkpointer { _stop: stop })
}

/// One `PASSIVE` checkpoint: copies as much of the log as no reader still
/// needs, without waiting for or blocking the writer.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    let (busy, log, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
    debug!(busy, log, copied, "checkpoint");
    Ok(())
}
