//! Hello, registration and S/KEY login (RFC 2289): challenge, response,
//! compare-and-swap, back-off; chain re-initialisation; disconnect presence.

use std::sync::Arc;

use chatroom_common::protocol::{
    Challenge, ErrorCode, ErrorReply, MAX_TEXT_BYTES, OtpAlgorithm, OtpInit, OtpValue,
    PROTOCOL_VERSION, Reply, Response, UserInfo,
};
use chatroom_common::{skey, validate};
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use super::rooms::broadcast_presence;
use super::{find_room, invalid, store_error};
use crate::context::{Context, now_ms};
use crate::hub::{ConnId, Departed};
use crate::session::{LoggedIn, Pending, Session};
use crate::store::{MailKind, NewMail, NewUser, OtpState, StoreError};

/// Longest S/KEY chain a client may register (bounds the client's hashing
/// work too): the S/KEY module's largest count.
pub use chatroom_common::skey::MAX_COUNT as MAX_CHAIN;

/// `Hello`: checks the protocol version, and notes whether the client reads
/// `Batch` events.
pub fn hello(
    ctx: &Context,
    session: &Session,
    version: u32,
    client: &str,
    batches: bool,
) -> Response {
    if version != PROTOCOL_VERSION {
        return Err(ErrorReply::new(
            ErrorCode::UpgradeRequired,
            format!(
                "this server speaks protocol version {PROTOCOL_VERSION} and your client speaks {version}: please upgrade Chatroom"
            ),
        ));
    }
    let client: String = client.chars().take(64).collect();
    tracing::debug!(conn_id = session.conn_id, %client, "hello");
    session.set_hello();
    if batches {
        ctx.hub.enable_batches(session.conn_id);
    }
    Ok(Reply::Hello {
        server: ctx.server_name.clone(),
        version: PROTOCOL_VERSION,
        max_text_bytes: MAX_TEXT_BYTES as u32,
    })
}

fn validate_init(otp: &OtpInit) -> Result<String, ErrorReply> {
    let seed = skey::normalize_seed(&otp.seed)
        .map_err(|e| ErrorReply::new(ErrorCode::InvalidInput, e.to_string()))?;
    if !(1..=MAX_CHAIN).contains(&otp.count) {
        return Err(ErrorReply::new(
            ErrorCode::InvalidInput,
            format!("the one-time password count must be between 1 and {MAX_CHAIN}"),
        ));
    }
    Ok(seed)
}

/// `Register`: creates the account from the client's S/KEY set-up (the
/// passphrase never reaches the server) and queues its confirmation mail in the
/// same transaction; delivery happens later, in the outbox worker.
pub async fn register(
    ctx: &Context,
    session: &Session,
    username: &str,
    email: &str,
    otp: OtpInit,
) -> Response {
    validate::username_key(username).map_err(invalid)?;
    validate::email(email).map_err(invalid)?;
    // The address must be one mail can be sent to, before any account exists.
    crate::mail::parse_address(email)
        .map_err(|e| ErrorReply::new(ErrorCode::InvalidInput, e.to_string()))?;
    let seed = validate_init(&otp)?;
    ctx.register_limiter
        .check(&session.remote.ip())
        .map_err(|wait| {
            let mut reply = super::messages::slow_down(wait);
            reply.message = format!(
                "too many registrations from your address; try again in {} s",
                wait.as_secs().max(1)
            );
            reply
        })?;
    let created_at = now_ms();
    let verification_required = ctx.mail.config.require_verification;
    let welcome = NewMail {
        kind: MailKind::Welcome,
        queued_at: created_at,
    };
    let new_user = NewUser {
        username: username.to_owned(),
        email: email.to_owned(),
        otp: OtpState {
            algorithm: otp.algorithm,
            seed,
            count: otp.count,
            last: otp.otp,
        },
        // As in 2017, a picture from the pool; crawled ones first.
        avatar: super::avatars::picture_for_new_user(&ctx.avatar_pool).await,
        created_at,
    };
    let user = ctx
        .store
        .create_user_with_mail(new_user, welcome, verification_required)
        .await
        .map_err(store_error)?;
    ctx.mail.wake();
    // Everyone starts in the lobby.
    if let Ok(lobby) = find_room(ctx, "lobby").await {
        ctx.store
            .add_member(lobby.id, user.id)
            .await
            .map_err(store_error)?;
    }
    info!(user = %user.username, remote = %session.remote, "registered");
    Ok(Reply::Registered {
        user: UserInfo {
            username: user.username,
            avatar: user.avatar,
        },
        verification_required,
    })
}

