//! Conformance cases for the content-addressed blob store and the avatars in it.

use std::collections::HashMap;
use std::sync::Arc;

use chatroom_common::protocol::AvatarHash;
use chatroom_server::store::blobs::CHUNK_BYTES;
use chatroom_server::store::{AvatarKind, BlobHash, Store, StoreError};

use super::Backend;

/// `len` bytes that differ from chunk to chunk (so a chunk out of place
/// would change the hash), varied by `salt`.
pub fn blob_bytes(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ ((i / CHUNK_BYTES) as u8).wrapping_mul(31) ^ salt)
        .collect()
}

/// The sizes around the chunk boundaries: empty, one byte, exactly one chunk,
/// one byte more, and several chunks with a partial one at the end.
pub fn boundary_sizes() -> [usize; 5] {
    [0, 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 17]
}

pub async fn blobs_round_trip_across_chunk_boundaries(store: Arc<dyn Store>) {
    for (salt, len) in (0u8..).zip(boundary_sizes()) {
        let bytes = blob_bytes(len, salt);
        let hash = BlobHash::of(&bytes);
        assert_eq!(store.blob(hash).await.expect("get"), None, "{len}");
        assert!(
            store.put_blob(hash, bytes.clone()).await.expect("put"),
            "{len}"
        );
        assert_eq!(store.blob(hash).await.expect("get"), Some(bytes), "{len}");
    }
}

pub async fn storing_a_blob_again_changes_nothing(store: Arc<dyn Store>) {
    let bytes = blob_bytes(CHUNK_BYTES + 1, 9);
    let hash = BlobHash::of(&bytes);
    assert!(store.put_blob(hash, bytes.clone()).await.expect("put"));
    assert!(
        !store
            .put_blob(hash, bytes.clone())
            .await
            .expect("put again")
    );
    // Racing writers of one blob: it ends up stored once and whole.
    let racers: Vec<_> = (0..6)
        .map(|_| {
            let (store, bytes) = (Arc::clone(&store), blob_bytes(2 * CHUNK_BYTES, 3));
            tokio::spawn(async move { store.put_blob(BlobHash::of(&bytes), bytes).await })
        })
        .collect();
    let mut new = 0;
    for racer in racers {
        new += usize::from(racer.await.expect("task").expect("put"));
    }
    assert_eq!(new, 1, "exactly one writer stores it");
    let raced = blob_bytes(2 * CHUNK_BYTES, 3);
    assert_eq!(
        store.blob(BlobHash::of(&raced)).await.expect("get"),
        Some(raced)
    );
    assert_eq!(store.blob(hash).await.expect("get"), Some(bytes));
}

