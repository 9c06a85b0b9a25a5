//! Conformance cases for the mail outbox and e-mail verification: atomic
//! registration with its mail, claiming with leases, outcomes, codes and the
//! resend rate limit.

use std::collections::BTreeSet;
use std::sync::Arc;

use chatroom_common::protocol::AvatarHash;
use chatroom_server::store::{MailKind, MailState, NewMail, Store, StoreError, StoredCode, UserId};

use super::{Backend, new_user};

/// When the test's mails are queued.
const T0: i64 = 1_700_000_000_123;
/// Far in the future, but within MySQL's DATETIME range.
const LATER: i64 = T0 + 10 * 365 * 86_400_000;

fn welcome(at: i64) -> NewMail {
    NewMail {
        kind: MailKind::Welcome,
        queued_at: at,
    }
}

fn code(fill: u8, expires_at: i64) -> StoredCode {
    StoredCode {
        hash: [fill; 32],
        salt: [fill ^ 0xff; 16],
        expires_at,
    }
}

/// Registers `name` with its welcome mail, optionally pending verification.
async fn register(store: &Arc<dyn Store>, name: &str, verify: bool) -> UserId {
    store
        .create_user_with_mail(new_user(name), welcome(T0), verify)
        .await
        .expect("create with mail")
        .id
}

pub async fn registration_queues_its_mail_atomically(store: Arc<dyn Store>) {
    let mut user = new_user("Alice");
    user.avatar = Some(AvatarHash([7; 32]));
    let alice = store
        .create_user_with_mail(user.clone(), welcome(T0), false)
        .await
        .expect("create with mail");
    assert_eq!(
        store.user_by_name("alice").await.expect("lookup"),
        Some(alice.clone())
    );
    assert_eq!(
        store.email_verification(alice.id).await.expect("state"),
        None
    );
    // A taken name creates nothing: no user, no mail, no verification.
    let again = store
        .create_user_with_mail(new_user("ALICE"), welcome(T0), true)
        .await;
    assert!(matches!(again, Err(StoreError::UsernameTaken)), "{again:?}");

    let due = store.due_mails(T0, 10, T0 + 60_000).await.expect("due");
    assert_eq!(due.len(), 1, "{due:?}");
    let mail = &due[0];
    assert_eq!(mail.kind, MailKind::Welcome);
    assert_eq!(mail.user, alice.id);
    assert_eq!(mail.username, "Alice");
    assert_eq!(mail.email, user.email);
    assert_eq!(mail.avatar, Some(AvatarHash([7; 32])));
    assert_eq!(mail.registered_at, user.created_at);
    assert_eq!(mail.queued_at, T0);
    assert_eq!(mail.attempts, 0);

    let bob = register(&store, "bob", true).await;
    let pending = store
        .email_verification(bob)
        .await
        .expect("state")
        .expect("pending");
    assert!(pending.is_pending());
    assert_eq!(pending.code, None);
    assert_eq!(pending.attempts, 0);
    assert_eq!(pending.last_requested_at, new_user("bob").created_at);
}

