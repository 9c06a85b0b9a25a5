//! Why connecting or logging in failed, in plain words for the login screen.

use std::fmt;
use std::time::Duration;

use chatroom_common::protocol::{ErrorCode, ErrorReply};

use crate::ClientError;

/// A failure the user has to act on; `Display` is the sentence shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginProblem {
    /// Nothing answered at the address.
    Unreachable {
        /// The address tried.
        server: String,
    },
    /// The address is not `host:port` or does not resolve.
    BadAddress(String),
    /// The pinned certificate no longer matches: possibly another server.
    CertificateChanged {
        /// The address tried.
        server: String,
        /// The fingerprint the server shows now, when it could be read.
        new_fingerprint: Option<String>,
    },
    /// The certificate does not verify against the imported CA file.
    Untrusted(String),
    /// The server refused the one-time password (wrong passphrase or user).
    WrongPassphrase,
    /// Too many failed logins; the server says when to try again.
    LockedOut {
        /// How long to wait, when the server said.
        retry_in: Option<Duration>,
    },
    /// The account exists but its e-mail address is not confirmed yet: the
    /// code from the registration mail is needed ([`super::Command::VerifyEmail`]).
    EmailNotVerified,
    /// Refused for another reason the server explains (name taken, bad input).
    Refused {
        /// The server's code, for front ends that word it themselves.
        code: ErrorCode,
        /// The server's explanation, as an English sentence.
        message: String,
    },
    /// Anything else.
    Other(String),
}

impl fmt::Display for LoginProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginProblem::Unreachable { server } => write!(
                f,
                "Cannot reach the server at {server}. Check the address and that the server is running."
            ),
            LoginProblem::BadAddress(detail) => {
                write!(f, "That server address does not work: {detail}.")
            }
            LoginProblem::CertificateChanged { .. } => f.write_str(
                "The server's certificate changed; it may not be the server you trusted. \
                 The app did not connect.",
            ),
            LoginProblem::Untrusted(detail) => {
                write!(f, "The server's certificate is not trusted ({detail}).")
            }
            LoginProblem::WrongPassphrase => f.write_str("Wrong username or passphrase."),
            LoginProblem::EmailNotVerified => f.write_str(
                "Confirm your e-mail address first: enter the 6-digit code from the mail the server sent.",
            ),
            LoginProblem::LockedOut { retry_in } => match retry_in {
                Some(wait) => write!(
                    f,
                    "Too many failed attempts. Try again in {} seconds.",
                    wait.as_secs().max(1)
                ),
                None => f.write_str("Too many failed attempts. Try again later."),
            },
            LoginProblem::Refused { message, .. } | LoginProblem::Other(message) => {
                f.write_str(message)
            }
        }
    }
}

impl LoginProblem {
    /// Classifies a client error; `pinned` says whether a pinned fingerprint
    /// (rather than a CA file) was used, which turns a TLS failure into
    /// "the certificate changed".
    pub fn from_error(err: &ClientError, server: &str, pinned: bool) -> Self {
        match err {
            ClientError::Unreachable(_)
            | ClientError::Io(_)
            | ClientError::Closed(_)
            | ClientError::Transport(_) => LoginProblem::Unreachable {
                server: server.to_owned(),
            },
            ClientError::Address(detail) => LoginProblem::BadAddress(detail.clone()),
            ClientError::Tls(_) if pinned => LoginProblem::CertificateChanged {
                server: server.to_owned(),
                new_fingerprint: None,
            },
            ClientError::Tls(detail) => LoginProblem::Untrusted(detail.clone()),
            ClientError::Server(reply) => match reply.code {
                ErrorCode::AuthFailed => LoginProblem::WrongPassphrase,
                ErrorCode::EmailNotVerified => LoginProblem::EmailNotVerified,
                ErrorCode::LockedOut => LoginProblem::LockedOut {
                    retry_in: reply.retry_after_ms.map(Duration::from_millis),
                },
                _ => LoginProblem::refused(reply),
            },
            other => LoginProblem::Other(capitalise(&other.to_string())),
        }
    }

    /// The server's own explanation, as a sentence.
    pub fn refused(reply: &ErrorReply) -> Self {
        LoginProblem::Refused {
            code: reply.code,
            message: capitalise(&reply.message),
        }
    }

    /// The server's code behind this problem, when the server refused.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            LoginProblem::WrongPassphrase => Some(ErrorCode::AuthFailed),
            LoginProblem::LockedOut { .. } => Some(ErrorCode::LockedOut),
            LoginProblem::EmailNotVerified => Some(ErrorCode::EmailNotVerified),
            LoginProblem::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether trying again later, unchanged, may work (used while reconnecting).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LoginProblem::Unreachable { .. } | LoginProblem::LockedOut { .. }
        )
    }
}

/// Whether an error during a reconnect should be retried.
pub fn retryable(err: &ClientError) -> bool {
    err.is_transient() || err.code() == Some(ErrorCode::LockedOut)
}

/// Upper-cases the first letter, since library messages start in lower case.
fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_for_common_failures() {
        let unreachable = ClientError::Unreachable("no answer".into());
        assert!(
            LoginProblem::from_error(&unreachable, "h:1", false)
                .to_string()
                .starts_with("Cannot reach the server at h:1")
        );
        let tls = ClientError::Tls("bad".into());
        assert!(matches!(
            LoginProblem::from_error(&tls, "h:1", true),
            LoginProblem::CertificateChanged { .. }
        ));
        // A transport failure with a pinned server is not a changed certificate.
        let transport = ClientError::Transport("PROTOCOL_VIOLATION".into());
        assert!(matches!(
            LoginProblem::from_error(&transport, "h:1", true),
            LoginProblem::Unreachable { .. }
        ));
        assert!(transport.is_transient());
        let locked = ClientError::Server(ErrorReply {
            code: ErrorCode::LockedOut,
            message: "locked".into(),
            retry_after_ms: Some(30_000),
        });
        let problem = LoginProblem::from_error(&locked, "h:1", true);
        assert_eq!(
            problem.to_string(),
            "Too many failed attempts. Try again in 30 seconds."
        );
        assert!(problem.is_retryable());
        let taken = ClientError::Server(ErrorReply::new(ErrorCode::UsernameTaken, "name taken"));
        assert_eq!(
            LoginProblem::from_error(&taken, "h:1", true).to_string(),
            "Name taken"
        );
    }
}
