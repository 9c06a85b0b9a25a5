//! E-mail verification: `VerifyEmail` (the code from the mail), `ResendVerification`
//! (a new code, rate-limited per account), and the check that keeps an
//! unverified account from logging in while the server requires verification.

use chatroom_common::protocol::{ErrorCode, ErrorReply, Reply, Response};
use chatroom_common::validate;
use tracing::{info, warn};

use super::{invalid, store_error};
use crate::context::{Context, now_ms};
use crate::mail::verify;
use crate::session::Session;
use crate::store::{EmailVerification, MailKind, NewMail, UserId};

/// The same answer for unknown users and accounts with nothing to verify.
fn nothing_pending() -> ErrorReply {
    ErrorReply::new(
        ErrorCode::InvalidInput,
        "no e-mail verification is pending for that account",
    )
}

/// A wrong, expired or used-up code.
fn refused(message: &str) -> ErrorReply {
    ErrorReply::new(ErrorCode::AuthFailed, message)
}

/// The account and its pending verification, or [`nothing_pending`].
async fn pending(
    ctx: &Context,
    username: &str,
) -> Result<(UserId, String, EmailVerification), ErrorReply> {
    let key = validate::username_key(username).map_err(invalid)?;
    let user = ctx
        .store
        .user_by_name(&key)
        .await
        .map_err(store_error)?
        .ok_or_else(nothing_pending)?;
    let verification = ctx
        .store
        .email_verification(user.id)
        .await
        .map_err(store_error)?
        .filter(EmailVerification::is_pending)
        .ok_or_else(nothing_pending)?;
    Ok((user.id, user.username, verification))
}

/// `VerifyEmail`: checks the code; each code allows `code_attempts` tries
/// (counted before the comparison, so racing requests cannot exceed them).
pub async fn verify_email(
    ctx: &Context,
    session: &Session,
    username: &str,
    code: &str,
) -> Response {
    let code = verify::normalize(code).ok_or_else(|| {
        ErrorReply::new(
            ErrorCode::InvalidInput,
            "the code is the 6 digits from the mail",
        )
    })?;
    let (user, name, verification) = pending(ctx, username).await?;
    let max = ctx.mail.config.code_attempts;
    let Some(stored) = verification.code else {
        return Err(refused(
            "no code has been mailed yet; wait for the mail or ask for a new code",
        ));
    };
    let now = now_ms();
    if now >= stored.expires_at {
        return Err(refused("this code has expired; ask for a new one"));
    }
    let void = || refused("too many wrong codes: this code is void; ask for a new one");
    if verification.attempts >= max {
        return Err(void());
    }
    let counted = ctx
        .store
        .count_verification_attempt(user, &stored.hash, max)
        .await
        .map_err(store_error)?;
    if !counted {
        // Used up or replaced by a newer code since it was read.
        return Err(void());
    }
    if !verify::matches(&stored, &code) {
        warn!(user = %name, remote = %session.remote, "wrong e-mail verification code");
        let left = max.saturating_sub(verification.attempts.saturating_add(1));
        return Err(if left == 0 {
            refused("wrong code; that was the last try for it: ask for a new one")
        } else {
            refused(&format!(
                "wrong code; {left} {} left",
                if left == 1 { "try" } else { "tries" }
            ))
        });
    }
    let verified = ctx
        .store
        .mark_email_verified(user, &stored.hash, now)
        .await
        .map_err(store_error)?;
    if !verified {
        return Err(refused(
            "this code has expired or was replaced; ask for a new one",
        ));
    }
    info!(user = %name, remote = %session.remote, "e-mail address verified");
    Ok(Reply::EmailVerified)
}

/// `ResendVerification`: queues a mail with a new code (which voids the old one
/// when it is sent), at most one per `resend_interval` per account.
pub async fn resend(ctx: &Context, session: &Session, username: &str) -> Response {
    let (user, name, _) = pending(ctx, username).await?;
    let interval = i64::try_from(ctx.mail.config.resend_interval.as_millis()).unwrap_or(i64::MAX);
    let now = now_ms();
    let mail = NewMail {
        kind: MailKind::Verification,
        queued_at: now,
    };
    let queued = ctx
        .store
        .request_verification_mail(user, now.saturating_sub(interval), mail)
        .await
        .map_err(store_error)?;
    if !queued {
        // Either too soon, or verified in the meantime.
        let (_, _, verification) = pending(ctx, username).await?;
        let wait = verification
            .last_requested_at
            .saturating_add(interval)
            .saturating_sub(now)
            .max(1);
        let wait_ms = u64::try_from(wait).unwrap_or(1);
        return Err(ErrorReply {
            code: ErrorCode::RateLimited,
            message: format!(
                "a code was sent recently; you can ask for another in {} s",
                wait_ms.div_ceil(1000)
            ),
            retry_after_ms: Some(wait_ms),
        });
    }
    ctx.mail.wake();
    info!(user = %name, remote = %session.remote, "verification code requested");
    Ok(Reply::VerificationSent)
}

/// `EmailNotVerified` while the server requires verification and the account
/// has not entered its code yet.
pub async fn ensure_verified(ctx: &Context, user: UserId) -> Result<(), ErrorReply> {
    if !ctx.mail.config.require_verification {
        return Ok(());
    }
    let verification = ctx
        .store
        .email_verification(user)
        .await
        .map_err(store_error)?;
    match verification {
        Some(v) if v.is_pending() => Err(ErrorReply::new(
            ErrorCode::EmailNotVerified,
            "confirm your e-mail address first: enter the 6-digit code from the registration \
             mail, or ask for a new code",
        )),
        _ => Ok(()),
    }
}
