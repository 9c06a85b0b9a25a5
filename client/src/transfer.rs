//! Uploading and downloading attachments, each on a QUIC stream of its own at
//! the transfer priority, so chat requests and pushed messages overtake them,
//! and at most `TRANSFERS_AT_ONCE` at a time, so they never hold every
//! request stream the server allows.
//! Progress is reported as bytes move; dropping the future cancels the
//! transfer (quinn resets the stream and the server frees what it held).

use chatroom_common::codec;
use chatroom_common::protocol::{
    Attachment, FileHash, MAX_TRANSFER_HEADER_BYTES, Reply, Request, Response, TRANSFER_PRIORITY,
    stream_code,
};
use quinn::{RecvStream, SendStream, VarInt, WriteError};
use sha2::{Digest, Sha256};
use tokio::sync::SemaphorePermit;

use crate::ClientError;
use crate::connection::{Connection, connection_error, decode_response, read_response, unexpected};

/// How much of a file is handed to quinn at a time (and between progress reports).
const PIECE: usize = 64 * 1024;

/// A downloaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// The media type the server found in the bytes.
    pub mime: String,
    /// The bytes from the requested offset to the end.
    pub bytes: Vec<u8>,
}

impl Connection {
    /// Uploads `bytes` as a file called `name`; `progress` hears how many bytes
    /// were handed to the connection so far. Returns the stored file, ready to
    /// attach to a send.
    pub async fn upload(
        &self,
        name: &str,
        bytes: &[u8],
        mut progress: impl FnMut(u64),
    ) -> Result<Attachment, ClientError> {
        let header = codec::encode(&Request::Upload {
            name: name.to_owned(),
            size: bytes.len() as u64,
            sha256: FileHash(Sha256::digest(bytes).into()),
        })
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
        if let Some(framed) = self.framed() {
            // The benchmark's single-stream mode: the whole upload is one frame.
            return match decode_response(&framed.call(&header, bytes, progress).await?)? {
                Reply::Uploaded(attachment) => Ok(attachment),
                other => Err(unexpected(&other)),
            };
        }
        let _turn = self.transfer_turn().await?;
        let (send, mut recv) = self.quic().open_bi().await.map_err(connection_error)?;
        let mut guard = CancelOnDrop(Some(send));
        let send = guard
            .0
            .as_mut()
            .ok_or_else(|| ClientError::Closed("no stream".into()))?;
        let _ = send.set_priority(TRANSFER_PRIORITY);
        let mut sent = 0u64;
        let written = async {
            send.write_all(&header).await?;
            for piece in bytes.chunks(PIECE) {
                send.write_all(piece).await?;
                sent += piece.len() as u64;
                progress(sent);
            }
            Ok::<(), WriteError>(())
        }
        .await;
        match written {
            Ok(()) => {
                if let Some(send) = guard.0.as_mut() {
                    let _ = send.finish();
                }
            }
            // The server refused the upload part-way and stopped the stream:
            // its answer says why.
            Err(WriteError::Stopped(_)) => {}
            Err(WriteError::ConnectionLost(e)) => return Err(connection_error(e)),
            Err(e) => return Err(ClientError::Closed(e.to_string())),
        }
        let answer = read_response(&mut recv).await;
        // Answered: the server has all it will read, nothing is left to cancel.
        guard.0 = None;
        match answer? {
            Reply::Uploaded(attachment) => Ok(attachment),
            other => Err(unexpected(&other)),
        }
    }

