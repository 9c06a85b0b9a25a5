//! Request handlers, one module per area; [`dispatch`] routes a decoded request.

use chatroom_common::protocol::{ErrorCode, ErrorReply, Request, Response, RoomInfo, RoomKind};
use chatroom_common::validate::ValidationError;
use tracing::{error, warn};

use crate::context::Context;
use crate::session::Session;
use crate::store::{RoomRecord, StoreError};

pub mod auth;
pub mod avatars;
pub mod email;
pub mod files;
pub mod messages;
pub mod rooms;

/// Runs one request and produces its response.
pub async fn dispatch(ctx: &Context, session: &Session, request: Request) -> Response {
    if !session.hello_done() && !matches!(request, Request::Hello { .. }) {
        return Err(ErrorReply::new(
            ErrorCode::HelloRequired,
            "send Hello before anything else",
        ));
    }
    match request {
        Request::Hello {
            version,
            client,
            batches,
        } => auth::hello(ctx, session, version, &client, batches),
        Request::Register {
            username,
            email,
            otp,
        } => auth::register(ctx, session, &username, &email, otp).await,
        Request::LoginStart { username } => auth::login_start(ctx, session, &username).await,
        Request::LoginFinish { username, response } => {
            auth::login_finish(ctx, session, &username, response).await
        }
        Request::ReinitOtp { otp } => auth::reinit(ctx, session, otp).await,
        Request::ListRooms => rooms::list(ctx, session).await,
        Request::CreateRoom { name } => rooms::create(ctx, session, &name).await,
        Request::JoinRoom { room } => rooms::join(ctx, session, &room).await,
        Request::LeaveRoom { room } => rooms::leave(ctx, session, &room).await,
        Request::OpenDirect { user } => rooms::open_direct(ctx, session, &user).await,
        Request::Who { room } => rooms::who(ctx, session, &room).await,
        Request::Send {
            room,
            text,
            key,
            attachments,
        } => messages::send(ctx, session, &room, text, key, attachments).await,
        Request::History { room, query } => messages::history(ctx, session, &room, query).await,
        Request::AvatarGet { hash } => avatars::get(ctx, session, hash).await,
        Request::AvatarPool => avatars::pool(ctx, session).await,
        Request::AvatarChoose { hash } => avatars::choose(ctx, session, hash).await,
        Request::AvatarUpload { image } => avatars::upload(ctx, session, image).await,
        Request::VerifyEmail { username, code } => {
            email::verify_email(ctx, session, &username, &code).await
        }
        Request::ResendVerification { username } => email::resend(ctx, session, &username).await,
        // The connection hands these to `files` with their stream; one that
        // arrives here was not where a transfer's bytes can be read or written.
        Request::Upload { .. } | Request::Download { .. } => Err(ErrorReply::new(
            ErrorCode::BadRequest,
            "a transfer must be the only request on its stream",
        )),
    }
}

/// Maps a store failure to what the client sees; bugs are logged, not shown.
pub fn store_error(e: StoreError) -> ErrorReply {
    match e {
        StoreError::UsernameTaken => {
            ErrorReply::new(ErrorCode::UsernameTaken, "that username is taken")
        }
        StoreError::RoomExists => {
            ErrorReply::new(ErrorCode::RoomExists, "that room exists already")
        }
        StoreError::NotFound(what) => {
            ErrorReply::new(ErrorCode::InvalidInput, format!("no such {what}"))
        }
        StoreError::BlobHashMismatch { claimed, actual } => {
            warn!("refused bytes named {claimed} that hash to {actual}");
            ErrorReply::new(
                ErrorCode::InvalidInput,
                "the bytes do not match their SHA-256",
            )
        }
        StoreError::Unavailable(detail) => {
            error!("storage unavailable: {detail}");
            ErrorReply {
                code: ErrorCode::StorageUnavailable,
                message: "storage unavailable, try again".into(),
                retry_after_ms: Some(1000),
            }
        }
        StoreError::Other(detail) => {
            error!("storage error: {detail}");
            ErrorReply::new(ErrorCode::Internal, "internal server error")
        }
    }
}

/// A validation failure as a reply.
pub fn invalid(e: ValidationError) -> ErrorReply {
    ErrorReply::new(ErrorCode::InvalidInput, e.to_string())
}

/// A room as `viewer` sees it (direct rooms name the other participant).
pub fn room_info(room: &RoomRecord, viewer_key: &str) -> RoomInfo {
    let peer = match room.kind {
        RoomKind::Public => None,
        RoomKind::Direct => room
            .name
            .strip_prefix("dm:")
            .and_then(|rest| rest.split_once(':'))
            .map(|(a, b)| if a == viewer_key { b } else { a }.to_owned()),
    };
    RoomInfo {
        name: room.name.clone(),
        kind: room.kind,
        latest_seq: room.latest_seq,
        peer,
        // Every answer but the room list is about a room the viewer is in.
        member: true,
    }
}

/// Finds a room by name or answers `NoSuchRoom`.
pub async fn find_room(ctx: &Context, name: &str) -> Result<RoomRecord, ErrorReply> {
    // Public names are case-folded; direct names are already lower case.
    let key = name.to_lowercase();
    ctx.store
        .room_by_name(&key)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ErrorReply::new(ErrorCode::NoSuchRoom, format!("no room named {name}")))
}
