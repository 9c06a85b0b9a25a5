//! Connecting and logging in (registering first when asked), and turning a
//! failure into plain words; the worker calls these for the first login and
//! for every reconnect.

use chatroom_common::protocol::{ErrorCode, Event, OtpAlgorithm};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::Credentials;
use super::problem::LoginProblem;
use crate::connection::probe_fingerprint;
use crate::tls::fingerprint_hex;
use crate::{ClientError, LoginOutcome, Session, Trust};

/// A logged-in connection and its event stream.
pub(super) struct Live {
    /// The session (shared with avatar fetches, which run beside the loop).
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
        problem = LoginProblem::Refused("That username is taken; pick another.".into());
    }
    problem
}
