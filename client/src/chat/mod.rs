//! The chat worker: a reconnecting, headless chat client on its own tokio
//! runtime thread, driven by [`Command`]s and reporting [`UiEvent`]s.
//!
//! The desktop app and the tests use it the same way: [`ChatHandle::spawn`]
//! starts the thread, [`ChatHandle::send`] queues a command (never blocks), and
//! [`ChatHandle::drain`] takes whatever the worker reported since the last
//! call. The worker calls the waker after queueing events, which in the app is
//! `egui::Context::request_repaint`, so the UI wakes only when there is news.
//!
//! # Layout
//! - [`inbox`]: the mutex-guarded event queue and its waker.
//! - `worker`: the select loop and its state; every request runs as a task
//!   beside it and reports back (`tasks`), tagged with its connection's epoch.
//! - `tasks`: what a finished request reports to the loop.
//! - `connect`: connecting, registering, logging in, the verification code,
//!   reconnecting, logging out.
//! - `sends`: sending, one message in flight per room, rooms in parallel.
//! - `outbox`: sends waiting for an acknowledgement, per room, retried with the same key.
//! - `rooms`: the room list, joins, gap fills, resyncs and older pages.
//! - `sync`: per-room timelines (ordering, duplicates, gaps).
//! - `profile`: picking and uploading this user's picture.
//! - `avatars`: pictures from the disk cache or fetched once, beside the loop.
//! - [`files`]: transfer ids, upload sources, download purposes and results.
//! - `transfers`: uploads and downloads as tasks beside the loop, their
//!   throttled progress and cancelling; `thumbnails`: the thumbnails kept.
//! - [`backoff`]: reconnect delays.
//! - [`problem`]: failures in plain words.
//! - [`notice`]: a failed request as a notice: English words, what failed and
//!   the server's code, for front ends that word it in another language.

mod avatars;
pub mod backoff;
mod connect;
pub mod files;
pub mod inbox;
pub mod notice;
mod outbox;
pub mod problem;
mod profile;
mod rooms;
mod sends;
mod sync;
mod tasks;
mod thumbnails;
mod transfers;
mod worker;

use std::fmt;
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use chatroom_common::protocol::{
    Attachment, AvatarHash, ChatMessage, ErrorCode, FileHash, IdempotencyKey, RoomInfo, Seq,
    UserInfo,
};
use tokio::sync::mpsc;
use tracing::warn;

pub use files::{Fetched, MAX_READ_BYTES, Purpose, TransferId, UploadSource};
pub use inbox::{Inbox, Waker};
pub use notice::{About, Cause, Notice};
pub use problem::LoginProblem;

use crate::Trust;

/// A passphrase held in memory only: never persisted, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a passphrase.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The passphrase, for computing a one-time password.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Who logs in where; the worker keeps it to log in again after a drop.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// `host:port` of the server.
    pub server: String,
    /// How the server's certificate is checked.
    pub trust: Trust,
    /// The account.
    pub username: String,
    /// The passphrase; the one-time password is computed from it locally.
    pub passphrase: Secret,
    /// The challenge count answered last time for this server and user
    /// (refuses a server that asks for a used count again: the small-n attack).
    pub last_count: Option<u32>,
    /// Public rooms to (re)join besides `lobby` and the direct rooms.
    pub rooms: Vec<String>,
}

