//! Message requests: send (stored, acknowledged, then fanned out) and history.

use chatroom_common::protocol::{
    Attachment, ChatMessage, ErrorCode, ErrorReply, Event, FileRef, HistoryQuery, IdempotencyKey,
    MAX_HISTORY_PAGE, Reply, Response,
};
use chatroom_common::validate;

use super::rooms::check_readable;
use super::{find_room, invalid, store_error};
use crate::context::{Context, now_ms};
use crate::session::Session;
use crate::store::{NOT_A_MEMBER, NewMessage, StoreError};

/// `Send`: the reply goes out only after the store says the message is durable.
///
/// The hot path makes one store call: the room comes from the hub when this
/// connection is subscribed to it (otherwise from the store), and membership is
/// checked by the store inside the append's transaction, so a member removed a
/// moment ago cannot post. The event is built from what was sent, not read back.
pub async fn send(
    ctx: &Context,
    session: &Session,
    room: &str,
    text: String,
    key: IdempotencyKey,
    files: Vec<FileRef>,
) -> Response {
    let me = session.user()?;
    validate::message(&text, files.len()).map_err(invalid)?;
    ctx.send_limiter.check(&me.id).map_err(slow_down)?;
    let attachments = if files.is_empty() {
        Vec::new()
    } else {
        attachments(ctx, me.id, files).await?
    };
    // Public names are case-folded; direct names are already lower case.
    let name = room.to_lowercase();
    let (subscribed, sender) = ctx.hub.send_route(session.conn_id, &name);
    let (room_id, room_name) = match subscribed {
        Some(id) => (id, name),
        None => {
            let room = find_room(ctx, room).await?;
            (room.id, room.name)
        }
    };
    let sender = sender.unwrap_or_else(|| me.info());
    let appended = ctx
        .store
        .append_message(NewMessage {
            room_id,
            sender_id: me.id,
            text: text.clone(),
            key,
            sent_at: now_ms(),
            attachments: attachments.clone(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(what) if what == NOT_A_MEMBER => ErrorReply::new(
                ErrorCode::NotMember,
                format!("join {room_name} before posting there"),
            ),
            other => store_error(other),
        })?;
    // A retry posts nothing: the first attempt was broadcast when it was
    // stored. Had the server died in between, members find the message by its
    // seq (a gap, or the history fetched at their next login).
    if !appended.duplicate {
        let message = ChatMessage {
            room: room_name.clone(),
            seq: appended.seq,
            sender: sender.username,
            sender_avatar: sender.avatar,
            text,
            sent_at: appended.sent_at,
            attachments,
        };
        ctx.hub.broadcast_event(
            room_id,
            &room_name,
            Some(appended.seq),
            &Event::Message(message),
        );
    }
    Ok(Reply::Sent {
        seq: appended.seq,
        sent_at: appended.sent_at,
        duplicate: appended.duplicate,
    })
}

/// The attachments of a send: each must be a file the sender uploaded; the
/// size, type and picture details come from the store, only the name from
/// the sender.
async fn attachments(
    ctx: &Context,
    sender: crate::store::UserId,
    files: Vec<FileRef>,
) -> Result<Vec<Attachment>, ErrorReply> {
    let hashes = files.iter().map(|f| f.hash).collect();
    let records = ctx
        .store
        .uploaded_files(sender, hashes)
        .await
        .map_err(store_error)?;
    files
        .into_iter()
        .map(|file| {
            let name = validate::file_name(&file.name).map_err(invalid)?;
            let record = records
                .iter()
                .find(|r| r.hash == file.hash)
                .ok_or_else(|| {
                    ErrorReply::new(
                        ErrorCode::NoSuchFile,
                        format!("attach only files you uploaded ({} is not one)", file.hash),
                    )
                })?;
            Ok(record.attachment(name))
        })
        .collect()
}

/// The "slow down" answer, with the wait in plain words and in milliseconds.
pub fn slow_down(wait: std::time::Duration) -> ErrorReply {
    let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
    ErrorReply {
        code: ErrorCode::RateLimited,
        message: format!("slow down: you can send again in {ms} ms"),
        retry_after_ms: Some(ms),
    }
}

/// `History`: a page before or after a sequence number.
pub async fn history(
    ctx: &Context,
    session: &Session,
    room: &str,
    query: HistoryQuery,
) -> Response {
    let me = session.user()?;
    let room = find_room(ctx, room).await?;
    check_readable(ctx, me.id, &room).await?;
    let query = match query {
        HistoryQuery::Before { before, limit } => HistoryQuery::Before {
            before,
            limit: limit.clamp(1, MAX_HISTORY_PAGE),
        },
        HistoryQuery::After { after, limit } => HistoryQuery::After {
            after,
            limit: limit.clamp(1, MAX_HISTORY_PAGE),
        },
    };
    let messages = ctx
        .store
        .history(room.id, query)
        .await
        .map_err(store_error)?;
    let latest_seq = room.latest_seq.max(messages.last().map_or(0, |m| m.seq));
    Ok(Reply::History {
        messages,
        latest_seq,
    })
}
