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
//! runs a `PASSIVE` checkpoint [`INTERVAL`] after the first commit since the
//! last one: it copies what the log holds into the database without taking
//! the write lock, so appends go on meanwhile. After a complete checkpoint
//! the next write starts the log over from its beginning, so the log stays
//! about one interval of writes long. With nothing written the thread
//! sleeps: an idle server (or the app hosting one) is not woken every second.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::Connection;
use tracing::{debug, warn};

use crate::store::StoreError;

/// How long after a commit the log is copied into the database: the writes
/// of that interval are copied together.
const INTERVAL: Duration = Duration::from_secs(1);

/// What the store's connection and the checkpoint thread share.
#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    /// Signalled on a commit and on stop.
    wake: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Something was committed since the last checkpoint began.
    written: bool,
    /// The store is gone: the thread ends.
    stop: bool,
    /// Checkpoints run, for the tests.
    rounds: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Plain flags: a panic while holding the lock leaves them usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The checkpoint thread's handle: dropping it (with the store) ends the thread
/// at once, without waiting for it.
#[derive(Debug)]
pub(super) struct Checkpointer {
    shared: Arc<Shared>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
    }
}

impl Checkpointer {
    /// Checkpoints run so far.
    #[cfg(test)]
    fn rounds(&self) -> u64 {
        self.shared.lock().rounds
    }
}

/// Starts the checkpoint thread for the database at `path`: `writer` (the
/// store's connection) tells it of each commit, and it checkpoints through
/// `conn`, a connection of its own.
pub(super) fn start(
    writer: &Connection,
    conn: Connection,
    path: &Path,
) -> Result<Checkpointer, StoreError> {
    let shared = Arc::new(Shared::default());
    let told = Arc::clone(&shared);
    // Called inside each write transaction's commit: it only sets a flag.
    writer.commit_hook(Some(move || {
        let mut state = told.lock();
        if !state.written {
            state.written = true;
            told.wake.notify_one();
        }
        // false: let the commit go ahead.
        false
    }));
    let name = path.display().to_string();
    let thread = Arc::clone(&shared);
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || run(&thread, &conn, &name))
        .map_err(|e| StoreError::Other(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(Checkpointer { shared })
}

/// Waits for a commit, lets [`INTERVAL`] of writes gather, checkpoints;
/// until stopped.
fn run(shared: &Shared, conn: &Connection, name: &str) {
    loop {
        let state = shared.lock();
        let state = shared
            .wake
            .wait_while(state, |s| !s.written && !s.stop)
            .unwrap_or_else(PoisonError::into_inner);
        let (mut state, _) = shared
            .wake
            .wait_timeout_while(state, INTERVAL, |s| !s.stop)
            .unwrap_or_else(PoisonError::into_inner);
        if state.stop {
            return;
        }
        // Cleared before copying: a commit meanwhile asks for another round.
        state.written = false;
        state.rounds += 1;
        drop(state);
        if let Err(e) = checkpoint(conn) {
            // The next commit brings another round; meanwhile the log only grows.
            warn!("checkpoint of {name} failed: {e}");
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &Path) -> Connection {
        let conn = Connection::open(path).expect("open");
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0")
            .expect("WAL");
        conn
    }

    #[test]
    fn an_idle_database_is_left_alone_and_a_write_is_checkpointed() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("idle.db");
        let writer = open(&path);
        writer.execute_batch("CREATE TABLE t (x)").expect("create");
        let checkpointer = start(&writer, open(&path), &path).expect("start");
        // The table's commit came before the hook: nothing to do. Several
        // intervals pass without a round (the old thread ran one a second).
        std::thread::sleep(INTERVAL * 2);
        assert_eq!(checkpointer.rounds(), 0);

        writer
            .execute("INSERT INTO t VALUES (1)", [])
            .expect("insert");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while checkpointer.rounds() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "a commit was never checkpointed"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // A read is no commit: no further round follows it.
        let _: i64 = writer
            .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .expect("read");
        std::thread::sleep(INTERVAL * 2);
        assert_eq!(checkpointer.rounds(), 1);
    }
}