fn locked(wait: std::time::Duration) -> ErrorReply {
    let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
    ErrorReply {
        code: ErrorCode::LockedOut,
        message: format!(
            "too many failed logins; try again in {} s",
            ms.div_ceil(1000)
        ),
        retry_after_ms: Some(ms),
    }
}

fn check_guards(ctx: &Context, session: &Session, key: &str) -> Result<(), ErrorReply> {
    ctx.ip_guard
        .check(&session.remote.ip().to_string())
        .map_err(locked)?;
    ctx.user_guard.check(key).map_err(locked)
}

/// A failed login: counted against the user and the address.
fn fail(ctx: &Context, session: &Session, key: &str, message: &str) -> ErrorReply {
    let by_user = ctx.user_guard.failure(key);
    let by_ip = ctx.ip_guard.failure(&session.remote.ip().to_string());
    warn!(user = %key, remote = %session.remote, "failed login");
    match by_user.into_iter().chain(by_ip).max() {
        Some(wait) => locked(wait),
        None => ErrorReply::new(ErrorCode::AuthFailed, message),
    }
}

/// `LoginStart`: the challenge `otp-<alg> <count-1> <seed>` for the user's chain.
pub async fn login_start(ctx: &Context, session: &Session, username: &str) -> Response {
    if session.is_logged_in() {
        return Err(ErrorReply::new(
            ErrorCode::InvalidInput,
            "this connection is logged in already",
        ));
    }
    let key = validate::username_key(username).map_err(invalid)?;
    check_guards(ctx, session, &key)?;
    let user = ctx.store.user_by_name(&key).await.map_err(store_error)?;
    if let Some(user) = &user {
        super::email::ensure_verified(ctx, user.id).await?;
    }
    let (challenge, pending_user) = match user {
        Some(user) if user.otp.count > 0 => (
            Challenge {
                algorithm: user.otp.algorithm,
                count: user.otp.count - 1,
                seed: user.otp.seed.clone(),
            },
            Some((user.id, user.otp)),
        ),
        Some(_) => {
            return Err(ErrorReply::new(
                ErrorCode::AuthFailed,
                "this account's one-time passwords are used up; ask the operator to reset it",
            ));
        }
        // Unknown users get a plausible, stable decoy so that probing does not
        // reveal which usernames exist; answering it always fails.
        None => (decoy_challenge(ctx, &key), None),
    };
    session.set_pending(Pending {
        key,
        user: pending_user,
    });
    Ok(Reply::Challenge(challenge))
}

fn decoy_challenge(ctx: &Context, key: &str) -> Challenge {
    let digest = Sha256::new()
        .chain_update(ctx.challenge_secret)
        .chain_update(key.as_bytes())
        .finalize();
    let seed = format!(
        "{}{}{:04}",
        char::from(b'a' + digest[0] % 26),
        char::from(b'a' + digest[1] % 26),
        u16::from_be_bytes([digest[2], digest[3]]) % 10_000
    );
    Challenge {
        algorithm: OtpAlgorithm::Md5,
        count: 100 + u32::from(u16::from_be_bytes([digest[4], digest[5]]) % 400),
        seed,
    }
}

