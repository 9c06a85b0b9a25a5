//! The SQLite store's statements for blobs and avatars: synchronous functions
//! over one connection. Writes run under `BEGIN IMMEDIATE`, so a blob and its
//! chunks appear together or not at all, for other processes on the file too.

use chatroom_common::protocol::AvatarHash;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::map_err;
use super::ops::{col, query_all};
use crate::context::now_ms;
use crate::store::blobs::{self, AvatarKind, BlobHash, PoolAvatar};
use crate::store::{StoreError, fixed_bytes};

/// The pool's rows as [`pool_from_row`] reads them, in hash order. The kinds
/// are named (not "all but uploads") so the `avatars_by_kind` index answers,
/// and locking the pool does not lock uploads.
const POOL_SELECT: &str = "SELECT hash, kind, assigned FROM avatars \
                           WHERE kind IN ('crawled', 'generated') ORDER BY hash";

/// A row selected with [`POOL_SELECT`].
fn pool_from_row(row: &rusqlite::Row<'_>) -> Result<PoolAvatar, StoreError> {
    let assigned: i64 = col(row, 2)?;
    Ok(PoolAvatar {
        hash: AvatarHash(fixed_bytes(col(row, 0)?, "avatars.hash")?),
        kind: AvatarKind::from_name(&col::<String>(row, 1)?)?,
        assigned: u64::try_from(assigned)
            .map_err(|_| StoreError::Other(format!("avatars.assigned holds {assigned}")))?,
    })
}

/// A size or index as a SQLite integer.
fn to_db(n: usize) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Other(format!("{n} does not fit SQLite's integers")))
}

/// Inserts the blob and its chunks unless it is stored already; returns
/// whether it was new. The caller holds a write transaction and has checked
/// the hash ([`blobs::verify`]).
pub(super) fn insert_blob(
    tx: &Transaction<'_>,
    hash: &BlobHash,
    bytes: &[u8],
) -> Result<bool, StoreError> {
    let stored = tx
        .prepare_cached("SELECT 1 FROM blobs WHERE hash = ?1")
        .and_then(|mut stmt| stmt.exists(params![hash.0]))
        .map_err(map_err)?;
    if stored {
        return Ok(false);
    }
    let size = to_db(bytes.len())?;
    tx.prepare_cached("INSERT INTO blobs (hash, size, created_at) VALUES (?1, ?2, ?3)")
        .and_then(|mut stmt| stmt.execute(params![hash.0, size, now_ms()]))
        .map_err(map_err)?;
    let mut insert = tx
        .prepare_cached("INSERT INTO blob_chunks (hash, idx, bytes) VALUES (?1, ?2, ?3)")
        .map_err(map_err)?;
    for (idx, chunk) in blobs::chunks(bytes).enumerate() {
        insert
            .execute(params![hash.0, to_db(idx)?, chunk])
            .map_err(map_err)?;
    }
    Ok(true)
}

pub(super) fn put_blob(
    conn: &mut Connection,
    hash: &BlobHash,
    bytes: &[u8],
) -> Result<bool, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let new = insert_blob(&tx, hash, bytes)?;
    tx.commit().map_err(map_err)?;
    Ok(new)
}

pub(super) fn blob(conn: &mut Connection, hash: &BlobHash) -> Result<Option<Vec<u8>>, StoreError> {
    // Reads see one snapshot only inside a transaction; a blob is never
    // changed once written, but the size and the chunks still come from one.
    let tx = conn.transaction().map_err(map_err)?;
    let bytes = read_blob(&tx, hash)?;
    tx.commit().map_err(map_err)?;
    Ok(bytes)
}

/// The blob's bytes, checked; `None` when it is not stored.
fn read_blob(conn: &Connection, hash: &BlobHash) -> Result<Option<Vec<u8>>, StoreError> {
    let size: Option<i64> = conn
        .prepare_cached("SELECT size FROM blobs WHERE hash = ?1")
        .and_then(|mut stmt| stmt.query_row(params![hash.0], |row| row.get(0)).optional())
        .map_err(map_err)?;
    let Some(size) = size else {
        return Ok(None);
    };
    let size = u64::try_from(size)
        .map_err(|_| StoreError::Other(format!("blob {hash} has size {size}")))?;
    let chunks = query_all(
        conn,
        "SELECT idx, bytes FROM blob_chunks WHERE hash = ?1 ORDER BY idx",
        params![hash.0],
        |row| {
            let idx: i64 = col(row, 0)?;
            let idx = u64::try_from(idx)
                .map_err(|_| StoreError::Other(format!("blob chunk index {idx}")))?;
            Ok((idx, col::<Vec<u8>>(row, 1)?))
        },
    )?;
    blobs::assemble(hash, size, chunks).map(Some)
}

