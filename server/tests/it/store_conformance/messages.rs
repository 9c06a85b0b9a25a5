//! Conformance cases for messages: numbering, idempotency, concurrency and history.

use std::sync::Arc;

use chatroom_common::protocol::{HistoryQuery, MAX_HISTORY_PAGE, Seq};
use chatroom_server::store::{self, Store};

use super::{append_many, new_message, room, seqs, user};

pub async fn appends_are_numbered_from_one(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let general = room(&store, "general").await;
    let other = room(&store, "other").await;
    store.add_member(general, alice).await.expect("join");
    store.add_member(other, alice).await.expect("join");
    for (key, expected) in (1..=3).zip(1..) {
        let sent = store
            .append_message(new_message(general, alice, &format!("hello {key}"), key))
            .await
            .expect("append");
        assert!(!sent.duplicate);
        assert_eq!(sent.seq, expected);
        assert_eq!(sent.sent_at, new_message(general, alice, "", key).sent_at);
    }
    // What was stored is what was sent, as history reads it back.
    let page = store
        .history(
            general,
            HistoryQuery::After {
                after: 0,
                limit: 10,
            },
        )
        .await
        .expect("history");
    for (message, key) in page.iter().zip(1..) {
        assert_eq!(message.room, "general");
        assert_eq!(message.sender, "alice");
        assert_eq!(message.text, format!("hello {key}"));
        assert_eq!(
            message.sent_at,
            new_message(general, alice, "", key).sent_at
        );
    }
    assert_eq!(page.len(), 3);
    // Each room counts on its own.
    let sent = store
        .append_message(new_message(other, alice, "elsewhere", 4))
        .await
        .expect("append");
    assert_eq!(sent.seq, 1);
    let general_room = store
        .room_by_name("general")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(general_room.latest_seq, 3);
}

pub async fn a_retried_append_returns_the_first_message(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let general = room(&store, "general").await;
    store.add_member(general, alice).await.expect("join");
    store.add_member(general, bob).await.expect("join");
    let first = store
        .append_message(new_message(general, alice, "once", 42))
        .await
        .expect("append");
    assert!(!first.duplicate);
    let again = store
        .append_message(new_message(general, alice, "once, retried", 42))
        .await
        .expect("retry");
    assert!(again.duplicate);
    // The first message's number and time, not the retry's.
    assert_eq!((again.seq, again.sent_at), (first.seq, first.sent_at));
    // Keys belong to their sender: bob may use the same one.
    let bobs = store
        .append_message(new_message(general, bob, "mine", 42))
        .await
        .expect("append");
    assert!(!bobs.duplicate);
    assert_eq!(bobs.seq, 2);
    // The retry used up no number.
    let next = store
        .append_message(new_message(general, alice, "twice", 43))
        .await
        .expect("append");
    assert_eq!(next.seq, 3);
    assert_eq!(
        seqs(
            &store,
            general,
            HistoryQuery::After {
                after: 0,
                limit: 10
            }
        )
        .await,
        vec![1, 2, 3]
    );
}

/// Membership is checked inside the append's transaction: a user who never
/// joined, or who left, is refused with `NotFound(NOT_A_MEMBER)`, stores
/// nothing and uses up no number, even when repeating a key they used while a
/// member.
pub async fn only_members_can_append(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let general = room(&store, "general").await;
    store.add_member(general, alice).await.expect("join");
    let refused = store
        .append_message(new_message(general, bob, "not yet", 1))
        .await;
    assert!(
        matches!(
            refused,
            Err(store::StoreError::NotFound(store::NOT_A_MEMBER))
        ),
        "{refused:?}"
    );
    store.add_member(general, bob).await.expect("join");
    let sent = store
        .append_message(new_message(general, bob, "now", 2))
        .await
        .expect("append");
    assert_eq!(sent.seq, 1);
    store.remove_member(general, bob).await.expect("leave");
    for key in [2, 3] {
        let refused = store
            .append_message(new_message(general, bob, "after leaving", key))
            .await;
        assert!(
            matches!(
                refused,
                Err(store::StoreError::NotFound(store::NOT_A_MEMBER))
            ),
            "key {key}: {refused:?}"
        );
    }
    let sent = store
        .append_message(new_message(general, alice, "still here", 4))
        .await
        .expect("append");
    assert_eq!(sent.seq, 2);
    assert_eq!(
        seqs(
            &store,
            general,
            HistoryQuery::After {
                after: 0,
                limit: 10
            }
        )
        .await,
        vec![1, 2]
    );
}