/// `LoginFinish`: accepts when hash(response) equals the stored OTP, then swaps
/// it in atomically so a replay or a racing duplicate fails.
pub async fn login_finish(
    ctx: &Context,
    session: &Session,
    username: &str,
    response: OtpValue,
) -> Response {
    let key = validate::username_key(username).map_err(invalid)?;
    let pending = session
        .take_pending()
        .filter(|p| p.key == key)
        .ok_or_else(|| {
            ErrorReply::new(
                ErrorCode::AuthFailed,
                "ask for a challenge (LoginStart) on this connection first",
            )
        })?;
    check_guards(ctx, session, &key)?;
    let wrong = "wrong one-time password (or unknown user)";
    let Some((user_id, state)) = pending.user else {
        return Err(fail(ctx, session, &key, wrong));
    };
    let hashed = skey::step(state.algorithm, response);
    if !skey::constant_time_eq(&hashed, &state.last) {
        return Err(fail(ctx, session, &key, wrong));
    }
    // Checked again here, before the one-time password is used up.
    super::email::ensure_verified(ctx, user_id).await?;
    let next = OtpState {
        count: state.count - 1,
        last: response,
        ..state.clone()
    };
    let swapped = ctx
        .store
        .otp_compare_and_swap(user_id, &state, &next)
        .await
        .map_err(store_error)?;
    if !swapped {
        return Err(fail(
            ctx,
            session,
            &key,
            "that one-time password was used already",
        ));
    }
    ctx.user_guard.success(&key);
    // The lookup after the swap gives the current name and avatar.
    let user = ctx
        .store
        .user_by_name(&key)
        .await
        .map_err(store_error)?
        .ok_or_else(|| store_error(StoreError::NotFound("user")))?;
    ctx.store
        .record_login(user_id, now_ms())
        .await
        .map_err(store_error)?;
    let me = LoggedIn {
        id: user_id,
        username: user.username.clone(),
        avatar: user.avatar,
    };
    if !session.set_user(me.clone()) {
        return Err(ErrorReply::new(
            ErrorCode::InvalidInput,
            "this connection is logged in already",
        ));
    }
    let first = ctx.hub.login(session.conn_id, user_id, me.info());
    let first = match ctx.presence.get() {
        // Online in the cluster only if no other node has them already.
        Some(presence) if first => match presence.sync(user_id).await {
            Ok(change) => change == Some(true),
            Err(e) => {
                warn!("{e}; saying so for this node only");
                true
            }
        },
        _ => first,
    };
    let rooms = ctx
        .store
        .rooms_of_user(user_id)
        .await
        .map_err(store_error)?;
    for room in &rooms {
        ctx.hub.subscribe(session.conn_id, room.id, &room.name);
        if first {
            broadcast_presence(ctx, room, session, true);
        }
    }
    info!(user = %me.username, remote = %session.remote, "logged in");
    Ok(Reply::LoggedIn {
        user: me.info(),
        otp_remaining: next.count,
    })
}

/// `ReinitOtp`: replaces the chain within an authenticated session.
pub async fn reinit(ctx: &Context, session: &Session, otp: OtpInit) -> Response {
    let me = session.user()?;
    let seed = validate_init(&otp)?;
    ctx.store
        .otp_replace(
            me.id,
            &OtpState {
                algorithm: otp.algorithm,
                seed,
                count: otp.count,
                last: otp.otp,
            },
        )
        .await
        .map_err(store_error)?;
    info!(user = %me.username, "one-time password chain re-initialised");
    Ok(Reply::OtpReinitialised {
        otp_remaining: otp.count,
    })
}

/// Cleans up after a connection: tells rooms when its user went offline.
/// In a cluster that is when their last connection on *any* node closed,
/// which the presence bucket decides (off the connection's task); while
/// NATS cannot be reached the node answers for itself.
pub fn disconnected(ctx: &Arc<Context>, conn: ConnId) {
    let Some(departed) = ctx.hub.disconnect(conn) else {
        return;
    };
    if !departed.last {
        return;
    }
    let Some(presence) = ctx.presence.get().cloned() else {
        offline(ctx, &departed);
        return;
    };
    let ctx = ctx.clone();
    tokio::spawn(async move {
        match presence.sync(departed.user).await {
            Ok(Some(false)) => offline(&ctx, &departed),
            Ok(_) => {}
            Err(e) => {
                warn!("{e}; saying so for this node only");
                offline(&ctx, &departed);
            }
        }
    });
}

fn offline(ctx: &Context, departed: &Departed) {
    for (room_id, room_name) in &departed.rooms {
        ctx.hub
            .broadcast_presence(*room_id, room_name, &departed.info, false);
    }
}
