//! The MySQL store's statements for the mail outbox and e-mail verification:
//! one async function per operation, each with its own pooled connection;
//! operations of several statements run in one InnoDB transaction.

use chatroom_common::protocol::Timestamp;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, TxOpts};

use super::convert::{col, datetime, opt_time_col, time_col};
use super::ops::{avatar_col, insert_user, inserted_id, new_user_record};
use super::{Failure, is_missing_parent};
#[cfg(feature = "test-support")]
use crate::store::MailStatus;
use crate::store::{
    EmailVerification, MailId, MailKind, MailState, NewMail, NewUser, QueuedMail, StoreError,
    StoredCode, UserId, UserRecord, fixed_bytes,
};

/// A queued mail joined with its user, as [`queued_from_row`] reads it.
const QUEUED_SELECT: &str = "SELECT o.id, o.kind, o.user_id, u.username, u.email, u.avatar, \
                                    u.created_at, o.queued_at, o.attempts \
                             FROM mail_outbox o JOIN users u ON u.id = o.user_id";

/// A row selected with [`QUEUED_SELECT`].
fn queued_from_row(mut row: Row) -> Result<QueuedMail, StoreError> {
    Ok(QueuedMail {
        id: col(&mut row, 0)?,
        kind: MailKind::from_name(&col::<String>(&mut row, 1)?)?,
        user: col(&mut row, 2)?,
        username: col(&mut row, 3)?,
        email: col(&mut row, 4)?,
        avatar: avatar_col(&mut row, 5)?,
        registered_at: time_col(&mut row, 6)?,
        queued_at: time_col(&mut row, 7)?,
        attempts: col(&mut row, 8)?,
    })
}

/// Fails with `NotFound("mail")` when an UPDATE matched no mail (the pool's
/// connections report rows matched, not rows changed).
fn expect_mail(conn: &Conn) -> Result<(), Failure> {
    if conn.affected_rows() == 0 {
        Err(StoreError::NotFound("mail").into())
    } else {
        Ok(())
    }
}