/// What the UI asks of the network side.
#[derive(Debug)]
pub enum Command {
    /// Fetch a server's certificate fingerprint for a trust-on-first-use prompt.
    Probe {
        /// `host:port`.
        server: String,
    },
    /// Log in and stay logged in (reconnecting) until [`Command::Logout`].
    Login(Credentials),
    /// Create an account (the S/KEY chain is computed here), then log in.
    Register {
        /// Where and as whom; `last_count` is ignored.
        credentials: Credentials,
        /// The contact address the server asks for.
        email: String,
    },
    /// Join a public room (its history and who is online follow).
    Join {
        /// The room's name.
        room: String,
    },
    /// Leave a public room: the server stops sending its events, the worker
    /// forgets it and its unsent messages, and [`UiEvent::Left`] follows.
    Leave {
        /// The room's name.
        room: String,
    },
    /// Create a public room and join it.
    CreateRoom {
        /// The room's name.
        name: String,
    },
    /// Open the direct conversation with another user.
    OpenDirect {
        /// The other user's name.
        user: String,
    },
    /// Post a message; `key` identifies it until acknowledged and makes retries safe.
    Send {
        /// The room.
        room: String,
        /// The text.
        text: String,
        /// The idempotency key, chosen by the caller.
        key: IdempotencyKey,
    },
    /// Post a message with uploaded files ([`UiEvent::Uploaded`]) attached,
    /// with the guarantees of [`Command::Send`]; the text may be empty when
    /// files come with it.
    SendWithFiles {
        /// The room.
        room: String,
        /// The text.
        text: String,
        /// The idempotency key, chosen by the caller.
        key: IdempotencyKey,
        /// The files, in the order shown (at most `MAX_ATTACHMENTS`), as
        /// uploaded; each goes out under its `name`.
        files: Vec<Attachment>,
    },
    /// Upload a file to attach to a later [`Command::SendWithFiles`]:
    /// [`UiEvent::UploadProgress`] while it goes, then [`UiEvent::Uploaded`]
    /// or [`UiEvent::UploadFailed`]. Never retried by itself: a failed upload
    /// is started again by the UI, with a new id.
    Upload {
        /// Chosen by the UI, to follow and cancel it.
        id: TransferId,
        /// The name to show (folders are dropped).
        name: String,
        /// Where its bytes come from.
        source: UploadSource,
    },
    /// Download a file or a picture's thumbnail: [`UiEvent::DownloadProgress`]
    /// while it comes, then [`UiEvent::Downloaded`] or [`UiEvent::DownloadFailed`].
    Download {
        /// Chosen by the UI, to follow and cancel it.
        id: TransferId,
        /// The file's (or the thumbnail's) hash.
        hash: FileHash,
        /// What it is for.
        purpose: Purpose,
    },
    /// Stop an upload or download: its stream is reset and nothing more is
    /// reported about it (not even a failure).
    CancelTransfer(TransferId),
    /// Fetch a page of messages older than `before`.
    LoadOlder {
        /// The room.
        room: String,
        /// Exclusive upper bound (the oldest sequence number held).
        before: Seq,
    },
    /// Ask the server for the list of rooms again.
    RefreshRooms,
    /// While waiting to reconnect: try now instead of when the back-off ends.
    ReconnectNow,
    /// Deliver these avatars' pictures ([`UiEvent::Avatar`]), from the disk
    /// cache or the server; what cannot be fetched now is fetched after the next login.
    FetchAvatars(Vec<AvatarHash>),
    /// List the pictures the server offers ([`UiEvent::AvatarPool`]).
    AvatarPool,
    /// Use a pool picture as this user's avatar.
    ChooseAvatar(AvatarHash),
    /// Upload an image file (PNG, JPEG, GIF or WebP) as this user's avatar;
    /// the server checks and re-encodes it.
    UploadAvatar(PathBuf),
    /// Confirm the e-mail address of the account whose login was refused with
    /// [`LoginProblem::EmailNotVerified`], then log in.
    VerifyEmail {
        /// The code from the mail.
        code: String,
    },
    /// Ask for a new verification code for that account.
    ResendVerification,
    /// Close the connection, stop reconnecting and forget the passphrase.
    Logout,
    /// Stop everything: close the connection.
    Shutdown,
}

