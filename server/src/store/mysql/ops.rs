//! The MySQL store's statements: one async function per store operation, each
//! given its own pooled connection. Every value goes in as a bound parameter of a
//! prepared statement.

use chatroom_common::protocol::{
    AvatarHash, ChatMessage, HistoryQuery, IdempotencyKey, OtpValue, RoomKind, Seq, Timestamp,
};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Transaction, TxOpts, Value};

use super::convert::{col, datetime, opt_time_col, time_col};
use super::{Failure, is_duplicate, is_missing_parent};
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

/// An optional 32-byte avatar column.
pub(super) fn avatar_col(row: &mut Row, index: usize) -> Result<Option<AvatarHash>, StoreError> {
    col::<Option<Vec<u8>>>(row, index)?
        .map(|bytes| fixed_bytes(bytes, "users.avatar").map(AvatarHash))
        .transpose()
}

/// A user row selected with [`USER_COLUMNS`].
fn user_from_row(mut row: Row) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: col(&mut row, 0)?,
        username: col(&mut row, 1)?,
        email: col(&mut row, 2)?,
        otp: OtpState {
            algorithm: algorithm_from_name(&col::<String>(&mut row, 3)?)?,
            seed: col(&mut row, 4)?,
            count: col(&mut row, 5)?,
            last: OtpValue(fixed_bytes(col(&mut row, 6)?, "users.otp_last")?),
        },
        avatar: avatar_col(&mut row, 7)?,
        created_at: time_col(&mut row, 8)?,
        last_login: opt_time_col(&mut row, 9)?,
    })
}

/// A room row selected with [`ROOM_COLUMNS`].
fn room_from_row(mut row: Row) -> Result<RoomRecord, StoreError> {
    Ok(RoomRecord {
        id: col(&mut row, 0)?,
        name: col(&mut row, 1)?,
        kind: kind_from_name(&col::<String>(&mut row, 2)?)?,
        latest_seq: col(&mut row, 3)?,
    })
}

/// A message row selected with [`MESSAGE_SELECT`].
fn message_from_row(mut row: Row) -> Result<ChatMessage, StoreError> {
    Ok(ChatMessage {
        room: col(&mut row, 0)?,
        seq: col(&mut row, 1)?,
        sender: col(&mut row, 2)?,
        sender_avatar: avatar_col(&mut row, 3)?,
        text: col(&mut row, 4)?,
        sent_at: time_col(&mut row, 5)?,
        attachments: decode_attachments(col(&mut row, 6)?)?,
    })
}

