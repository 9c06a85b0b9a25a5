//! Conformance cases for users: lookups, uniqueness, odd names and the S/KEY state.

use std::collections::BTreeSet;
use std::sync::Arc;

use chatroom_common::protocol::{AvatarHash, HistoryQuery, OtpAlgorithm};
use chatroom_server::store::{NewUser, Store, StoreError};

use super::{new_message, new_user, otp, room, user};

pub async fn users_are_found_case_insensitively(store: Arc<dyn Store>) {
    let created = store.create_user(new_user("Alice")).await.expect("create");
    assert_eq!(created.username, "Alice");
    assert_eq!(created.last_login, None);
    for spelling in ["Alice", "alice", "ALICE", "aLiCe"] {
        let found = store.user_by_name(spelling).await.expect("lookup");
        assert_eq!(found.as_ref(), Some(&created), "looking up {spelling}");
    }
    assert_eq!(store.user_by_name("bob").await.expect("lookup"), None);
}

pub async fn a_username_taken_in_another_case_is_refused(store: Arc<dyn Store>) {
    let first = store.create_user(new_user("Alice")).await.expect("create");
    for spelling in ["Alice", "aLICE"] {
        let again = store.create_user(new_user(spelling)).await;
        assert!(
            matches!(again, Err(StoreError::UsernameTaken)),
            "{spelling}: {again:?}"
        );
    }
    assert_eq!(
        store.user_by_name("alice").await.expect("lookup"),
        Some(first)
    );
}

pub async fn sql_in_names_and_text_is_just_data(store: Arc<dyn Store>) {
    // The trait does not validate, so these go in exactly as written.
    let nasty = [
        "'; DROP TABLE users; --",
        "Robert'); DROP TABLE rooms;--",
        "x\" OR 1=1 #",
        "back\\slash",
    ];
    for name in nasty {
        let created = store.create_user(new_user(name)).await.expect("create");
        let found = store
            .user_by_name(name)
            .await
            .expect("lookup")
            .expect("found");
        assert_eq!(found.username, name);
        assert_eq!(found.id, created.id);
    }
    let room_name = "'; DELETE FROM messages; --";
    let room_id = room(&store, room_name).await;
    let sender = user(&store, "bob").await;
    store.add_member(room_id, sender).await.expect("join");
    let text = "1'); DROP TABLE messages; --";
    store
        .append_message(new_message(room_id, sender, text, 1))
        .await
        .expect("append");

    // Every table is still there and intact.
    assert!(
        store
            .user_by_name("'; DROP TABLE users; --")
            .await
            .expect("lookup")
            .is_some()
    );
    assert_eq!(
        store
            .room_by_name(room_name)
            .await
            .expect("lookup")
            .map(|r| r.id),
        Some(room_id)
    );
    let page = store
        .history(
            room_id,
            HistoryQuery::Before {
                before: None,
                limit: 10,
            },
        )
        .await
        .expect("history");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].text, text);
    assert_eq!(page[0].room, room_name);
}

pub async fn chinese_and_emoji_round_trip(store: Arc<dyn Store>) {
    let names = ["张伟", "Émilie", "小明😀", "Zoë🎉"];
    for name in names {
        store.create_user(new_user(name)).await.expect("create");
    }
    // Case folding is Unicode-aware.
    let emilie = store
        .user_by_name("émilie")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(emilie.username, "Émilie");
    let taken = store.create_user(new_user("ÉMILIE")).await;
    assert!(matches!(taken, Err(StoreError::UsernameTaken)), "{taken:?}");

    let room_id = room(&store, "聊天室🏠").await;
    let mut ids = Vec::new();
    for name in names {
        let id = store
            .user_by_name(name)
            .await
            .expect("lookup")
            .expect("found")
            .id;
        store.add_member(room_id, id).await.expect("join");
        ids.push(id);
    }
    let text = "你好，世界！🎉👍🏽 — ñ, 𝄞 and \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
    let sent = store
        .append_message(new_message(room_id, ids[2], text, 7))
        .await
        .expect("append");

    let page = store
        .history(
            room_id,
            HistoryQuery::After {
                after: 0,
                limit: 10,
            },
        )
        .await
        .expect("history");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].seq, sent.seq);
    assert_eq!(page[0].text, text);
    assert_eq!(page[0].sender, "小明😀");
    assert_eq!(page[0].room, "聊天室🏠");
    let found = store
        .room_by_name("聊天室🏠")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(found.latest_seq, 1);
    let members: BTreeSet<String> = store
        .member_names(room_id)
        .await
        .expect("members")
        .into_iter()
        .collect();
    assert_eq!(members, names.iter().map(|n| n.to_string()).collect());
}

