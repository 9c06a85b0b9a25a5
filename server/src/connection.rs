//! One client connection: accepts request streams (one request each), runs
//! them concurrently, and pushes queued events, each on its own stream.

use std::sync::Arc;
use std::time::Duration;

use chatroom_common::codec;
use chatroom_common::protocol::{
    ErrorCode, ErrorReply, MAX_REQUEST_BYTES, Request, Response, close_code, stream_code,
};
use quinn::{Connection, ReadToEndError, RecvStream, SendStream, VarInt};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::cmd;
use crate::context::Context;
use crate::hub::{self, OutboxReceiver};
use crate::session::Session;

/// How long in-flight requests may run once shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a finished response waits for the peer's acknowledgement; this is
/// what lets a shutdown finish its writes before closing.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves one connection until the client goes away or the server shuts down.
pub async fn handle(conn: Connection, ctx: Arc<Context>, mut shutdown: watch::Receiver<bool>) {
    let conn_id = ctx.next_conn_id();
    let session = Arc::new(Session::new(conn_id, conn.remote_address()));
    let (outbox, outbox_rx) = hub::outbox(ctx.limits.outbound_queue);
    ctx.hub.connect(conn_id, outbox);
    let writer = tokio::spawn(write_events(conn.clone(), outbox_rx));
    debug!(conn_id, remote = %session.remote, "connection open");

    let mut requests = JoinSet::new();
    let mut shutting_down = *shutdown.borrow();
    while !shutting_down {
        tokio::select! {
            stream = conn.accept_bi() => match stream {
                Ok((send, recv)) => {
                    requests.spawn(serve_request(ctx.clone(), session.clone(), send, recv));
                }
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
            warn!(conn_id, "requests still running at shutdown; closing anyway");
        }
        conn.close(
            VarInt::from_u32(close_code::SHUTDOWN),
            b"server shutting down",
        );
    }
    requests.abort_all();
    writer.abort();
    cmd::auth::disconnected(&ctx, conn_id);
    debug!(conn_id, "connection closed");
}

/// Reads one request, answers it and finishes the stream.
async fn serve_request(
    ctx: Arc<Context>,
    session: Arc<Session>,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let read = tokio::time::timeout(
        ctx.limits.request_timeout,
        recv.read_to_end(MAX_REQUEST_BYTES),
    )
    .await;
    let response: Response = match read {
        Err(_elapsed) => {
            let _ = recv.stop(VarInt::from_u32(stream_code::UNDECODABLE));
            Err(ErrorReply::new(
                ErrorCode::BadRequest,
                "the request was not finished in time",
            ))
        }
        Ok(Err(ReadToEndError::TooLong)) => {
            let _ = recv.stop(VarInt::from_u32(stream_code::TOO_LARGE));
            Err(ErrorReply::new(
                ErrorCode::TooLarge,
                format!("requests are limited to {MAX_REQUEST_BYTES} bytes"),
            ))
        }
        Ok(Err(e)) => {
            debug!(conn_id = session.conn_id, "request stream failed: {e}");
            return;
        }
        Ok(Ok(bytes)) => match codec::decode::<Request>(&bytes, MAX_REQUEST_BYTES) {
            Ok(request) => cmd::dispatch(&ctx, &session, request).await,
            Err(e) => Err(ErrorReply::new(
                ErrorCode::BadRequest,
                format!("could not decode the request: {e}"),
            )),
        },
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

/// Pushes queued events, one unidirectional stream each. Writing into a stream
/// only buffers, so a lost packet on one stream never holds up the next one.
async fn write_events(conn: Connection, mut outbox: OutboxReceiver) {
    while let Some(event) = outbox.rx.recv().await {
        if push(&conn, &event).await.is_err() {
            return;
        }
        if outbox.rx.is_empty() {
            for resync in outbox.take_resyncs() {
                if push(&conn, &resync).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn push(conn: &Connection, bytes: &[u8]) -> Result<(), ()> {
    let mut stream = conn.open_uni().await.map_err(|_| ())?;
    stream.write_all(bytes).await.map_err(|_| ())?;
    stream.finish().map_err(|_| ())
}
