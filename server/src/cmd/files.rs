//! Attachments on the wire: `Upload` (the request, then the file's bytes on
//! the same stream) and `Download` (the `File` answer, then the bytes). Both
//! hold their file in memory, so each first takes its size from the
//! server-wide transfer budget; an upload that stalls or is abandoned is
//! dropped with everything it held.

use bytes::Bytes;
use chatroom_common::codec;
use chatroom_common::protocol::{ErrorCode, ErrorReply, FileHash, Reply, Response, stream_code};
use chatroom_common::validate;
use quinn::{RecvStream, VarInt};
use sha2::{Digest, Sha256};
use tokio::sync::SemaphorePermit;

use super::{invalid, store_error};
use crate::context::{Context, now_ms};
use crate::files::{self, PictureLimits};
use crate::session::Session;
use crate::store::NewFile;

/// The quota counts what was uploaded in the last 24 hours.
const QUOTA_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// An `Upload` request's fields, as read off the stream.
#[derive(Debug)]
pub struct UploadHeader {
    /// The file's name as the sender gave it.
    pub name: String,
    /// How many bytes follow the header.
    pub size: u64,
    /// Their SHA-256, as the sender claims.
    pub sha256: FileHash,
}

/// `Upload`: checks the header, then reads `size` bytes (`head` holds those
/// that arrived with the header), checks them against the hash, examines and
/// stores them. A failure of the stream itself (reset, connection lost) gives
/// `None`: there is no one to answer, and the bytes are dropped. `recv` is
/// `None` when `head` is the whole body (the benchmark's framed comparison
/// mode, `--stream-mode single`, reads each upload as one frame).
pub async fn upload(
    ctx: &Context,
    session: &Session,
    header: UploadHeader,
    head: Vec<u8>,
    mut recv: Option<&mut RecvStream>,
) -> Option<Response> {
    let checked = async {
        let me = session.user()?;
        let name = validate::file_name(&header.name).map_err(invalid)?;
        if header.size > ctx.limits.max_file_bytes {
            return Err(ErrorReply::new(
                ErrorCode::TooLarge,
                format!(
                    "a file may have at most {} bytes; this one has {}",
                    ctx.limits.max_file_bytes, header.size
                ),
            ));
        }
        let since = now_ms() - QUOTA_WINDOW_MS;
        let used = ctx
            .store
            .uploaded_since(me.id, since)
            .await
            .map_err(store_error)?;
        // The same bytes uploaded again are not counted again (pictures are
        // stored cleaned, under another hash, so this sees only other files).
        let again = || async {
            ctx.store
                .uploaded_files(me.id, vec![header.sha256])
                .await
                .map(|found| !found.is_empty())
                .map_err(store_error)
        };
        if used.saturating_add(header.size) > ctx.limits.daily_upload_bytes && !again().await? {
            return Err(ErrorReply {
                code: ErrorCode::QuotaExceeded,
                message: format!(
                    "you uploaded {used} bytes today; the daily limit is {}",
                    ctx.limits.daily_upload_bytes
                ),
                retry_after_ms: Some(60 * 60 * 1000),
            });
        }
        let permit = reserve(ctx, header.size)?;
        Ok((me, name, permit))
    }
    .await;
    let (me, name, _permit) = match checked {
        Ok(ok) => ok,
        Err(e) => {
            // Nothing of the body is wanted: tell the sender to stop sending it.
            if let Some(recv) = recv {
                let _ = recv.stop(VarInt::from_u32(stream_code::TOO_LARGE));
            }
            return Some(Err(e));
        }
    };
    let bytes = match receive(ctx, header.size, head, recv.as_deref_mut()).await {
        Ok(bytes) => bytes,
        Err(Received::Gone) => return None,
        Err(Received::Refused(e)) => {
            if let Some(recv) = recv {
                let _ = recv.stop(VarInt::from_u32(stream_code::UNDECODABLE));
            }
            return Some(Err(e));
        }
    };
    let actual = FileHash(Sha256::digest(&bytes).into());
    if actual != header.sha256 {
        return Some(Err(ErrorReply::new(
            ErrorCode::InvalidInput,
            format!("the file's SHA-256 is {actual}, not {}", header.sha256),
        )));
    }
    let limits = PictureLimits::default();
    // Decoding a picture may take up to `max_alloc` however small the file,
    // so decodes share the server's few image slots (and wait for one)
    // rather than run as many at once as the transfer budget lets in.
    let Ok(_decoding) = ctx.uploads.acquire().await else {
        return Some(Err(ErrorReply::new(
            ErrorCode::Internal,
            "internal server error",
        )));
    };
    let prepared = match tokio::task::spawn_blocking(move || files::prepare(bytes, limits)).await {
        Ok(prepared) => prepared,
        Err(e) => {
            tracing::error!("examining an upload failed: {e}");
            return Some(Err(ErrorReply::new(
                ErrorCode::Internal,
                "internal server error",
            )));
        }
    };
    let stored = ctx
        .store
        .put_file(NewFile {
            uploader: me.id,
            hash: prepared.hash,
            bytes: prepared.bytes,
            mime: prepared.mime,
            picture: prepared.picture,
            at: now_ms(),
        })
        .await;
    Some(
        stored
            .map(|record| Reply::Uploaded(record.attachment(name)))
            .map_err(store_error),
    )
}

