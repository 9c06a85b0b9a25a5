//! Records of the mail outbox and of e-mail verification, as the [`Store`](super::Store)
//! trait takes and returns them.
//!
//! The outbox holds *what* to send (a kind and a user), not the finished
//! message: the worker composes each mail when it sends it, so a verification
//! code exists in clear only in the mail itself, never in the database (which
//! keeps its salted SHA-256).

use chatroom_common::protocol::{AvatarHash, Timestamp};

use super::{StoreError, UserId};

/// Database row id of a queued mail.
pub type MailId = i64;

/// Which mail to compose for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// "Registration succeeded": greeting, how to log in, the avatar, and the
    /// verification code while one is pending.
    Welcome,
    /// A new verification code, asked for with `ResendVerification`.
    Verification,
}

impl MailKind {
    /// How the kind is spelled in the database.
    pub(super) fn name(self) -> &'static str {
        match self {
            MailKind::Welcome => "welcome",
            MailKind::Verification => "verification",
        }
    }

    /// Reads back what [`MailKind::name`] wrote.
    pub(super) fn from_name(name: &str) -> Result<Self, StoreError> {
        match name {
            "welcome" => Ok(MailKind::Welcome),
            "verification" => Ok(MailKind::Verification),
            other => Err(StoreError::Other(format!(
                "unknown mail kind `{other}` in the database"
            ))),
        }
    }
}

/// A mail to queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewMail {
    /// What to send.
    pub kind: MailKind,
    /// When it was queued; it is due at once.
    pub queued_at: Timestamp,
}

/// A mail claimed for delivery, with what composing it needs about its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// Row id, for reporting the outcome.
    pub id: MailId,
    /// What to send.
    pub kind: MailKind,
    /// The recipient's account.
    pub user: UserId,
    /// The username as registered.
    pub username: String,
    /// The recipient address.
    pub email: String,
    /// The user's avatar now.
    pub avatar: Option<AvatarHash>,
    /// When the account was created.
    pub registered_at: Timestamp,
    /// When the mail was queued (the give-up clock starts here).
    pub queued_at: Timestamp,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// Where a mail is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailState {
    /// Waiting for its next attempt (or being attempted).
    Queued,
    /// Handed to the SMTP server (or written to the outbox directory).
    Sent,
    /// Not delivered within the give-up time, or refused for good.
    GivenUp,
}

impl MailState {
    /// How the state is spelled in the database.
    pub(super) fn name(self) -> &'static str {
        match self {
            MailState::Queued => "queued",
            MailState::Sent => "sent",
            MailState::GivenUp => "given_up",
        }
    }

    /// Reads back what [`MailState::name`] wrote; only the test-support
    /// `mail_status` reads a state back.
    #[cfg(feature = "test-support")]
    pub(super) fn from_name(name: &str) -> Result<Self, StoreError> {
        match name {
            "queued" => Ok(MailState::Queued),
            "sent" => Ok(MailState::Sent),
            "given_up" => Ok(MailState::GivenUp),
            other => Err(StoreError::Other(format!(
                "unknown mail state `{other}` in the database"
            ))),
        }
    }
}

/// A mail's delivery record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailStatus {
    /// What was queued.
    pub kind: MailKind,
    /// Queued, sent or given up.
    pub state: MailState,
    /// Failed attempts.
    pub attempts: u32,
    /// When it is (or was last) due.
    pub next_attempt_at: Timestamp,
    /// The last failure's description.
    pub last_error: Option<String>,
    /// When it was sent or given up.
    pub finished_at: Option<Timestamp>,
}

/// A verification code as stored: never the code itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    /// SHA-256 of the salt followed by the code's digits.
    pub hash: [u8; 32],
    /// Random per code.
    pub salt: [u8; 16],
    /// After this the code is void.
    pub expires_at: Timestamp,
}

/// An account's e-mail verification (only accounts that registered while the
/// server required verification have one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailVerification {
    /// When the address was verified; `None` while the account waits for it.
    pub verified_at: Option<Timestamp>,
    /// The current code, once one was mailed; cleared by verification.
    pub code: Option<StoredCode>,
    /// Attempts made against the current code.
    pub attempts: u32,
    /// The last time a code was asked for (registration or a resend), for the rate limit.
    pub last_requested_at: Timestamp,
}

impl EmailVerification {
    /// True while the account cannot log in.
    pub fn is_pending(&self) -> bool {
        self.verified_at.is_none()
    }
}
