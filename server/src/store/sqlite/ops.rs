//! The SQLite store's statements: synchronous functions over one connection, each
//! one store operation. Every value goes in as a bound parameter.

use chatroom_common::protocol::{
    AvatarHash, ChatMessage, HistoryQuery, IdempotencyKey, OtpValue, RoomKind, Seq, Timestamp,
};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::{is_unique_violation, map_err};
use crate::store::files::{decode_attachments, encode_attachments};
use crate::store::{
    Appended, NOT_A_MEMBER, NewMessage, NewUser, OtpState, RoomId, RoomRecord, StoreError, UserId,
    UserRecord, algorithm_from_name, algorithm_name, fixed_bytes, kind_from_name, kind_name,
    page_limit, placeholders, room_head_batches, username_key_lossy,
};

/// The columns [`user_from_row`] reads, in order.
const USER_COLUMNS: &str = "id, username, email, otp_algorithm, otp_seed, otp_count, otp_last, \
                            avatar, created_at, last_login";

/// The columns [`room_from_row`] reads, in order.
const ROOM_COLUMNS: &str = "rooms.id, rooms.name, rooms.kind, rooms.latest_seq";

/// A message joined with its room and sender, as [`message_from_row`] reads it.
const MESSAGE_SELECT: &str = "SELECT r.name, m.seq, u.username, u.avatar, m.text, m.sent_at, \
                              a.attachments \
                              FROM messages m \
                              JOIN rooms r ON r.id = m.room_id \
                              JOIN users u ON u.id = m.sender_id \
                              LEFT JOIN message_attachments a \
                              ON a.room_id = m.room_id AND a.seq = m.seq";

/// Reads one column, mapping a type mismatch to `Other`.
pub(super) fn col<T: rusqlite::types::FromSql>(
    row: &Row<'_>,
    index: usize,
) -> Result<T, StoreError> {
    row.get(index).map_err(map_err)
}

/// A user row selected with [`USER_COLUMNS`].
fn user_from_row(row: &Row<'_>) -> Result<UserRecord, StoreError> {
    let avatar: Option<Vec<u8>> = col(row, 7)?;
    Ok(UserRecord {
        id: col(row, 0)?,
        username: col(row, 1)?,
        email: col(row, 2)?,
        otp: OtpState {
            algorithm: algorithm_from_name(&col::<String>(row, 3)?)?,
            seed: col(row, 4)?,
            count: col(row, 5)?,
            last: OtpValue(fixed_bytes(col(row, 6)?, "users.otp_last")?),
        },
        avatar: avatar
            .map(|bytes| fixed_bytes(bytes, "users.avatar").map(AvatarHash))
            .transpose()?,
        created_at: col(row, 8)?,
        last_login: col(row, 9)?,
    })
}

/// A room row selected with [`ROOM_COLUMNS`].
fn room_from_row(row: &Row<'_>) -> Result<RoomRecord, StoreError> {
    Ok(RoomRecord {
        id: col(row, 0)?,
        name: col(row, 1)?,
        kind: kind_from_name(&col::<String>(row, 2)?)?,
        latest_seq: seq_from_db(col(row, 3)?)?,
    })
}

/// A message row selected with [`MESSAGE_SELECT`].
fn message_from_row(row: &Row<'_>) -> Result<ChatMessage, StoreError> {
    let avatar: Option<Vec<u8>> = col(row, 3)?;
    Ok(ChatMessage {
        room: col(row, 0)?,
        seq: seq_from_db(col(row, 1)?)?,
        sender: col(row, 2)?,
        sender_avatar: avatar
            .map(|bytes| fixed_bytes(bytes, "users.avatar").map(AvatarHash))
            .transpose()?,
        text: col(row, 4)?,
        sent_at: col(row, 5)?,
        attachments: decode_attachments(col(row, 6)?)?,
    })
}

/// SQLite integers are signed; sequence numbers are never negative.
fn seq_from_db(value: i64) -> Result<Seq, StoreError> {
    Seq::try_from(value).map_err(|_| StoreError::Other(format!("negative sequence number {value}")))
}

/// A sequence number as a SQLite integer (saturating: only used as a bound).
fn seq_to_db(seq: Seq) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// Runs a query that yields at most one row and converts it.
pub(super) fn query_one<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    convert: fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(map_err)?;
    stmt.query_row(params, |row| Ok(convert(row)))
        .optional()
        .map_err(map_err)?
        .transpose()
}

/// Runs a query and converts every row.
pub(super) fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    convert: fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(map_err)?;
    let rows = stmt
        .query_map(params, |row| Ok(convert(row)))
        .map_err(map_err)?;
    rows.map(|row| row.map_err(map_err)?).collect()
}

/// Fails with `NotFound("user")` when an UPDATE matched no user.
fn expect_user(changed: usize) -> Result<(), StoreError> {
    if changed == 0 {
        Err(StoreError::NotFound("user"))
    } else {
        Ok(())
    }
}

