//! One client connection: accepts request streams (one request each), runs
//! them concurrently, and pushes queued events, each on its own stream.

use std::sync::Arc;
use std::time::Duration;

use chatroom_common::codec;
use chatroom_common::protocol::{
    ErrorCode, ErrorReply, MAX_REQUEST_BYTES, MAX_TRANSFER_HEADER_BYTES, MAX_UPLOAD_BYTES, Request,
    Response, TRANSFER_PRIORITY, close_code, stream_code,
};
use quinn::{Connection, RecvStream, SendStream, VarInt};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::cmd;
use crate::config::StreamMode;
use crate::context::Context;
use crate::framed;
use crate::outbox;
use crate::push::{write_events, write_framed_events};
use crate::session::Session;

/// How long in-flight requests may run once shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a finished response waits for the peer's acknowledgement; this is
/// what lets a shutdown finish its writes before closing.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves one connection until the client goes away or the server shuts down.
/// `stream_mode` says how events are pushed (per-message unless benchmarking).
pub async fn handle(
    conn: Connection,
    ctx: Arc<Context>,
    mut shutdown: watch::Receiver<bool>,
    stream_mode: StreamMode,
) {
    let conn_id = ctx.next_conn_id();
    let session = Arc::new(Session::new(conn_id, conn.remote_address()));
    let (outbox, outbox_rx) = outbox::outbox(ctx.limits.outbound_queue);
    ctx.hub.connect(conn_id, outbox);
    let writer = match stream_mode {
        StreamMode::PerMessage => {
            tokio::spawn(write_events(conn.clone(), outbox_rx, ctx.limits.push_delay))
        }
        StreamMode::Single => tokio::spawn(write_framed_events(conn.clone(), outbox_rx)),
    };
    debug!(conn_id, remote = %session.remote, "connection open");

    let mut requests = JoinSet::new();
    let mut shutting_down = *shutdown.borrow();
    while !shutting_down {
        tokio::select! {
            stream = conn.accept_bi() => match stream {
                Ok((send, recv)) => match stream_mode {
                    StreamMode::PerMessage => {
                        requests.spawn(serve_request(ctx.clone(), session.clone(), send, recv));
                    }
                    // The benchmark's comparison: a stream of framed requests.
                    StreamMode::Single => {
                        let (ctx, session) = (ctx.clone(), session.clone());
                        requests.spawn(framed::serve(ctx, session, send, recv, shutdown.clone()));
                    }
                },
                Err(e) => {
                    debug!(conn_id, "connection ended: {e}");
                    break;
                }
            },
            Some(_) = requests.join_next(), if !requests.is_empty() => {}
            changed = shutdown.changed() => {
                // A dropped sender means the server is gone: shut down too.
                shutting_down = changed.is_err() || *shutdown.borrow();
            }
        }
    }

    if shutting_down {
        let drained = async { while requests.join_next().await.is_some() {} };
        if tokio::time::timeout(DRAIN_TIMEOUT, drained).await.is_err() {
            warn!(
                conn_id,
                "requests still running at shutdown; closing anyway"
            );
        }
        conn.close(
            VarInt::from_u32(close_code::SHUTDOWN),
            b"server shutting down",
        );
    }
    requests.abort_all();
    writer.abort();
    cmd::auth::disconnected(&ctx, conn_id);
    let stats = conn.stats();
    ctx.transport.add(&stats);
    // The path's loss and congestion figures over the connection's life: what
    // the loss benchmark (S4 in docs/performance.md) needs to tell loss
    // recovery from congestion control.
    let path = stats.path;
    debug!(
        conn_id,
        sent_packets = path.sent_packets,
        lost_packets = path.lost_packets,
        congestion_events = path.congestion_events,
        cwnd = path.cwnd,
        rtt_ms = path.rtt.as_secs_f64() * 1000.0,
        "connection closed"
    );
}

/// Reads one request, answers it and finishes the stream.
async fn serve_request(
    ctx: Arc<Context>,
    session: Arc<Session>,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let read =
        tokio::time::timeout(ctx.limits.request_timeout, read_request(&ctx, &mut recv)).await;
    let response: Response = match read {
        Err(_elapsed) => {
            let _ = recv.stop(VarInt::from_u32(stream_code::UNDECODABLE));
            Err(ErrorReply::new(
                ErrorCode::BadRequest,
                "the request was not finished in time",
            ))
        }
        Ok(Err(ReadFailure::TooLong(limit))) => {
            let _ = recv.stop(VarInt::from_u32(stream_code::TOO_LARGE));
            Err(ErrorReply::new(
                ErrorCode::TooLarge,
                format!("this request is limited to {limit} bytes"),
            ))
        }
        Ok(Err(ReadFailure::Busy)) => {
            let _ = recv.stop(VarInt::from_u32(stream_code::TOO_LARGE));
            Err(ErrorReply {
                code: ErrorCode::RateLimited,
                message: "the server is busy with other uploads; try again shortly".into(),
                retry_after_ms: Some(1000),
            })
        }
        Ok(Err(ReadFailure::Stream(e))) => {
            debug!(conn_id = session.conn_id, "request stream failed: {e}");
            return;
        }
        Ok(Ok(Incoming::Upload(header, head))) => {
            match cmd::files::upload(&ctx, &session, header, head, Some(&mut recv)).await {
                Some(response) => response,
                None => return,
            }
        }
        Ok(Ok(Incoming::Request(bytes))) => {
            match codec::decode::<Request>(&bytes, MAX_UPLOAD_BYTES) {
                Ok(Request::Download { hash, offset }) => {
                    match cmd::files::download(&ctx, &session, hash, offset).await {
                        Ok(download) => {
                            write_download(send, download).await;
                            return;
                        }
                        Err(e) => Err(e),
                    }
                }
                Ok(request) => cmd::dispatch(&ctx, &session, request).await,
                Err(e) => Err(ErrorReply::new(
                    ErrorCode::BadRequest,
                    format!("could not decode the request: {e}"),
                )),
            }
        }
    };
    let bytes = match codec::encode(&response) {
        Ok(bytes) => bytes,
        Err(e) => {
            warn!("encoding a response failed: {e}");
            let _ = send.reset(VarInt::from_u32(stream_code::UNDECODABLE));
            return;
        }
    };
    if send.write_all(&bytes).await.is_err() || send.finish().is_err() {
        return;
    }
    let _ = tokio::time::timeout(ACK_TIMEOUT, send.stopped()).await;
}