pub async fn concurrent_appends_get_contiguous_numbers(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let general = room(&store, "general").await;
    store.add_member(general, alice).await.expect("join");
    let tasks: Vec<_> = (0..20u128)
        .map(|key| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .append_message(new_message(general, alice, &format!("racing {key}"), key))
                    .await
            })
        })
        .collect();
    let mut got = Vec::new();
    for task in tasks {
        let sent = task.await.expect("task").expect("append");
        assert!(!sent.duplicate);
        got.push(sent.seq);
    }
    got.sort_unstable();
    assert_eq!(got, (1..=20).collect::<Vec<Seq>>());
    assert_eq!(
        seqs(
            &store,
            general,
            HistoryQuery::After {
                after: 0,
                limit: 50
            }
        )
        .await,
        got
    );
}

/// A burst of appends, as under load (where SQLite commits them in groups):
/// bad ones fail alone and take no number, a key repeated inside the burst is
/// stored once, and every good one is stored under a contiguous number.
pub async fn a_burst_of_appends_fails_only_its_bad_messages(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let general = room(&store, "general").await;
    let other = room(&store, "other").await;
    // Bob exists but is a member of neither room.
    let bob = user(&store, "bob").await;
    store.add_member(general, alice).await.expect("join");
    store.add_member(other, alice).await.expect("join");
    let (no_room, no_user) = (general + other + 1000, alice + 1000);
    let tasks: Vec<_> = (0..120u128)
        .map(|i| {
            let store = Arc::clone(&store);
            // Every tenth goes to a room that does not exist, every tenth
            // (offset by five) comes from a user that does not exist, every
            // tenth (offset by three) from a user who is not a member; the
            // rest alternate between two rooms, and keys 100.. repeat 0..
            // (each pair racing in the same burst).
            let (room_id, sender) = match i % 10 {
                3 => (no_room, alice),
                6 => (general, bob),
                8 => (general, no_user),
                _ if i % 2 == 0 => (general, alice),
                _ => (other, alice),
            };
            let key = if i >= 100 { i - 100 } else { i };
            tokio::spawn(async move {
                let result = store
                    .append_message(new_message(room_id, sender, &format!("burst {i}"), key))
                    .await;
                (i, room_id, sender, key, result)
            })
        })
        .collect();
    let mut stored: std::collections::HashMap<u128, Seq> = std::collections::HashMap::new();
    let mut per_room: std::collections::HashMap<i64, Vec<Seq>> = std::collections::HashMap::new();
    for task in tasks {
        let (i, room_id, sender, key, result) = task.await.expect("task");
        if room_id == no_room || sender == no_user {
            assert!(
                matches!(result, Err(store::StoreError::NotFound(_))),
                "append {i} should fail with NotFound, got {result:?}"
            );
            continue;
        }
        if sender == bob {
            assert!(
                matches!(
                    result,
                    Err(store::StoreError::NotFound(store::NOT_A_MEMBER))
                ),
                "append {i} by a non-member should be refused, got {result:?}"
            );
            continue;
        }
        // Which of a repeated pair is first depends on the race; both must
        // name the same stored message.
        let sent = result.unwrap_or_else(|e| panic!("append {i}: {e}"));
        if let Some(&seq) = stored.get(&key) {
            assert_eq!(sent.seq, seq, "key {key} stored twice");
        } else {
            stored.insert(key, sent.seq);
            per_room.entry(room_id).or_default().push(sent.seq);
        }
    }
    for (room_id, mut got) in per_room {
        got.sort_unstable();
        let n = Seq::try_from(got.len()).expect("small");
        assert_eq!(got, (1..=n).collect::<Vec<Seq>>(), "room {room_id}");
        let listed = seqs(
            &store,
            room_id,
            HistoryQuery::After {
                after: 0,
                limit: 100,
            },
        )
        .await;
        assert_eq!(listed, got, "room {room_id}: history");
    }
}

