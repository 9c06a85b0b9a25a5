//! The outbox worker: one background task per server that sends the mails
//! queued in the store's outbox.
//!
//! - It claims one due mail at a time (`Store::due_mails` with a lease, so a
//!   second server process on the same database never sends it too), composes
//!   it, and hands it to the transport.
//! - A failed attempt is retried after `retry_first`, doubling per failure up to
//!   `retry_max` (30 s, 1 min, 2 min, ... 1 h by default). A mail still not
//!   delivered `give_up_after` (48 h) after it was queued, or refused for good
//!   (an SMTP 5xx answer), is given up with an error in the log.
//! - Everything lives in the table, so a restart loses nothing: the worker of
//!   the next start picks up where this one stopped.
//! - It never polls: it sleeps until the next mail is due (at most
//!   [`MAX_IDLE`]) or until a request handler queues one and wakes it.
//! - Delivery is at least once: if the server dies between the relay's "250 OK"
//!   and recording it, the mail is sent again after its lease.

use std::sync::Arc;
use std::time::Duration;

use chatroom_common::protocol::Timestamp;
use tokio::sync::watch;
use tracing::{debug, error, info, warn};

use super::compose::{self, CodeNotice, ComposeError, Welcome};
use super::transport::{SendError, Transport};
use super::verify;
use crate::context::{Context, now_ms};
use crate::store::{MailKind, QueuedMail, StoreError};

