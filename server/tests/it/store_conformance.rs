//! The store conformance suite: what every `Store` backend must do, written once
//! and instantiated for SQLite (`store_sqlite.rs`) and MySQL (`store_mysql.rs`)
//! with [`conformance_tests!`].

mod blobs;
mod files;
mod mail;
mod messages;
mod rooms;
mod users;

use std::sync::Arc;

use async_trait::async_trait;
use chatroom_common::protocol::{
    HistoryQuery, IdempotencyKey, OtpAlgorithm, OtpValue, RoomKind, Seq,
};
use chatroom_server::store::{self, NewMessage, NewUser, OtpState, RoomId, Store, UserId};

pub use blobs::*;
pub use files::*;
pub use mail::*;
pub use messages::*;
pub use rooms::*;
pub use users::*;

/// A database a test owns: it can open the store on it as often as it likes.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The store URL of the test's database.
    fn url(&self) -> String;

    /// Opens a new store on the database (a new connection or pool each time).
    async fn open(&self) -> Arc<dyn Store> {
        let url = self.url();
        store::open(&url)
            .await
            .unwrap_or_else(|e| panic!("opening {}: {e}", store::redact_url(&url)))
    }
}

/// Defines one `#[tokio::test]` per conformance case. `$backend` is an expression
/// giving `Option<impl Backend>`; `None` skips (only when explicitly asked for).
macro_rules! conformance_tests {
    ($backend:expr) => {
        $crate::store_conformance::conformance_tests!(@store $backend;
            users_are_found_case_insensitively,
            a_username_taken_in_another_case_is_refused,
            sql_in_names_and_text_is_just_data,
            chinese_and_emoji_round_trip,
            otp_compare_and_swap_needs_the_current_state,
            concurrent_otp_swaps_have_exactly_one_winner,
            otp_replace_overwrites_the_chain,
            login_time_and_avatar_are_recorded,
            rooms_are_created_listed_and_found,
            memberships_are_added_removed_and_listed,
            missing_rooms_and_users_are_not_found,
            room_heads_are_read_for_many_rooms_at_once,
            appends_are_numbered_from_one,
            a_retried_append_returns_the_first_message,
            concurrent_appends_get_contiguous_numbers,
            only_members_can_append,
            a_burst_of_appends_fails_only_its_bad_messages,
            history_pages_backwards_and_forwards,
            history_respects_limits,
            registration_queues_its_mail_atomically,
            due_mails_are_claimed_once_and_leased,
            concurrent_claims_never_share_a_mail,
            mail_outcomes_are_recorded,
            verification_codes_are_counted_and_checked,
            racing_attempts_never_exceed_the_limit,
            verification_resends_are_rate_limited,
            blobs_round_trip_across_chunk_boundaries,
            storing_a_blob_again_changes_nothing,
            a_blob_under_the_wrong_hash_is_refused,
            unknown_blobs_and_avatars_are_none,
            avatars_have_kinds_and_only_pool_ones_are_offered,
            new_accounts_get_crawled_pictures_evenly,
            imported_counts_are_raised_never_added,
            an_upload_is_stored_once_and_counted_once,
            only_uploaders_and_members_may_fetch_a_file,
            attachments_come_back_with_their_messages,
        );
        $crate::store_conformance::conformance_tests!(@backend $backend;
            reopening_keeps_everything,
            migrations_are_idempotent,
            the_outbox_survives_reopening,
            blobs_survive_reopening,
        );
    };
    (@store $backend:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(backend) = $backend else { return };
                let store = $crate::store_conformance::Backend::open(&backend).await;
                $crate::store_conformance::$case(store).await;
            }
        )*
    };
    (@backend $backend:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(backend) = $backend else { return };
                $crate::store_conformance::$case(&backend).await;
            }
        )*
    };
}
pub(crate) use conformance_tests;

/// A registration with a recognisable S/KEY state.
pub fn new_user(username: &str) -> NewUser {
    NewUser {
        username: username.to_owned(),
        email: "someone@example.com".to_owned(),
        otp: otp(OtpAlgorithm::Md5, "ke1234", 499, 1),
        avatar: None,
        created_at: 1_700_000_000_123,
    }
}

/// An S/KEY state whose value is `fill` repeated.
pub fn otp(algorithm: OtpAlgorithm, seed: &str, count: u32, fill: u8) -> OtpState {
    OtpState {
        algorithm,
        seed: seed.to_owned(),
        count,
        last: OtpValue([fill; 8]),
    }
}