pub async fn history_pages_backwards_and_forwards(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let general = room(&store, "general").await;
    let quiet = room(&store, "quiet").await;
    append_many(&store, general, alice, 1, 120).await;

    let range = |r: std::ops::RangeInclusive<Seq>| r.collect::<Vec<_>>();
    assert_eq!(
        seqs(
            &store,
            general,
            HistoryQuery::Before {
                before: None,
                limit: 50
            }
        )
        .await,
        range(71..=120)
    );
    assert_eq!(
        seqs(
            &store,
            general,
            HistoryQuery::Before {
                before: Some(71),
                limit: 50
            }
        )
        .await,
        range(21..=70)
    );
    assert_eq!(
        seqs(
            &store,
            general,
            HistoryQuery::Before {
                before: Some(21),
                limit: 50
            }
        )
        .await,
        range(1..=20)
    );
    assert_eq!(
        seqs(
            &store,
            general,
            HistoryQuery::Before {
                before: Some(1),
                limit: 50
            }
        )
        .await,
        Vec::<Seq>::new()
    );
    assert_eq!(
        seqs(
            &store,
            general,
            HistoryQuery::After {
                after: 0,
                limit: 30
            }
        )
        .await,
        range(1..=30)
    );
    assert_eq!(
        seqs(
            &store,
            general,
            HistoryQuery::After {
                after: 100,
                limit: 50
            }
        )
        .await,
        range(101..=120)
    );
    assert_eq!(
        seqs(
            &store,
            general,
            HistoryQuery::After {
                after: 120,
                limit: 50
            }
        )
        .await,
        Vec::<Seq>::new()
    );
    assert_eq!(
        seqs(
            &store,
            quiet,
            HistoryQuery::Before {
                before: None,
                limit: 50
            }
        )
        .await,
        Vec::<Seq>::new()
    );

    let page = store
        .history(
            general,
            HistoryQuery::Before {
                before: Some(3),
                limit: 1,
            },
        )
        .await
        .expect("history");
    assert_eq!(page.len(), 1);
    assert_eq!(
        (page[0].seq, page[0].text.as_str(), page[0].sender.as_str()),
        (2, "message 2", "alice")
    );
}

pub async fn history_respects_limits(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let general = room(&store, "general").await;
    let total = u128::from(MAX_HISTORY_PAGE) + 5;
    append_many(&store, general, alice, 1, total).await;
    let max = usize::try_from(MAX_HISTORY_PAGE).expect("small");
    let newest = seqs(
        &store,
        general,
        HistoryQuery::Before {
            before: None,
            limit: 10_000,
        },
    )
    .await;
    assert_eq!(newest.len(), max);
    assert_eq!(newest.last(), Some(&Seq::try_from(total).expect("small")));
    let oldest = seqs(
        &store,
        general,
        HistoryQuery::After {
            after: 0,
            limit: u32::MAX,
        },
    )
    .await;
    assert_eq!(oldest.len(), max);
    assert_eq!(oldest.first(), Some(&1));
    assert!(
        seqs(
            &store,
            general,
            HistoryQuery::Before {
                before: None,
                limit: 0
            }
        )
        .await
        .is_empty()
    );
    assert_eq!(
        seqs(&store, general, HistoryQuery::After { after: 0, limit: 7 })
            .await
            .len(),
        7
    );
}