pub(super) fn create_user(conn: &Connection, user: &NewUser) -> Result<UserRecord, StoreError> {
    let inserted = conn.execute(
        "INSERT INTO users (username, username_key, email, otp_algorithm, otp_seed, otp_count, \
                            otp_last, avatar, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            user.username,
            username_key_lossy(&user.username),
            user.email,
            algorithm_name(user.otp.algorithm),
            user.otp.seed,
            user.otp.count,
            &user.otp.last.0[..],
            user.avatar.as_ref().map(|a| &a.0[..]),
            user.created_at,
        ],
    );
    match inserted {
        Ok(_) => Ok(UserRecord {
            id: conn.last_insert_rowid(),
            username: user.username.clone(),
            email: user.email.clone(),
            otp: user.otp.clone(),
            avatar: user.avatar,
            created_at: user.created_at,
            last_login: None,
        }),
        Err(e) if is_unique_violation(&e) => Err(StoreError::UsernameTaken),
        Err(e) => Err(map_err(e)),
    }
}

pub(super) fn user_by_key(
    conn: &mut Connection,
    key: &str,
) -> Result<Option<UserRecord>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username_key = ?1");
    query_one(conn, &sql, params![key], user_from_row)
}

pub(super) fn otp_compare_and_swap(
    conn: &mut Connection,
    user: UserId,
    expected: &OtpState,
    next: &OtpState,
) -> Result<bool, StoreError> {
    // One conditional UPDATE: SQLite runs it under its write lock, so of two racing
    // callers with the same `expected`, the second matches no row.
    let changed = conn
        .prepare_cached(
            "UPDATE users SET otp_algorithm = ?1, otp_seed = ?2, otp_count = ?3, otp_last = ?4 \
             WHERE id = ?5 AND otp_algorithm = ?6 AND otp_seed = ?7 AND otp_count = ?8 \
               AND otp_last = ?9",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                algorithm_name(next.algorithm),
                next.seed,
                next.count,
                &next.last.0[..],
                user,
                algorithm_name(expected.algorithm),
                expected.seed,
                expected.count,
                &expected.last.0[..],
            ])
        })
        .map_err(map_err)?;
    Ok(changed == 1)
}

pub(super) fn otp_replace(
    conn: &mut Connection,
    user: UserId,
    next: &OtpState,
) -> Result<(), StoreError> {
    let changed = conn
        .execute(
            "UPDATE users SET otp_algorithm = ?1, otp_seed = ?2, otp_count = ?3, otp_last = ?4 \
             WHERE id = ?5",
            params![
                algorithm_name(next.algorithm),
                next.seed,
                next.count,
                &next.last.0[..],
                user
            ],
        )
        .map_err(map_err)?;
    expect_user(changed)
}

pub(super) fn record_login(
    conn: &mut Connection,
    user: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    let changed = conn
        .execute(
            "UPDATE users SET last_login = ?1 WHERE id = ?2",
            params![at, user],
        )
        .map_err(map_err)?;
    expect_user(changed)
}

pub(super) fn set_avatar(
    conn: &mut Connection,
    user: UserId,
    avatar: Option<AvatarHash>,
) -> Result<(), StoreError> {
    let changed = conn
        .execute(
            "UPDATE users SET avatar = ?1 WHERE id = ?2",
            params![avatar.as_ref().map(|a| &a.0[..]), user],
        )
        .map_err(map_err)?;
    expect_user(changed)
}

pub(super) fn create_room(
    conn: &mut Connection,
    name: &str,
    kind: RoomKind,
) -> Result<RoomRecord, StoreError> {
    match conn.execute(
        "INSERT INTO rooms (name, kind, latest_seq) VALUES (?1, ?2, 0)",
        params![name, kind_name(kind)],
    ) {
        Ok(_) => Ok(RoomRecord {
            id: conn.last_insert_rowid(),
            name: name.to_owned(),
            kind,
            latest_seq: 0,
        }),
        Err(e) if is_unique_violation(&e) => Err(StoreError::RoomExists),
        Err(e) => Err(map_err(e)),
    }
}

pub(super) fn room_by_name(
    conn: &mut Connection,
    name: &str,
) -> Result<Option<RoomRecord>, StoreError> {
    let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE name = ?1");
    query_one(conn, &sql, params![name], room_from_row)
}

pub(super) fn public_rooms(conn: &mut Connection) -> Result<Vec<RoomRecord>, StoreError> {
    let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE kind = ?1 ORDER BY name");
    query_all(
        conn,
        &sql,
        params![kind_name(RoomKind::Public)],
        room_from_row,
    )
}