/// Writes a download: the `File` header, then the bytes, on a stream below
/// every chat stream's priority, so messages pushed meanwhile go first.
async fn write_download(mut send: SendStream, download: cmd::files::Download<'_>) {
    let _ = send.set_priority(TRANSFER_PRIORITY);
    let cmd::files::Download {
        header,
        body,
        permit,
    } = download;
    if send.write_all(&header).await.is_err() || send.write_chunk(body).await.is_err() {
        return;
    }
    // The bytes are quinn's now; what they hold is still counted until acknowledged.
    let _ = send.finish();
    let _ = tokio::time::timeout(ACK_TIMEOUT, send.stopped()).await;
    drop(permit);
}

/// What a request stream turned out to carry.
enum Incoming {
    /// A whole request.
    Request(Vec<u8>),
    /// An upload's header and the bytes of the file that came with it; the
    /// rest of the file is still on the stream.
    Upload(cmd::files::UploadHeader, Vec<u8>),
}

/// Why a request could not be read.
enum ReadFailure {
    /// Over the cap for its kind (the cap is given).
    TooLong(usize),
    /// An upload arrived while the server-wide upload slots were all taken.
    Busy,
    /// The stream or connection failed.
    Stream(quinn::ReadError),
}

/// How an avatar upload request begins on the wire: a one-entry map whose key
/// is the variant name (`to_vec_named` encoding; a unit test pins this).
const UPLOAD_PREFIX: &[u8] = b"\x81\xacAvatarUpload";
/// How a file upload's header begins on the wire (the same encoding).
pub(crate) const FILE_UPLOAD_PREFIX: &[u8] = b"\x81\xa6Upload";

/// Reads a request, capped at [`MAX_REQUEST_BYTES`] unless it is an avatar
/// upload, which may reach [`MAX_UPLOAD_BYTES`] while it holds an upload slot.
/// A file upload is returned as soon as its header is in: its body is read
/// by `cmd::files`, with its own limits and timeout.
async fn read_request(ctx: &Context, recv: &mut RecvStream) -> Result<Incoming, ReadFailure> {
    let mut buf = Vec::new();
    let mut limit = MAX_REQUEST_BYTES;
    let mut upload_slot = None;
    while let Some(chunk) = recv
        .read_chunk(64 * 1024, true)
        .await
        .map_err(ReadFailure::Stream)?
    {
        buf.extend_from_slice(&chunk.bytes);
        if buf.starts_with(FILE_UPLOAD_PREFIX) {
            match codec::decode_prefix::<Request>(&buf, MAX_TRANSFER_HEADER_BYTES) {
                Ok(Some((Request::Upload { name, size, sha256 }, used))) => {
                    let head = buf.split_off(used);
                    let header = cmd::files::UploadHeader { name, size, sha256 };
                    return Ok(Incoming::Upload(header, head));
                }
                Ok(None) => continue,
                // Not an upload after all, or a broken one: decoding the
                // whole stream as a request reports it.
                Ok(Some(_)) | Err(_) => return Ok(Incoming::Request(buf)),
            }
        }
        if upload_slot.is_none()
            && buf.len() >= UPLOAD_PREFIX.len()
            && buf.starts_with(UPLOAD_PREFIX)
        {
            upload_slot = Some(ctx.uploads.try_acquire().map_err(|_| ReadFailure::Busy)?);
            limit = MAX_UPLOAD_BYTES;
        }
        if buf.len() > limit {
            return Err(ReadFailure::TooLong(limit));
        }
    }
    Ok(Incoming::Request(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_prefix_matches_the_encoding() {
        let bytes = codec::encode(&Request::AvatarUpload {
            image: vec![1, 2, 3],
        })
        .unwrap();
        assert!(bytes.starts_with(UPLOAD_PREFIX));
        let other = codec::encode(&Request::AvatarPool).unwrap();
        assert!(!other.starts_with(UPLOAD_PREFIX));
        let file = codec::encode(&Request::Upload {
            name: "a".into(),
            size: 1,
            sha256: chatroom_common::protocol::FileHash([0; 32]),
        })
        .unwrap();
        assert!(file.starts_with(FILE_UPLOAD_PREFIX));
    }
}
