//! Registration mail: the confirmation a new account gets (with its avatar),
//! optional e-mail verification by a 6-digit code, and a persistent outbox.
//!
//! # Layout
//! - [`compose`]: the messages, built with lettre's `MessageBuilder`: plain-text
//!   and HTML alternatives, the avatar inline (`cid:`) and attached.
//! - [`transport`]: where mail goes: an SMTP relay (`smtp://`, `smtps://` URLs)
//!   or, without one, `.eml` files in `<data_dir>/outbox/`.
//! - [`outbox`]: the background worker: sends due mails from the store's outbox,
//!   retries with exponential back-off, gives up after `give_up_after`.
//! - [`verify`]: verification codes: generation, salted SHA-256, constant-time checks.
//!
//! Delivery never blocks or fails a registration: the request only queues the
//! mail (in the same transaction that creates the account) and wakes the worker.

pub mod compose;
pub mod outbox;
pub mod transport;
pub mod verify;

use std::str::FromStr;

use lettre::Address;
use lettre::address::AddressError;
use lettre::message::Mailbox;
use tokio::sync::Notify;

use crate::config::MailConfig;

/// Why mail could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The configured sender (`--mail-from`) is not a mailbox.
    #[error(
        "the mail sender {from:?} is not a mailbox like \"Chatroom <chat@example.org>\": {reason}"
    )]
    From {
        /// What was configured.
        from: String,
        /// lettre's reason.
        reason: AddressError,
    },
    /// The SMTP URL (`--smtp-url`) is unusable; the URL is shown without its password.
    #[error("the SMTP URL {url} is not usable: {reason}")]
    SmtpUrl {
        /// The redacted URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The outbox directory for the file transport could not be created.
    #[error("creating the mail outbox directory {path}: {source}")]
    OutboxDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// What request handlers need of the mail system: the settings, the parsed
/// sender, and a way to wake the outbox worker.
pub struct Mailer {
    /// Verification policy, back-off and the rest of the mail settings.
    pub config: MailConfig,
    /// The parsed `From:` mailbox.
    pub from: Mailbox,
    /// Wakes the outbox worker when a mail is queued, so it never polls.
    wake: Notify,
}

impl Mailer {
    /// Checks the sender address; the transport is checked by [`transport::Transport::new`].
    pub fn new(config: MailConfig) -> Result<Self, MailError> {
        let from = Mailbox::from_str(&config.from).map_err(|reason| MailError::From {
            from: config.from.clone(),
            reason,
        })?;
        Ok(Self {
            config,
            from,
            wake: Notify::new(),
        })
    }

    /// Tells the worker that a mail was queued. A wake-up while the worker is
    /// busy is kept (one permit), so none is lost.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves at the next [`Mailer::wake`].
    pub async fn woken(&self) {
        self.wake.notified().await;
    }
}

/// An e-mail address mail cannot be sent to, with a reason a user understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("that is not an e-mail address mail can be sent to: {why}")]
pub struct BadAddress {
    /// What is wrong with it.
    pub why: &'static str,
}

/// Parses an address the way the mail is addressed (lettre's parser).
pub fn parse_address(email: &str) -> Result<Address, BadAddress> {
    Address::from_str(email).map_err(|e| {
        let why = match e {
            AddressError::MissingParts => "it needs a name, an @ and a domain",
            AddressError::Unbalanced => "it has an unbalanced angle bracket",
            AddressError::InvalidUser => "the part before the @ is not valid",
            AddressError::InvalidDomain => "the domain after the @ is not valid",
            AddressError::InvalidInput => "it contains characters an address cannot have",
            _ => "it is not a valid address",
        };
        BadAddress { why }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_addresses_parse() {
        for good in [
            "alice@example.org",
            "a.b+tag@sub.example.co.uk",
            "\"quoted name\"@example.org",
        ] {
            assert!(parse_address(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn bad_addresses_are_refused_with_a_reason() {
        for bad in [
            "a@b@c",
            "\"x\"@",
            "x@example.org\r\nBcc: victim@example.org",
            "a<b>@example.org",
            "alice@exa mple.org",
            "@example.org",
            "alice",
        ] {
            let e = parse_address(bad).expect_err(bad);
            assert!(
                e.to_string().contains("not an e-mail address"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn the_sender_must_be_a_mailbox() {
        let mut config = MailConfig::default();
        assert!(Mailer::new(config.clone()).is_ok());
        config.from = "Chatroom <not an address>".into();
        assert!(matches!(Mailer::new(config), Err(MailError::From { .. })));
    }
}