/// Inserts a queued mail, due at once.
async fn insert_mail<Q: Queryable>(q: &mut Q, user: UserId, mail: NewMail) -> Result<(), Failure> {
    let queued_at = datetime(mail.queued_at)?;
    let inserted = q
        .exec_drop(
            "INSERT INTO mail_outbox (user_id, kind, state, queued_at, next_attempt_at) \
             VALUES (?, ?, ?, ?, ?)",
            (
                user,
                mail.kind.name(),
                MailState::Queued.name(),
                queued_at.clone(),
                queued_at,
            ),
        )
        .await;
    match inserted {
        Ok(()) => Ok(()),
        Err(e) if is_missing_parent(&e) => Err(StoreError::NotFound("user").into()),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn create_user_with_mail(
    mut conn: Conn,
    user: NewUser,
    mail: NewMail,
    verify_email: bool,
) -> Result<UserRecord, Failure> {
    // An early return drops the transaction, which rolls it back before the
    // connection is used again.
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    insert_user(&mut tx, &user).await?;
    let id = inserted_id(&tx)?;
    insert_mail(&mut tx, id, mail).await?;
    if verify_email {
        tx.exec_drop(
            "INSERT INTO email_verifications (user_id, last_requested_at) VALUES (?, ?)",
            (id, datetime(user.created_at)?),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(new_user_record(id, user))
}

#[cfg(feature = "test-support")]
pub(super) async fn enqueue_mail(
    mut conn: Conn,
    user: UserId,
    mail: NewMail,
) -> Result<MailId, Failure> {
    insert_mail(&mut conn, user, mail).await?;
    inserted_id(&conn)
}

pub(super) async fn due_mails(
    mut conn: Conn,
    now: Timestamp,
    limit: u32,
    lease_until: Timestamp,
) -> Result<Vec<QueuedMail>, Failure> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    // Only the outbox rows are locked (not the users joined below), so a claim
    // never waits for or blocks a login; a second claimer waits here and then
    // sees the leased times.
    let ids: Vec<MailId> = tx
        .exec(
            "SELECT id FROM mail_outbox WHERE state = ? AND next_attempt_at <= ? \
             ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE",
            (MailState::Queued.name(), datetime(now)?, limit),
        )
        .await?;
    let lease = datetime(lease_until)?;
    let mut mails = Vec::with_capacity(ids.len());
    for id in ids {
        tx.exec_drop(
            "UPDATE mail_outbox SET next_attempt_at = ? WHERE id = ?",
            (lease.clone(), id),
        )
        .await?;
        let row: Option<Row> = tx
            .exec_first(format!("{QUEUED_SELECT} WHERE o.id = ?"), (id,))
            .await?;
        if let Some(row) = row {
            mails.push(queued_from_row(row)?);
        }
    }
    tx.commit().await?;
    Ok(mails)
}

pub(super) async fn next_mail_due(mut conn: Conn) -> Result<Option<Timestamp>, Failure> {
    let row: Option<Row> = conn
        .exec_first(
            "SELECT MIN(next_attempt_at) FROM mail_outbox WHERE state = ?",
            (MailState::Queued.name(),),
        )
        .await?;
    match row {
        Some(mut row) => Ok(opt_time_col(&mut row, 0)?),
        None => Ok(None),
    }
}

pub(super) async fn mail_sent(mut conn: Conn, id: MailId, at: Timestamp) -> Result<(), Failure> {
    conn.exec_drop(
        "UPDATE mail_outbox SET state = ?, finished_at = ? WHERE id = ?",
        (MailState::Sent.name(), datetime(at)?, id),
    )
    .await?;
    expect_mail(&conn)
}

pub(super) async fn mail_failed(
    mut conn: Conn,
    id: MailId,
    next_attempt_at: Timestamp,
    error: String,
) -> Result<(), Failure> {
    conn.exec_drop(
        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? \
         WHERE id = ?",
        (error, datetime(next_attempt_at)?, id),
    )
    .await?;
    expect_mail(&conn)
}

pub(super) async fn mail_given_up(
    mut conn: Conn,
    id: MailId,
    at: Timestamp,
    error: String,
) -> Result<(), Failure> {
    conn.exec_drop(
        "UPDATE mail_outbox SET state = ?, finished_at = ?, last_error = ? WHERE id = ?",
        (MailState::GivenUp.name(), datetime(at)?, error, id),
    )
    .await?;
    expect_mail(&conn)
}

#[cfg(feature = "test-support")]
pub(super) async fn mail_status(mut conn: Conn, id: MailId) -> Result<Option<MailStatus>, Failure> {
    let row: Option<Row> = conn
        .exec_first(
            "SELECT kind, state, attempts, next_attempt_at, last_error, finished_at \
             FROM mail_outbox WHERE id = ?",
            (id,),
        )
        .await?;
    let Some(mut row) = row else {
        return Ok(None);
    };
    Ok(Some(MailStatus {
        kind: MailKind::from_name(&col::<String>(&mut row, 0)?)?,
        state: MailState::from_name(&col::<String>(&mut row, 1)?)?,
        attempts: col(&mut row, 2)?,
        next_attempt_at: time_col(&mut row, 3)?,
        last_error: col(&mut row, 4)?,
        finished_at: opt_time_col(&mut row, 5)?,
    }))
}

pub(super) async fn email_verification(
    mut conn: Conn,
    user: UserId,
) -> Result<Option<EmailVerification>, Failure> {
    let row: Option<Row> = conn
        .exec_first(
            "SELECT verified_at, code_hash, code_salt, code_expires_at, code_attempts, \
                    last_requested_at \
             FROM email_verifications WHERE user_id = ?",
            (user,),
        )
        .await?;
    let Some(mut row) = row else {
        return Ok(None);
    };
    let hash: Option<Vec<u8>> = col(&mut row, 1)?;
    let salt: Option<Vec<u8>> = col(&mut row, 2)?;
    let expires_at = opt_time_col(&mut row, 3)?;
    let code = match (hash, salt, expires_at) {
        (Some(hash), Some(salt), Some(expires_at)) => Some(StoredCode {
            hash: fixed_bytes(hash, "email_verifications.code_hash")?,
            salt: fixed_bytes(salt, "email_verifications.code_salt")?,
            expires_at,
        }),
        _ => None,
    };
    Ok(Some(EmailVerification {
        verified_at: opt_time_col(&mut row, 0)?,
        code,
        attempts: col(&mut row, 4)?,
        last_requested_at: time_col(&mut row, 5)?,
    }))
}

pub(super) async fn set_verification_code(
    mut conn: Conn,
    user: UserId,
    code: StoredCode,
) -> Result<bool, Failure> {
    conn.exec_drop(
        "UPDATE email_verifications \
         SET code_hash = ?, code_salt = ?, code_expires_at = ?, code_attempts = 0 \
         WHERE user_id = ? AND verified_at IS NULL",
        (
            &code.hash[..],
            &code.salt[..],
            datetime(code.expires_at)?,
            user,
        ),
    )
    .await?;
    Ok(conn.affected_rows() == 1)
}

pub(super) async fn count_verification_attempt(
    mut conn: Conn,
    user: UserId,
    code_hash: [u8; 32],
    max_attempts: u32,
) -> Result<bool, Failure> {
    conn.exec_drop(
        "UPDATE email_verifications SET code_attempts = code_attempts + 1 \
         WHERE user_id = ? AND verified_at IS NULL AND code_hash = ? AND code_attempts < ?",
        (user, &code_hash[..], max_attempts),
    )
    .await?;
    Ok(conn.affected_rows() == 1)
}

pub(super) async fn mark_email_verified(
    mut conn: Conn,
    user: UserId,
    code_hash: [u8; 32],
    at: Timestamp,
) -> Result<bool, Failure> {
    let at = datetime(at)?;
    conn.exec_drop(
        "UPDATE email_verifications \
         SET verified_at = ?, code_hash = NULL, code_salt = NULL, code_expires_at = NULL \
         WHERE user_id = ? AND verified_at IS NULL AND code_hash = ? AND code_expires_at > ?",
        (at.clone(), user, &code_hash[..], at),
    )
    .await?;
    Ok(conn.affected_rows() == 1)
}

pub(super) async fn request_verification_mail(
    mut conn: Conn,
    user: UserId,
    previous_by: Timestamp,
    mail: NewMail,
) -> Result<bool, Failure> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    tx.exec_drop(
        "UPDATE email_verifications SET last_requested_at = ? \
         WHERE user_id = ? AND verified_at IS NULL AND last_requested_at <= ?",
        (datetime(mail.queued_at)?, user, datetime(previous_by)?),
    )
    .await?;
    let claimed = tx.affected_rows() == 1;
    if claimed {
        insert_mail(&mut tx, user, mail).await?;
    }
    tx.commit().await?;
    Ok(claimed)
}
