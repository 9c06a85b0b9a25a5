//! Per-connection state: whether `Hello` was seen, who is logged in, and the
//! login challenge issued on this connection.

use std::net::SocketAddr;
use std::sync::Mutex;

use chatroom_common::protocol::{AvatarHash, ErrorCode, ErrorReply, UserInfo};

use crate::hub::ConnId;
use crate::store::{OtpState, UserId};

/// The logged-in user of a connection.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    /// Row id.
    pub id: UserId,
    /// Username as registered.
    pub username: String,
    /// Avatar at login time.
    pub avatar: Option<AvatarHash>,
}

impl LoggedIn {
    /// The user as others see them.
    pub fn info(&self) -> UserInfo {
        UserInfo {
            username: self.username.clone(),
            avatar: self.avatar,
        }
    }
}

/// A challenge issued by `LoginStart`, answered by `LoginFinish`.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Case-folded username the challenge is for.
    pub key: String,
    /// The user and the S/KEY state the challenge was computed from; `None` for
    /// the decoy challenge given for an unknown user.
    pub user: Option<(UserId, OtpState)>,
}

#[derive(Debug, Default)]
struct State {
    hello: bool,
    user: Option<LoggedIn>,
    pending: Option<Pending>,
}

/// One connection's session. Requests on one connection run concurrently, so
/// the state sits behind a mutex that is never held across an await.
#[derive(Debug)]
pub struct Session {
    /// The connection's id in the hub.
    pub conn_id: ConnId,
    /// The client's address (for per-address limits and logs).
    pub remote: SocketAddr,
    state: Mutex<State>,
}

impl Session {
    /// A session for a new connection.
    pub fn new(conn_id: ConnId, remote: SocketAddr) -> Self {
        Self {
            conn_id,
            remote,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `Hello` was accepted.
    pub fn hello_done(&self) -> bool {
        self.lock().hello
    }

    /// Records an accepted `Hello`.
    pub fn set_hello(&self) {
        self.lock().hello = true;
    }

    /// The logged-in user, or the `NotLoggedIn` error to return.
    pub fn user(&self) -> Result<LoggedIn, ErrorReply> {
        self.lock()
            .user
            .clone()
            .ok_or_else(|| ErrorReply::new(ErrorCode::NotLoggedIn, "log in first"))
    }

    /// Whether someone is logged in on this connection.
    pub fn is_logged_in(&self) -> bool {
        self.lock().user.is_some()
    }

    /// Stores a login; returns false if the connection was already logged in.
    pub fn set_user(&self, user: LoggedIn) -> bool {
        let mut state = self.lock();
        if state.user.is_some() {
            return false;
        }
        state.user = Some(user);
        true
    }

    /// Records the logged-in user's new avatar.
    pub fn set_avatar(&self, avatar: Option<AvatarHash>) {
        if let Some(user) = self.lock().user.as_mut() {
            user.avatar = avatar;
        }
    }

    /// Replaces the outstanding challenge.
    pub fn set_pending(&self, pending: Pending) {
        self.lock().pending = Some(pending);
    }

    /// Takes the outstanding challenge: each is answered at most once.
    pub fn take_pending(&self) -> Option<Pending> {
        self.lock().pending.take()
    }
}
