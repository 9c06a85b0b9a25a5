//! Uploading and downloading attachments, each on a QUIC stream of its own at
//! the transfer priority, so chat requests and pushed messages overtake them.
//! Progress is reported as bytes move; dropping the future cancels the
//! transfer: an upload's stream is reset (quinn would otherwise finish a
//! dropped stream, and the bytes already buffered would arrive as a whole
//! file), a download's is stopped, and the server frees what it held.

use chatroom_common::codec;
use chatroom_common::protocol::{
    Attachment, FileHash, MAX_TRANSFER_HEADER_BYTES, Reply, Request, Response, TRANSFER_PRIORITY,
};
use quinn::{RecvStream, SendStream, VarInt, WriteError};
use sha2::{Digest, Sha256};

use crate::ClientError;
use crate::connection::{Connection, connection_error, read_response, unexpected};

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
        let (send, mut recv) = self.quic().open_bi().await.map_err(connection_error)?;
        let mut guard = ResetOnDrop {
            send,
            answered: false,
        };
        let send = &mut guard.send;
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
                let _ = send.finish();
            }
            // The server refused the upload part-way and stopped the stream:
            // its answer says why.
            Err(WriteError::Stopped(_)) => {}
            Err(WriteError::ConnectionLost(e)) => return Err(connection_error(e)),
            Err(e) => return Err(ClientError::Closed(e.to_string())),
        }
        let response = read_response(&mut recv).await;
        guard.answered = true;
        match response? {
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
        let (size, mime) = match response.map_err(ClientError::Server)? {
            Reply::File {
                hash: got,
                size,
                offset: from,
                mime,
            } if got == hash && from == offset && from <= size => (size, mime),
            other => return Err(unexpected(&other)),
        };
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
        Ok(Downloaded { mime, bytes })
    }
}

/// An upload's send stream, reset with code 0 when it is dropped before the
/// server answered: a cancelled upload must end as a reset, which the server
/// drops with everything received. (quinn finishes a dropped stream, and the
/// bytes it had buffered would then still arrive as a whole file; a reset
/// also withdraws a stream already finished whose bytes are not all across.)
struct ResetOnDrop {
    /// The stream.
    send: SendStream,
    /// The server answered: nothing is left to withdraw.
    answered: bool,
}

impl Drop for ResetOnDrop {
    fn drop(&mut self) {
        if !self.answered {
            let _ = self.send.reset(VarInt::from_u32(0));
        }
    }
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