pub async fn otp_compare_and_swap_needs_the_current_state(store: Arc<dyn Store>) {
    let alice = store.create_user(new_user("alice")).await.expect("create");
    let start = alice.otp.clone();
    let next = otp(OtpAlgorithm::Md5, "ke1234", 498, 2);
    assert!(
        store
            .otp_compare_and_swap(alice.id, &start, &next)
            .await
            .expect("cas")
    );
    let stored = store
        .user_by_name("alice")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(stored.otp, next);

    // The old state is stale now, and each field of `expected` must match.
    let later = otp(OtpAlgorithm::Md5, "ke1234", 497, 3);
    assert!(
        !store
            .otp_compare_and_swap(alice.id, &start, &later)
            .await
            .expect("cas")
    );
    for wrong in [
        otp(OtpAlgorithm::Sha1, "ke1234", 498, 2),
        otp(OtpAlgorithm::Md5, "ke9999", 498, 2),
        otp(OtpAlgorithm::Md5, "ke1234", 499, 2),
        otp(OtpAlgorithm::Md5, "ke1234", 498, 9),
    ] {
        assert!(
            !store
                .otp_compare_and_swap(alice.id, &wrong, &later)
                .await
                .expect("cas")
        );
    }
    assert!(
        !store
            .otp_compare_and_swap(alice.id + 1000, &next, &later)
            .await
            .expect("cas")
    );
    let stored = store
        .user_by_name("alice")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(stored.otp, next);
    assert!(
        store
            .otp_compare_and_swap(alice.id, &next, &later)
            .await
            .expect("cas")
    );
}

pub async fn concurrent_otp_swaps_have_exactly_one_winner(store: Arc<dyn Store>) {
    let alice = store.create_user(new_user("alice")).await.expect("create");
    let tasks: Vec<_> = (0..50u8)
        .map(|i| {
            let store = Arc::clone(&store);
            let expected = alice.otp.clone();
            tokio::spawn(async move {
                let next = otp(OtpAlgorithm::Md5, "ke1234", 498, i + 10);
                let won = store
                    .otp_compare_and_swap(alice.id, &expected, &next)
                    .await
                    .expect("cas");
                (won, next)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (won, next) = task.await.expect("task");
        if won {
            winners.push(next);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one swap may win");
    let stored = store
        .user_by_name("alice")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(stored.otp, winners[0]);
}

pub async fn otp_replace_overwrites_the_chain(store: Arc<dyn Store>) {
    let alice = store.create_user(new_user("alice")).await.expect("create");
    let fresh = otp(OtpAlgorithm::Sha1, "xy9999", 99, 7);
    store.otp_replace(alice.id, &fresh).await.expect("replace");
    let stored = store
        .user_by_name("alice")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(stored.otp, fresh);
    // Replacing with the same values again is fine.
    store
        .otp_replace(alice.id, &fresh)
        .await
        .expect("replace again");
    let missing = store.otp_replace(alice.id + 1000, &fresh).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

pub async fn login_time_and_avatar_are_recorded(store: Arc<dyn Store>) {
    let alice = store.create_user(new_user("alice")).await.expect("create");
    let at = 1_700_000_555_321;
    store.record_login(alice.id, at).await.expect("login");
    let stored = store
        .user_by_name("alice")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(stored.last_login, Some(at));

    let room_id = room(&store, "general").await;
    store.add_member(room_id, alice.id).await.expect("join");
    store
        .append_message(new_message(room_id, alice.id, "before", 1))
        .await
        .expect("append");
    let hash = AvatarHash([0xab; 32]);
    store
        .set_avatar(alice.id, Some(hash))
        .await
        .expect("avatar");
    store
        .set_avatar(alice.id, Some(hash))
        .await
        .expect("same avatar again");
    let stored = store
        .user_by_name("alice")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(stored.avatar, Some(hash));
    // History shows the sender's current avatar.
    let page = store
        .history(
            room_id,
            HistoryQuery::After {
                after: 0,
                limit: 10,
            },
        )
        .await
        .expect("history");
    assert_eq!(page[0].sender_avatar, Some(hash));

    store
        .set_avatar(alice.id, None)
        .await
        .expect("clear avatar");
    let stored = store
        .user_by_name("alice")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(stored.avatar, None);
    let missing = store.record_login(alice.id + 1000, at).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    let missing = store.set_avatar(alice.id + 1000, None).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );

    // A user created with an avatar keeps it.
    let bob = store
        .create_user(NewUser {
            avatar: Some(hash),
            ..new_user("bob")
        })
        .await
        .expect("create");
    assert_eq!(store.user_by_name("bob").await.expect("lookup"), Some(bob));
}
