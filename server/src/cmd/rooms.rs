//! Room requests: list, create, join, leave, direct conversations, who is online.

use chatroom_common::protocol::{
    ErrorCode, ErrorReply, Event, HISTORY_ON_JOIN, HistoryQuery, Reply, Response, RoomInfo,
    RoomKind, UserInfo,
};
use chatroom_common::validate;

use super::{find_room, invalid, room_info, store_error};
use crate::context::Context;
use crate::session::Session;
use crate::store::{RoomId, RoomRecord, StoreError, UserId};

/// `ListRooms`: public rooms plus the user's direct rooms.
pub async fn list(ctx: &Context, session: &Session) -> Response {
    let me = session.user()?;
    let key = me.username.to_lowercase();
    let mut rooms = ctx.store.public_rooms().await.map_err(store_error)?;
    let mine = ctx.store.rooms_of_user(me.id).await.map_err(store_error)?;
    let member: std::collections::HashSet<_> = mine.iter().map(|r| r.id).collect();
    rooms.extend(mine.into_iter().filter(|r| r.kind == RoomKind::Direct));
    Ok(Reply::Rooms(
        rooms
            .iter()
            .map(|r| RoomInfo {
                member: member.contains(&r.id),
                ..room_info(r, &key)
            })
            .collect(),
    ))
}

/// `CreateRoom`: a new public room; the creator joins it.
pub async fn create(ctx: &Context, session: &Session, name: &str) -> Response {
    let me = session.user()?;
    let name = validate::room_name(name).map_err(invalid)?;
    let room = ctx
        .store
        .create_room(&name, RoomKind::Public)
        .await
        .map_err(store_error)?;
    ctx.store
        .add_member(room.id, me.id)
        .await
        .map_err(store_error)?;
    ctx.hub.subscribe_user(me.id, room.id, &room.name);
    let info = room_info(&room, &me.username.to_lowercase());
    tell_other_devices(ctx, session, me.id, None, &Event::RoomAdded(info.clone()));
    // Everyone else sees the new room at once, without asking for the list.
    let news = RoomInfo {
        member: false,
        ..info.clone()
    };
    ctx.hub
        .send_event_to_others(me.id, &Event::RoomCreated(news));
    Ok(Reply::Room(info))
}

/// Tells the user's other connections (other devices) what this one did to
/// their rooms (joined one: `RoomAdded`, left one: `RoomLeft`), so the change
/// shows there at once rather than with the next message or login.
/// In a cluster this reaches their devices on other nodes too; `left` names
/// the room a `RoomLeft` is about, so those nodes stop routing it to them.
fn tell_other_devices(
    ctx: &Context,
    session: &Session,
    user: UserId,
    left: Option<RoomId>,
    event: &Event,
) {
    ctx.hub
        .send_event_to_user(user, Some(session.conn_id), left, event);
}

/// `JoinRoom`: membership, recent history and who is online.
pub async fn join(ctx: &Context, session: &Session, name: &str) -> Response {
    let me = session.user()?;
    let room = find_room(ctx, name).await?;
    let was_member = ctx
        .store
        .is_member(room.id, me.id)
        .await
        .map_err(store_error)?;
    if room.kind == RoomKind::Direct && !was_member {
        return Err(ErrorReply::new(
            ErrorCode::NotMember,
            "that is someone else's direct conversation",
        ));
    }
    if !was_member {
        ctx.store
            .add_member(room.id, me.id)
            .await
            .map_err(store_error)?;
    }
    ctx.hub.subscribe_user(me.id, room.id, &room.name);
    if !was_member {
        broadcast_presence(ctx, &room, session, true);
        tell_other_devices(
            ctx,
            session,
            me.id,
            None,
            &Event::RoomAdded(room_info(&room, &me.username.to_lowercase())),
        );
    }
    let history = ctx
        .store
        .history(
            room.id,
            HistoryQuery::Before {
                before: None,
                limit: HISTORY_ON_JOIN,
            },
        )
        .await
        .map_err(store_error)?;
    let mut info = room_info(&room, &me.username.to_lowercase());
    info.latest_seq = info.latest_seq.max(history.last().map_or(0, |m| m.seq));
    Ok(Reply::Joined {
        room: info,
        history,
        online: online_in(ctx, room.id).await?,
    })
}

