//! Not the protocol: the requests side of the benchmark's comparison mode
//! (`EventStreams::Single`, a server started with `--stream-mode single`).
//! Every request of a connection — an upload with all of its bytes — is a
//! frame on one bidirectional stream, written whole before the next, as on
//! one TCP connection; the server answers each by its id on the same stream.
//! A frame is a `u32` big-endian body length, a `u32` big-endian id, then
//! what the request's (or answer's) own stream would carry in the protocol.
//!
//! Dropping a call while it writes leaves half a frame on the stream and so
//! breaks every later call; the benchmark never does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chatroom_common::protocol::{
    DEFAULT_MAX_FILE_BYTES, MAX_RESPONSE_BYTES, MAX_TRANSFER_HEADER_BYTES,
};
use quinn::{RecvStream, SendStream};
use tokio::sync::oneshot;
use tracing::debug;

use crate::ClientError;
use crate::connection::connection_error;

/// How much of a body is written at a time (and between progress reports).
const PIECE: usize = 64 * 1024;

/// The largest answer read: a whole download at the default file limit.
fn answer_limit() -> usize {
    usize::try_from(DEFAULT_MAX_FILE_BYTES)
        .unwrap_or(usize::MAX)
        .saturating_add(MAX_TRANSFER_HEADER_BYTES)
        .max(MAX_RESPONSE_BYTES)
}

/// Calls waiting for their answers.
#[derive(Default)]
struct Waiting {
    /// The id of the next call.
    next_id: u32,
    /// Each waiting call's id and where its answer goes.
    calls: HashMap<u32, oneshot::Sender<Vec<u8>>>,
    /// False once the answer stream has ended: no answer will come.
    open: bool,
}

/// One connection's framed request stream.
pub(crate) struct Framed {
    /// The request side; a call holds it while it writes its whole frame.
    send: tokio::sync::Mutex<SendStream>,
    /// Calls waiting for answers, shared with the reader task.
    waiting: Arc<Mutex<Waiting>>,
}

impl Framed {
    /// Opens the stream and starts reading answers.
    pub(crate) async fn open(conn: &quinn::Connection) -> Result<Self, ClientError> {
        let (send, recv) = conn.open_bi().await.map_err(connection_error)?;
        let waiting = Arc::new(Mutex::new(Waiting {
            open: true,
            ..Waiting::default()
        }));
        tokio::spawn(read_answers(recv, waiting.clone()));
        Ok(Self {
            send: tokio::sync::Mutex::new(send),
            waiting,
        })
    }

    /// Writes `head` and `body` as one frame, after every frame already being
    /// written, and waits for the answer's body. `progress` hears how much of
    /// `body` was handed to the stream so far.
    pub(crate) async fn call(
        &self,
        head: &[u8],
        body: &[u8],
        mut progress: impl FnMut(u64),
    ) -> Result<Vec<u8>, ClientError> {
        let len = u32::try_from(head.len() + body.len())
            .map_err(|_| ClientError::Protocol("the request does not fit a frame".into()))?;
        let (answer_tx, answer_rx) = oneshot::channel();
        let id = {
            let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            if !waiting.open {
                return Err(ClientError::Closed("the request stream ended".into()));
            }
            let id = waiting.next_id;
            waiting.next_id = id.wrapping_add(1);
            waiting.calls.insert(id, answer_tx);
            id
        };
        let written = async {
            let mut send = self.send.lock().await;
            let mut frame_head = [0u8; 8];
            frame_head[..4].copy_from_slice(&len.to_be_bytes());
            frame_head[4..].copy_from_slice(&id.to_be_bytes());
            send.write_all(&frame_head).await?;
            send.write_all(head).await?;
            let mut sent = 0u64;
            for piece in body.chunks(PIECE) {
                send.write_all(piece).await?;
                sent += piece.len() as u64;
                progress(sent);
            }
            Ok::<(), quinn::WriteError>(())
        }
        .await;
        if let Err(e) = written {
            let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            waiting.calls.remove(&id);
            return Err(match e {
                quinn::WriteError::ConnectionLost(e) => connection_error(e),
                e => ClientError::Closed(e.to_string()),
            });
        }
        answer_rx
            .await
            .map_err(|_| ClientError::Closed("the request stream ended".into()))
    }
}

/// Hands each answer frame to its call until the stream ends; then every call
/// still waiting hears that no answer will come.
async fn read_answers(mut recv: RecvStream, waiting: Arc<Mutex<Waiting>>) {
    let limit = answer_limit();
    loop {
        let mut head = [0u8; 8];
        match recv.read_exact(&mut head).await {
            Ok(()) => {}
            Err(e) => {
                debug!("framed answers ended: {e}");
                break;
            }
        }
        let [a, b, c, d, e, f, g, h] = head;
        let len = usize::try_from(u32::from_be_bytes([a, b, c, d])).unwrap_or(usize::MAX);
        let id = u32::from_be_bytes([e, f, g, h]);
        if len > limit {
            debug!("an answer frame of {len} bytes is over the cap");
            break;
        }
        let mut body = vec![0u8; len];
        if let Err(e) = recv.read_exact(&mut body).await {
            debug!("framed answers ended: {e}");
            break;
        }
        let call = waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .calls
            .remove(&id);
        if let Some(call) = call {
            let _ = call.send(body);
        }
    }
    let mut waiting = waiting.lock().unwrap_or_else(|e| e.into_inner());
    waiting.open = false;
    waiting.calls.clear();
}