pub(super) fn rooms_of_user(
    conn: &mut Connection,
    user: UserId,
) -> Result<Vec<RoomRecord>, StoreError> {
    let sql = format!(
        "SELECT {ROOM_COLUMNS} FROM rooms JOIN memberships ON memberships.room_id = rooms.id \
         WHERE memberships.user_id = ?1 ORDER BY rooms.name"
    );
    query_all(conn, &sql, params![user], room_from_row)
}

pub(super) fn add_member(
    conn: &mut Connection,
    room: RoomId,
    user: UserId,
) -> Result<(), StoreError> {
    // `ON CONFLICT DO NOTHING` makes a repeat harmless but still reports a missing
    // room or user through the foreign keys.
    conn.execute(
        "INSERT INTO memberships (room_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![room, user],
    )
    .map_err(map_err)?;
    Ok(())
}

pub(super) fn remove_member(
    conn: &mut Connection,
    room: RoomId,
    user: UserId,
) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM memberships WHERE room_id = ?1 AND user_id = ?2",
        params![room, user],
    )
    .map_err(map_err)?;
    Ok(())
}

pub(super) fn is_member(
    conn: &mut Connection,
    room: RoomId,
    user: UserId,
) -> Result<bool, StoreError> {
    let found = query_one(
        conn,
        "SELECT 1 FROM memberships WHERE room_id = ?1 AND user_id = ?2",
        params![room, user],
        |_| Ok(()),
    )?;
    Ok(found.is_some())
}

pub(super) fn member_ids(conn: &mut Connection, room: RoomId) -> Result<Vec<UserId>, StoreError> {
    query_all(
        conn,
        "SELECT user_id FROM memberships WHERE room_id = ?1",
        params![room],
        |row| col(row, 0),
    )
}

#[cfg(feature = "test-support")]
pub(super) fn member_names(conn: &mut Connection, room: RoomId) -> Result<Vec<String>, StoreError> {
    query_all(
        conn,
        "SELECT users.username FROM users JOIN memberships ON memberships.user_id = users.id \
         WHERE memberships.room_id = ?1 ORDER BY users.username_key",
        params![room],
        |row| col(row, 0),
    )
}

/// The sequence number and send time of the message a sender sent with `key`, if any.
fn earlier_by_key(
    conn: &Connection,
    sender: UserId,
    key: &IdempotencyKey,
) -> Result<Option<Appended>, StoreError> {
    query_one(
        conn,
        "SELECT seq, sent_at FROM messages WHERE sender_id = ?1 AND idem_key = ?2",
        params![sender, &key.0[..]],
        |row| {
            Ok(Appended {
                seq: seq_from_db(col(row, 0)?)?,
                sent_at: col(row, 1)?,
                duplicate: true,
            })
        },
    )
}

/// What one append gives the caller waiting for it.
pub(super) type AppendResult = Result<Appended, StoreError>;

/// Stores a batch of messages in one write transaction (group commit): one
/// commit, and so one write-ahead-log sync, for every send that queued while
/// the previous batch was being written. Each message runs inside a savepoint,
/// so one that fails (an unknown room or sender, a non-member, a repeated key)
/// is rolled back alone; an error of the transaction itself fails the whole batch.
pub(super) fn append_messages(
    conn: &mut Connection,
    batch: &[NewMessage],
) -> Result<Vec<AppendResult>, StoreError> {
    // BEGIN IMMEDIATE takes the database's write lock now, so the membership
    // check, the sequence number and the insert are one serial step, across
    // processes too.
    let mut tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let mut results = Vec::with_capacity(batch.len());
    for message in batch {
        let savepoint = tx.savepoint().map_err(map_err)?;
        match append_one(&savepoint, message) {
            Ok(seq) => {
                savepoint.commit().map_err(map_err)?;
                results.push(seq_from_db(seq).map(|seq| Appended {
                    seq,
                    sent_at: message.sent_at,
                    duplicate: false,
                }));
            }
            Err(failure) => {
                // Dropping the savepoint rolls this message back, the number
                // it took included.
                drop(savepoint);
                results.push(explain_failure(&tx, message, failure));
            }
        }
    }
    tx.commit().map_err(map_err)?;
    Ok(results)
}

/// Why [`append_one`] stored nothing.
enum NotStored {
    /// The room is missing or the sender is not a member of it.
    Refused,
    /// The insert failed; a UNIQUE violation may be a repeated key.
    Insert(rusqlite::Error),
    /// The message's attachments could not be stored.
    Attachments(StoreError),
}

