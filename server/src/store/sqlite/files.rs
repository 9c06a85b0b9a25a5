//! The SQLite store's statements for files posted in messages: storing an
//! upload, the quota's sum, what a user may attach and what they may fetch.

use chatroom_common::protocol::FileHash;
use rusqlite::{Connection, TransactionBehavior, params};

use super::blobs::insert_blob;
use super::map_err;
use super::ops::{col, query_all, query_one};
use crate::store::files::{Fetchable, FileRecord, NewFile, THUMBNAIL_MIME};
use crate::store::{BlobHash, StoreError, UserId};

/// The columns [`record_from_row`] reads, in order.
const FILE_COLUMNS: &str = "f.hash, f.size, f.mime, f.width, f.height, f.thumbnail";

/// A `files` row selected with [`FILE_COLUMNS`].
fn record_from_row(row: &rusqlite::Row<'_>) -> Result<FileRecord, StoreError> {
    let size: i64 = col(row, 1)?;
    FileRecord::from_columns(
        col(row, 0)?,
        u64::try_from(size).map_err(|_| StoreError::Other(format!("files.size holds {size}")))?,
        col(row, 2)?,
        col(row, 3)?,
        col(row, 4)?,
        col(row, 5)?,
    )
}

pub(super) fn put_file(conn: &mut Connection, file: &NewFile) -> Result<FileRecord, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let size = i64::try_from(file.bytes.len())
        .map_err(|_| StoreError::Other("a file too large for SQLite".into()))?;
    insert_blob(&tx, &BlobHash(file.hash.0), &file.bytes)?;
    let thumbnail = match &file.picture {
        Some(picture) => {
            let hash = BlobHash::of(&picture.thumbnail);
            insert_blob(&tx, &hash, &picture.thumbnail)?;
            Some(hash.0.to_vec())
        }
        None => None,
    };
    tx.prepare_cached(
        "INSERT INTO files (hash, mime, size, width, height, thumbnail, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (hash) DO NOTHING",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            file.hash.0,
            file.mime,
            size,
            file.picture.as_ref().map(|p| p.width),
            file.picture.as_ref().map(|p| p.height),
            thumbnail,
            file.at
        ])
    })
    .map_err(map_err)?;
    tx.prepare_cached(
        "INSERT INTO uploads (user_id, hash, size, uploaded_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (user_id, hash) DO NOTHING",
    )
    .and_then(|mut stmt| stmt.execute(params![file.uploader, file.hash.0, size, file.at]))
    .map_err(map_err)?;
    // The row stored first wins, so read back what is there now.
    let record = query_one(
        &tx,
        &format!("SELECT {FILE_COLUMNS} FROM files f WHERE f.hash = ?1"),
        params![file.hash.0],
        record_from_row,
    )?
    .ok_or(StoreError::NotFound("file"))?;
    tx.commit().map_err(map_err)?;
    Ok(record)
}

pub(super) fn uploaded_since(
    conn: &mut Connection,
    user: UserId,
    since: i64,
) -> Result<u64, StoreError> {
    let total: Option<i64> = query_one(
        conn,
        "SELECT COALESCE(SUM(size), 0) FROM uploads WHERE user_id = ?1 AND uploaded_at >= ?2",
        params![user, since],
        |row| col(row, 0),
    )?;
    Ok(total.map_or(0, |t| u64::try_from(t).unwrap_or(0)))
}

pub(super) fn uploaded_files(
    conn: &mut Connection,
    user: UserId,
    hashes: &[FileHash],
) -> Result<Vec<FileRecord>, StoreError> {
    let mut found = Vec::with_capacity(hashes.len());
    for hash in hashes {
        let record = query_one(
            conn,
            &format!(
                "SELECT {FILE_COLUMNS} FROM uploads u JOIN files f ON f.hash = u.hash \
                 WHERE u.user_id = ?1 AND u.hash = ?2"
            ),
            params![user, hash.0],
            record_from_row,
        )?;
        found.extend(record);
    }
    Ok(found)
}

/// The file (or the file whose thumbnail `?1` is) that `?2` uploaded or that
/// was posted in a room `?2` is a member of; the blob's size, and the file's
/// type or a thumbnail's.
const FETCHABLE_SELECT: &str = "SELECT b.size, CASE WHEN f.hash = ?1 THEN f.mime ELSE ?3 END \
     FROM files f JOIN blobs b ON b.hash = ?1 \
     WHERE (f.hash = ?1 OR f.thumbnail = ?1) \
       AND (EXISTS (SELECT 1 FROM uploads u WHERE u.user_id = ?2 AND u.hash = f.hash) \
            OR EXISTS (SELECT 1 FROM message_files mf \
                       JOIN memberships m ON m.room_id = mf.room_id AND m.user_id = ?2 \
                       WHERE mf.hash = f.hash)) \
     LIMIT 1";

pub(super) fn fetchable_file(
    conn: &mut Connection,
    user: UserId,
    hash: &FileHash,
) -> Result<Option<Fetchable>, StoreError> {
    let found = query_all(
        conn,
        FETCHABLE_SELECT,
        params![hash.0, user, THUMBNAIL_MIME],
        |row| {
            let size: i64 = col(row, 0)?;
            Ok(Fetchable {
                size: u64::try_from(size)
                    .map_err(|_| StoreError::Other(format!("blobs.size holds {size}")))?,
                mime: col(row, 1)?,
            })
        },
    )?;
    Ok(found.into_iter().next())
}
