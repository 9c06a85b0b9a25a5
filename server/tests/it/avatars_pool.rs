//! Tests of the avatar pool: atomic content-addressed inserts, de-duplication, safe lookups, defaults, new users' pictures.

use std::collections::{HashMap, HashSet};
use std::io::Cursor;

use chatroom_server::avatars::{
    AVATAR_SIZE, AvatarLimits, AvatarPool, NormalizedAvatar, PoolError, identicon,
    normalize_avatar, sha256_hex,
};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// A normalised avatar made from a gradient tinted by `tint`, so different tints differ.
fn avatar(tint: u8) -> NormalizedAvatar {
    let image = RgbImage::from_fn(64, 64, |x, y| Rgb([x as u8 * 4, y as u8 * 4, tint]));
    let mut png = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image)
        .write_to(&mut png, ImageFormat::Png)
        .expect("encode fixture");
    normalize_avatar(png.get_ref(), &AvatarLimits::default()).expect("fixture is a valid avatar")
}

fn open() -> (tempfile::TempDir, AvatarPool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = AvatarPool::open(dir.path().join("avatars")).expect("open pool");
    (dir, pool)
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

#[test]
fn insert_is_content_addressed_and_deduplicated() {
    let (_dir, pool) = open();
    let a = avatar(1);
    let (hash, newly_added) = pool.insert(&a).expect("insert");
    assert!(newly_added);
    assert_eq!(hash, sha256_hex(&a.png));
    assert!(pool.dir().join(format!("{hash}.png")).is_file());

    let (again, newly_added) = pool.insert(&a).expect("insert again");
    assert_eq!(again, hash);
    assert!(!newly_added, "the same picture must not be stored twice");
    assert_eq!(pool.list().expect("list"), vec![hash.clone()]);
    assert_eq!(pool.get(&hash).expect("get"), Some(a.png.clone()));
    assert!(pool.contains(&hash));
}

#[test]
fn inserts_leave_no_temporary_files() {
    let (_dir, pool) = open();
    for tint in 0..5 {
        pool.insert(&avatar(tint)).expect("insert");
    }
    let names: Vec<String> = std::fs::read_dir(pool.dir())
        .expect("read dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names.len(), 5);
    assert!(
        names.iter().all(|n| n.len() == 68 && n.ends_with(".png")),
        "{names:?}"
    );
}

#[test]
fn concurrent_inserts_of_one_picture_store_it_once() {
    let (_dir, pool) = open();
    let a = avatar(7);
    let newly_added: Vec<bool> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| pool.insert(&a).expect("insert").1))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    // Racing writers may each think they were first; what matters is one intact file.
    assert!(newly_added.contains(&true));
    assert_eq!(pool.len().expect("len"), 1);
    let stored = pool.get(&a.hash_hex()).expect("get").expect("present");
    assert_eq!(stored, a.png);
}

#[test]
fn bad_hash_strings_are_refused() {
    let (_dir, pool) = open();
    // A file outside the pool that a traversal would reach.
    std::fs::write(pool.dir().join("../secret.png"), b"secret").expect("write");
    let upper = "A".repeat(64);
    let short = "a".repeat(63);
    let long = "a".repeat(65);
    let traversal = format!("../{}", "a".repeat(61));
    for bad in [
        "../etc/passwd",
        "../secret",
        "",
        upper.as_str(),
        short.as_str(),
        long.as_str(),
        traversal.as_str(),
        "/etc/passwd",
        "aaaa\0",
    ] {
        assert!(
            matches!(pool.get(bad), Err(PoolError::InvalidHash(_))),
            "{bad:?} must be refused"
        );
        assert!(!pool.contains(bad));
    }
    // Well-formed but absent is not an error.
    assert_eq!(pool.get(&"0".repeat(64)).expect("get"), None);
}

#[test]
fn list_ignores_foreign_files() {
    let (_dir, pool) = open();
    let (hash, _) = pool.insert(&avatar(3)).expect("insert");
    std::fs::write(pool.dir().join("notes.txt"), b"x").expect("write");
    std::fs::write(pool.dir().join(".tmp-abc"), b"x").expect("write");
    std::fs::write(pool.dir().join(format!("{}.png", "Z".repeat(64))), b"x").expect("write");
    assert_eq!(pool.list().expect("list"), vec![hash]);
}

#[test]
fn ensure_defaults_fills_a_fresh_pool_with_distinct_identicons() {
    let (_dir, pool) = open();
    assert!(pool.is_empty().expect("is_empty"));
    assert_eq!(pool.ensure_defaults(12).expect("defaults"), 12);
    let hashes = pool.list().expect("list");
    assert_eq!(hashes.len(), 12);
    let mut pictures = HashSet::new();
    for hash in &hashes {
        let png = pool.get(hash).expect("get").expect("present");
        assert_eq!(&sha256_hex(&png), hash, "file name is the content hash");
        assert_avatar_png(&png);
        assert!(pictures.insert(png), "identicons must differ");
    }
    // Already full enough: nothing more is added, and the set is stable.
    assert_eq!(pool.ensure_defaults(12).expect("defaults"), 0);
    assert_eq!(pool.ensure_defaults(5).expect("defaults"), 0);
    assert_eq!(pool.list().expect("list"), hashes);
}

#[test]
fn ensure_defaults_only_tops_up() {
    let (_dir, pool) = open();
    for tint in 0..3 {
        pool.insert(&avatar(tint)).expect("insert");
    }
    assert_eq!(pool.ensure_defaults(5).expect("defaults"), 2);
    assert_eq!(pool.len().expect("len"), 5);
}

