//! Tests of the avatar pool in the database: content-addressed inserts, kinds, defaults, new users' pictures, several handles on one database.

use std::collections::{HashMap, HashSet};
use std::io::Cursor;

use chatroom_common::protocol::AvatarHash;
use chatroom_server::avatars::{
    AVATAR_SIZE, AvatarKind, AvatarLimits, AvatarPool, NormalizedAvatar, identicon,
    normalize_avatar,
};
use chatroom_server::store;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// A normalised avatar made from a gradient tinted by `tint`, so different tints differ.
pub fn avatar(tint: u8) -> NormalizedAvatar {
    let image = RgbImage::from_fn(64, 64, |x, y| Rgb([x as u8 * 4, y as u8 * 4, tint]));
    let mut png = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image)
        .write_to(&mut png, ImageFormat::Png)
        .expect("encode fixture");
    normalize_avatar(png.get_ref(), &AvatarLimits::default()).expect("fixture is a valid avatar")
}

/// The database URL of a SQLite file in `dir`.
fn url(dir: &TempDir) -> String {
    format!("sqlite://{}", dir.path().join("chat.db").display())
}

/// A pool on a fresh SQLite database; the directory keeps it alive.
async fn open() -> (TempDir, AvatarPool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = reopen(&dir).await;
    (dir, pool)
}

/// A new pool handle (a new store) on the database in `dir`.
async fn reopen(dir: &TempDir) -> AvatarPool {
    AvatarPool::new(store::open(&url(dir)).await.expect("open store"))
}

/// Decodes `png` and checks it is a 128×128 PNG.
fn assert_avatar_png(png: &[u8]) {
    assert_eq!(image::guess_format(png).expect("format"), ImageFormat::Png);
    let decoded = image::load_from_memory(png).expect("decodes");
    assert_eq!(
        (decoded.width(), decoded.height()),
        (AVATAR_SIZE, AVATAR_SIZE)
    );
}

/// Inserts crawled pictures of `tints`; their hashes.
async fn crawl(pool: &AvatarPool, tints: std::ops::Range<u8>) -> HashSet<AvatarHash> {
    let mut hashes = HashSet::new();
    for tint in tints {
        let picture = avatar(tint);
        pool.insert(&picture, AvatarKind::Crawled)
            .await
            .expect("insert");
        hashes.insert(AvatarHash(picture.hash));
    }
    hashes
}

#[tokio::test]
async fn insert_is_content_addressed_and_deduplicated() {
    let (_dir, pool) = open().await;
    let a = avatar(1);
    let hash = AvatarHash(a.hash);
    assert_eq!(Sha256::digest(&a.png).as_slice(), hash.0);
    assert!(pool.insert(&a, AvatarKind::Crawled).await.expect("insert"));
    assert!(
        !pool.insert(&a, AvatarKind::Crawled).await.expect("again"),
        "the same picture must not be stored twice"
    );
    assert_eq!(pool.list().await.expect("list"), vec![hash]);
    assert_eq!(pool.get(hash).await.expect("get"), Some(a.png.clone()));
    assert!(pool.contains(hash).await.expect("contains"));
    // Well-formed but absent is not an error.
    assert_eq!(pool.get(AvatarHash([0; 32])).await.expect("get"), None);
    assert!(!pool.contains(AvatarHash([0; 32])).await.expect("contains"));
}

#[tokio::test]
async fn uploads_are_served_but_never_offered() {
    let (_dir, pool) = open().await;
    let upload = avatar(5);
    let hash = AvatarHash(upload.hash);
    assert!(
        pool.insert(&upload, AvatarKind::Upload)
            .await
            .expect("insert")
    );
    assert_eq!(pool.get(hash).await.expect("get"), Some(upload.png.clone()));
    assert!(!pool.contains(hash).await.expect("contains"));
    assert!(pool.is_empty().await.expect("is_empty"));
    assert_eq!(pool.pick_for_new_user(0).await.expect("pick"), None);
    assert_eq!(
        pool.kind(hash).await.expect("kind"),
        Some(AvatarKind::Upload)
    );
}

#[tokio::test]
async fn ensure_defaults_fills_a_fresh_pool_with_distinct_identicons() {
    let (_dir, pool) = open().await;
    assert!(pool.is_empty().await.expect("is_empty"));
    assert_eq!(pool.ensure_defaults(12).await.expect("defaults"), 12);
    let hashes = pool.list().await.expect("list");
    assert_eq!(hashes.len(), 12);
    let mut pictures = HashSet::new();
    for hash in &hashes {
        let png = pool.get(*hash).await.expect("get").expect("present");
        assert_eq!(Sha256::digest(&png).as_slice(), hash.0, "named by its hash");
        assert_avatar_png(&png);
        assert!(pictures.insert(png), "identicons must differ");
        assert_eq!(
            pool.kind(*hash).await.expect("kind"),
            Some(AvatarKind::Generated)
        );
    }
    // Already full enough: nothing more is added, and the set is stable.
    assert_eq!(pool.ensure_defaults(12).await.expect("defaults"), 0);
    assert_eq!(pool.ensure_defaults(5).await.expect("defaults"), 0);
    assert_eq!(pool.list().await.expect("list"), hashes);
}