/// One message of [`append_messages`], inside its savepoint: two cached
/// statements, and nothing read back. The first takes the room's next number
/// only if the sender is a member, so membership is checked in the transaction
/// that stores the message; the second stores it.
fn append_one(tx: &Connection, message: &NewMessage) -> Result<i64, NotStored> {
    let seq: Option<i64> = tx
        .prepare_cached(
            "UPDATE rooms SET latest_seq = latest_seq + 1 \
             WHERE id = ?1 \
               AND EXISTS (SELECT 1 FROM memberships WHERE room_id = ?1 AND user_id = ?2) \
             RETURNING latest_seq",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![message.room_id, message.sender_id], |row| {
                row.get(0)
            })
            .optional()
        })
        .map_err(NotStored::Insert)?;
    let Some(seq) = seq else {
        return Err(NotStored::Refused);
    };
    tx.prepare_cached(
        "INSERT INTO messages (room_id, seq, sender_id, text, sent_at, idem_key) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            message.room_id,
            seq,
            message.sender_id,
            message.text,
            message.sent_at,
            &message.key.0[..]
        ])
    })
    .map_err(NotStored::Insert)?;
    if !message.attachments.is_empty() {
        store_attachments(tx, message, seq).map_err(NotStored::Attachments)?;
    }
    Ok(seq)
}

/// The attachments of a message just inserted as `seq`: the list as sent,
/// and one `message_files` row per file, which is what lets the room's
/// members fetch it.
fn store_attachments(tx: &Connection, message: &NewMessage, seq: i64) -> Result<(), StoreError> {
    let list = encode_attachments(&message.attachments)?;
    tx.prepare_cached(
        "INSERT INTO message_attachments (room_id, seq, attachments) VALUES (?1, ?2, ?3)",
    )
    .and_then(|mut stmt| stmt.execute(params![message.room_id, seq, list]))
    .map_err(map_err)?;
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO message_files (hash, room_id, seq) VALUES (?1, ?2, ?3) \
             ON CONFLICT DO NOTHING",
        )
        .map_err(map_err)?;
    for file in &message.attachments {
        insert
            .execute(params![file.hash.0, message.room_id, seq])
            .map_err(map_err)?;
    }
    Ok(())
}

/// The answer for a message [`append_one`] did not store (after its savepoint
/// was rolled back): the earlier message for a repeated key, or which of room,
/// sender and membership is missing. Only failures come here, so the extra
/// reads cost nothing on the path of a normal send.
fn explain_failure(tx: &Connection, message: &NewMessage, failure: NotStored) -> AppendResult {
    match failure {
        NotStored::Insert(e) if is_unique_violation(&e) => {
            earlier_by_key(tx, message.sender_id, &message.key)?.ok_or_else(|| map_err(e))
        }
        NotStored::Insert(e) => Err(map_err(e)),
        NotStored::Attachments(e) => Err(e),
        NotStored::Refused => {
            let exists = |sql: &str, id: i64| -> Result<bool, StoreError> {
                Ok(query_one(tx, sql, params![id], |_| Ok(()))?.is_some())
            };
            if !exists("SELECT 1 FROM rooms WHERE id = ?1", message.room_id)? {
                Err(StoreError::NotFound("room"))
            } else if !exists("SELECT 1 FROM users WHERE id = ?1", message.sender_id)? {
                Err(StoreError::NotFound("user"))
            } else {
                Err(StoreError::NotFound(NOT_A_MEMBER))
            }
        }
    }
}

pub(super) fn history(
    conn: &mut Connection,
    room: RoomId,
    query: HistoryQuery,
) -> Result<Vec<ChatMessage>, StoreError> {
    match query {
        HistoryQuery::Before { before, limit } => {
            // The newest `limit` below the bound, read newest first and then reversed.
            let sql = format!(
                "{MESSAGE_SELECT} WHERE m.room_id = ?1 AND m.seq < ?2 ORDER BY m.seq DESC LIMIT ?3"
            );
            let bound = before.map_or(i64::MAX, seq_to_db);
            let mut page = query_all(
                conn,
                &sql,
                params![room, bound, page_limit(limit)],
                message_from_row,
            )?;
            page.reverse();
            Ok(page)
        }
        HistoryQuery::After { after, limit } => {
            let sql = format!(
                "{MESSAGE_SELECT} WHERE m.room_id = ?1 AND m.seq > ?2 ORDER BY m.seq ASC LIMIT ?3"
            );
            query_all(
                conn,
                &sql,
                params![room, seq_to_db(after), page_limit(limit)],
                message_from_row,
            )
        }
    }
}

pub(super) fn room_heads(
    conn: &mut Connection,
    rooms: &[RoomId],
) -> Result<Vec<(RoomId, Seq)>, StoreError> {
    let mut heads = Vec::with_capacity(rooms.len());
    for batch in room_head_batches(rooms) {
        let sql = format!(
            "SELECT id, latest_seq FROM rooms WHERE id IN ({})",
            placeholders(batch.len())
        );
        let found = query_all(conn, &sql, rusqlite::params_from_iter(&batch), |row| {
            Ok((col(row, 0)?, seq_from_db(col(row, 1)?)?))
        })?;
        heads.extend(found);
    }
    Ok(heads)
}