/// The state of the connection, as the banner shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnStatus {
    /// Not logged in.
    Offline,
    /// Connecting and logging in for the first time.
    Connecting,
    /// Logged in and receiving events.
    Online,
    /// The connection dropped; the worker is trying again by itself.
    Reconnecting {
        /// Why the last connection or attempt ended, in plain words.
        reason: String,
        /// How many attempts have failed so far.
        attempt: u32,
        /// How long until the next attempt.
        retry_in: Duration,
    },
}

/// What the network side reports to the UI.
#[derive(Debug, Clone)]
pub enum UiEvent {
    /// The result of [`Command::Probe`].
    Probed {
        /// The server asked about.
        server: String,
        /// The SHA-256 fingerprint, or why it could not be fetched.
        result: Result<[u8; 32], LoginProblem>,
    },
    /// The connection changed state.
    Status(ConnStatus),
    /// Logging in or registering failed and will not be retried.
    LoginFailed(LoginProblem),
    /// Logged in (also after every reconnect).
    LoggedIn {
        /// The server.
        server: String,
        /// The account.
        user: UserInfo,
        /// One-time passwords left before the chain must be replaced.
        otp_remaining: u32,
        /// What to pass as `last_count` next time (persist it).
        last_count: u32,
        /// A warning to show: the server skipped one-time passwords since the
        /// last login from this computer (a login elsewhere, or the small-n attack).
        warning: Option<String>,
        /// How many were skipped (0: no warning), for front ends that word
        /// the warning in another language.
        skipped: u32,
    },
    /// The server's list of public rooms and this user's direct rooms.
    RoomList(Vec<RoomInfo>),
    /// A room was joined (or rejoined); `online` replaces the online list.
    Joined {
        /// The room.
        room: RoomInfo,
        /// Members online now.
        online: Vec<UserInfo>,
    },
    /// Messages new to this client, ascending by sequence number.
    Messages {
        /// The room.
        room: String,
        /// The messages.
        messages: Vec<ChatMessage>,
        /// False for the history shown on a first join or older pages.
        unread: bool,
    },
    /// A send was stored by the server (the message itself arrives in `Messages`).
    Sent {
        /// The room.
        room: String,
        /// The key given in [`Command::Send`].
        key: IdempotencyKey,
        /// Its sequence number.
        seq: Seq,
    },
    /// A send was refused and will not be retried.
    SendFailed {
        /// The room.
        room: String,
        /// The key given in [`Command::Send`].
        key: IdempotencyKey,
        /// Why, in plain words.
        reason: String,
        /// The server's code when the server refused it, for front ends that
        /// word the reason in another language.
        code: Option<ErrorCode>,
    },
    /// This user is no longer in the room (left it here or on another
    /// device); drop it.
    Left {
        /// The room.
        room: String,
    },
    /// Someone else created a public room: it can be joined now.
    RoomCreated(RoomInfo),
    /// Someone came online in a room, or left.
    Presence {
        /// The room.
        room: String,
        /// Who.
        user: UserInfo,
        /// True when they came.
        online: bool,
    },
    /// An avatar's PNG bytes (checked against the hash by the session).
    Avatar {
        /// The avatar.
        hash: AvatarHash,
        /// Its picture.
        png: Bytes,
    },
    /// The server has no picture for this hash; keep the placeholder.
    AvatarMissing(AvatarHash),
    /// The pictures the server offers to pick from.
    AvatarPool(Vec<AvatarHash>),
    /// This user's avatar is now `0` (picked or uploaded).
    AvatarChanged(AvatarHash),
    /// Sends are over the server's rate limit; queued ones go out by
    /// themselves after `retry_in`.
    SlowDown {
        /// How long the server asked to wait.
        retry_in: Duration,
    },
    /// How far an upload is: sent of total bytes (at most a few reports a
    /// second, the first as soon as the size is known).
    UploadProgress {
        /// The upload.
        id: TransferId,
        /// Bytes handed to the connection so far.
        sent: u64,
        /// The file's size.
        total: u64,
    },
    /// An upload is stored: attach it with [`Command::SendWithFiles`].
    Uploaded {
        /// The upload.
        id: TransferId,
        /// The stored file as the server describes it (its name, type, size
        /// and, for a picture, its dimensions and thumbnail).
        file: Attachment,
    },
    /// An upload failed (the file could not be read, the server refused it,
    /// or the connection was lost); the UI may offer to try again.
    UploadFailed {
        /// The upload.
        id: TransferId,
        /// What failed and why.
        notice: Notice,
    },
    /// How far a download is (at most a few reports a second).
    DownloadProgress {
        /// The download.
        id: TransferId,
        /// Bytes received so far.
        received: u64,
        /// Bytes expected in all.
        total: u64,
    },
    /// A download finished.
    Downloaded {
        /// The download.
        id: TransferId,
        /// What was downloaded.
        hash: FileHash,
        /// Its bytes, or where they were written.
        fetched: Fetched,
    },
    /// A download failed; the UI may offer to try again.
    DownloadFailed {
        /// The download.
        id: TransferId,
        /// What was asked for.
        hash: FileHash,
        /// What failed and why.
        notice: Notice,
    },
    /// A new verification code was mailed.
    VerificationSent,
    /// A request failed; shown briefly, nothing else changes. Its `Display`
    /// is the English sentence.
    Notice(Notice),
}