/// Longest sleep without a wake-up: picks up mails another server process
/// queued on a shared database when its own worker is gone.
pub const MAX_IDLE: Duration = Duration::from_secs(5 * 60);
/// Wait before asking the store again after it failed.
const STORE_RETRY: Duration = Duration::from_secs(5);
/// Added to the send timeout for a claimed mail's lease.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// Why one delivery attempt failed.
#[derive(Debug, thiserror::Error)]
enum AttemptError {
    /// The store failed while preparing the mail; retried.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The mail cannot be composed; retrying does not help.
    #[error("{0}")]
    Compose(#[from] ComposeError),
    /// The transport failed.
    #[error("{0}")]
    Send(#[from] SendError),
}

impl AttemptError {
    /// Whether retrying is pointless.
    fn is_permanent(&self) -> bool {
        match self {
            AttemptError::Store(_) => false,
            AttemptError::Compose(_) => true,
            AttemptError::Send(e) => e.is_permanent(),
        }
    }
}

/// What an attempt did.
enum Delivered {
    /// Handed over; where to.
    Sent(String),
    /// Nothing to send any more (a code for an address verified meanwhile).
    Moot(&'static str),
}

/// Sends due mails until `stop_rx` turns true; a mail being sent is finished first.
pub async fn run(ctx: Arc<Context>, transport: Transport, mut stop_rx: watch::Receiver<bool>) {
    info!("mail: delivering {}", transport.describe());
    loop {
        if *stop_rx.borrow() {
            break;
        }
        let idle = match send_next(&ctx, &transport).await {
            // Another may be due at once.
            Ok(true) => continue,
            Ok(false) => until_next_due(&ctx).await,
            Err(e) => {
                warn!("mail outbox: {e}; trying again in {STORE_RETRY:?}");
                STORE_RETRY
            }
        };
        tokio::select! {
            () = ctx.mail.woken() => {}
            () = tokio::time::sleep(idle) => {}
            changed = stop_rx.changed() => {
                // The sender gone means the server is gone.
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    debug!("mail outbox worker stopped");
}

/// How long to sleep when nothing is due now.
async fn until_next_due(ctx: &Context) -> Duration {
    match ctx.store.next_mail_due().await {
        Ok(Some(at)) => ms_to_duration(at.saturating_sub(now_ms())).min(MAX_IDLE),
        Ok(None) => MAX_IDLE,
        Err(e) => {
            warn!("mail outbox: {e}; trying again in {STORE_RETRY:?}");
            STORE_RETRY
        }
    }
}

/// Claims and delivers the next due mail; `false` when none was due.
async fn send_next(ctx: &Context, transport: &Transport) -> Result<bool, StoreError> {
    let config = &ctx.mail.config;
    let now = now_ms();
    let lease = now.saturating_add(duration_ms(config.send_timeout + LEASE_MARGIN));
    let Some(mail) = ctx.store.due_mails(now, 1, lease).await?.into_iter().next() else {
        return Ok(false);
    };
    let outcome = attempt(ctx, transport, &mail).await;
    let now = now_ms();
    let kind = kind_name(mail.kind);
    match outcome {
        Ok(Delivered::Sent(to)) => {
            ctx.store.mail_sent(mail.id, now).await?;
            info!(mail = mail.id, kind, user = %mail.username, "mail delivered: {to}");
        }
        Ok(Delivered::Moot(why)) => {
            ctx.store.mail_given_up(mail.id, now, why).await?;
            info!(mail = mail.id, kind, user = %mail.username, "mail not sent: {why}");
        }
        Err(e) => {
            let deadline = mail
                .queued_at
                .saturating_add(duration_ms(config.give_up_after));
            let attempts = mail.attempts.saturating_add(1);
            if e.is_permanent() || now >= deadline {
                ctx.store
                    .mail_given_up(mail.id, now, &e.to_string())
                    .await?;
                error!(
                    mail = mail.id, kind, user = %mail.username, attempts,
                    "giving up on a mail queued at {}: {e}",
                    compose::format_utc(mail.queued_at)
                );
            } else {
                let delay = backoff(config.retry_first, config.retry_max, attempts);
                let next = now.saturating_add(duration_ms(delay)).min(deadline);
                ctx.store.mail_failed(mail.id, next, &e.to_string()).await?;
                warn!(
                    mail = mail.id, kind, user = %mail.username, attempts,
                    "mail delivery failed, next attempt in {:?}: {e}",
                    ms_to_duration(next - now)
                );
            }
        }
    }
    Ok(true)
}

/// Composes the mail (with a fresh code while the account's verification is
/// pending) and hands it to the transport.
async fn attempt(
    ctx: &Context,
    transport: &Transport,
    mail: &QueuedMail,
) -> Result<Delivered, AttemptError> {
    let config = &ctx.mail.config;
    let to = compose::recipient(&mail.username, &mail.email)?;
    // A code is made when the mail is sent, not when it was queued, so that it
    // is fresh whenever the mail finally goes out and never stored in clear.
    let pending = ctx
        .store
        .email_verification(mail.user)
        .await?
        .is_some_and(|v| v.is_pending());
    let mut code = None;
    if pending {
        let (digits, stored) = verify::new_code(now_ms(), config.code_ttl);
        if ctx.store.set_verification_code(mail.user, &stored).await? {
            code = Some(digits);
        }
    }
    let notice = code.as_deref().map(|code| CodeNotice {
        code,
        valid_for: config.code_ttl,
    });
    let message = match mail.kind {
        MailKind::Welcome => {
            let avatar = avatar_png(ctx, mail).await;
            compose::welcome(
                &ctx.mail.from,
                to,
                &Welcome {
                    server_name: &ctx.server_name,
                    username: &mail.username,
                    registered_at: mail.registered_at,
                    avatar_png: avatar.as_deref(),
                    code: notice,
                },
            )?
        }
        MailKind::Verification => {
            let Some(notice) = notice else {
                return Ok(Delivered::Moot("the address was verified already"));
            };
            compose::verification(&ctx.mail.from, to, &ctx.server_name, &mail.username, notice)?
        }
    };
    Ok(Delivered::Sent(
        transport.send(message, config.send_timeout).await?,
    ))
}

/// The user's avatar PNG from the database; `None` (the mail goes without a
/// picture) when the user has none or it cannot be read.
async fn avatar_png(ctx: &Context, mail: &QueuedMail) -> Option<Vec<u8>> {
    match ctx.avatar_pool.get(mail.avatar?).await {
        Ok(png) => png,
        Err(e) => {
            warn!(user = %mail.username, "reading the avatar for a mail: {e}");
            None
        }
    }
}

/// The wait before attempt `attempts + 1`: `first` doubled per earlier failure, at most `max`.
pub fn backoff(first: Duration, max: Duration, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(31);
    first.saturating_mul(1u32 << doublings).min(max)
}

fn kind_name(kind: MailKind) -> &'static str {
    match kind {
        MailKind::Welcome => "welcome",
        MailKind::Verification => "verification",
    }
}

fn duration_ms(d: Duration) -> Timestamp {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn ms_to_duration(ms: Timestamp) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let (first, max) = (Duration::from_secs(30), Duration::from_secs(3600));
        let waits: Vec<u64> = (1..=9).map(|n| backoff(first, max, n).as_secs()).collect();
        assert_eq!(waits, vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(first, max, u32::MAX), max);
    }
}