#[tokio::test]
async fn ensure_defaults_only_tops_up() {
    let (_dir, pool) = open().await;
    crawl(&pool, 0..3).await;
    // Uploads are not pool pictures, so they do not count.
    pool.insert(&avatar(40), AvatarKind::Upload)
        .await
        .expect("upload");
    assert_eq!(pool.ensure_defaults(5).await.expect("defaults"), 2);
    assert_eq!(pool.len().await.expect("len"), 5);
}

#[test]
fn identicons_are_deterministic_pngs() {
    assert_eq!(identicon("alice"), identicon("alice"));
    assert_ne!(identicon("alice").hash, identicon("alice ").hash);
    assert_avatar_png(&identicon("alice").png);
}

/// How often each hash was picked in `n` picks with tie-breaks from `seed` on.
async fn picks(pool: &AvatarPool, n: u64, seed: u64) -> HashMap<AvatarHash, usize> {
    let mut counts = HashMap::new();
    for i in 0..n {
        let hash = pool
            .pick_for_new_user(seed.wrapping_mul(7919).wrapping_add(i * 104_729))
            .await
            .expect("pick")
            .expect("non-empty");
        *counts.entry(hash).or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn new_users_get_crawled_pictures_evenly_and_never_an_identicon_beside_them() {
    let (_dir, pool) = open().await;
    let crawled = crawl(&pool, 0..3).await;
    pool.ensure_defaults(24).await.expect("defaults");
    assert_eq!(pool.len().await.expect("len"), 24);
    let counts = picks(&pool, 9, 7).await;
    assert_eq!(counts.keys().copied().collect::<HashSet<_>>(), crawled);
    assert!(counts.values().all(|&n| n == 3), "{counts:?}");
}

#[tokio::test]
async fn without_crawled_pictures_new_users_get_identicons_evenly() {
    let (_dir, pool) = open().await;
    assert_eq!(pool.pick_for_new_user(1).await.expect("pick"), None);
    pool.ensure_defaults(4).await.expect("defaults");
    let counts = picks(&pool, 8, 7).await;
    let all: HashSet<AvatarHash> = pool.list().await.expect("list").into_iter().collect();
    assert_eq!(counts.keys().copied().collect::<HashSet<_>>(), all);
    assert!(counts.values().all(|&n| n == 2), "{counts:?}");
}

#[tokio::test]
async fn the_spread_carries_on_after_reopening_the_database() {
    let (dir, pool) = open().await;
    let crawled = crawl(&pool, 0..5).await;
    let first = picks(&pool, 4, 11).await;
    drop(pool);
    let reopened = reopen(&dir).await;
    let next = reopened
        .pick_for_new_user(3)
        .await
        .expect("pick")
        .expect("non-empty");
    let unused: Vec<&AvatarHash> = crawled.iter().filter(|h| !first.contains_key(*h)).collect();
    assert_eq!(
        unused,
        [&next],
        "the one picture not yet given out comes next"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_on_one_database_share_pictures_and_the_spread() {
    // Two stores on one database stand in for two nodes (or the crawler and
    // the server): what one stores, the other serves and offers at once.
    let (dir, first) = open().await;
    let second = reopen(&dir).await;
    let crawled = crawl(&first, 0..4).await;
    let upload = avatar(60);
    second
        .insert(&upload, AvatarKind::Upload)
        .await
        .expect("upload");
    assert_eq!(
        first.get(AvatarHash(upload.hash)).await.expect("get"),
        Some(upload.png)
    );
    assert_eq!(
        second
            .list()
            .await
            .expect("list")
            .into_iter()
            .collect::<HashSet<_>>(),
        crawled
    );
    let picked: Vec<AvatarHash> = {
        let tasks: Vec<_> = (0..12u64)
            .map(|i| {
                let pool = if i % 2 == 0 {
                    first.clone()
                } else {
                    second.clone()
                };
                tokio::spawn(async move { pool.pick_for_new_user(i).await })
            })
            .collect();
        let mut picked = Vec::new();
        for task in tasks {
            picked.push(task.await.expect("task").expect("pick").expect("non-empty"));
        }
        picked
    };
    let mut counts: HashMap<AvatarHash, usize> = HashMap::new();
    for hash in picked {
        *counts.entry(hash).or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 4);
    assert!(counts.values().all(|&n| n == 3), "{counts:?}");
}