/// How the worker is set up.
#[derive(Debug, Clone, Default)]
pub struct WorkerOptions {
    /// Where avatar pictures are kept between runs (memory only when `None`).
    pub avatar_dir: Option<PathBuf>,
    /// The wait before the first reconnect attempt (the back-off doubles it
    /// from there); `None` for the usual half second. Tests that must tell
    /// "Retry now" from the timer make it long.
    pub first_retry: Option<Duration>,
}

/// How long [`ChatHandle`]'s drop waits for the worker to close connections.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// The UI's end of the worker: a command sender and the event queue.
pub struct ChatHandle {
    /// Commands to the worker; unbounded so sending never blocks the UI.
    cmd_tx: mpsc::UnboundedSender<Command>,
    /// Events from the worker.
    inbox: Inbox,
    /// The runtime thread, joined on drop so connections close cleanly.
    thread: Option<JoinHandle<()>>,
}

impl ChatHandle {
    /// Starts the runtime thread with default options; `waker` is called after events are queued.
    pub fn spawn(waker: Waker) -> std::io::Result<Self> {
        Self::spawn_with(waker, WorkerOptions::default())
    }

    /// Starts the runtime thread; `waker` is called after events are queued.
    pub fn spawn_with(waker: Waker, options: WorkerOptions) -> std::io::Result<Self> {
        let inbox = Inbox::new(waker);
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("chat-net")
            .enable_all()
            .build()?;
        let worker_inbox = inbox.clone();
        let thread = std::thread::Builder::new()
            .name("chat-runtime".into())
            .spawn(move || {
                runtime.block_on(worker::run(cmd_rx, worker_inbox, options));
                runtime.shutdown_timeout(SHUTDOWN_WAIT);
            })?;
        Ok(Self {
            cmd_tx,
            inbox,
            thread: Some(thread),
        })
    }

    /// Queues a command; never blocks.
    pub fn send(&self, command: Command) {
        if self.cmd_tx.send(command).is_err() {
            warn!("the chat worker has stopped; command dropped");
        }
    }

    /// Takes every event reported since the last call.
    pub fn drain(&self) -> Vec<UiEvent> {
        self.inbox.drain()
    }

    /// Waits up to `timeout` for events, then takes them all: for headless
    /// users such as tests and tools, never for the UI thread.
    pub fn wait(&self, timeout: Duration) -> Vec<UiEvent> {
        self.inbox.wait(timeout)
    }
}

impl Drop for ChatHandle {
    fn drop(&mut self) {
        let _ = self.cmd_tx.send(Command::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
