//! The client library's error type.

use chatroom_common::protocol::{ErrorCode, ErrorReply};
use chatroom_common::skey::SkeyError;
use chatroom_common::validate::ValidationError;

/// Why a client operation failed; `Display` is written for end users.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server address could not be parsed or resolved.
    #[error("bad server address {0}")]
    Address(String),
    /// No answer from the server (down, wrong port, or network gone).
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The server's certificate is not trusted, or the TLS set-up failed.
    #[error("certificate problem: {0}")]
    Tls(String),
    /// The QUIC transport failed for a reason other than the certificate
    /// (a protocol violation, flow control, an internal error): apart from
    /// [`ClientError::Tls`] so it is never read as "the certificate changed".
    #[error("transport error: {0}")]
    Transport(String),
    /// The connection closed; the text says why.
    #[error("connection closed: {0}")]
    Closed(String),
    /// The server refused the request.
    #[error("{0}")]
    Server(ErrorReply),
    /// The server sent something this client does not understand.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Passphrase, seed or one-time password problems.
    #[error(transparent)]
    Skey(#[from] SkeyError),
    /// Invalid input caught before sending.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A local I/O failure (binding the UDP socket).
    #[error("local network error: {0}")]
    Io(#[from] std::io::Error),
}

impl ClientError {
    /// The server's error code, when the server refused the request.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Server(reply) => Some(reply.code),
            _ => None,
        }
    }

    /// Whether retrying later (on a new connection) may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Unreachable(_)
            | ClientError::Closed(_)
            | ClientError::Transport(_)
            | ClientError::Io(_) => true,
            ClientError::Server(reply) => matches!(
                reply.code,
                ErrorCode::StorageUnavailable | ErrorCode::RateLimited | ErrorCode::Internal
            ),
            _ => false,
        }
    }
}