/// A message with idempotency key `key`.
pub fn new_message(room_id: RoomId, sender_id: UserId, text: &str, key: u128) -> NewMessage {
    NewMessage {
        room_id,
        sender_id,
        text: text.to_owned(),
        key: IdempotencyKey(key.to_be_bytes()),
        sent_at: 1_700_000_100_000 + i64::try_from(key % 1_000_000).expect("small key"),
        attachments: Vec::new(),
    }
}

/// Creates a user, failing the test on error.
async fn user(store: &Arc<dyn Store>, name: &str) -> UserId {
    store
        .create_user(new_user(name))
        .await
        .expect("create user")
        .id
}

/// Creates a public room, failing the test on error.
async fn room(store: &Arc<dyn Store>, name: &str) -> RoomId {
    store
        .create_room(name, RoomKind::Public)
        .await
        .expect("create room")
        .id
}

/// Appends `count` messages with keys `first_key..`, failing the test on error.
async fn append_many(
    store: &Arc<dyn Store>,
    room: RoomId,
    sender: UserId,
    first_key: u128,
    count: u128,
) {
    store.add_member(room, sender).await.expect("join");
    for key in first_key..first_key + count {
        store
            .append_message(new_message(room, sender, &format!("message {key}"), key))
            .await
            .expect("append");
    }
}

/// The sequence numbers of a history page.
async fn seqs(store: &Arc<dyn Store>, room: RoomId, query: HistoryQuery) -> Vec<Seq> {
    let page = store.history(room, query).await.expect("history");
    page.iter().map(|m| m.seq).collect()
}
pub async fn reopening_keeps_everything(backend: &dyn Backend) {
    let (alice, general, direct, first) = {
        let store = backend.open().await;
        let alice = store.create_user(new_user("alice")).await.expect("create");
        let bob = user(&store, "bob").await;
        let general = room(&store, "general").await;
        let direct = store
            .create_room("dm:alice:bob", RoomKind::Direct)
            .await
            .expect("create");
        store.add_member(general, alice.id).await.expect("join");
        store.add_member(direct.id, bob).await.expect("join");
        let next = otp(OtpAlgorithm::Md5, "ke1234", 498, 5);
        assert!(
            store
                .otp_compare_and_swap(alice.id, &alice.otp, &next)
                .await
                .expect("cas")
        );
        store
            .record_login(alice.id, 1_700_000_999_000)
            .await
            .expect("login");
        append_many(&store, general, alice.id, 1, 5).await;
        let first = store
            .history(
                general,
                HistoryQuery::After {
                    after: 0,
                    limit: 10,
                },
            )
            .await
            .expect("history");
        (
            store
                .user_by_name("alice")
                .await
                .expect("lookup")
                .expect("found"),
            general,
            direct,
            first,
        )
    };

    let store = backend.open().await;
    assert_eq!(
        store.user_by_name("ALICE").await.expect("lookup"),
        Some(alice.clone())
    );
    assert!(store.user_by_name("bob").await.expect("lookup").is_some());
    assert_eq!(
        store.room_by_name("dm:alice:bob").await.expect("lookup"),
        Some(direct)
    );
    assert!(store.is_member(general, alice.id).await.expect("member?"));
    assert_eq!(
        store
            .history(
                general,
                HistoryQuery::After {
                    after: 0,
                    limit: 10
                }
            )
            .await
            .expect("history"),
        first
    );
    // Idempotency keys and numbering carry on across the reopen.
    let again = store
        .append_message(new_message(general, alice.id, "message 3", 3))
        .await
        .expect("retry");
    assert!(again.duplicate);
    assert_eq!(again.seq, 3);
    let next = store
        .append_message(new_message(general, alice.id, "after", 6))
        .await
        .expect("append");
    assert_eq!(next.seq, 6);
}

pub async fn migrations_are_idempotent(backend: &dyn Backend) {
    let url = backend.url();
    // Two processes migrating one fresh database at once: one applies, one waits.
    let (a, b) = tokio::join!(store::migrate(&url), store::migrate(&url));
    let (a, b) = (a.expect("migrate"), b.expect("migrate"));
    let mut applied = [a, b].concat();
    applied.sort_unstable();
    assert_eq!(
        applied,
        vec![1, 2, 3, 4],
        "each version is applied exactly once"
    );
    assert_eq!(
        store::migrate(&url).await.expect("migrate"),
        Vec::<u32>::new()
    );

    let store = backend.open().await;
    user(&store, "alice").await;
    let again = backend.open().await;
    assert!(again.user_by_name("alice").await.expect("lookup").is_some());
    assert_eq!(
        store::migrate(&url).await.expect("migrate"),
        Vec::<u32>::new()
    );
}
