//! The MySQL store's statements for files posted in messages: storing an
//! upload, the quota's sum, what a user may attach and what they may fetch.

use chatroom_common::protocol::FileHash;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, TxOpts};

use super::Failure;
use super::blobs::insert_blob;
use super::convert::{col, datetime};
use crate::store::files::{Fetchable, FileRecord, NewFile, THUMBNAIL_MIME};
use crate::store::{BlobHash, StoreError, UserId};

/// The columns [`record_from_row`] reads, in order.
const FILE_COLUMNS: &str = "f.hash, f.size, f.mime, f.width, f.height, f.thumbnail";

/// A `files` row selected with [`FILE_COLUMNS`].
fn record_from_row(mut row: Row) -> Result<FileRecord, StoreError> {
    FileRecord::from_columns(
        col(&mut row, 0)?,
        col(&mut row, 1)?,
        col(&mut row, 2)?,
        col(&mut row, 3)?,
        col(&mut row, 4)?,
        col(&mut row, 5)?,
    )
}

pub(super) async fn put_file(mut conn: Conn, file: &NewFile) -> Result<FileRecord, Failure> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    insert_blob(&mut tx, &BlobHash(file.hash.0), &file.bytes).await?;
    let thumbnail = match &file.picture {
        Some(picture) => {
            let hash = BlobHash::of(&picture.thumbnail);
            insert_blob(&mut tx, &hash, &picture.thumbnail).await?;
            Some(hash.0.to_vec())
        }
        None => None,
    };
    let at = datetime(file.at)?;
    // INSERT IGNORE: the row stored first wins (a file is the same file
    // whoever sends it), and the user's first upload is the one counted.
    tx.exec_drop(
        "INSERT IGNORE INTO files (hash, mime, size, width, height, thumbnail, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            file.hash.0.to_vec(),
            file.mime.as_str(),
            file.bytes.len() as u64,
            file.picture.as_ref().map(|p| p.width),
            file.picture.as_ref().map(|p| p.height),
            thumbnail,
            at.clone(),
        ),
    )
    .await?;
    tx.exec_drop(
        "INSERT IGNORE INTO uploads (user_id, hash, size, uploaded_at) VALUES (?, ?, ?, ?)",
        (
            file.uploader,
            file.hash.0.to_vec(),
            file.bytes.len() as u64,
            at,
        ),
    )
    .await?;
    let row: Option<Row> = tx
        .exec_first(
            format!("SELECT {FILE_COLUMNS} FROM files f WHERE f.hash = ?"),
            (file.hash.0.to_vec(),),
        )
        .await?;
    let record = record_from_row(row.ok_or(StoreError::NotFound("file"))?)?;
    tx.commit().await?;
    Ok(record)
}

pub(super) async fn uploaded_since(
    mut conn: Conn,
    user: UserId,
    since: i64,
) -> Result<u64, Failure> {
    let total: Option<Option<u64>> = conn
        .exec_first(
            "SELECT CAST(SUM(size) AS UNSIGNED) FROM uploads WHERE user_id = ? AND uploaded_at >= ?",
            (user, datetime(since)?),
        )
        .await?;
    Ok(total.flatten().unwrap_or(0))
}

pub(super) async fn uploaded_files(
    mut conn: Conn,
    user: UserId,
    hashes: &[FileHash],
) -> Result<Vec<FileRecord>, Failure> {
    let mut found = Vec::with_capacity(hashes.len());
    for hash in hashes {
        let row: Option<Row> = conn
            .exec_first(
                format!(
                    "SELECT {FILE_COLUMNS} FROM uploads u JOIN files f ON f.hash = u.hash \
                     WHERE u.user_id = ? AND u.hash = ?"
                ),
                (user, hash.0.to_vec()),
            )
            .await?;
        if let Some(row) = row {
            found.push(record_from_row(row)?);
        }
    }
    Ok(found)
}

/// The file (or the file whose thumbnail is asked for) that the user uploaded
/// or that was posted in a room they are a member of; the blob's size, and the
/// file's type or a thumbnail's. Parameters: hash, hash, thumbnail type, hash,
/// hash, user, user.
const FETCHABLE_SELECT: &str = "SELECT b.size, CASE WHEN f.hash = ? THEN f.mime ELSE ? END \
     FROM files f JOIN blobs b ON b.hash = ? \
     WHERE (f.hash = ? OR f.thumbnail = ?) \
       AND (EXISTS (SELECT 1 FROM uploads u WHERE u.user_id = ? AND u.hash = f.hash) \
            OR EXISTS (SELECT 1 FROM message_files mf \
                       JOIN memberships m ON m.room_id = mf.room_id AND m.user_id = ? \
                       WHERE mf.hash = f.hash)) \
     LIMIT 1";

pub(super) async fn fetchable_file(
    mut conn: Conn,
    user: UserId,
    hash: FileHash,
) -> Result<Option<Fetchable>, Failure> {
    let h = hash.0.to_vec();
    let row: Option<(u64, String)> = conn
        .exec_first(
            FETCHABLE_SELECT,
            (
                h.clone(),
                THUMBNAIL_MIME,
                h.clone(),
                h.clone(),
                h,
                user,
                user,
            ),
        )
        .await?;
    Ok(row.map(|(size, mime)| Fetchable { size, mime }))
}
