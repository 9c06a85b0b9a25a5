//! What the worker's requests report back to its loop. Every request runs in
//! a task of its own beside the loop, so a slow one (a send into a dead
//! uplink, a big upload, a long history) never holds up pushed messages or
//! other requests; each ends by sending one [`Done`], tagged with the epoch
//! (connection) it was made in, and only the loop changes the worker's state.

use chatroom_common::protocol::{AvatarHash, ChatMessage, IdempotencyKey, RoomInfo, Seq};
use tokio::sync::mpsc;

use super::Credentials;
use super::connect::Live;
use super::notice::{About, Notice};
use super::problem::LoginProblem;
use crate::session::{Joined, Sent};
use crate::{ClientError, LoginOutcome};

/// A task's report: what ended, and in which epoch it started.
pub(super) struct Completion {
    /// The worker's epoch when the task started; a report from an older one
    /// is stale (its connection or login is gone) and is ignored.
    pub(super) epoch: u64,
    /// What ended.
    pub(super) done: Done,
}

/// Where tasks report; each task holds a clone.
pub(super) type DoneTx = mpsc::UnboundedSender<Completion>;

/// A failed request: what it was for (the start of its notice) and why.
#[derive(Debug)]
pub(super) struct Failure {
    /// Joining "garden", and the like.
    pub(super) about: About,
    /// Why.
    pub(super) err: ClientError,
}

impl Failure {
    /// A closure turning an error into a failure of `about`, for `map_err`.
    pub(super) fn of(about: About) -> impl FnOnce(ClientError) -> Failure {
        move |err| Failure { about, err }
    }
}

/// The outcome of a connection attempt: logged in, or why not (the error for
/// deciding whether to retry, the problem in plain words for the user).
pub(super) type Attempt = Result<(Live, LoginOutcome), (ClientError, LoginProblem)>;

/// What a task finished.
pub(super) enum Done {
    /// A login (`first`) or reconnect attempt ended.
    Connected {
        /// Who logged in (for a first login, kept as the account on success).
        credentials: Credentials,
        /// A login the user asked for, as opposed to a reconnect.
        first: bool,
        /// How it went.
        attempt: Box<Attempt>,
    },
    /// An e-mail verification code was checked.
    Verified {
        /// The account waiting for it.
        credentials: Credentials,
        /// How it went.
        result: Result<(), LoginProblem>,
    },
    /// A new verification code was asked for.
    VerificationResent(Result<(), LoginProblem>),
    /// The room list arrived.
    RoomList {
        /// After a login: join what it names.
        rejoin: bool,
        /// The list.
        result: Result<Vec<RoomInfo>, Failure>,
    },
    /// A join (also after creating a room or opening a direct one) ended.
    Joined {
        /// The name asked for (the room list's or the user's spelling).
        asked: String,
        /// Whether a first join's history is unread.
        news: bool,
        /// The room, its recent history and who is online.
        result: Result<Box<Joined>, Failure>,
    },
    /// Leaving a room ended.
    Left {
        /// The room.
        room: String,
        /// How it went.
        result: Result<(), Failure>,
    },
    /// A page of history after a gap or a resync point.
    Filled {
        /// The room.
        room: String,
        /// The page and the room's latest sequence number.
        result: Result<(Vec<ChatMessage>, Seq), Failure>,
    },
    /// A page of older history, for scrolling back.
    Older {
        /// The room.
        room: String,
        /// The page.
        result: Result<Vec<ChatMessage>, Failure>,
    },
    /// A send ended.
    Sent {
        /// The room.
        room: String,
        /// Its key.
        key: IdempotencyKey,
        /// The acknowledgement.
        result: Result<Sent, ClientError>,
    },
    /// The pictures the server offers.
    AvatarPool(Result<Vec<AvatarHash>, Failure>),
    /// This user's picture changed (picked or uploaded).
    AvatarChanged(Result<AvatarHash, Failure>),
    /// Something to tell the user; nothing else changes.
    Notice(Notice),
}
