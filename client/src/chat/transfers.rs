//! Uploads and downloads of attachments, each a task beside the loop under
//! the id the UI chose. A task reports its progress straight to the UI (a few
//! times a second at most) and its end to the loop, which hands it on unless
//! the transfer was cancelled meanwhile: after [`Command::CancelTransfer`]
//! nothing more is said about it. Cancelling aborts the task, which drops the
//! stream (an upload's is reset, see `transfer.rs`).
//!
//! Transfers are not tied to the connection's epoch: one cut by a lost
//! connection fails like any other failure, with a notice the UI can offer to
//! retry from, instead of vanishing unanswered.
//!
//! [`Command::CancelTransfer`]: super::Command::CancelTransfer

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chatroom_common::protocol::{ErrorCode, FileHash};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::files::{Fetched, MAX_READ_BYTES, Purpose, TransferId, UploadSource};
use super::notice::{About, Cause, Notice};
use super::thumbnails::Thumbnails;
use super::worker::Worker;
use super::{Inbox, UiEvent};
use crate::ClientError;

/// The least time between two progress reports of one transfer.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// How a transfer task ended, reported to the loop.
pub(super) struct Finished {
    /// The transfer.
    id: TransferId,
    /// What to tell the UI.
    event: UiEvent,
    /// A thumbnail to keep (hash, type, bytes).
    thumbnail: Option<(FileHash, String, Bytes)>,
}

/// The transfers running and the thumbnails fetched.
pub(super) struct Transfers {
    /// How to stop each running transfer.
    running: HashMap<TransferId, AbortHandle>,
    /// Thumbnails fetched so far.
    thumbnails: Thumbnails,
    /// Where transfer tasks report.
    done_tx: mpsc::UnboundedSender<Finished>,
    /// The loop's end of `done_tx`.
    pub(super) done_rx: mpsc::UnboundedReceiver<Finished>,
}

impl Transfers {
    pub(super) fn new() -> Self {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Self {
            running: HashMap::new(),
            thumbnails: Thumbnails::default(),
            done_tx,
            done_rx,
        }
    }

    /// Runs `task` as transfer `id`; an id still running is stopped first.
    fn start(&mut self, id: TransferId, task: impl Future<Output = Finished> + Send + 'static) {
        let done_tx = self.done_tx.clone();
        let handle = tokio::spawn(async move {
            // Fails only when the worker has stopped: nobody is left to tell.
            let _ = done_tx.send(task.await);
        });
        if let Some(older) = self.running.insert(id, handle.abort_handle()) {
            older.abort();
        }
    }

    /// Stops a transfer; its end, if already on its way, is not reported.
    pub(super) fn cancel(&mut self, id: TransferId) {
        if let Some(handle) = self.running.remove(&id) {
            handle.abort();
        }
    }

    /// A transfer ended: tells the UI, unless it was cancelled.
    pub(super) fn finished(&mut self, finished: Finished, inbox: &Inbox) {
        if self.running.remove(&finished.id).is_none() {
            return;
        }
        if let Some((hash, mime, bytes)) = finished.thumbnail {
            self.thumbnails.keep(hash, mime, bytes);
        }
        inbox.push(finished.event);
    }

    /// Stops everything and forgets the thumbnails (logout).
    pub(super) fn clear(&mut self) {
        for (_, handle) in self.running.drain() {
            handle.abort();
        }
        self.thumbnails.clear();
    }
}

impl Worker {
    /// Reads (when given a path) and uploads a file as transfer `id`.
    pub(super) fn upload(&mut self, id: TransferId, name: String, source: UploadSource) {
        let Some(session) = self.session() else {
            let notice = Notice::offline();
            return self.inbox.push(UiEvent::UploadFailed { id, notice });
        };
        let inbox = self.inbox.clone();
        self.transfers.start(id, async move {
            let bytes = match source {
                UploadSource::Bytes(bytes) => bytes,
                UploadSource::Path(path) => match read_file(&path).await {
                    Ok(bytes) => bytes,
                    Err(notice) => return finished(id, UiEvent::UploadFailed { id, notice }),
                },
            };
            let total = bytes.len() as u64;
            let mut progress = Progress::new(inbox, id, true);
            progress.report(0, total);
            let result = session
                .upload(&name, &bytes, |sent| progress.report(sent, total))
                .await;
            let event = match result {
                Ok(file) => UiEvent::Uploaded { id, file },
                Err(e) => UiEvent::UploadFailed {
                    id,
                    notice: transfer_notice(About::Upload(name), &e),
                },
            };
            finished(id, event)
        });
    }

