//! The SQLite store's statements for the mail outbox and e-mail verification:
//! synchronous functions over one connection, every value a bound parameter.
//! Multi-statement operations run under `BEGIN IMMEDIATE`, so they are atomic
//! across processes sharing the file too.

use chatroom_common::protocol::{AvatarHash, Timestamp};
use rusqlite::{Connection, Row, TransactionBehavior, params};

use super::map_err;
use super::ops::{col, create_user, query_all, query_one};
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
fn queued_from_row(row: &Row<'_>) -> Result<QueuedMail, StoreError> {
    let avatar: Option<Vec<u8>> = col(row, 5)?;
    Ok(QueuedMail {
        id: col(row, 0)?,
        kind: MailKind::from_name(&col::<String>(row, 1)?)?,
        user: col(row, 2)?,
        username: col(row, 3)?,
        email: col(row, 4)?,
        avatar: avatar
            .map(|bytes| fixed_bytes(bytes, "users.avatar").map(AvatarHash))
            .transpose()?,
        registered_at: col(row, 6)?,
        queued_at: col(row, 7)?,
        attempts: col(row, 8)?,
    })
}

/// Fails with `NotFound("mail")` when an UPDATE matched no mail.
fn expect_mail(changed: usize) -> Result<(), StoreError> {
    if changed == 0 {
        Err(StoreError::NotFound("mail"))
    } else {
        Ok(())
    }
}

/// Inserts a queued mail, due at once.
fn insert_mail(conn: &Connection, user: UserId, mail: NewMail) -> Result<MailId, StoreError> {
    conn.execute(
        "INSERT INTO mail_outbox (user_id, kind, state, queued_at, next_attempt_at) \
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![
            user,
            mail.kind.name(),
            MailState::Queued.name(),
            mail.queued_at
        ],
    )
    .map_err(|e| match map_err(e) {
        StoreError::NotFound(_) => StoreError::NotFound("user"),
        other => other,
    })?;
    Ok(conn.last_insert_rowid())
}

pub(super) fn create_user_with_mail(
    conn: &mut Connection,
    user: &NewUser,
    mail: NewMail,
    verify_email: bool,
) -> Result<UserRecord, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let record = create_user(&tx, user)?;
    insert_mail(&tx, record.id, mail)?;
    if verify_email {
        tx.execute(
            "INSERT INTO email_verifications (user_id, last_requested_at) VALUES (?1, ?2)",
            params![record.id, user.created_at],
        )
        .map_err(map_err)?;
    }
    tx.commit().map_err(map_err)?;
    Ok(record)
}

#[cfg(feature = "test-support")]
pub(super) fn enqueue_mail(
    conn: &mut Connection,
    user: UserId,
    mail: NewMail,
) -> Result<MailId, StoreError> {
    insert_mail(conn, user, mail)
}

pub(super) fn due_mails(
    conn: &mut Connection,
    now: Timestamp,
    limit: u32,
    lease_until: Timestamp,
) -> Result<Vec<QueuedMail>, StoreError> {
    // The write lock from the start: two processes never claim the same mail.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let sql = format!(
        "{QUEUED_SELECT} WHERE o.state = ?1 AND o.next_attempt_at <= ?2 \
         ORDER BY o.next_attempt_at, o.id LIMIT ?3"
    );
    let mails = query_all(
        &tx,
        &sql,
        params![MailState::Queued.name(), now, limit],
        queued_from_row,
    )?;
    for mail in &mails {
        tx.execute(
            "UPDATE mail_outbox SET next_attempt_at = ?1 WHERE id = ?2",
            params![lease_until, mail.id],
        )
        .map_err(map_err)?;
    }
    tx.commit().map_err(map_err)?;
    Ok(mails)
}

pub(super) fn next_mail_due(conn: &mut Connection) -> Result<Option<Timestamp>, StoreError> {
    let next = query_one(
        conn,
        "SELECT MIN(next_attempt_at) FROM mail_outbox WHERE state = ?1",
        params![MailState::Queued.name()],
        |row| col::<Option<Timestamp>>(row, 0),
    )?;
    Ok(next.flatten())
}

pub(super) fn mail_sent(
    conn: &mut Connection,
    id: MailId,
    at: Timestamp,
) -> Result<(), StoreError> {
    let changed = conn
        .execute(
            "UPDATE mail_outbox SET state = ?1, finished_at = ?2 WHERE id = ?3",
            params![MailState::Sent.name(), at, id],
        )
        .map_err(map_err)?;
    expect_mail(changed)
}

pub(super) fn mail_failed(
    conn: &mut Connection,
    id: MailId,
    next_attempt_at: Timestamp,
    error: &str,
) -> Result<(), StoreError> {
    let changed = conn
        .execute(
            "UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?1, \
                                    next_attempt_at = ?2 \
             WHERE id = ?3",
            params![error, next_attempt_at, id],
        )
        .map_err(map_err)?;
    expect_mail(changed)
}