/// Converts every row of a result.
pub(super) fn convert_all<T>(
    rows: Vec<Row>,
    convert: fn(Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, Failure> {
    rows.into_iter()
        .map(|row| convert(row).map_err(Failure::Store))
        .collect()
}

/// Fails with `NotFound("user")` when an UPDATE matched no user (the pool's
/// connections report rows matched, see `client_found_rows` in `config`).
fn expect_user(conn: &Conn) -> Result<(), Failure> {
    if conn.affected_rows() == 0 {
        Err(StoreError::NotFound("user").into())
    } else {
        Ok(())
    }
}

/// A row id MySQL reported for an insert.
pub(super) fn inserted_id(conn: &Conn) -> Result<i64, Failure> {
    conn.last_insert_id()
        .and_then(|id| i64::try_from(id).ok())
        .ok_or_else(|| StoreError::Other("MySQL reported no id for the inserted row".into()).into())
}

#[cfg(feature = "test-support")]
pub(super) async fn create_user(mut conn: Conn, user: NewUser) -> Result<UserRecord, Failure> {
    insert_user(&mut conn, &user).await?;
    Ok(new_user_record(inserted_id(&conn)?, user))
}

/// Inserts a user (for [`create_user`], and inside the mail store's registration
/// transaction); the caller reads the new row id. `UsernameTaken` on a duplicate.
pub(super) async fn insert_user<Q: Queryable>(q: &mut Q, user: &NewUser) -> Result<(), Failure> {
    let inserted = q
        .exec_drop(
            "INSERT INTO users (username, username_key, email, otp_algorithm, otp_seed, otp_count, \
                                otp_last, avatar, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                user.username.as_str(),
                username_key_lossy(&user.username),
                user.email.as_str(),
                algorithm_name(user.otp.algorithm),
                user.otp.seed.as_str(),
                user.otp.count,
                &user.otp.last.0[..],
                user.avatar.as_ref().map(|a| a.0.to_vec()),
                datetime(user.created_at)?,
            ),
        )
        .await;
    match inserted {
        Ok(()) => Ok(()),
        // The only unique key besides the id is `username_key`.
        Err(e) if is_duplicate(&e) => Err(StoreError::UsernameTaken.into()),
        Err(e) => Err(e.into()),
    }
}

/// The record of a user just inserted as row `id`.
pub(super) fn new_user_record(id: UserId, user: NewUser) -> UserRecord {
    UserRecord {
        id,
        username: user.username,
        email: user.email,
        otp: user.otp,
        avatar: user.avatar,
        created_at: user.created_at,
        last_login: None,
    }
}

pub(super) async fn user_by_key(
    mut conn: Conn,
    key: String,
) -> Result<Option<UserRecord>, Failure> {
    let row: Option<Row> = conn
        .exec_first(
            format!("SELECT {USER_COLUMNS} FROM users WHERE username_key = ?"),
            (key,),
        )
        .await?;
    Ok(row.map(user_from_row).transpose()?)
}

pub(super) async fn otp_compare_and_swap(
    mut conn: Conn,
    user: UserId,
    expected: OtpState,
    next: OtpState,
) -> Result<bool, Failure> {
    // One conditional UPDATE: InnoDB locks the row, so of two racing callers with
    // the same `expected` the second re-reads the swapped row and matches nothing.
    conn.exec_drop(
        "UPDATE users SET otp_algorithm = ?, otp_seed = ?, otp_count = ?, otp_last = ? \
         WHERE id = ? AND otp_algorithm = ? AND otp_seed = ? AND otp_count = ? AND otp_last = ?",
        (
            algorithm_name(next.algorithm),
            next.seed.as_str(),
            next.count,
            &next.last.0[..],
            user,
            algorithm_name(expected.algorithm),
            expected.seed.as_str(),
            expected.count,
            &expected.last.0[..],
        ),
    )
    .await?;
    Ok(conn.affected_rows() == 1)
}

pub(super) async fn otp_replace(
    mut conn: Conn,
    user: UserId,
    next: OtpState,
) -> Result<(), Failure> {
    conn.exec_drop(
        "UPDATE users SET otp_algorithm = ?, otp_seed = ?, otp_count = ?, otp_last = ? WHERE id = ?",
        (algorithm_name(next.algorithm), next.seed.as_str(), next.count, &next.last.0[..], user),
    )
    .await?;
    expect_user(&conn)
}

pub(super) async fn record_login(
    mut conn: Conn,
    user: UserId,
    at: Timestamp,
) -> Result<(), Failure> {
    conn.exec_drop(
        "UPDATE users SET last_login = ? WHERE id = ?",
        (datetime(at)?, user),
    )
    .await?;
    expect_user(&conn)
}

pub(super) async fn set_avatar(
    mut conn: Conn,
    user: UserId,
    avatar: Option<AvatarHash>,
) -> Result<(), Failure> {
    conn.exec_drop(
        "UPDATE users SET avatar = ? WHERE id = ?",
        (avatar.as_ref().map(|a| a.0.to_vec()), user),
    )
    .await?;
    expect_user(&conn)
}

pub(super) async fn create_room(
    mut conn: Conn,
    name: String,
    kind: RoomKind,
) -> Result<RoomRecord, Failure> {
    match conn
        .exec_drop(
            "INSERT INTO rooms (name, kind, latest_seq) VALUES (?, ?, 0)",
            (name.as_str(), kind_name(kind)),
        )
        .await
    {
        Ok(()) => Ok(RoomRecord {
            id: inserted_id(&conn)?,
            name,
            kind,
            latest_seq: 0,
        }),
        Err(e) if is_duplicate(&e) => Err(StoreError::RoomExists.into()),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn room_by_name(
    mut conn: Conn,
    name: String,
) -> Result<Option<RoomRecord>, Failure> {
    let row: Option<Row> = conn
        .exec_first(
            format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE name = ?"),
            (name,),
        )
        .await?;
    Ok(row.map(room_from_row).transpose()?)
}

pub(super) async fn public_rooms(mut conn: Conn) -> Result<Vec<RoomRecord>, Failure> {
    let rows: Vec<Row> = conn
        .exec(
            format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE kind = ? ORDER BY name"),
            (kind_name(RoomKind::Public),),
        )
        .await?;
    convert_all(rows, room_from_row)
}

pub(super) async fn rooms_of_user(
    mut conn: Conn,
    user: UserId,
) -> Result<Vec<RoomRecord>, Failure> {
    let rows: Vec<Row> = conn
        .exec(
            format!(
                "SELECT {ROOM_COLUMNS} FROM rooms JOIN memberships ON memberships.room_id = rooms.id \
                 WHERE memberships.user_id = ? ORDER BY rooms.name"
            ),
            (user,),
        )
        .await?;
    convert_all(rows, room_from_row)
}

pub(super) async fn add_member(mut conn: Conn, room: RoomId, user: UserId) -> Result<(), Failure> {
    // Not INSERT IGNORE, which would also swallow a missing room or user.
    let added = conn
        .exec_drop(
            "INSERT INTO memberships (room_id, user_id) VALUES (?, ?) \
             ON DUPLICATE KEY UPDATE room_id = room_id",
            (room, user),
        )
        .await;
    match added {
        Ok(()) => Ok(()),
        Err(e) if is_missing_parent(&e) => Err(StoreError::NotFound("room or user").into()),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn remove_member(
    mut conn: Conn,
    room: RoomId,
    user: UserId,
) -> Result<(), Failure> {
    conn.exec_drop(
        "DELETE FROM memberships WHERE room_id = ? AND user_id = ?",
        (room, user),
    )
    .await?;
    Ok(())
}

pub(super) async fn is_member(mut conn: Conn, room: RoomId, user: UserId) -> Result<bool, Failure> {
    let row: Option<Row> = conn
        .exec_first(
            "SELECT 1 FROM memberships WHERE room_id = ? AND user_id = ?",
            (room, user),
        )
        .await?;
    Ok(row.is_some())
}

pub(super) async fn member_ids(mut conn: Conn, room: RoomId) -> Result<Vec<UserId>, Failure> {
    let rows: Vec<Row> = conn
        .exec("SELECT user_id FROM memberships WHERE room_id = ?", (room,))
        .await?;
    convert_all(rows, |mut row| col(&mut row, 0))
}

#[cfg(feature = "test-support")]
pub(super) async fn member_names(mut conn: Conn, room: RoomId) -> Result<Vec<String>, Failure> {
    let rows: Vec<Row> = conn
        .exec(
            "SELECT users.username FROM users JOIN memberships ON memberships.user_id = users.id \
             WHERE memberships.room_id = ? ORDER BY users.username_key",
            (room,),
        )
        .await?;
    convert_all(rows, |mut row| col(&mut row, 0))
}

/// The sequence number and send time of the message a sender sent with `key`, if any.
async fn earlier_by_key<Q: Queryable>(
    q: &mut Q,
    sender: UserId,
    key: &IdempotencyKey,
) -> Result<Option<Appended>, Failure> {
    let row: Option<Row> = q
        .exec_first(
            "SELECT seq, sent_at FROM messages WHERE sender_id = ? AND idem_key = ?",
            (sender, &key.0[..]),
        )
        .await?;
    let Some(mut row) = row else {
        return Ok(None);
    };
    Ok(Some(Appended {
        seq: col(&mut row, 0)?,
        sent_at: time_col(&mut row, 1)?,
        duplicate: true,
    }))
}

/// Stores a message in four round trips (START TRANSACTION, the number, the
/// insert, COMMIT) with nothing read back: the caller knows what it sent.
pub(super) async fn append_message(
    mut conn: Conn,
    message: NewMessage,
) -> Result<Appended, Failure> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    match append_in(&mut tx, &message).await {
        Ok(seq) => {
            tx.commit().await?;
            Ok(Appended {
                seq,
                sent_at: message.sent_at,
                duplicate: false,
            })
        }
        Err(Failure::Db(e)) if is_duplicate(&e) => {
            // A repeated key (the only unique key a valid insert can break):
            // give the number back and answer with the first message. Read
            // after the rollback, so a first attempt committed meanwhile by
            // another connection is seen too.
            tx.rollback().await?;
            match earlier_by_key(&mut conn, message.sender_id, &message.key).await? {
                Some(earlier) => Ok(earlier),
                None => Err(Failure::Db(e)),
            }
        }
        Err(Failure::Store(StoreError::NotFound(_))) => {
            tx.rollback().await?;
            Err(why_refused(&mut conn, &message).await?.into())
        }
        // Dropping the transaction rolls it back before the connection is reused.
        Err(e) => Err(e),
    }
}

/// The append proper, inside a transaction; returns the new sequence number.
async fn append_in(tx: &mut Transaction<'_>, message: &NewMessage) -> Result<u64, Failure> {
    // The UPDATE locks the room row, which serialises appends to the room across
    // every process sharing the database, and takes the number only if the
    // sender is a member (checked in this transaction, so a removed member
    // cannot post). `LAST_INSERT_ID(expr)` hands the new number back in the OK
    // packet, without another round trip; a rollback gives it back, so no
    // number is skipped. (Rows matched, see `client_found_rows` in `config`.)
    tx.exec_drop(
        "UPDATE rooms SET latest_seq = LAST_INSERT_ID(latest_seq + 1) \
         WHERE id = ? \
           AND EXISTS (SELECT 1 FROM memberships WHERE room_id = ? AND user_id = ?)",
        (message.room_id, message.room_id, message.sender_id),
    )
    .await?;
    let seq = match tx.affected_rows() {
        0 => return Err(StoreError::NotFound(NOT_A_MEMBER).into()),
        _ => tx.last_insert_id().ok_or_else(|| {
            StoreError::Other("MySQL reported no sequence number for the append".into())
        })?,
    };
    let sent_at: Value = datetime(message.sent_at)?;
    tx.exec_drop(
        "INSERT INTO messages (room_id, seq, sender_id, text, sent_at, idem_key) VALUES (?, ?, ?, ?, ?, ?)",
        (message.room_id, seq, message.sender_id, message.text.as_str(), sent_at, &message.key.0[..]),
    )
    .await?;
    if !message.attachments.is_empty() {
        store_attachments(tx, message, seq).await?;
    }
    Ok(seq)
}

/// The attachments of a message just inserted as `seq`: the list as sent,
/// and one `message_files` row per file, which is what lets the room's
/// members fetch it. `INSERT IGNORE` there because one file may be attached
/// twice, and a duplicate-key error would read as a repeated idempotency key.
async fn store_attachments(
    tx: &mut Transaction<'_>,
    message: &NewMessage,
    seq: u64,
) -> Result<(), Failure> {
    let list = encode_attachments(&message.attachments)?;
    tx.exec_drop(
        "INSERT INTO message_attachments (room_id, seq, attachments) VALUES (?, ?, ?)",
        (message.room_id, seq, list),
    )
    .await?;
    for file in &message.attachments {
        tx.exec_drop(
            "INSERT IGNORE INTO message_files (hash, room_id, seq) VALUES (?, ?, ?)",
            (file.hash.0.to_vec(), message.room_id, seq),
        )
        .await?;
    }
    Ok(())
}

/// Which of room, sender and membership an append was refused for (only
/// refused appends come here).
async fn why_refused(conn: &mut Conn, message: &NewMessage) -> Result<StoreError, Failure> {
    let room: Option<Row> = conn
        .exec_first("SELECT 1 FROM rooms WHERE id = ?", (message.room_id,))
        .await?;
    if room.is_none() {
        return Ok(StoreError::NotFound("room"));
    }
    let user: Option<Row> = conn
        .exec_first("SELECT 1 FROM users WHERE id = ?", (message.sender_id,))
        .await?;
    Ok(if user.is_none() {
        StoreError::NotFound("user")
    } else {
        StoreError::NotFound(NOT_A_MEMBER)
    })
}

pub(super) async fn history(
    mut conn: Conn,
    room: RoomId,
    query: HistoryQuery,
) -> Result<Vec<ChatMessage>, Failure> {
    match query {
        HistoryQuery::Before { before, limit } => {
            // The newest `limit` below the bound, read newest first and then reversed.
            let rows: Vec<Row> = conn
                .exec(
                    format!("{MESSAGE_SELECT} WHERE m.room_id = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?"),
                    (room, before.unwrap_or(u64::MAX), page_limit(limit)),
                )
                .await?;
            let mut page = convert_all(rows, message_from_row)?;
            page.reverse();
            Ok(page)
        }
        HistoryQuery::After { after, limit } => {
            let rows: Vec<Row> = conn
                .exec(
                    format!("{MESSAGE_SELECT} WHERE m.room_id = ? AND m.seq > ? ORDER BY m.seq ASC LIMIT ?"),
                    (room, after, page_limit(limit)),
                )
                .await?;
            convert_all(rows, message_from_row)
        }
    }
}

pub(super) async fn room_heads(
    mut conn: Conn,
    rooms: Vec<RoomId>,
) -> Result<Vec<(RoomId, Seq)>, Failure> {
    let mut heads = Vec::with_capacity(rooms.len());
    for batch in room_head_batches(&rooms) {
        let rows: Vec<Row> = conn
            .exec(
                format!(
                    "SELECT id, latest_seq FROM rooms WHERE id IN ({})",
                    placeholders(batch.len())
                ),
                batch,
            )
            .await?;
        for mut row in rows {
            heads.push((col(&mut row, 0)?, col(&mut row, 1)?));
        }
    }
    Ok(heads)
}
