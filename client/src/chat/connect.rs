//! Connecting and logging in (registering first when asked), the e-mail
//! verification code, reconnecting after a drop, and logging out. Attempts run
//! as tasks beside the loop like every request, so a server that takes its
//! time to answer (or a 10 s connect timeout) never freezes the worker: a
//! logout or a new login meanwhile makes the attempt's answer stale.

use std::sync::Arc;
use std::time::Duration;

use chatroom_common::protocol::{ErrorCode, Event, OtpAlgorithm};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::info;

use super::notice::{About, Cause, Notice};
use super::problem::{self, LoginProblem};
use super::tasks::{Attempt, Done};
use super::worker::Worker;
use super::{ConnStatus, Credentials, UiEvent};
use crate::connection::probe_fingerprint;
use crate::session::DEFAULT_CHAIN;
use crate::tls::fingerprint_hex;
use crate::{ClientError, LoginOutcome, Session, Trust};

/// A logged-in connection and its event stream.
pub(super) struct Live {
    /// The session, shared with the request tasks running beside the loop.
    pub(super) session: Arc<Session>,
    /// Events pushed by the server; `None` from it means the connection closed.
    pub(super) events: mpsc::Receiver<Event>,
}

/// Connects, registers when `email` is given, and logs in.
pub(super) async fn connect(
    credentials: &Credentials,
    email: Option<&str>,
) -> Result<(Live, LoginOutcome), ClientError> {
    let mut session = Session::connect(&credentials.server, &credentials.trust).await?;
    let passphrase = credentials.passphrase.expose();
    let mut last_count = credentials.last_count;
    if let Some(email) = email {
        session
            .register(&credentials.username, email, passphrase, OtpAlgorithm::Md5)
            .await?;
        // A new account has a new chain: what was answered before is moot.
        last_count = None;
    }
    let outcome = session
        .login(&credentials.username, passphrase, last_count)
        .await?;
    let events = session
        .take_events()
        .ok_or_else(|| ClientError::Protocol("the event stream was already taken".into()))?;
    let session = Arc::new(session);
    Ok((Live { session, events }, outcome))
}

/// Plain words for a failure; a changed certificate also shows the new fingerprint.
pub(super) async fn describe(err: &ClientError, credentials: &Credentials) -> LoginProblem {
    let pinned = matches!(credentials.trust, Trust::Pin(_));
    let mut problem = LoginProblem::from_error(err, &credentials.server, pinned);
    if let LoginProblem::CertificateChanged {
        new_fingerprint, ..
    } = &mut problem
    {
        // Only looks at the certificate: the probe never completes a handshake.
        *new_fingerprint = probe_fingerprint(&credentials.server)
            .await
            .ok()
            .map(|fp| fingerprint_hex(&fp));
    }
    if err.code() == Some(ErrorCode::UsernameTaken) {
        problem = LoginProblem::Refused {
            code: ErrorCode::UsernameTaken,
            message: "That username is taken; pick another.".into(),
        };
    }
    problem
}

/// Closes a connection nobody uses any more without making the loop wait for
/// the close to reach the server. Needed even for a dead one: the event
/// reader holds the QUIC connection, so dropping the session would not close it.
pub(super) fn close_in_background(live: Live) {
    tokio::spawn(async move { live.session.close().await });
}

impl Worker {
    /// Logs in (registering first when `email` is given); the rooms follow.
    pub(super) fn login(&mut self, credentials: Credentials, email: Option<String>) {
        self.logout();
        self.inbox.push(UiEvent::Status(ConnStatus::Connecting));
        self.attempt(credentials, email, true);
    }

    /// Starts a connection attempt beside the loop.
    fn attempt(&mut self, credentials: Credentials, email: Option<String>, first: bool) {
        self.spawn(async move {
            let attempt: Attempt = match connect(&credentials, email.as_deref()).await {
                Ok(live) => Ok(live),
                Err(e) => {
                    let problem = describe(&e, &credentials).await;
                    Err((e, problem))
                }
            };
            Done::Connected {
                credentials,
                first,
                attempt: Box::new(attempt),
            }
        });
    }

