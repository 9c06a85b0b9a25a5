//! Avatar requests: fetch by hash, list the pool, choose from it, upload.

use chatroom_common::protocol::{AvatarHash, ErrorCode, ErrorReply, Event, Reply, Response};
use tracing::{info, warn};

use super::store_error;
use crate::avatars::{AvatarLimits, AvatarPool, normalize_avatar};
use crate::context::Context;
use crate::session::Session;

/// Most pool entries listed in one reply.
const POOL_LISTING: usize = 500;

fn internal(what: &str, e: impl std::fmt::Display) -> ErrorReply {
    warn!("{what}: {e}");
    ErrorReply::new(ErrorCode::Internal, "internal server error")
}

/// Runs blocking file or image work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ErrorReply> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| internal("avatar task", e))
}

/// `AvatarGet`: the PNG bytes, from the pool or the uploads.
pub async fn get(ctx: &Context, session: &Session, hash: AvatarHash) -> Response {
    session.user()?;
    let hex = hash.to_string();
    let (pool, uploads) = (ctx.avatar_pool.clone(), ctx.avatar_uploads.clone());
    let found = blocking(
        move || -> Result<Option<Vec<u8>>, crate::avatars::PoolError> {
            match pool.get(&hex)? {
                Some(png) => Ok(Some(png)),
                None => uploads.get(&hex),
            }
        },
    )
    .await?
    .map_err(|e| internal("reading an avatar", e))?;
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
    let pool = ctx.avatar_pool.clone();
    let list = blocking(move || pool.list())
        .await?
        .map_err(|e| internal("listing avatars", e))?;
    Ok(Reply::AvatarPool(
        list.iter()
            .filter_map(|h| AvatarHash::from_hex(h))
            .take(POOL_LISTING)
            .collect(),
    ))
}

/// `AvatarChoose`: a picture from the pool becomes the user's avatar.
pub async fn choose(ctx: &Context, session: &Session, hash: AvatarHash) -> Response {
    session.user()?;
    let pool = ctx.avatar_pool.clone();
    let hex = hash.to_string();
    if !blocking(move || pool.contains(&hex)).await? {
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
    let uploads = ctx.avatar_uploads.clone();
    let stored = blocking(move || {
        let avatar = normalize_avatar(&image, &AvatarLimits::default())?;
        let hash = AvatarHash(avatar.hash);
        uploads
            .insert(&avatar)
            .map(|_| hash)
            .map_err(UploadError::Pool)
    })
    .await?;
    match stored {
        Ok(hash) => set(ctx, session, hash).await,
        Err(UploadError::Image(e)) => Err(ErrorReply::new(ErrorCode::InvalidImage, e.to_string())),
        Err(UploadError::Pool(e)) => Err(internal("storing an upload", e)),
    }
}

enum UploadError {
    Image(crate::avatars::AvatarError),
    Pool(crate::avatars::PoolError),
}

impl From<crate::avatars::AvatarError> for UploadError {
    fn from(e: crate::avatars::AvatarError) -> Self {
        UploadError::Image(e)
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
    ctx.hub.update_user(me.id, me.info());
    let rooms = ctx.store.rooms_of_user(me.id).await.map_err(store_error)?;
    for room in rooms {
        let event = Event::Presence {
            room: room.name.clone(),
            user: me.info(),
            online: true,
        };
        ctx.hub.broadcast_event(room.id, &room.name, None, &event);
    }
    info!(user = %me.username, avatar = %hash, "avatar changed");
    Ok(Reply::AvatarChanged { avatar: hash })
}

/// The pool picture for a new account (`None` if the pool is empty): a
/// crawled one, spread evenly, when there are any (see
/// [`AvatarPool::pick_for_new_user`]).
pub async fn picture_for_new_user(pool: &AvatarPool) -> Option<AvatarHash> {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || pool.pick_for_new_user(&mut rand::rng()))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
        .and_then(|h| AvatarHash::from_hex(&h))
}