/// Why an upload's body was not received.
enum Received {
    /// The stream or the connection failed: nobody to answer.
    Gone,
    /// Too many or too few bytes, or none for too long.
    Refused(ErrorReply),
}

/// Reads the body: exactly `size` bytes, then the end of the stream, with no
/// silence longer than the idle timeout. Without a stream, `head` is all there is.
async fn receive(
    ctx: &Context,
    size: u64,
    head: Vec<u8>,
    recv: Option<&mut RecvStream>,
) -> Result<Vec<u8>, Received> {
    let too_many = || {
        Received::Refused(ErrorReply::new(
            ErrorCode::InvalidInput,
            format!("more than the {size} bytes the upload announced"),
        ))
    };
    let capacity = usize::try_from(size).map_err(|_| too_many())?;
    let Some(recv) = recv else {
        return match (head.len() as u64).cmp(&size) {
            std::cmp::Ordering::Equal => Ok(head),
            std::cmp::Ordering::Greater => Err(too_many()),
            std::cmp::Ordering::Less => Err(Received::Refused(ErrorReply::new(
                ErrorCode::InvalidInput,
                format!("the upload ended after {} of {size} bytes", head.len()),
            ))),
        };
    };
    let mut bytes = Vec::with_capacity(capacity);
    bytes.extend_from_slice(&head);
    loop {
        if bytes.len() as u64 > size {
            return Err(too_many());
        }
        let chunk = tokio::time::timeout(
            ctx.limits.upload_idle_timeout,
            recv.read_chunk(64 * 1024, true),
        )
        .await
        .map_err(|_| {
            Received::Refused(ErrorReply::new(
                ErrorCode::BadRequest,
                "the upload stalled and was dropped",
            ))
        })?
        .map_err(|_| Received::Gone)?;
        match chunk {
            Some(chunk) => bytes.extend_from_slice(&chunk.bytes),
            None if bytes.len() as u64 == size => return Ok(bytes),
            None => {
                return Err(Received::Refused(ErrorReply::new(
                    ErrorCode::InvalidInput,
                    format!("the upload ended after {} of {size} bytes", bytes.len()),
                )));
            }
        }
    }
}

/// Takes `size` bytes (rounded up to KiB) of the transfer budget, or answers
/// "busy" when other transfers hold it.
fn reserve(ctx: &Context, size: u64) -> Result<SemaphorePermit<'_>, ErrorReply> {
    let kib = u32::try_from(size.div_ceil(1024).max(1)).unwrap_or(u32::MAX);
    ctx.transfers.try_acquire_many(kib).map_err(|_| ErrorReply {
        code: ErrorCode::RateLimited,
        message: "the server is busy with other transfers; try again shortly".into(),
        retry_after_ms: Some(1000),
    })
}

/// A download ready to be written: the encoded `File` header, the bytes from
/// the offset on, and the budget they hold until written.
pub struct Download<'a> {
    /// The encoded `Ok(Reply::File {..})`.
    pub header: Vec<u8>,
    /// The file's bytes from the requested offset.
    pub body: Bytes,
    /// Released once the body is handed to the stream.
    pub permit: SemaphorePermit<'a>,
}

/// `Download`: the file if this user may fetch it. An unknown hash and one the
/// user may not see get the same answer, so hashes reveal nothing.
pub async fn download<'a>(
    ctx: &'a Context,
    session: &Session,
    hash: FileHash,
    offset: u64,
) -> Result<Download<'a>, ErrorReply> {
    let me = session.user()?;
    let no_such = || ErrorReply::new(ErrorCode::NoSuchFile, "no such file");
    let file = ctx
        .store
        .fetchable_file(me.id, hash)
        .await
        .map_err(store_error)?
        .ok_or_else(no_such)?;
    if offset > file.size {
        return Err(ErrorReply::new(
            ErrorCode::InvalidInput,
            format!("offset {offset} is past the file's {} bytes", file.size),
        ));
    }
    let permit = reserve(ctx, file.size)?;
    let bytes = ctx
        .store
        .blob(crate::store::BlobHash(hash.0))
        .await
        .map_err(store_error)?
        .ok_or_else(no_such)?;
    let start = usize::try_from(offset)
        .map_err(|_| no_such())?
        .min(bytes.len());
    let header = codec::encode(&Ok::<Reply, ErrorReply>(Reply::File {
        hash,
        size: bytes.len() as u64,
        offset,
        mime: file.mime,
    }))
    .map_err(|e| {
        tracing::error!("encoding a File header failed: {e}");
        ErrorReply::new(ErrorCode::Internal, "internal server error")
    })?;
    Ok(Download {
        header,
        body: Bytes::from(bytes).slice(start..),
        permit,
    })
}