pub(super) fn mail_given_up(
    conn: &mut Connection,
    id: MailId,
    at: Timestamp,
    error: &str,
) -> Result<(), StoreError> {
    let changed = conn
        .execute(
            "UPDATE mail_outbox SET state = ?1, finished_at = ?2, last_error = ?3 WHERE id = ?4",
            params![MailState::GivenUp.name(), at, error, id],
        )
        .map_err(map_err)?;
    expect_mail(changed)
}

#[cfg(feature = "test-support")]
pub(super) fn mail_status(
    conn: &mut Connection,
    id: MailId,
) -> Result<Option<MailStatus>, StoreError> {
    query_one(
        conn,
        "SELECT kind, state, attempts, next_attempt_at, last_error, finished_at \
         FROM mail_outbox WHERE id = ?1",
        params![id],
        |row| {
            Ok(MailStatus {
                kind: MailKind::from_name(&col::<String>(row, 0)?)?,
                state: MailState::from_name(&col::<String>(row, 1)?)?,
                attempts: col(row, 2)?,
                next_attempt_at: col(row, 3)?,
                last_error: col(row, 4)?,
                finished_at: col(row, 5)?,
            })
        },
    )
}

/// An `email_verifications` row.
fn verification_from_row(row: &Row<'_>) -> Result<EmailVerification, StoreError> {
    let hash: Option<Vec<u8>> = col(row, 1)?;
    let salt: Option<Vec<u8>> = col(row, 2)?;
    let expires_at: Option<Timestamp> = col(row, 3)?;
    let code = match (hash, salt, expires_at) {
        (Some(hash), Some(salt), Some(expires_at)) => Some(StoredCode {
            hash: fixed_bytes(hash, "email_verifications.code_hash")?,
            salt: fixed_bytes(salt, "email_verifications.code_salt")?,
            expires_at,
        }),
        _ => None,
    };
    Ok(EmailVerification {
        verified_at: col(row, 0)?,
        code,
        attempts: col(row, 4)?,
        last_requested_at: col(row, 5)?,
    })
}

pub(super) fn email_verification(
    conn: &mut Connection,
    user: UserId,
) -> Result<Option<EmailVerification>, StoreError> {
    query_one(
        conn,
        "SELECT verified_at, code_hash, code_salt, code_expires_at, code_attempts, \
                last_requested_at \
         FROM email_verifications WHERE user_id = ?1",
        params![user],
        verification_from_row,
    )
}

pub(super) fn set_verification_code(
    conn: &mut Connection,
    user: UserId,
    code: &StoredCode,
) -> Result<bool, StoreError> {
    let changed = conn
        .execute(
            "UPDATE email_verifications \
             SET code_hash = ?1, code_salt = ?2, code_expires_at = ?3, code_attempts = 0 \
             WHERE user_id = ?4 AND verified_at IS NULL",
            params![&code.hash[..], &code.salt[..], code.expires_at, user],
        )
        .map_err(map_err)?;
    Ok(changed == 1)
}

pub(super) fn count_verification_attempt(
    conn: &mut Connection,
    user: UserId,
    code_hash: &[u8; 32],
    max_attempts: u32,
) -> Result<bool, StoreError> {
    let changed = conn
        .execute(
            "UPDATE email_verifications SET code_attempts = code_attempts + 1 \
             WHERE user_id = ?1 AND verified_at IS NULL AND code_hash = ?2 \
               AND code_attempts < ?3",
            params![user, &code_hash[..], max_attempts],
        )
        .map_err(map_err)?;
    Ok(changed == 1)
}

pub(super) fn mark_email_verified(
    conn: &mut Connection,
    user: UserId,
    code_hash: &[u8; 32],
    at: Timestamp,
) -> Result<bool, StoreError> {
    let changed = conn
        .execute(
            "UPDATE email_verifications \
             SET verified_at = ?1, code_hash = NULL, code_salt = NULL, code_expires_at = NULL \
             WHERE user_id = ?2 AND verified_at IS NULL AND code_hash = ?3 \
               AND code_expires_at > ?1",
            params![at, user, &code_hash[..]],
        )
        .map_err(map_err)?;
    Ok(changed == 1)
}

pub(super) fn request_verification_mail(
    conn: &mut Connection,
    user: UserId,
    previous_by: Timestamp,
    mail: NewMail,
) -> Result<bool, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let changed = tx
        .execute(
            "UPDATE email_verifications SET last_requested_at = ?1 \
             WHERE user_id = ?2 AND verified_at IS NULL AND last_requested_at <= ?3",
            params![mail.queued_at, user, previous_by],
        )
        .map_err(map_err)?;
    if changed == 1 {
        insert_mail(&tx, user, mail)?;
    }
    tx.commit().map_err(map_err)?;
    Ok(changed == 1)
}
