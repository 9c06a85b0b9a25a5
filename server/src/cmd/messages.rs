//! Message requests: send (stored, acknowledged, then fanned out) and history.

use chatroom_common::protocol::{
    ErrorCode, ErrorReply, Event, HistoryQuery, IdempotencyKey, MAX_HISTORY_PAGE, Reply, Response,
};
use chatroom_common::validate;

use super::rooms::check_readable;
use super::{find_room, invalid, store_error};
use crate::context::{Context, now_ms};
use crate::session::Session;
use crate::store::NewMessage;

/// `Send`: the reply goes out only after the store says the message is durable.
pub async fn send(
    ctx: &Context,
    session: &Session,
    room: &str,
    text: String,
    key: IdempotencyKey,
) -> Response {
    let me = session.user()?;
    validate::text(&text).map_err(invalid)?;
    ctx.send_limiter.check(&me.id).map_err(slow_down)?;
    let room = find_room(ctx, room).await?;
    if !ctx
        .store
        .is_member(room.id, me.id)
        .await
        .map_err(store_error)?
    {
        return Err(ErrorReply::new(
            ErrorCode::NotMember,
            format!("join {} before posting there", room.name),
        ));
    }
    let (message, duplicate) = ctx
        .store
        .append_message(NewMessage {
            room_id: room.id,
            sender_id: me.id,
            text,
            key,
            sent_at: now_ms(),
        })
        .await
        .map_err(store_error)?;
    // A retry posts nothing: the first attempt was broadcast when it was
    // stored. Had the server died in between, members find the message by its
    // seq (a gap, or the history fetched at their next login).
    if !duplicate {
        ctx.hub.broadcast_event(
            room.id,
            &room.name,
            Some(message.seq),
            &Event::Message(message.clone()),
        );
    }
    Ok(Reply::Sent {
        seq: message.seq,
        sent_at: message.sent_at,
        duplicate,
    })
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
