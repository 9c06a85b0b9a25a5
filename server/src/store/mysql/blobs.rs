//! The MySQL store's statements for blobs and avatars. A blob's row and its
//! chunks are inserted in one transaction, one chunk per statement, so no
//! statement nears `max_allowed_packet` and no reader (on any node) sees
//! half a blob: InnoDB shows other transactions only what they committed.

use chatroom_common::protocol::AvatarHash;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Transaction, TxOpts};

use super::convert::{col, datetime};
use super::{Failure, is_duplicate};
use crate::context::now_ms;
use crate::store::blobs::{self, AvatarKind, BlobHash, PoolAvatar};
use crate::store::{StoreError, fixed_bytes};

/// The pool's rows as [`pool_from_row`] reads them, in hash order. The kinds
/// are named (not "all but uploads") so the `avatars_by_kind` index answers,
/// and locking the pool does not lock uploads.
const POOL_SELECT: &str = "SELECT hash, kind, assigned FROM avatars \
                           WHERE kind IN ('crawled', 'generated') ORDER BY hash";

/// A blob's size and chunks in one statement (one snapshot): the LEFT JOIN
/// gives an empty blob its one row, with NULL chunk columns.
const BLOB_SELECT: &str = "SELECT b.size, c.idx, c.bytes FROM blobs b \
                           LEFT JOIN blob_chunks c ON c.hash = b.hash \
                           WHERE b.hash = ? ORDER BY c.idx";

/// [`BLOB_SELECT`] for a blob that is an avatar.
const AVATAR_SELECT: &str = "SELECT b.size, c.idx, c.bytes FROM avatars a \
                             JOIN blobs b ON b.hash = a.hash \
                             LEFT JOIN blob_chunks c ON c.hash = b.hash \
                             WHERE a.hash = ? ORDER BY c.idx";

/// A row selected with [`POOL_SELECT`].
fn pool_from_row(mut row: Row) -> Result<PoolAvatar, StoreError> {
    Ok(PoolAvatar {
        hash: AvatarHash(fixed_bytes(col(&mut row, 0)?, "avatars.hash")?),
        kind: AvatarKind::from_name(&col::<String>(&mut row, 1)?)?,
        assigned: col(&mut row, 2)?,
    })
}

/// Puts the rows of [`BLOB_SELECT`] or [`AVATAR_SELECT`] together; `None` without rows.
fn blob_from_rows(hash: &BlobHash, rows: Vec<Row>) -> Result<Option<Vec<u8>>, StoreError> {
    let mut size = None;
    let mut chunks = Vec::with_capacity(rows.len());
    for mut row in rows {
        size = Some(col::<u64>(&mut row, 0)?);
        let idx: Option<u64> = col(&mut row, 1)?;
        let bytes: Option<Vec<u8>> = col(&mut row, 2)?;
        if let (Some(idx), Some(bytes)) = (idx, bytes) {
            chunks.push((idx, bytes));
        }
    }
    size.map(|size| blobs::assemble(hash, size, chunks))
        .transpose()
}

/// Inserts the blob and its chunks unless it is stored already; returns
/// whether it was new. The caller has checked the hash ([`blobs::verify`]).
pub(super) async fn insert_blob(
    tx: &mut Transaction<'_>,
    hash: &BlobHash,
    bytes: &[u8],
) -> Result<bool, Failure> {
    // A concurrent insert of the same blob makes this wait for its commit and
    // then fail as a duplicate: the blob is whole by then, so nothing is written.
    let inserted = tx
        .exec_drop(
            "INSERT INTO blobs (hash, size, created_at) VALUES (?, ?, ?)",
            (hash.0.to_vec(), bytes.len() as u64, datetime(now_ms())?),
        )
        .await;
    match inserted {
        Ok(()) => {}
        Err(e) if is_duplicate(&e) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    for (idx, chunk) in (0u32..).zip(blobs::chunks(bytes)) {
        tx.exec_drop(
            "INSERT INTO blob_chunks (hash, idx, bytes) VALUES (?, ?, ?)",
            (hash.0.to_vec(), idx, chunk.to_vec()),
        )
        .await?;
    }
    Ok(true)
}

pub(super) async fn put_blob(
    mut conn: Conn,
    hash: BlobHash,
    bytes: &[u8],
) -> Result<bool, Failure> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    let new = insert_blob(&mut tx, &hash, bytes).await?;
    tx.commit().await?;
    Ok(new)
}

