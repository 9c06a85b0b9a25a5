//! Conformance cases for rooms and memberships.

use std::sync::Arc;

use chatroom_common::protocol::{HistoryQuery, RoomKind};
use chatroom_server::store::{self, Store, StoreError};

use super::{append_many, new_message, room, user};

pub async fn rooms_are_created_listed_and_found(store: Arc<dyn Store>) {
    let general = store
        .create_room("general", RoomKind::Public)
        .await
        .expect("create");
    assert_eq!(
        (general.name.as_str(), general.kind, general.latest_seq),
        ("general", RoomKind::Public, 0)
    );
    let again = store.create_room("general", RoomKind::Public).await;
    assert!(matches!(again, Err(StoreError::RoomExists)), "{again:?}");
    let direct = store
        .create_room("dm:alice:bob", RoomKind::Direct)
        .await
        .expect("create");
    let random = store
        .create_room("random", RoomKind::Public)
        .await
        .expect("create");
    let also = store
        .create_room("b-side", RoomKind::Public)
        .await
        .expect("create");

    assert_eq!(
        store.public_rooms().await.expect("list"),
        vec![also, general.clone(), random]
    );
    assert_eq!(
        store.room_by_name("general").await.expect("lookup"),
        Some(general)
    );
    assert_eq!(
        store.room_by_name("dm:alice:bob").await.expect("lookup"),
        Some(direct)
    );
    assert_eq!(store.room_by_name("nope").await.expect("lookup"), None);
}

pub async fn memberships_are_added_removed_and_listed(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "Bob").await;
    let general = room(&store, "general").await;
    let direct = store
        .create_room("dm:alice:bob", RoomKind::Direct)
        .await
        .expect("create")
        .id;
    let quiet = room(&store, "quiet").await;

    store.add_member(general, alice).await.expect("join");
    store
        .add_member(general, alice)
        .await
        .expect("joining twice is fine");
    store.add_member(general, bob).await.expect("join");
    store.add_member(direct, alice).await.expect("join");
    store.add_member(direct, bob).await.expect("join");

    assert!(store.is_member(general, alice).await.expect("member?"));
    assert!(!store.is_member(quiet, alice).await.expect("member?"));
    assert_eq!(
        store.member_names(general).await.expect("members"),
        vec!["alice", "Bob"]
    );
    assert_eq!(
        store.member_names(quiet).await.expect("members"),
        Vec::<String>::new()
    );
    let names: Vec<String> = store
        .rooms_of_user(alice)
        .await
        .expect("rooms")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, vec!["dm:alice:bob", "general"]);

    store.remove_member(general, alice).await.expect("leave");
    store
        .remove_member(general, alice)
        .await
        .expect("leaving twice is fine");
    assert!(!store.is_member(general, alice).await.expect("member?"));
    assert_eq!(
        store.member_names(general).await.expect("members"),
        vec!["Bob"]
    );
    let names: Vec<String> = store
        .rooms_of_user(alice)
        .await
        .expect("rooms")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, vec!["dm:alice:bob"]);
}

pub async fn missing_rooms_and_users_are_not_found(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let general = room(&store, "general").await;
    let missing = store.add_member(general, alice + 1000).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    let missing = store.add_member(general + 1000, alice).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    let missing = store
        .append_message(new_message(general + 1000, alice, "hi", 1))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    let missing = store
        .append_message(new_message(general, alice + 1000, "hi", 2))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    // Neither failure used up a sequence number.
    store.add_member(general, alice).await.expect("join");
    let sent = store
        .append_message(new_message(general, alice, "hi", 3))
        .await
        .expect("append");
    assert_eq!(sent.seq, 1);
    assert_eq!(
        store
            .history(general + 1000, HistoryQuery::After { after: 0, limit: 5 })
            .await
            .expect("history"),
        vec![]
    );
}

pub async fn room_heads_are_read_for_many_rooms_at_once(store: Arc<dyn Store>) {
    assert_eq!(store.room_heads(&[]).await.expect("heads"), vec![]);
    let alice = user(&store, "alice").await;
    let busy = room(&store, "busy").await;
    let quiet = room(&store, "quiet").await;
    let direct = store
        .create_room("dm:alice:bob", RoomKind::Direct)
        .await
        .expect("create")
        .id;
    append_many(&store, busy, alice, 1, 3).await;
    append_many(&store, direct, alice, 10, 1).await;
    // Repeats and ids of no room are fine; missing rooms are left out.
    let mut heads = store
        .room_heads(&[quiet, busy, direct, busy, busy + 1000])
        .await
        .expect("heads");
    heads.sort_unstable();
    let mut expected = vec![(busy, 3), (quiet, 0), (direct, 1)];
    expected.sort_unstable();
    assert_eq!(heads, expected);

    // More rooms than one statement's list holds (the batch size and its
    // padding to a handful of shapes are the store's business).
    let many: Vec<_> = (0..store::ROOM_HEADS_BATCH as i64 + 5)
        .map(|i| busy + 10_000 + i)
        .chain([busy])
        .collect();
    assert_eq!(
        store.room_heads(&many).await.expect("heads"),
        vec![(busy, 3)]
    );
    // A head follows the appends.
    append_many(&store, quiet, alice, 20, 2).await;
    let heads = store.room_heads(&[quiet]).await.expect("heads");
    assert_eq!(heads, vec![(quiet, 2)]);
}
