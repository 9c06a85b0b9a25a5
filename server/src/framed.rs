//! Not the protocol: the requests side of the benchmark's comparison mode
//! (`--stream-mode single`). Every bidirectional stream a client opens is a
//! channel of frames, as one TCP connection would be: each request — an
//! upload with all of its bytes — is one frame, read in order, so a request
//! written behind an 8 MiB upload waits for all of it. Requests are then
//! handled concurrently and answered by id on the same stream.
//!
//! A frame is a `u32` big-endian body length, a `u32` big-endian id, then the
//! body: what the request's own stream would carry in the protocol (the
//! encoded request, an upload's bytes after its header; the encoded
//! response, a download's bytes after its `File` header).

use std::sync::Arc;

use bytes::Bytes;
use chatroom_common::codec;
use chatroom_common::protocol::{
    ErrorCode, ErrorReply, MAX_TRANSFER_HEADER_BYTES, MAX_UPLOAD_BYTES, Request, Response,
    stream_code,
};
use quinn::{RecvStream, SendStream, VarInt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::cmd;
use crate::connection::FILE_UPLOAD_PREFIX;
use crate::context::Context;
use crate::session::Session;

/// Answers waiting for the writer; the handlers wait when it is full.
const ANSWER_QUEUE: usize = 64;

/// One answer: its request's id and the pieces of its body.
type Answer = (u32, Vec<Bytes>);

/// Serves one framed request stream until the client finishes it, the
/// connection ends or the server shuts down (then the requests being handled
/// are answered before the stream is finished).
pub(crate) async fn serve(
    ctx: Arc<Context>,
    session: Arc<Session>,
    send: SendStream,
    mut recv: RecvStream,
    mut shutdown: watch::Receiver<bool>,
) {
    let (answer_tx, answer_rx) = mpsc::channel(ANSWER_QUEUE);
    let writer = tokio::spawn(write_answers(send, answer_rx));
    // An upload is read whole before it is examined, so a frame may hold the
    // largest file the server takes.
    let limit = usize::try_from(ctx.limits.max_file_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(MAX_TRANSFER_HEADER_BYTES)
        .max(MAX_UPLOAD_BYTES);
    let mut handlers = JoinSet::new();
    loop {
        let frame = tokio::select! {
            frame = read_frame(&mut recv, limit) => frame,
            _ = shutdown.changed() => break,
        };
        let (id, body) = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                debug!(conn_id = session.conn_id, "framed request stream: {e}");
                break;
            }
        };
        let (ctx, session, answer_tx) = (ctx.clone(), session.clone(), answer_tx.clone());
        handlers.spawn(async move {
            let pieces = answer(&ctx, &session, body).await;
            let _ = answer_tx.send((id, pieces)).await;
        });
        // Reap finished handlers so the set does not grow with the stream.
        while handlers.try_join_next().is_some() {}
    }
    while handlers.join_next().await.is_some() {}
    drop(answer_tx);
    let _ = writer.await;
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
enum FrameError {
    /// The stream failed or ended inside a frame.
    #[error("reading: {0}")]
    Read(#[from] quinn::ReadExactError),
    /// A frame over the cap.
    #[error("a frame of {0} bytes is over the cap")]
    TooLong(usize),
}

/// The next frame, `None` when the stream ends between frames.
async fn read_frame(
    recv: &mut RecvStream,
    limit: usize,
) -> Result<Option<(u32, Vec<u8>)>, FrameError> {
    let mut head = [0u8; 8];
    match recv.read_exact(&mut head).await {
        Ok(()) => {}
        Err(quinn::ReadExactError::FinishedEarly(0)) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let [a, b, c, d, e, f, g, h] = head;
    let len = usize::try_from(u32::from_be_bytes([a, b, c, d])).unwrap_or(usize::MAX);
    let id = u32::from_be_bytes([e, f, g, h]);
    if len > limit {
        let _ = recv.stop(VarInt::from_u32(stream_code::TOO_LARGE));
        return Err(FrameError::TooLong(len));
    }
    let mut body = vec![0u8; len];
    recv.read_exact(&mut body).await?;
    Ok(Some((id, body)))
}

/// Handles one request frame as its own stream would be handled.
async fn answer(ctx: &Context, session: &Session, body: Vec<u8>) -> Vec<Bytes> {
    let response: Response = if body.starts_with(FILE_UPLOAD_PREFIX) {
        match codec::decode_prefix::<Request>(&body, MAX_TRANSFER_HEADER_BYTES) {
            Ok(Some((Request::Upload { name, size, sha256 }, used))) => {
                let header = cmd::files::UploadHeader { name, size, sha256 };
                let mut body = body;
                let rest = body.split_off(used);
                // Without a stream the upload cannot vanish half-way.
                cmd::files::upload(ctx, session, header, rest, None)
                    .await
                    .unwrap_or_else(|| Err(ErrorReply::new(ErrorCode::Internal, "upload lost")))
            }
            _ => Err(ErrorReply::new(
                ErrorCode::BadRequest,
                "could not decode the upload's header",
            )),
        }
    } else {
        match codec::decode::<Request>(&body, MAX_UPLOAD_BYTES) {
            Ok(Request::Download { hash, offset }) => {
                match cmd::files::download(ctx, session, hash, offset).await {
                    Ok(download) => return vec![Bytes::from(download.header), download.body],
                    Err(e) => Err(e),
                }
            }
            Ok(request) => cmd::dispatch(ctx, session, request).await,
            Err(e) => Err(ErrorReply::new(
                ErrorCode::BadRequest,
                format!("could not decode the request: {e}"),
            )),
        }
    };
    match codec::encode(&response) {
        Ok(bytes) => vec![Bytes::from(bytes)],
        Err(e) => {
            warn!("encoding a response failed: {e}");
            let fallback = Err::<chatroom_common::protocol::Reply, _>(ErrorReply::new(
                ErrorCode::Internal,
                "internal server error",
            ));
            codec::encode(&fallback)
                .map(|b| vec![Bytes::from(b)])
                .unwrap_or_default()
        }
    }
}

/// Writes answers as frames in the order they are ready, then finishes the stream.
async fn write_answers(mut send: SendStream, mut answer_rx: mpsc::Receiver<Answer>) {
    while let Some((id, pieces)) = answer_rx.recv().await {
        let len: usize = pieces.iter().map(Bytes::len).sum();
        let Ok(len) = u32::try_from(len) else {
            warn!("an answer of {len} bytes does not fit a frame");
            return;
        };
        let mut head = [0u8; 8];
        head[..4].copy_from_slice(&len.to_be_bytes());
        head[4..].copy_from_slice(&id.to_be_bytes());
        if send.write_all(&head).await.is_err() {
            return;
        }
        for piece in pieces {
            if send.write_chunk(piece).await.is_err() {
                return;
            }
        }
    }
    let _ = send.finish();
}