pub(super) async fn blob(mut conn: Conn, hash: BlobHash) -> Result<Option<Vec<u8>>, Failure> {
    let rows: Vec<Row> = conn.exec(BLOB_SELECT, (hash.0.to_vec(),)).await?;
    Ok(blob_from_rows(&hash, rows)?)
}

/// The kind of the avatar under `hash`, its row locked until the transaction ends.
async fn locked_kind(
    tx: &mut Transaction<'_>,
    hash: &AvatarHash,
) -> Result<Option<AvatarKind>, Failure> {
    let name: Option<String> = tx
        .exec_first(
            "SELECT kind FROM avatars WHERE hash = ? FOR UPDATE",
            (hash.0.to_vec(),),
        )
        .await?;
    Ok(name.map(|name| AvatarKind::from_name(&name)).transpose()?)
}

/// Records the kind of an avatar already stored as `old`; returns whether it changed.
async fn merge_kind(
    tx: &mut Transaction<'_>,
    hash: &AvatarHash,
    old: AvatarKind,
    kind: AvatarKind,
) -> Result<bool, Failure> {
    let merged = AvatarKind::merged(old, kind);
    if merged == old {
        return Ok(false);
    }
    tx.exec_drop(
        "UPDATE avatars SET kind = ? WHERE hash = ?",
        (merged.name(), hash.0.to_vec()),
    )
    .await?;
    Ok(true)
}

pub(super) async fn put_avatar(
    mut conn: Conn,
    hash: AvatarHash,
    png: &[u8],
    kind: AvatarKind,
) -> Result<bool, Failure> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    insert_blob(&mut tx, &BlobHash::from(hash), png).await?;
    let new = match locked_kind(&mut tx, &hash).await? {
        Some(old) => merge_kind(&mut tx, &hash, old, kind).await?,
        None => {
            let inserted = tx
                .exec_drop(
                    "INSERT INTO avatars (hash, kind, added_at) VALUES (?, ?, ?)",
                    (hash.0.to_vec(), kind.name(), datetime(now_ms())?),
                )
                .await;
            match inserted {
                Ok(()) => true,
                // Another node recorded it between the lookup and the insert.
                Err(e) if is_duplicate(&e) => match locked_kind(&mut tx, &hash).await? {
                    Some(old) => merge_kind(&mut tx, &hash, old, kind).await?,
                    None => false,
                },
                Err(e) => return Err(e.into()),
            }
        }
    };
    tx.commit().await?;
    Ok(new)
}

pub(super) async fn avatar_png(
    mut conn: Conn,
    hash: AvatarHash,
) -> Result<Option<Vec<u8>>, Failure> {
    let rows: Vec<Row> = conn.exec(AVATAR_SELECT, (hash.0.to_vec(),)).await?;
    Ok(blob_from_rows(&BlobHash::from(hash), rows)?)
}

pub(super) async fn avatar_kind(
    mut conn: Conn,
    hash: AvatarHash,
) -> Result<Option<AvatarKind>, Failure> {
    let name: Option<String> = conn
        .exec_first(
            "SELECT kind FROM avatars WHERE hash = ?",
            (hash.0.to_vec(),),
        )
        .await?;
    Ok(name.map(|name| AvatarKind::from_name(&name)).transpose()?)
}

pub(super) async fn pool_avatars(mut conn: Conn) -> Result<Vec<PoolAvatar>, Failure> {
    let rows: Vec<Row> = conn.exec(POOL_SELECT, ()).await?;
    super::ops::convert_all(rows, pool_from_row)
}

pub(super) async fn assign_pool_avatar(
    mut conn: Conn,
    tiebreak: u64,
) -> Result<Option<AvatarHash>, Failure> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    // Locking the pool's rows makes registrations on every node take turns,
    // so two at once cannot both take the same least-given picture.
    let rows: Vec<Row> = tx.exec(format!("{POOL_SELECT} FOR UPDATE"), ()).await?;
    let pool = super::ops::convert_all(rows, pool_from_row)?;
    let chosen = blobs::choose_for_new_user(&pool, tiebreak);
    if let Some(hash) = &chosen {
        tx.exec_drop(
            "UPDATE avatars SET assigned = assigned + 1 WHERE hash = ?",
            (hash.0.to_vec(),),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(chosen)
}

pub(super) async fn raise_avatar_counts(
    mut conn: Conn,
    counts: &[(AvatarHash, u64)],
) -> Result<(), Failure> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    for (hash, count) in counts {
        tx.exec_drop(
            "UPDATE avatars SET assigned = GREATEST(assigned, ?) WHERE hash = ?",
            (*count, hash.0.to_vec()),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
