//! Sending: each room's queue (`outbox.rs`) has one send on the wire at a
//! time, each in a task beside the loop, so a room's messages are stored in
//! the order typed while other rooms and direct conversations send in
//! parallel and pushed messages keep flowing to the UI. A send keeps its
//! idempotency key through every retry, and is reported acknowledged once:
//! only the answer to the room's send in flight, in the current epoch, counts.

use std::time::Duration;

use chatroom_common::protocol::{ChatMessage, ErrorCode, IdempotencyKey};
use tokio::time::Instant;
use tracing::debug;

use super::UiEvent;
use super::outbox::PendingSend;
use super::tasks::Done;
use super::worker::Worker;
use crate::ClientError;
use crate::session::Sent;

/// How soon a send refused for a passing reason is retried when the server
/// gave no figure (also after a stream-level failure on a live connection).
const SEND_RETRY: Duration = Duration::from_secs(2);

impl Worker {
    /// Queues a send; it goes out as soon as its room has nothing in flight.
    pub(super) fn send(&mut self, pending: PendingSend) {
        self.outbox.push(pending);
        self.pump_sends();
    }

    /// Starts the next send of every room that has none in flight (when
    /// connected and not asked to wait).
    pub(super) fn pump_sends(&mut self) {
        let Some(session) = self.session() else {
            return;
        };
        if let Some(until) = self.send_pause {
            if Instant::now() < until {
                return;
            }
            self.send_pause = None;
        }
        for pending in self.outbox.start_ready() {
            let session = session.clone();
            self.spawn(async move {
                let result = session
                    .send_with_files(
                        &pending.room,
                        &pending.text,
                        pending.key,
                        pending.file_refs(),
                    )
                    .await;
                Done::Sent {
                    room: pending.room,
                    key: pending.key,
                    result,
                }
            });
        }
    }

    /// A send of the current epoch ended.
    pub(super) fn sent(
        &mut self,
        room: String,
        key: IdempotencyKey,
        result: Result<Sent, ClientError>,
    ) {
        match result {
            Ok(sent) => {
                let Some(pending) = self.outbox.finish(&room, key) else {
                    return self.pump_sends();
                };
                if let Some(me) = &self.me {
                    // Shown at once as sent; the echo from the server is then a duplicate.
                    let message = ChatMessage {
                        room: room.clone(),
                        seq: sent.seq,
                        sender: me.username.clone(),
                        sender_avatar: me.avatar,
                        text: pending.text,
                        sent_at: sent.sent_at,
                        attachments: pending.files,
                    };
                    self.rooms.accept(&self.inbox, &room, vec![message], false);
                }
                self.inbox.push(UiEvent::Sent {
                    room,
                    key,
                    seq: sent.seq,
                });
            }
            Err(e) if e.is_transient() => {
                // Kept with its key. A refusal that passes is about the account
                // or the server ("slow down", storage busy), not the room, so
                // every room waits: the server's figure when it gave one. A
                // lost connection is noticed by the event stream, and the
                // reconnect lifts the pause and resends.
                debug!("send deferred: {e}");
                self.outbox.retry_later(&room, key);
                let wait = match &e {
                    ClientError::Server(reply) => {
                        let wait = reply
                            .retry_after_ms
                            .map_or(SEND_RETRY, Duration::from_millis);
                        if reply.code == ErrorCode::RateLimited {
                            self.inbox.push(UiEvent::SlowDown { retry_in: wait });
                        }
                        wait
                    }
                    _ => SEND_RETRY,
                };
                let until = Instant::now() + wait;
                self.send_pause = Some(self.send_pause.map_or(until, |p| p.max(until)));
                self.tick_at_most(until);
            }
            Err(e) => {
                if self.outbox.finish(&room, key).is_some() {
                    self.inbox.push(UiEvent::SendFailed {
                        room,
                        key,
                        reason: e.to_string(),
                        code: e.code(),
                    });
                }
            }
        }
        self.pump_sends();
    }
}
