//! Avatars end to end: assigned at registration, uploaded, picked, fetched once by hash.

use std::io::Cursor;

use chatroom_client::avatar_cache::AvatarCache;
use chatroom_common::protocol::{ErrorCode, Event};
use sha2::{Digest, Sha256};

use chatroom_testkit::{TestServer, next_event};

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encode(width, height, image::ImageFormat::Jpeg)
}

fn encode(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 3) as u8, (y * 5) as u8, ((x + y) * 7) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn registration_assigns_a_pool_avatar_and_uploads_replace_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut b_events = bob.take_events().unwrap();
    bob.join("lobby").await.unwrap();
    let _ = alice.take_events();
    let assigned = alice
        .user()
        .unwrap()
        .avatar
        .expect("an avatar from the pool");
    let pool = alice.avatar_pool().await.unwrap();
    assert!(pool.len() >= 16, "generated defaults fill the pool");
    assert!(pool.contains(&assigned));

    // An upload is validated, re-encoded to 128×128 PNG and announced.
    let hash = alice.upload_avatar(jpeg(300, 200)).await.unwrap();
    assert_ne!(hash, assigned);
    let update = next_event(&mut b_events, |e| match e {
        Event::Presence {
            user, online: true, ..
        } if user.username == "alice" && user.avatar == Some(hash) => Some(user),
        _ => None,
    })
    .await;
    assert_eq!(update.avatar, Some(hash));
    let png = bob.avatar(hash).await.unwrap();
    assert_eq!(Sha256::digest(&png).as_slice(), hash.0);
    let decoded = image::load_from_memory(&png).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (128, 128));
    // Messages carry the sender's avatar.
    let sent = alice.send("lobby", "new look").await.unwrap();
    let m = next_event(&mut b_events, |e| match e {
        Event::Message(m) if m.seq == sent.seq => Some(m),
        _ => None,
    })
    .await;
    assert_eq!(m.sender_avatar, Some(hash));

    // Uploads are not offered to others as pool pictures.
    assert!(!alice.avatar_pool().await.unwrap().contains(&hash));
    // Picking from the pool works.
    let pick = pool[0];
    assert_eq!(alice.choose_avatar(pick).await.unwrap(), pick);
    server.stop().await;
}

#[tokio::test]
async fn invalid_uploads_get_clear_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice = server.user("alice").await;
    let before = alice.user().unwrap().avatar;
    let err = alice
        .upload_avatar(b"this is not an image".to_vec())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidImage), "{err}");
    let err = alice.upload_avatar(jpeg(8, 8)).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidImage), "{err}");
    assert!(err.to_string().contains("small"), "{err}");
    // JPEG decoders tolerate a cut-off file; a cut-off PNG is refused.
    let mut truncated = encode(200, 200, image::ImageFormat::Png);
    truncated.truncate(truncated.len() / 3);
    let err = alice.upload_avatar(truncated).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidImage), "{err}");
    // Over the upload cap: refused before sending; a raw oversized request gets TooLarge.
    let huge = vec![0u8; chatroom_common::protocol::MAX_UPLOAD_BYTES + 1];
    assert!(alice.upload_avatar(huge.clone()).await.is_err());
    let raw = chatroom_common::protocol::Request::AvatarUpload { image: huge };
    let err = alice.connection().request(&raw).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::TooLarge), "{err}");
    let err = alice
        .choose_avatar(chatroom_common::protocol::AvatarHash([9; 32]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NoSuchAvatar));
    // Nothing changed: a fresh login reports the same avatar.
    drop(alice);
    let again = server.login("alice").await;
    assert_eq!(again.user().unwrap().avatar, before);
    server.stop().await;
}

#[tokio::test]
async fn the_cache_fetches_each_avatar_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice = server.user("alice").await;
    let hash = alice.user().unwrap().avatar.unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = AvatarCache::new(cache_dir.path());
    assert!(cache.cached(hash).is_none());
    let first = cache.get(&alice, hash).await.unwrap();
    assert_eq!(cache.cached(hash).as_deref(), Some(first.as_slice()));
    // With the server gone, the cache still answers.
    server.stop().await;
    let second = cache.get(&alice, hash).await.unwrap();
    assert_eq!(first, second);
    // A corrupted file is not trusted.
    std::fs::write(cache_dir.path().join(format!("{hash}.png")), b"junk").unwrap();
    assert!(cache.cached(hash).is_none());
}