/// `LeaveRoom`: no more events from a public room.
pub async fn leave(ctx: &Context, session: &Session, name: &str) -> Response {
    let me = session.user()?;
    let room = find_room(ctx, name).await?;
    if room.kind == RoomKind::Direct {
        return Err(ErrorReply::new(
            ErrorCode::InvalidInput,
            "a direct conversation cannot be left",
        ));
    }
    ctx.store
        .remove_member(room.id, me.id)
        .await
        .map_err(store_error)?;
    broadcast_presence(ctx, &room, session, false);
    ctx.hub.unsubscribe_user(me.id, room.id);
    let left = Event::RoomLeft {
        room: room.name.clone(),
    };
    tell_other_devices(ctx, session, me.id, Some(room.id), &left);
    Ok(Reply::Left)
}

/// `OpenDirect`: the private room of two users, created on first use.
pub async fn open_direct(ctx: &Context, session: &Session, user: &str) -> Response {
    let me = session.user()?;
    let peer = ctx
        .store
        .user_by_name(user)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ErrorReply::new(ErrorCode::NoSuchUser, format!("no user named {user}")))?;
    if peer.id == me.id {
        return Err(ErrorReply::new(
            ErrorCode::InvalidInput,
            "a direct conversation needs another user",
        ));
    }
    let name = validate::direct_room_name(&me.username, &peer.username);
    let room = match ctx.store.room_by_name(&name).await.map_err(store_error)? {
        Some(room) => room,
        None => match ctx.store.create_room(&name, RoomKind::Direct).await {
            Ok(room) => room,
            // Both users opened it at once: use the one that won.
            Err(StoreError::RoomExists) => find_room(ctx, &name).await?,
            Err(e) => return Err(store_error(e)),
        },
    };
    let peer_was_member = ctx
        .store
        .is_member(room.id, peer.id)
        .await
        .map_err(store_error)?;
    ctx.store
        .add_member(room.id, me.id)
        .await
        .map_err(store_error)?;
    ctx.store
        .add_member(room.id, peer.id)
        .await
        .map_err(store_error)?;
    ctx.hub.subscribe_user(me.id, room.id, &room.name);
    ctx.hub.subscribe_user(peer.id, room.id, &room.name);
    if !peer_was_member {
        // Wherever the peer is connected, this node or another.
        let event = Event::RoomAdded(room_info(&room, &peer.username.to_lowercase()));
        ctx.hub.send_event_to_user(peer.id, None, None, &event);
    }
    Ok(Reply::Room(room_info(&room, &me.username.to_lowercase())))
}

/// `Who`: members of the room who are online.
pub async fn who(ctx: &Context, session: &Session, name: &str) -> Response {
    let me = session.user()?;
    let room = find_room(ctx, name).await?;
    check_readable(ctx, me.id, &room).await?;
    Ok(Reply::Online(online_in(ctx, room.id).await?))
}

/// Who of the room is online: connected here, or in a cluster to any node
/// (members the presence bucket lists), sorted by name.
async fn online_in(ctx: &Context, room: RoomId) -> Result<Vec<UserInfo>, ErrorReply> {
    let mut online = ctx.hub.online_in(room);
    let Some(presence) = ctx.presence.get() else {
        return Ok(online);
    };
    let members = ctx.store.member_ids(room).await.map_err(store_error)?;
    for user in presence.online_among(&members) {
        if !online.iter().any(|u| u.username == user.username) {
            online.push(user);
        }
    }
    online.sort_by(|a, b| a.username.cmp(&b.username));
    Ok(online)
}

/// Tells a room that the session's user came or went.
pub fn broadcast_presence(ctx: &Context, room: &RoomRecord, session: &Session, online: bool) {
    let Ok(me) = session.user() else { return };
    ctx.hub
        .broadcast_presence(room.id, &room.name, &me.info(), online);
}

/// Checks that the user may read a room: any public room, or their own direct room.
pub async fn check_readable(
    ctx: &Context,
    user: crate::store::UserId,
    room: &RoomRecord,
) -> Result<(), ErrorReply> {
    if room.kind == RoomKind::Direct
        && !ctx
            .store
            .is_member(room.id, user)
            .await
            .map_err(store_error)?
    {
        return Err(ErrorReply::new(
            ErrorCode::NotMember,
            "not your conversation",
        ));
    }
    Ok(())
}