    /// Downloads a file (or a thumbnail) from `offset` on; `progress` hears
    /// (bytes received, bytes expected). A whole file is checked against its
    /// hash before it is returned.
    pub async fn download(
        &self,
        hash: FileHash,
        offset: u64,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<Downloaded, ClientError> {
        let request = codec::encode(&Request::Download { hash, offset })
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        if let Some(framed) = self.framed() {
            // The benchmark's single-stream mode: the whole answer is one frame.
            let mut buf = framed.call(&request, &[], |_| {}).await?;
            let (response, used) =
                match codec::decode_prefix::<Response>(&buf, MAX_TRANSFER_HEADER_BYTES) {
                    Ok(Some(found)) => found,
                    Ok(None) => decode_whole(&buf)?,
                    Err(e) => return Err(ClientError::Protocol(e.to_string())),
                };
            let (size, mime) = file_header(response, hash, offset)?;
            let bytes = buf.split_off(used);
            progress(bytes.len() as u64, size - offset);
            return checked(bytes, hash, size, offset).map(|bytes| Downloaded { mime, bytes });
        }
        let _turn = self.transfer_turn().await?;
        let (mut send, mut recv) = self.quic().open_bi().await.map_err(connection_error)?;
        send.write_all(&request)
            .await
            .map_err(|e| ClientError::Closed(e.to_string()))?;
        let _ = send.finish();
        let mut buf = Vec::new();
        let (response, used) = loop {
            match read_piece(&mut recv).await? {
                Some(piece) => buf.extend_from_slice(&piece),
                None => break decode_whole(&buf)?,
            }
            match codec::decode_prefix::<Response>(&buf, MAX_TRANSFER_HEADER_BYTES) {
                Ok(Some(found)) => break found,
                Ok(None) => {}
                Err(e) => return Err(ClientError::Protocol(e.to_string())),
            }
        };
        let (size, mime) = file_header(response, hash, offset)?;
        let expected = size - offset;
        let mut bytes = buf.split_off(used);
        progress(bytes.len() as u64, expected);
        while let Some(piece) = read_piece(&mut recv).await? {
            bytes.extend_from_slice(&piece);
            if bytes.len() as u64 > expected {
                return Err(ClientError::Protocol(format!(
                    "the server sent more than the file's {size} bytes"
                )));
            }
            progress(bytes.len() as u64, expected);
        }
        checked(bytes, hash, size, offset).map(|bytes| Downloaded { mime, bytes })
    }

    /// Waits until fewer than
    /// [`TRANSFERS_AT_ONCE`](crate::connection::TRANSFERS_AT_ONCE) transfers
    /// are running; the permit is this transfer's turn until it is dropped.
    async fn transfer_turn(&self) -> Result<SemaphorePermit<'_>, ClientError> {
        self.transfers
            .acquire()
            .await
            .map_err(|_| ClientError::Closed("the connection is closing".into()))
    }
}

/// An upload's stream until the server answers, reset with `CANCELLED` if
/// the upload is dropped before then (also after the last byte was written:
/// bytes still in flight are then not sent again, and the server drops what
/// it has). Without it quinn would finish the dropped stream, which the
/// server would read as an upload cut short rather than one given up.
struct CancelOnDrop(Option<SendStream>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(send) = self.0.as_mut() {
            let _ = send.reset(VarInt::from_u32(stream_code::CANCELLED));
        }
    }
}

/// The size and type a `File` answer gives, if it answers this request.
fn file_header(
    response: Response,
    hash: FileHash,
    offset: u64,
) -> Result<(u64, String), ClientError> {
    match response.map_err(ClientError::Server)? {
        Reply::File {
            hash: got,
            size,
            offset: from,
            mime,
        } if got == hash && from == offset && from <= size => Ok((size, mime)),
        other => Err(unexpected(&other)),
    }
}

/// The bytes from `offset` on if they are all there and, for a whole file,
/// hash to `hash`.
fn checked(bytes: Vec<u8>, hash: FileHash, size: u64, offset: u64) -> Result<Vec<u8>, ClientError> {
    let expected = size - offset;
    if bytes.len() as u64 > expected {
        return Err(ClientError::Protocol(format!(
            "the server sent more than the file's {size} bytes"
        )));
    }
    if bytes.len() as u64 != expected {
        return Err(ClientError::Closed(format!(
            "the download ended after {} of {expected} bytes",
            bytes.len()
        )));
    }
    if offset == 0 && FileHash(Sha256::digest(&bytes).into()) != hash {
        return Err(ClientError::Protocol(
            "the downloaded bytes do not match the file's SHA-256".into(),
        ));
    }
    Ok(bytes)
}

/// The next piece of a stream, `None` at its end.
async fn read_piece(recv: &mut RecvStream) -> Result<Option<bytes::Bytes>, ClientError> {
    match recv.read_chunk(PIECE, true).await {
        Ok(chunk) => Ok(chunk.map(|c| c.bytes)),
        Err(quinn::ReadError::ConnectionLost(e)) => Err(connection_error(e)),
        Err(e) => Err(ClientError::Closed(e.to_string())),
    }
}

/// A stream that ended before a whole header arrived: an error answer (the
/// server's refusals are short) or a broken one.
fn decode_whole(buf: &[u8]) -> Result<(Response, usize), ClientError> {
    let response: Response = codec::decode(buf, MAX_TRANSFER_HEADER_BYTES)
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
    Ok((response, buf.len()))
}
