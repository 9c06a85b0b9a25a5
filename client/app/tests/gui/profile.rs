//! "Your picture": picking a pool picture and uploading an image file through
//! the window, checked against what the server then tells other users.

use chatroom_common::protocol::AvatarHash;
use image::{ImageEncoder, Rgba, RgbaImage};

use crate::harness::{
    PASS, TestServer, app, click, fill, log_in, options, shows, shows_part, wait_for,
    wait_for_lobby,
};

/// A small PNG file's bytes.
fn png(side: u32) -> Vec<u8> {
    let img = RgbaImage::from_fn(side, side, |x, y| Rgba([x as u8 * 3, y as u8 * 3, 90, 255]));
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(img.as_raw(), side, side, image::ExtendedColorType::Rgba8)
        .unwrap();
    out
}

#[test]
fn a_picture_is_picked_from_the_pool_or_uploaded_and_others_see_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    drop(server.session("jade", true));
    let kim = server.session("kim", true);
    server.rt.block_on(kim.join("lobby")).unwrap();
    let mut h = app(server.pinned_settings("jade"), options(dir.path()));
    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    let me = |h: &egui_kittest::Harness<'static, chatroom_app::ChatApp>| {
        h.state().model.me.as_ref().and_then(|m| m.avatar)
    };
    let seen_by_kim = |server: &TestServer| -> Option<AvatarHash> {
        let online = server.rt.block_on(kim.who("lobby")).unwrap();
        online
            .into_iter()
            .find(|u| u.username == "jade")
            .and_then(|u| u.avatar)
    };
    let before = me(&h).expect("an assigned avatar");

    click(&mut h, "Change picture");
    wait_for(&mut h, "the pool", |h| shows(h, "Picture 2"));
    let pool = h.state().profile.pool.clone();
    let target = *pool.iter().find(|p| **p != before).unwrap();
    let index = pool.iter().position(|p| *p == target).unwrap();
    // The pool's pictures are fetched and drawn, not left as placeholders;
    // a person clicks the picture they see.
    wait_for(&mut h, "the pool's pictures", |h| {
        pool.iter().all(|p| h.state().shows_avatar_picture(p))
    });
    click(&mut h, &format!("Picture {}", index + 1));
    wait_for(&mut h, "the picked picture", |h| me(h) == Some(target));
    assert_eq!(seen_by_kim(&server), Some(target));

    // An upload: the server's re-encoded picture, not one of the pool's.
    let file = dir.path().join("me.png");
    std::fs::write(&file, png(64)).unwrap();
    fill(&mut h, "Image file", file.to_str().unwrap());
    click(&mut h, "Upload");
    wait_for(&mut h, "the uploaded picture", |h| {
        me(h).is_some_and(|a| a != target && !pool.contains(&a))
    });
    let uploaded = me(&h).unwrap();
    assert_eq!(seen_by_kim(&server), Some(uploaded));

    // Not an image: said in words; nothing changes.
    let bad = dir.path().join("notes.png");
    std::fs::write(&bad, b"these are not pixels").unwrap();
    h.state_mut().profile.path.clear();
    fill(&mut h, "Image file", bad.to_str().unwrap());
    click(&mut h, "Upload");
    wait_for(&mut h, "the refusal", |h| {
        shows_part(h, "That picture was not accepted")
    });
    assert_eq!(me(&h), Some(uploaded));
    assert_eq!(seen_by_kim(&server), Some(uploaded));
    drop(h);
    drop(kim);
    server.stop();
}