    /// The reconnect timer fired: try again as the same account.
    pub(super) fn reconnect(&mut self) {
        self.retry_at = None;
        if let Some(credentials) = self.account.clone() {
            self.attempt(credentials, None, false);
        }
    }

    /// The user asked to reconnect at once: the waiting attempt starts now.
    /// Ignored unless a reconnect is scheduled (an attempt already on its way,
    /// or a connection already up, needs nothing).
    pub(super) fn reconnect_now(&mut self) {
        if self.retry_at.is_some() && self.live.is_none() {
            self.reconnect();
        }
    }

    /// A login or reconnect attempt ended.
    pub(super) fn attempt_ended(
        &mut self,
        credentials: Credentials,
        first: bool,
        attempt: Attempt,
    ) {
        match attempt {
            Ok((live, outcome)) => {
                if first {
                    info!(user = %credentials.username, server = %credentials.server, "logged in");
                    self.account = Some(credentials);
                } else {
                    info!("reconnected");
                }
                self.connected(live, outcome);
            }
            Err((_, problem)) if first => {
                if problem == LoginProblem::EmailNotVerified {
                    // Kept so the code can be entered without typing the passphrase again.
                    self.unverified = Some(credentials);
                }
                self.inbox.push(UiEvent::LoginFailed(problem));
                self.inbox.push(UiEvent::Status(ConnStatus::Offline));
            }
            Err((e, _)) if problem::retryable(&e) => {
                let problem = LoginProblem::from_error(&e, &credentials.server, false);
                let wait = match &problem {
                    LoginProblem::LockedOut { retry_in } => *retry_in,
                    _ => None,
                };
                self.schedule_retry(problem.to_string(), wait);
            }
            Err((_, problem)) => {
                // Retrying cannot help (certificate changed, login refused): stop
                // and forget the passphrase; the UI returns to the login screen.
                self.logout();
                self.inbox.push(UiEvent::LoginFailed(problem));
            }
        }
    }

    /// A fresh connection is logged in: report, then rejoin and resend beside
    /// each other (membership is kept by the server, so sends need not wait).
    fn connected(&mut self, live: Live, outcome: LoginOutcome) {
        // After a re-initialisation the next challenge comes from the new chain,
        // which starts below DEFAULT_CHAIN; before it, below the count answered.
        let last_count = if outcome.reinitialised {
            DEFAULT_CHAIN
        } else {
            outcome.answered_count
        };
        let Some(account) = self.account.as_mut() else {
            return close_in_background(live);
        };
        account.last_count = Some(last_count);
        let warning = (outcome.skipped > 0).then(|| skipped_warning(outcome.skipped));
        self.inbox.push(UiEvent::LoggedIn {
            server: account.server.clone(),
            user: outcome.user.clone(),
            otp_remaining: outcome.otp_remaining,
            last_count,
            warning,
            skipped: outcome.skipped,
        });
        self.inbox.push(UiEvent::Status(ConnStatus::Online));
        self.me = Some(outcome.user);
        self.backoff.reset();
        self.retry_at = None;
        self.new_epoch();
        // A pause was about the old connection's answers; the queue goes now.
        self.send_pause = None;
        self.avatars.start(&live.session, &self.inbox);
        self.live = Some(live);
        self.list_rooms(true);
        self.pump_sends();
    }

    /// Confirms the waiting account's address with `code`, then logs it in.
    pub(super) fn verify_email(&mut self, code: String) {
        let Some(credentials) = self.unverified.clone() else {
            return self.inbox.push(UiEvent::LoginFailed(LoginProblem::Other(
                "Log in or register first; then enter the code.".into(),
            )));
        };
        self.spawn(async move {
            let result = async {
                let session = Session::connect(&credentials.server, &credentials.trust).await?;
                let result = session.verify_email(&credentials.username, &code).await;
                session.close().await;
                result
            }
            .await;
            let result = match result {
                Ok(()) => Ok(()),
                Err(e) => Err(verification_problem(&e, &credentials).await),
            };
            Done::Verified {
                credentials,
                result,
            }
        });
    }

