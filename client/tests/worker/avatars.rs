//! Avatar pictures through the worker: fetched once from the real server,
//! kept on disk, served from disk while offline, and asked for before a login.

use std::sync::Arc;

use bytes::Bytes;
use chatroom_common::protocol::AvatarHash;
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;

use crate::{ChatHandle, Command, UiEvent, any, collect_until, credentials, session, start, stop};
use chatroom_client::chat::WorkerOptions;

fn pictures(all: &[UiEvent]) -> Vec<(AvatarHash, Bytes)> {
    all.iter()
        .filter_map(|e| match e {
            UiEvent::Avatar { hash, png } => Some((*hash, png.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn avatars_come_from_the_server_once_then_from_disk() {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("avatars");
    let server = start(
        &rt,
        &dir.path().join("server"),
        "127.0.0.1:0".parse().unwrap(),
    );
    let hana = session(&rt, &server, "hana", true);
    let hash = hana
        .user()
        .and_then(|u| u.avatar)
        .expect("an assigned avatar");
    let unknown = AvatarHash([0xab; 32]);

    let options = WorkerOptions {
        avatar_dir: Some(cache.clone()),
        ..WorkerOptions::default()
    };
    let handle = ChatHandle::spawn_with(Arc::new(|| {}), options.clone()).unwrap();
    // Asked for before logging in: fetched once there is a connection.
    handle.send(Command::FetchAvatars(vec![hash, unknown]));
    handle.send(Command::Login(credentials(&server, "hana")));
    let mut all = Vec::new();
    collect_until(&handle, &mut all, "the picture and the refusal", |all| {
        !pictures(all).is_empty() && any(all, |e| matches!(e, UiEvent::AvatarMissing(_)))
    });
    let got = pictures(&all);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, hash);
    assert_eq!(Sha256::digest(&got[0].1).as_slice(), hash.0);
    assert!(any(
        &all,
        |e| matches!(e, UiEvent::AvatarMissing(h) if *h == unknown)
    ));
    assert_eq!(
        std::fs::read(cache.join(format!("{hash}.png"))).unwrap(),
        got[0].1
    );
    drop(handle);

    // With the server gone, a new run still shows it: from disk.
    drop(hana);
    stop(&rt, server);
    let handle = ChatHandle::spawn_with(Arc::new(|| {}), options).unwrap();
    handle.send(Command::FetchAvatars(vec![hash]));
    let mut all = Vec::new();
    collect_until(&handle, &mut all, "the picture from disk", |all| {
        !pictures(all).is_empty()
    });
    assert_eq!(pictures(&all)[0], got[0]);
    drop(handle);
}