pub async fn due_mails_are_claimed_once_and_leased(store: Arc<dyn Store>) {
    let user = register(&store, "alice", false).await;
    for at in [T0 + 1, T0 + 2] {
        store
            .enqueue_mail(user, welcome(at))
            .await
            .expect("enqueue");
    }
    assert_eq!(store.next_mail_due().await.expect("next"), Some(T0));
    // Nothing is due before its time.
    assert!(
        store
            .due_mails(T0 - 1, 10, T0 + 1000)
            .await
            .expect("due")
            .is_empty()
    );
    let lease = T0 + 60_000;
    let first = store.due_mails(T0 + 10, 2, lease).await.expect("due");
    assert_eq!(
        first.iter().map(|m| m.queued_at).collect::<Vec<_>>(),
        vec![T0, T0 + 1],
        "earliest due first"
    );
    let second = store.due_mails(T0 + 10, 10, lease).await.expect("due");
    assert_eq!(second.len(), 1, "claimed mails are not handed out again");
    assert_eq!(second[0].queued_at, T0 + 2);
    assert!(
        store
            .due_mails(T0 + 10, 10, lease)
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(store.next_mail_due().await.expect("next"), Some(lease));
    // A worker that never reports back: the mails come due again at the lease.
    let again = store
        .due_mails(lease, 10, lease + 60_000)
        .await
        .expect("due");
    assert_eq!(again.len(), 3);
}

pub async fn concurrent_claims_never_share_a_mail(store: Arc<dyn Store>) {
    let user = register(&store, "alice", false).await;
    for i in 1..20 {
        store
            .enqueue_mail(user, welcome(T0 + i))
            .await
            .expect("enqueue");
    }
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let claimed = store
                        .due_mails(T0 + 100, 1, T0 + 600_000)
                        .await
                        .expect("claim");
                    if claimed.is_empty() {
                        return mine;
                    }
                    mine.extend(claimed.into_iter().map(|m| m.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("worker"));
    }
    let distinct: BTreeSet<_> = all.iter().copied().collect();
    assert_eq!(all.len(), 20, "every mail claimed once: {all:?}");
    assert_eq!(distinct.len(), 20);
}

pub async fn mail_outcomes_are_recorded(store: Arc<dyn Store>) {
    let user = register(&store, "alice", false).await;
    let id = store.due_mails(T0, 1, T0 + 1000).await.expect("due")[0].id;
    store
        .mail_failed(id, T0 + 30_000, "connection refused")
        .await
        .expect("failed");
    let status = store.mail_status(id).await.expect("status").expect("found");
    assert_eq!(status.kind, MailKind::Welcome);
    assert_eq!(status.state, MailState::Queued);
    assert_eq!(status.attempts, 1);
    assert_eq!(status.next_attempt_at, T0 + 30_000);
    assert_eq!(status.last_error.as_deref(), Some("connection refused"));
    assert_eq!(status.finished_at, None);
    assert!(
        store
            .due_mails(T0 + 29_999, 1, T0 + 90_000)
            .await
            .expect("due")
            .is_empty()
    );
    let retry = store
        .due_mails(T0 + 30_000, 1, T0 + 90_000)
        .await
        .expect("due");
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].attempts, 1);

    store.mail_sent(id, T0 + 31_000).await.expect("sent");
    let status = store.mail_status(id).await.expect("status").expect("found");
    assert_eq!(status.state, MailState::Sent);
    assert_eq!(status.finished_at, Some(T0 + 31_000));
    assert_eq!(store.next_mail_due().await.expect("next"), None);
    assert!(
        store
            .due_mails(LATER, 10, LATER)
            .await
            .is_ok_and(|m| m.is_empty()),
        "a sent mail is never due again"
    );

    let other = store
        .enqueue_mail(user, welcome(T0))
        .await
        .expect("enqueue");
    store
        .mail_given_up(other, T0 + 5, "550 no such user")
        .await
        .expect("given up");
    let status = store
        .mail_status(other)
        .await
        .expect("status")
        .expect("found");
    assert_eq!(status.state, MailState::GivenUp);
    assert_eq!(status.last_error.as_deref(), Some("550 no such user"));
    assert_eq!(status.finished_at, Some(T0 + 5));
    assert_eq!(store.next_mail_due().await.expect("next"), None);

    assert_eq!(store.mail_status(other + 1000).await.expect("status"), None);
    assert!(matches!(
        store.mail_sent(other + 1000, T0).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.enqueue_mail(user + 1000, welcome(T0)).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn verification_codes_are_counted_and_checked(store: Arc<dyn Store>) {
    let user = register(&store, "alice", true).await;
    let first = code(1, T0 + 900_000);
    assert!(
        store
            .set_verification_code(user, &first)
            .await
            .expect("set")
    );
    let state = store
        .email_verification(user)
        .await
        .expect("state")
        .expect("pending");
    assert_eq!(state.code, Some(first.clone()));
    for _ in 0..3 {
        assert!(
            store
                .count_verification_attempt(user, &first.hash, 3)
                .await
                .expect("count")
        );
    }
    assert!(
        !store
            .count_verification_attempt(user, &first.hash, 3)
            .await
            .expect("count"),
        "the fourth attempt at a 3-attempt code is refused"
    );
    assert!(
        !store
            .count_verification_attempt(user, &[9; 32], 3)
            .await
            .expect("count"),
        "attempts against a replaced code are refused"
    );
    // A new code starts with no attempts.
    let second = code(2, T0 + 900_000);
    assert!(
        store
            .set_verification_code(user, &second)
            .await
            .expect("set")
    );
    let state = store
        .email_verification(user)
        .await
        .expect("state")
        .expect("pending");
    assert_eq!(state.attempts, 0);
    assert!(
        !store
            .mark_email_verified(user, &first.hash, T0)
            .await
            .expect("mark"),
        "the old code no longer verifies"
    );
    assert!(
        !store
            .mark_email_verified(user, &second.hash, second.expires_at)
            .await
            .expect("mark"),
        "an expired code does not verify"
    );
    assert!(
        store
            .mark_email_verified(user, &second.hash, T0 + 1)
            .await
            .expect("mark")
    );
    let state = store
        .email_verification(user)
        .await
        .expect("state")
        .expect("row");
    assert_eq!(state.verified_at, Some(T0 + 1));
    assert!(!state.is_pending());
    assert_eq!(state.code, None, "the code is gone once used");
    assert!(
        !store
            .set_verification_code(user, &first)
            .await
            .expect("set")
    );
    assert!(
        !store
            .mark_email_verified(user, &second.hash, T0 + 2)
            .await
            .expect("mark")
    );

    // Accounts without verification have nothing to set.
    let bob = register(&store, "bob", false).await;
    assert!(!store.set_verification_code(bob, &first).await.expect("set"));
    assert_eq!(store.email_verification(bob).await.expect("state"), None);
}

pub async fn racing_attempts_never_exceed_the_limit(store: Arc<dyn Store>) {
    let user = register(&store, "alice", true).await;
    let stored = code(3, T0 + 900_000);
    assert!(
        store
            .set_verification_code(user, &stored)
            .await
            .expect("set")
    );
    let tries: Vec<_> = (0..20)
        .map(|_| {
            let (store, hash) = (Arc::clone(&store), stored.hash);
            tokio::spawn(async move {
                store
                    .count_verification_attempt(user, &hash, 5)
                    .await
                    .expect("count")
            })
        })
        .collect();
    let mut counted = 0;
    for t in tries {
        counted += usize::from(t.await.expect("task"));
    }
    assert_eq!(counted, 5);
}

pub async fn verification_resends_are_rate_limited(store: Arc<dyn Store>) {
    let registered_at = new_user("alice").created_at;
    let user = register(&store, "alice", true).await;
    let resend = |at| NewMail {
        kind: MailKind::Verification,
        queued_at: at,
    };
    // The registration counts as the first request.
    assert!(
        !store
            .request_verification_mail(user, registered_at - 1, resend(T0 + 10))
            .await
            .expect("request")
    );
    assert!(
        store
            .request_verification_mail(user, registered_at, resend(T0 + 60_000))
            .await
            .expect("request")
    );
    let state = store
        .email_verification(user)
        .await
        .expect("state")
        .expect("pending");
    assert_eq!(state.last_requested_at, T0 + 60_000);
    assert!(
        !store
            .request_verification_mail(user, registered_at, resend(T0 + 60_001))
            .await
            .expect("request")
    );
    let kinds: Vec<MailKind> = store
        .due_mails(T0 + 120_000, 10, T0 + 200_000)
        .await
        .expect("due")
        .into_iter()
        .map(|m| m.kind)
        .collect();
    assert_eq!(kinds, vec![MailKind::Welcome, MailKind::Verification]);

    // Once verified, or without verification, nothing is queued.
    let stored = code(4, T0 + 900_000);
    assert!(
        store
            .set_verification_code(user, &stored)
            .await
            .expect("set")
    );
    assert!(
        store
            .mark_email_verified(user, &stored.hash, T0 + 61_000)
            .await
            .expect("mark")
    );
    assert!(
        !store
            .request_verification_mail(user, LATER, resend(T0 + 200_000))
            .await
            .expect("request")
    );
    let bob = register(&store, "bob", false).await;
    assert!(
        !store
            .request_verification_mail(bob, LATER, resend(T0 + 200_000))
            .await
            .expect("request")
    );
    // Only the one accepted request queued a verification mail (the claimed
    // mails are due again now, their lease having run out).
    let verification_mails = store
        .due_mails(T0 + 300_000, 10, T0 + 400_000)
        .await
        .expect("due")
        .iter()
        .filter(|m| m.kind == MailKind::Verification)
        .count();
    assert_eq!(verification_mails, 1);
}

pub async fn the_outbox_survives_reopening(backend: &dyn Backend) {
    let (id, user) = {
        let store = backend.open().await;
        let user = register(&store, "alice", true).await;
        let id = store.due_mails(T0, 1, T0 + 1000).await.expect("due")[0].id;
        store
            .mail_failed(id, T0 + 30_000, "connection refused")
            .await
            .expect("failed");
        (id, user)
    };
    let store = backend.open().await;
    let due = store
        .due_mails(T0 + 30_000, 10, T0 + 90_000)
        .await
        .expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, id);
    assert_eq!(due[0].attempts, 1);
    assert!(
        store
            .email_verification(user)
            .await
            .expect("state")
            .is_some_and(|v| v.is_pending())
    );
}