pub async fn a_blob_under_the_wrong_hash_is_refused(store: Arc<dyn Store>) {
    let bytes = blob_bytes(100, 1);
    let wrong = BlobHash::of(b"something else");
    match store.put_blob(wrong, bytes.clone()).await {
        Err(StoreError::BlobHashMismatch { claimed, actual }) => {
            assert_eq!(claimed, wrong.to_string());
            assert_eq!(actual, BlobHash::of(&bytes).to_string());
        }
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
    assert_eq!(store.blob(wrong).await.expect("get"), None);
    assert_eq!(store.blob(BlobHash::of(&bytes)).await.expect("get"), None);
    // The same goes for avatars.
    let refused = store
        .put_avatar(AvatarHash(wrong.0), bytes, AvatarKind::Upload)
        .await;
    assert!(
        matches!(refused, Err(StoreError::BlobHashMismatch { .. })),
        "{refused:?}"
    );
    assert_eq!(
        store.avatar_kind(AvatarHash(wrong.0)).await.expect("kind"),
        None
    );
}

pub async fn unknown_blobs_and_avatars_are_none(store: Arc<dyn Store>) {
    let hash = BlobHash([0x5a; 32]);
    assert_eq!(store.blob(hash).await.expect("get"), None);
    assert_eq!(
        store.avatar_png(AvatarHash(hash.0)).await.expect("png"),
        None
    );
    assert_eq!(
        store.avatar_kind(AvatarHash(hash.0)).await.expect("kind"),
        None
    );
    // A blob that is not an avatar is not served as one.
    let bytes = blob_bytes(10, 2);
    let plain = BlobHash::of(&bytes);
    store.put_blob(plain, bytes).await.expect("put");
    assert_eq!(
        store.avatar_png(AvatarHash(plain.0)).await.expect("png"),
        None
    );
    assert!(store.pool_avatars().await.expect("pool").is_empty());
    assert_eq!(store.assign_pool_avatar(0).await.expect("assign"), None);
}

/// Stores `bytes` as an avatar of `kind`; returns its hash and whether it was new.
async fn avatar(store: &Arc<dyn Store>, bytes: Vec<u8>, kind: AvatarKind) -> (AvatarHash, bool) {
    let hash = AvatarHash(BlobHash::of(&bytes).0);
    let new = store
        .put_avatar(hash, bytes, kind)
        .await
        .expect("put avatar");
    (hash, new)
}

pub async fn avatars_have_kinds_and_only_pool_ones_are_offered(store: Arc<dyn Store>) {
    let (crawled, new) = avatar(&store, blob_bytes(500, 1), AvatarKind::Crawled).await;
    assert!(new);
    let (generated, _) = avatar(&store, blob_bytes(500, 2), AvatarKind::Generated).await;
    let (upload, new) = avatar(&store, blob_bytes(500, 3), AvatarKind::Upload).await;
    assert!(new);
    assert_eq!(
        avatar(&store, blob_bytes(500, 3), AvatarKind::Upload).await,
        (upload, false),
        "an upload stored twice is stored once"
    );
    // A pool picture uploaded by someone stays a pool picture.
    assert_eq!(
        avatar(&store, blob_bytes(500, 1), AvatarKind::Upload).await,
        (crawled, false)
    );
    assert_eq!(
        store.avatar_kind(crawled).await.expect("kind"),
        Some(AvatarKind::Crawled)
    );
    // An upload the crawler finds later joins the pool.
    let (promoted, _) = avatar(&store, blob_bytes(70_000, 4), AvatarKind::Upload).await;
    assert_eq!(
        avatar(&store, blob_bytes(70_000, 4), AvatarKind::Crawled).await,
        (promoted, true)
    );

    let mut expected = vec![crawled, generated, promoted];
    expected.sort_unstable_by_key(|h| h.0);
    let pool = store.pool_avatars().await.expect("pool");
    assert_eq!(pool.iter().map(|a| a.hash).collect::<Vec<_>>(), expected);
    assert!(pool.iter().all(|a| a.assigned == 0));
    for (hash, salt, len) in [(crawled, 1, 500), (upload, 3, 500), (promoted, 4, 70_000)] {
        assert_eq!(
            store.avatar_png(hash).await.expect("png"),
            Some(blob_bytes(len, salt))
        );
        // An avatar is a blob like any other.
        assert_eq!(
            store.blob(BlobHash(hash.0)).await.expect("blob"),
            Some(blob_bytes(len, salt))
        );
    }
}

pub async fn new_accounts_get_crawled_pictures_evenly(store: Arc<dyn Store>) {
    for salt in 0..4 {
        avatar(&store, blob_bytes(300, salt), AvatarKind::Generated).await;
    }
    avatar(&store, blob_bytes(300, 50), AvatarKind::Upload).await;
    // Only identicons: they are handed out, evenly.
    let mut counts: HashMap<AvatarHash, usize> = HashMap::new();
    for tiebreak in 0..8 {
        let hash = store
            .assign_pool_avatar(tiebreak * 7)
            .await
            .expect("assign");
        *counts.entry(hash.expect("a picture")).or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 4);
    assert!(counts.values().all(|&n| n == 2), "{counts:?}");

    // Once something is crawled, only crawled pictures are handed out.
    let crawled: Vec<AvatarHash> = (10..13)
        .map(|salt| AvatarHash(BlobHash::of(&blob_bytes(300, salt)).0))
        .collect();
    for salt in 10..13 {
        avatar(&store, blob_bytes(300, salt), AvatarKind::Crawled).await;
    }
    let racers: Vec<_> = (0..9u64)
        .map(|tiebreak| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.assign_pool_avatar(tiebreak).await })
        })
        .collect();
    let mut counts: HashMap<AvatarHash, usize> = HashMap::new();
    for racer in racers {
        let hash = racer
            .await
            .expect("task")
            .expect("assign")
            .expect("a picture");
        assert!(
            crawled.contains(&hash),
            "an identicon beside crawled pictures"
        );
        *counts.entry(hash).or_insert(0) += 1;
    }
    // Concurrent registrations take turns: three each, exactly.
    assert!(counts.values().all(|&n| n == 3), "{counts:?}");
    let pool = store.pool_avatars().await.expect("pool");
    let assigned: u64 = pool.iter().map(|a| a.assigned).sum();
    assert_eq!(assigned, 17);
}

pub async fn imported_counts_are_raised_never_added(store: Arc<dyn Store>) {
    let (a, _) = avatar(&store, blob_bytes(300, 1), AvatarKind::Crawled).await;
    let (b, _) = avatar(&store, blob_bytes(300, 2), AvatarKind::Crawled).await;
    let stranger = AvatarHash([0x11; 32]);
    let counts = vec![(a, 5), (stranger, 9)];
    store
        .raise_avatar_counts(counts.clone())
        .await
        .expect("raise");
    store
        .raise_avatar_counts(counts)
        .await
        .expect("raise again");
    store
        .raise_avatar_counts(vec![(a, 2)])
        .await
        .expect("lower");
    let pool = store.pool_avatars().await.expect("pool");
    let count = |hash| pool.iter().find(|e| e.hash == hash).map(|e| e.assigned);
    assert_eq!(count(a), Some(5));
    assert_eq!(count(b), Some(0));
    assert_eq!(count(stranger), None, "unknown pictures are skipped");
    // The next accounts go to b until it catches up.
    for _ in 0..5 {
        assert_eq!(store.assign_pool_avatar(1).await.expect("assign"), Some(b));
    }
}

pub async fn blobs_survive_reopening(backend: &dyn Backend) {
    let sizes = boundary_sizes();
    {
        let store = backend.open().await;
        for (salt, len) in (0u8..).zip(sizes) {
            let bytes = blob_bytes(len, salt);
            store
                .put_blob(BlobHash::of(&bytes), bytes)
                .await
                .expect("put");
        }
        avatar(&store, blob_bytes(400, 99), AvatarKind::Crawled).await;
        store.assign_pool_avatar(0).await.expect("assign");
    }
    let store = backend.open().await;
    for (salt, len) in (0u8..).zip(sizes) {
        let bytes = blob_bytes(len, salt);
        let hash = BlobHash::of(&bytes);
        assert_eq!(store.blob(hash).await.expect("get"), Some(bytes.clone()));
        assert!(!store.put_blob(hash, bytes).await.expect("put again"));
    }
    let pool = store.pool_avatars().await.expect("pool");
    assert_eq!(pool.len(), 1);
    assert_eq!((pool[0].kind, pool[0].assigned), (AvatarKind::Crawled, 1));
}
