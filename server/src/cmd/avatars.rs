//! Avatar requests: fetch by hash, list the pool, choose from it, upload.

use chatroom_common::protocol::{AvatarHash, ErrorCode, ErrorReply, Reply, Response};
use tracing::{info, warn};

use super::store_error;
use crate::avatars::{AvatarKind, AvatarLimits, AvatarPool, PoolError, normalize_avatar};
use crate::context::Context;
use crate::session::Session;

/// Most pool entries listed in one reply.
const POOL_LISTING: usize = 500;

fn internal(what: &str, e: impl std::fmt::Display) -> ErrorReply {
    warn!("{what}: {e}");
    ErrorReply::new(ErrorCode::Internal, "internal server error")
}

/// Runs blocking image work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ErrorReply> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| internal("avatar task", e))
}

/// `AvatarGet`: the PNG bytes of a pool picture or an upload, from the
/// database, so any node serves what any other node stored.
pub async fn get(ctx: &Context, session: &Session, hash: AvatarHash) -> Response {
    session.user()?;
    let found = ctx
        .avatar_pool
        .get(hash)
        .await
        .map_err(|e| pool_error("reading an avatar", e))?;
    match found {
        Some(png) => Ok(Reply::Avatar { hash, png }),
        None => Err(ErrorReply::new(
            ErrorCode::NoSuchAvatar,
            "no avatar with that hash",
        )),
    }
}

/// `AvatarPool`: what a user can pick from.
pub async fn pool(ctx: &Context, session: &Session) -> Response {
    session.user()?;
    let list = ctx
        .avatar_pool
        .list()
        .await
        .map_err(|e| pool_error("listing avatars", e))?;
    Ok(Reply::AvatarPool(
        list.into_iter().take(POOL_LISTING).collect(),
    ))
}

/// `AvatarChoose`: a picture from the pool becomes the user's avatar.
pub async fn choose(ctx: &Context, session: &Session, hash: AvatarHash) -> Response {
    session.user()?;
    let in_pool = ctx
        .avatar_pool
        .contains(hash)
        .await
        .map_err(|e| pool_error("looking up an avatar", e))?;
    if !in_pool {
        return Err(ErrorReply::new(
            ErrorCode::NoSuchAvatar,
            "that picture is not in the avatar pool",
        ));
    }
    set(ctx, session, hash).await
}

/// `AvatarUpload`: validated and re-encoded exactly as crawled pictures are.
pub async fn upload(ctx: &Context, session: &Session, image: Vec<u8>) -> Response {
    session.user()?;
    // Decoding and re-encoding is CPU work; keep it off the runtime's threads.
    let avatar = blocking(move || normalize_avatar(&image, &AvatarLimits::default()))
        .await?
        .map_err(|e| ErrorReply::new(ErrorCode::InvalidImage, e.to_string()))?;
    ctx.avatar_pool
        .insert(&avatar, AvatarKind::Upload)
        .await
        .map_err(|e| pool_error("storing an upload", e))?;
    set(ctx, session, AvatarHash(avatar.hash)).await
}

/// The reply for a pool failure: a database outage is said as such (the
/// client retries), anything else is an internal error.
fn pool_error(what: &str, e: PoolError) -> ErrorReply {
    match e {
        PoolError::Store(e) => store_error(e),
        other => internal(what, other),
    }
}

/// Stores the new avatar and tells the user's rooms (a presence event with the new avatar).
async fn set(ctx: &Context, session: &Session, hash: AvatarHash) -> Response {
    let me = session.user()?;
    ctx.store
        .set_avatar(me.id, Some(hash))
        .await
        .map_err(store_error)?;
    session.set_avatar(Some(hash));
    let me = session.user()?;
    ctx.hub.change_user(me.id, me.info());
    if let Some(presence) = ctx.presence.get() {
        presence.refresh(me.id, me.info()).await;
    }
    let rooms = ctx.store.rooms_of_user(me.id).await.map_err(store_error)?;
    let info = me.info();
    for room in rooms {
        ctx.hub.broadcast_presence(room.id, &room.name, &info, true);
    }
    info!(user = %me.username, avatar = %hash, "avatar changed");
    Ok(Reply::AvatarChanged { avatar: hash })
}

/// The pool picture for a new account (`None` if the pool is empty or the
/// database failed: an account without a picture is better than no account):
/// a crawled one, spread evenly, when there are any (see
/// [`AvatarPool::pick_for_new_user`]).
pub async fn picture_for_new_user(pool: &AvatarPool) -> Option<AvatarHash> {
    match pool.pick_for_new_user(rand::random()).await {
        Ok(picked) => picked,
        Err(e) => {
            warn!("choosing a new account's picture: {e}");
            None
        }
    }
}