    /// A verification code was checked: log in, or say why not.
    pub(super) fn verified(&mut self, credentials: Credentials, result: Result<(), LoginProblem>) {
        match result {
            Ok(()) => {
                info!(user = %credentials.username, "e-mail address confirmed");
                self.unverified = None;
                self.login(credentials, None);
            }
            Err(problem) => self.inbox.push(UiEvent::LoginFailed(problem)),
        }
    }

    /// Asks the server to mail the waiting account a new code.
    pub(super) fn resend_verification(&mut self) {
        let Some(credentials) = self.unverified.clone() else {
            return self.inbox.push(UiEvent::Notice(Notice {
                about: Some(About::NewCode),
                cause: Cause::Other,
                detail: "log in or register first; then ask for a new code".into(),
            }));
        };
        self.spawn(async move {
            let result = async {
                let session = Session::connect(&credentials.server, &credentials.trust).await?;
                let result = session.resend_verification(&credentials.username).await;
                session.close().await;
                result
            }
            .await;
            Done::VerificationResent(match result {
                Ok(()) => Ok(()),
                Err(e) => Err(verification_problem(&e, &credentials).await),
            })
        });
    }

    /// The connection dropped (or a request found it broken): start a new
    /// epoch and schedule a reconnect with back-off.
    pub(super) fn lost(&mut self, reason: String) {
        let Some(live) = self.live.take() else { return };
        info!("connection lost: {reason}");
        self.new_epoch();
        close_in_background(live);
        self.schedule_retry(reason, None);
    }

    fn schedule_retry(&mut self, reason: String, at_least: Option<Duration>) {
        let delay = self.backoff.next_delay().max(at_least.unwrap_or_default());
        self.retry_at = Some(Instant::now() + delay);
        self.inbox.push(UiEvent::Status(ConnStatus::Reconnecting {
            reason,
            attempt: self.backoff.attempt(),
            retry_in: delay,
        }));
    }

    /// Closes the connection and forgets the account, rooms, queued sends,
    /// transfers and thumbnails; whatever is still in flight becomes stale.
    pub(super) fn logout(&mut self) {
        if let Some(live) = self.live.take() {
            close_in_background(live);
        }
        self.new_epoch();
        self.account = None;
        self.unverified = None;
        self.me = None;
        self.rooms = Default::default();
        self.outbox.clear();
        self.transfers.clear();
        self.send_pause = None;
        self.retry_at = None;
        self.tick_at = None;
        self.backoff.reset();
        self.inbox.push(UiEvent::Status(ConnStatus::Offline));
    }

    /// Closes the connection before the runtime stops, waiting for the close
    /// to go out (a task of its own might be cut off with the runtime).
    pub(super) async fn shutdown(&mut self) {
        if let Some(live) = self.live.take() {
            live.session.close().await;
        }
    }
}

/// Plain words for a failed verification request. A wrong or expired code is
/// refused as "auth failed"; the server's message says which, while "wrong
/// passphrase" would mislead.
async fn verification_problem(err: &ClientError, credentials: &Credentials) -> LoginProblem {
    match err {
        ClientError::Server(reply) => LoginProblem::refused(reply),
        _ => describe(err, credentials).await,
    }
}

/// The words for one-time passwords used without this computer.
fn skipped_warning(skipped: u32) -> String {
    let what = if skipped == 1 {
        "1 one-time password was".to_owned()
    } else {
        format!("{skipped} one-time passwords were")
    };
    format!(
        "{what} used since your last login from this computer. If you did not log in \
         elsewhere, someone may be trying to impersonate the server or you."
    )
}