#[test]
fn identicons_are_deterministic_pngs() {
    assert_eq!(identicon("alice"), identicon("alice"));
    assert_ne!(identicon("alice").hash, identicon("alice ").hash);
    assert_avatar_png(&identicon("alice").png);
}

#[test]
fn picks_reach_every_identicon_when_nothing_was_crawled() {
    let (_dir, pool) = open();
    let mut rng = StdRng::seed_from_u64(42);
    assert_eq!(pool.pick_for_new_user(&mut rng).expect("pick"), None);
    pool.ensure_defaults(4).expect("defaults");
    let all: HashSet<String> = pool.list().expect("list").into_iter().collect();
    let mut picked = HashSet::new();
    for _ in 0..200 {
        let hash = pool
            .pick_for_new_user(&mut rng)
            .expect("pick")
            .expect("non-empty");
        assert!(all.contains(&hash));
        picked.insert(hash);
    }
    assert_eq!(picked, all, "200 draws from 4 should reach every avatar");
}

#[test]
fn reopening_keeps_the_contents() {
    let (dir, pool) = open();
    let (hash, _) = pool.insert(&avatar(9)).expect("insert");
    drop(pool);
    let reopened = AvatarPool::open(dir.path().join("avatars")).expect("reopen");
    assert_eq!(reopened.list().expect("list"), vec![hash]);
}

/// How often each hash was picked.
fn picks(pool: &AvatarPool, n: usize, rng: &mut StdRng) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for _ in 0..n {
        let hash = pool
            .pick_for_new_user(rng)
            .expect("pick")
            .expect("non-empty");
        *counts.entry(hash).or_insert(0) += 1;
    }
    counts
}

#[test]
fn new_users_get_crawled_pictures_evenly_and_never_an_identicon_beside_them() {
    let (_dir, pool) = open();
    let crawled: HashSet<String> = (0..3)
        .map(|tint| pool.insert(&avatar(tint)).expect("insert").0)
        .collect();
    pool.ensure_defaults(24).expect("defaults");
    assert_eq!(pool.len().expect("len"), 24);
    let mut rng = StdRng::seed_from_u64(7);
    let counts = picks(&pool, 9, &mut rng);
    assert_eq!(counts.keys().cloned().collect::<HashSet<_>>(), crawled);
    assert!(counts.values().all(|&n| n == 3), "{counts:?}");
}

#[test]
fn without_crawled_pictures_new_users_get_identicons_evenly() {
    let (_dir, pool) = open();
    let mut rng = StdRng::seed_from_u64(7);
    assert_eq!(pool.pick_for_new_user(&mut rng).expect("pick"), None);
    pool.ensure_defaults(4).expect("defaults");
    let counts = picks(&pool, 8, &mut rng);
    let all: HashSet<String> = pool.list().expect("list").into_iter().collect();
    assert_eq!(counts.keys().cloned().collect::<HashSet<_>>(), all);
    assert!(counts.values().all(|&n| n == 2), "{counts:?}");
}

#[test]
fn the_spread_carries_on_after_reopening_the_pool() {
    let (dir, pool) = open();
    let crawled: HashSet<String> = (0..5)
        .map(|tint| pool.insert(&avatar(tint)).expect("insert").0)
        .collect();
    let mut rng = StdRng::seed_from_u64(11);
    let first = picks(&pool, 4, &mut rng);
    drop(pool);
    let reopened = AvatarPool::open(dir.path().join("avatars")).expect("reopen");
    let next = reopened
        .pick_for_new_user(&mut rng)
        .expect("pick")
        .expect("non-empty");
    let unused: Vec<&String> = crawled.iter().filter(|h| !first.contains_key(*h)).collect();
    assert_eq!(
        unused,
        [&next],
        "the one picture not yet given out comes next"
    );
}

#[test]
fn a_damaged_ledger_does_not_stop_new_users_getting_pictures() {
    let (_dir, pool) = open();
    let crawled: HashSet<String> = (0..2)
        .map(|tint| pool.insert(&avatar(tint)).expect("insert").0)
        .collect();
    let mut rng = StdRng::seed_from_u64(3);
    pool.pick_for_new_user(&mut rng).expect("pick");
    // Whatever the pool keeps beside its pictures is overwritten with junk.
    let mut damaged = 0;
    for entry in std::fs::read_dir(pool.dir()).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|ext| ext != "png") {
            std::fs::write(&path, b"\xff\xfe not a ledger\nzz 12\n").expect("write");
            damaged += 1;
        }
    }
    assert!(damaged > 0, "the pool keeps its counts in a file");
    let counts = picks(&pool, 4, &mut rng);
    assert_eq!(counts.keys().cloned().collect::<HashSet<_>>(), crawled);
    assert!(counts.values().all(|&n| n == 2), "{counts:?}");
}

#[test]
fn concurrent_picks_still_spread_evenly() {
    let (_dir, pool) = open();
    for tint in 0..4 {
        pool.insert(&avatar(tint)).expect("insert");
    }
    let picked: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|seed| {
                let pool = pool.clone();
                scope.spawn(move || {
                    pool.pick_for_new_user(&mut StdRng::seed_from_u64(seed))
                        .expect("pick")
                        .expect("non-empty")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for hash in &picked {
        *counts.entry(hash.as_str()).or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 4);
    assert!(counts.values().all(|&n| n == 3), "{counts:?}");
}