/// The kind of the avatar stored under `hash`, if any.
fn kind_of(conn: &Connection, hash: &AvatarHash) -> Result<Option<AvatarKind>, StoreError> {
    let name: Option<String> = conn
        .prepare_cached("SELECT kind FROM avatars WHERE hash = ?1")
        .and_then(|mut stmt| stmt.query_row(params![hash.0], |row| row.get(0)).optional())
        .map_err(map_err)?;
    name.map(|name| AvatarKind::from_name(&name)).transpose()
}

pub(super) fn put_avatar(
    conn: &mut Connection,
    hash: &AvatarHash,
    png: &[u8],
    kind: AvatarKind,
) -> Result<bool, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    insert_blob(&tx, &BlobHash::from(*hash), png)?;
    let new = match kind_of(&tx, hash)? {
        None => {
            tx.execute(
                "INSERT INTO avatars (hash, kind, added_at) VALUES (?1, ?2, ?3)",
                params![hash.0, kind.name(), now_ms()],
            )
            .map_err(map_err)?;
            true
        }
        Some(old) => {
            let merged = AvatarKind::merged(old, kind);
            if merged != old {
                tx.execute(
                    "UPDATE avatars SET kind = ?2 WHERE hash = ?1",
                    params![hash.0, merged.name()],
                )
                .map_err(map_err)?;
            }
            merged != old
        }
    };
    tx.commit().map_err(map_err)?;
    Ok(new)
}

pub(super) fn avatar_png(
    conn: &mut Connection,
    hash: &AvatarHash,
) -> Result<Option<Vec<u8>>, StoreError> {
    let tx = conn.transaction().map_err(map_err)?;
    let png = match kind_of(&tx, hash)? {
        Some(_) => read_blob(&tx, &BlobHash::from(*hash))?,
        None => None,
    };
    tx.commit().map_err(map_err)?;
    Ok(png)
}

pub(super) fn avatar_kind(
    conn: &Connection,
    hash: &AvatarHash,
) -> Result<Option<AvatarKind>, StoreError> {
    kind_of(conn, hash)
}

pub(super) fn pool_avatars(conn: &Connection) -> Result<Vec<PoolAvatar>, StoreError> {
    query_all(conn, POOL_SELECT, [], pool_from_row)
}

pub(super) fn assign_pool_avatar(
    conn: &mut Connection,
    tiebreak: u64,
) -> Result<Option<AvatarHash>, StoreError> {
    // The write lock is taken before reading the counts, so two registrations
    // (in this process or another on the file) cannot both take the same
    // least-given picture.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let pool = query_all(&tx, POOL_SELECT, [], pool_from_row)?;
    let chosen = blobs::choose_for_new_user(&pool, tiebreak);
    if let Some(hash) = &chosen {
        tx.execute(
            "UPDATE avatars SET assigned = assigned + 1 WHERE hash = ?1",
            params![hash.0],
        )
        .map_err(map_err)?;
    }
    tx.commit().map_err(map_err)?;
    Ok(chosen)
}

pub(super) fn raise_avatar_counts(
    conn: &mut Connection,
    counts: &[(AvatarHash, u64)],
) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    {
        let mut raise = tx
            .prepare_cached("UPDATE avatars SET assigned = MAX(assigned, ?2) WHERE hash = ?1")
            .map_err(map_err)?;
        for (hash, count) in counts {
            // Counts come from a file; one too large to be real is capped, not an error.
            let count = i64::try_from(*count).unwrap_or(i64::MAX);
            raise.execute(params![hash.0, count]).map_err(map_err)?;
        }
    }
    tx.commit().map_err(map_err)?;
    Ok(())
}
