//! Avatar pictures for the UI: from the disk cache when there, otherwise
//! fetched once from the server (and kept on disk), in a task beside the
//! worker's loop so a slow fetch never delays a command or an event.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use chatroom_common::protocol::AvatarHash;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::{Inbox, UiEvent};
use crate::avatar_cache::AvatarCache;
use crate::{ClientError, Session};

/// How a fetch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The bytes went to the UI.
    Delivered,
    /// The server has no such avatar (or sent bytes that do not match): asking again cannot help.
    Missing,
    /// The connection failed; ask again on the next one.
    Retry,
}

/// The end of one hash's fetch, reported back to the worker's loop.
#[derive(Debug)]
pub(super) struct Fetched {
    /// The avatar.
    pub(super) hash: AvatarHash,
    /// How it went.
    pub(super) outcome: Outcome,
}

/// What the UI asked for and what is on its way.
pub(super) struct AvatarFetcher {
    /// The disk cache, when the app has a place for one.
    disk: Option<AvatarCache>,
    /// Asked for and neither delivered nor given up on; kept across logins,
    /// since the UI asks for each picture once.
    pending: BTreeSet<AvatarHash>,
    /// Being fetched now (a subset of `pending`).
    in_flight: BTreeSet<AvatarHash>,
    /// Where fetch tasks report.
    done_tx: mpsc::UnboundedSender<Fetched>,
    /// The loop's end of `done_tx`.
    pub(super) done_rx: mpsc::UnboundedReceiver<Fetched>,
}

impl AvatarFetcher {
    /// A fetcher keeping pictures in `dir` (memory only when `None`).
    pub(super) fn new(dir: Option<PathBuf>) -> Self {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Self {
            disk: dir.map(AvatarCache::new),
            pending: BTreeSet::new(),
            in_flight: BTreeSet::new(),
            done_tx,
            done_rx,
        }
    }

    /// The UI wants these: disk hits go at once, the rest are fetched when
    /// there is a connection (now, or after the next login).
    pub(super) fn want(
        &mut self,
        hashes: Vec<AvatarHash>,
        session: Option<&Arc<Session>>,
        inbox: &Inbox,
    ) {
        for hash in hashes {
            if let Some(bytes) = self.disk.as_ref().and_then(|d| d.cached(hash)) {
                inbox.push(UiEvent::Avatar {
                    hash,
                    png: Bytes::from(bytes),
                });
            } else {
                self.pending.insert(hash);
            }
        }
        if let Some(session) = session {
            self.start(session, inbox);
        }
    }

    /// Starts fetching everything pending that is not already on its way.
    pub(super) fn start(&mut self, session: &Arc<Session>, inbox: &Inbox) {
        let batch: Vec<AvatarHash> = self.pending.difference(&self.in_flight).copied().collect();
        if batch.is_empty() {
            return;
        }
        self.in_flight.extend(batch.iter().copied());
        let (session, inbox, disk, done) = (
            Arc::clone(session),
            inbox.clone(),
            self.disk.clone(),
            self.done_tx.clone(),
        );
        tokio::spawn(async move {
            for hash in batch {
                let outcome = fetch_one(&session, disk.as_ref(), &inbox, hash).await;
                if done.send(Fetched { hash, outcome }).is_err() {
                    return;
                }
            }
        });
    }

    /// Records a finished fetch; a `Retry` stays pending for the next connection.
    pub(super) fn finished(&mut self, fetched: &Fetched) {
        self.in_flight.remove(&fetched.hash);
        if fetched.outcome != Outcome::Retry {
            self.pending.remove(&fetched.hash);
        }
    }
}

/// Fetches one picture, stores it on disk, and hands it to the UI.
async fn fetch_one(
    session: &Session,
    disk: Option<&AvatarCache>,
    inbox: &Inbox,
    hash: AvatarHash,
) -> Outcome {
    match session.avatar(hash).await {
        Ok(png) => {
            if let Some(disk) = disk
                && let Err(e) = disk.store(hash, &png)
            {
                // Still shown; it is fetched again next run.
                warn!(
                    "could not keep avatar {hash} in {}: {e}",
                    disk.dir().display()
                );
            }
            inbox.push(UiEvent::Avatar {
                hash,
                png: Bytes::from(png),
            });
            Outcome::Delivered
        }
        Err(e) if e.is_transient() => {
            debug!("avatar {hash} deferred: {e}");
            Outcome::Retry
        }
        Err(e) => {
            missing(inbox, hash, &e);
            Outcome::Missing
        }
    }
}

fn missing(inbox: &Inbox, hash: AvatarHash, err: &ClientError) {
    debug!("avatar {hash} unavailable: {err}");
    inbox.push(UiEvent::AvatarMissing(hash));
}