    /// Downloads a file or thumbnail as transfer `id`; a thumbnail already
    /// fetched is answered at once.
    pub(super) fn download(&mut self, id: TransferId, hash: FileHash, purpose: Purpose) {
        if purpose == Purpose::Thumbnail
            && let Some((mime, bytes)) = self.transfers.thumbnails.get(&hash)
        {
            let fetched = Fetched::Bytes { mime, bytes };
            return self.inbox.push(UiEvent::Downloaded { id, hash, fetched });
        }
        let Some(session) = self.session() else {
            let notice = Notice::offline();
            return self
                .inbox
                .push(UiEvent::DownloadFailed { id, hash, notice });
        };
        let inbox = self.inbox.clone();
        self.transfers.start(id, async move {
            let mut progress = Progress::new(inbox, id, false);
            let result = session
                .download(hash, |received, total| progress.report(received, total))
                .await;
            let file = match result {
                Ok(file) => file,
                Err(e) => {
                    let notice = transfer_notice(About::Download, &e);
                    return finished(id, UiEvent::DownloadFailed { id, hash, notice });
                }
            };
            let bytes = Bytes::from(file.bytes);
            let (fetched, thumbnail) = match purpose {
                Purpose::Thumbnail => {
                    let kept = (hash, file.mime.clone(), bytes.clone());
                    let fetched = Fetched::Bytes {
                        mime: file.mime,
                        bytes,
                    };
                    (fetched, Some(kept))
                }
                Purpose::Show => (
                    Fetched::Bytes {
                        mime: file.mime,
                        bytes,
                    },
                    None,
                ),
                Purpose::SaveTo(path) => match write_whole(&path, bytes).await {
                    Ok(()) => (Fetched::Saved(path), None),
                    Err(e) => {
                        let notice = Notice {
                            about: Some(About::SaveFile(path)),
                            cause: Cause::Other,
                            detail: e.to_string(),
                        };
                        return finished(id, UiEvent::DownloadFailed { id, hash, notice });
                    }
                },
            };
            Finished {
                id,
                event: UiEvent::Downloaded { id, hash, fetched },
                thumbnail,
            }
        });
    }
}

/// A transfer's end with nothing to keep.
fn finished(id: TransferId, event: UiEvent) -> Finished {
    Finished {
        id,
        event,
        thumbnail: None,
    }
}

/// A failed transfer as a notice. A connection that closed under it reads as
/// "not connected right now": trying again after the reconnect is the remedy.
fn transfer_notice(about: About, err: &ClientError) -> Notice {
    let cause = match err {
        ClientError::Closed(_) | ClientError::Unreachable(_) => Cause::Offline,
        other => other.code().map_or(Cause::Other, Cause::Refused),
    };
    Notice {
        about: Some(about),
        cause,
        detail: err.to_string(),
    }
}

/// Reads a file to upload, refusing what is not a file or is larger than
/// [`MAX_READ_BYTES`] before reading it.
async fn read_file(path: &Path) -> Result<Bytes, Notice> {
    let fail = |cause, detail: String| Notice {
        about: Some(About::ReadFile(path.to_owned())),
        cause,
        detail,
    };
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| fail(Cause::Other, e.to_string()))?;
    if !meta.is_file() {
        return Err(fail(Cause::Other, "it is not a file".into()));
    }
    let too_large = |len: u64| {
        fail(
            Cause::Refused(ErrorCode::TooLarge),
            format!(
                "it is {} MiB; the app sends files up to {} MiB",
                len.div_ceil(1024 * 1024),
                MAX_READ_BYTES / (1024 * 1024)
            ),
        )
    };
    if meta.len() > MAX_READ_BYTES {
        return Err(too_large(meta.len()));
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| fail(Cause::Other, e.to_string()))?;
    // It may have grown since it was measured.
    if bytes.len() as u64 > MAX_READ_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(Bytes::from(bytes))
}

/// Writes a downloaded file whole: into a temporary file beside `path`, then
/// renamed over it, so the path never holds half a file.
async fn write_whole(path: &Path, bytes: Bytes) -> std::io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
    })?;
    let mut partial = name.to_owned();
    partial.push(format!(".part{}", std::process::id()));
    let partial = path.with_file_name(partial);
    tokio::fs::write(&partial, &bytes).await?;
    if let Err(e) = tokio::fs::rename(&partial, path).await {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(e);
    }
    Ok(())
}

/// A transfer's progress reports: the first and the last always, the ones
/// between at most every [`PROGRESS_EVERY`], so a fast transfer of a large
/// file does not flood the UI's queue.
struct Progress {
    /// Where the reports go.
    inbox: Inbox,
    /// The transfer.
    id: TransferId,
    /// Whether it is an upload (`UploadProgress`) or a download.
    upload: bool,
    /// When the last report went, and how far it said.
    last: Option<(Instant, u64)>,
}

impl Progress {
    fn new(inbox: Inbox, id: TransferId, upload: bool) -> Self {
        Self {
            inbox,
            id,
            upload,
            last: None,
        }
    }

    /// Reports `done` of `total` bytes when it is due.
    fn report(&mut self, done: u64, total: u64) {
        let now = Instant::now();
        let due = match self.last {
            None => true,
            Some((_, said)) if said == done => false,
            Some((at, _)) => done >= total || now.duration_since(at) >= PROGRESS_EVERY,
        };
        if !due {
            return;
        }
        self.last = Some((now, done));
        let id = self.id;
        self.inbox.push(if self.upload {
            UiEvent::UploadProgress {
                id,
                sent: done,
                total,
            }
        } else {
            UiEvent::DownloadProgress {
                id,
                received: done,
                total,
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn progress_says_the_first_and_last_and_little_between() {
        let inbox = Inbox::new(Arc::new(|| {}));
        let mut progress = Progress::new(inbox.clone(), TransferId(1), true);
        for done in (0..=1000).step_by(10) {
            progress.report(done, 1000);
        }
        progress.report(1000, 1000);
        let said: Vec<u64> = inbox
            .drain()
            .into_iter()
            .filter_map(|e| match e {
                UiEvent::UploadProgress { sent, .. } => Some(sent),
                _ => None,
            })
            .collect();
        assert_eq!(said.first(), Some(&0));
        assert_eq!(said.last(), Some(&1000));
        assert!(said.len() <= 3, "{said:?}");
    }
}
