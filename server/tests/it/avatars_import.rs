//! An install from before the database held avatars: its pool and upload
//! directories are imported at start, once, and nothing in them is lost.

use std::collections::BTreeSet;
use std::path::Path;

use chatroom_common::protocol::AvatarHash;
use chatroom_server::avatars::import::{ImportReport, import_dirs};
use chatroom_server::avatars::{AvatarKind, AvatarPool, identicon};
use chatroom_server::store;
use chatroom_testkit::TestServer;

use crate::avatars_pool::avatar;

/// What the old layout held, by hash.
struct OldInstall {
    /// Crawled pictures.
    crawled: Vec<AvatarHash>,
    /// Default identicons (seeds 0 and 1).
    generated: Vec<AvatarHash>,
    /// Uploads.
    uploads: Vec<AvatarHash>,
    /// A `.png` file whose bytes do not match its name.
    damaged: AvatarHash,
}

/// Writes the layout the server used to keep in `<data_dir>/avatars`: three
/// crawled pictures, two identicons, a ledger in which the first crawled one
/// was given out twice, a damaged file and leftovers, and two uploads.
fn write_old_install(data_dir: &Path) -> OldInstall {
    let pool_dir = data_dir.join("avatars/pool");
    let upload_dir = data_dir.join("avatars/uploads");
    std::fs::create_dir_all(&pool_dir).expect("mkdir");
    std::fs::create_dir_all(&upload_dir).expect("mkdir");
    let write = |dir: &Path, png: &[u8], hash: &AvatarHash| {
        std::fs::write(dir.join(format!("{hash}.png")), png).expect("write");
        *hash
    };
    let crawled: Vec<AvatarHash> = (1..=3)
        .map(|tint| {
            let picture = avatar(tint);
            write(&pool_dir, &picture.png, &AvatarHash(picture.hash))
        })
        .collect();
    let generated: Vec<AvatarHash> = (0..2)
        .map(|seed| {
            let picture = identicon(&format!("chatroom-default-{seed}"));
            write(&pool_dir, &picture.png, &AvatarHash(picture.hash))
        })
        .collect();
    let uploads: Vec<AvatarHash> = (20..22)
        .map(|tint| {
            let picture = avatar(tint);
            write(&upload_dir, &picture.png, &AvatarHash(picture.hash))
        })
        .collect();
    let damaged = AvatarHash([0xdd; 32]);
    write(&pool_dir, &avatar(30).png, &damaged);
    std::fs::write(pool_dir.join(".tmp-leftover"), b"half a png").expect("write");
    std::fs::write(pool_dir.join("notes.txt"), b"not a picture").expect("write");
    std::fs::write(
        pool_dir.join("assigned.txt"),
        format!("{} 2\n{} 1\nnot a line\n", crawled[0], crawled[1]),
    )
    .expect("write ledger");
    OldInstall {
        crawled,
        generated,
        uploads,
        damaged,
    }
}

/// A pool on a fresh SQLite database in `dir`.
async fn pool_in(dir: &Path) -> AvatarPool {
    let url = format!("sqlite://{}", dir.join("chat.db").display());
    AvatarPool::new(store::open(&url).await.expect("open store"))
}

#[tokio::test]
async fn old_pool_and_upload_files_are_imported_once_and_kept_aside() {
    let data = tempfile::tempdir().expect("temp dir");
    let old = write_old_install(data.path());
    let pool = pool_in(data.path()).await;
    let (pool_dir, upload_dir) = (
        data.path().join("avatars/pool"),
        data.path().join("avatars/uploads"),
    );

    let report = import_dirs(&pool, &pool_dir, &upload_dir)
        .await
        .expect("import");
    assert_eq!((report.pool, report.uploads), (5, 2), "{report:?}");
    assert_eq!(
        report.skipped,
        vec![pool_dir.join(format!("{}.png", old.damaged))]
    );
    assert!(report.unreadable.is_empty(), "{report:?}");
    let (pool_aside, uploads_aside) = (
        data.path().join("avatars/pool.imported"),
        data.path().join("avatars/uploads.imported"),
    );
    assert_eq!(
        report.moved,
        vec![pool_aside.clone(), uploads_aside.clone()]
    );
    assert!(!pool_dir.exists() && !upload_dir.exists());
    // Nothing is deleted: every file is still there, moved aside.
    assert_eq!(std::fs::read_dir(&pool_aside).expect("read").count(), 9);
    assert_eq!(std::fs::read_dir(&uploads_aside).expect("read").count(), 2);

    for hash in &old.crawled {
        assert_eq!(
            pool.kind(*hash).await.expect("kind"),
            Some(AvatarKind::Crawled)
        );
        let png = pool.get(*hash).await.expect("get").expect("imported");
        let file = std::fs::read(pool_aside.join(format!("{hash}.png"))).expect("file");
        assert_eq!(png, file, "byte-identical");
    }
    for hash in &old.generated {
        assert_eq!(
            pool.kind(*hash).await.expect("kind"),
            Some(AvatarKind::Generated)
        );
    }
    for hash in &old.uploads {
        assert_eq!(
            pool.kind(*hash).await.expect("kind"),
            Some(AvatarKind::Upload)
        );
        assert!(pool.get(*hash).await.expect("get").is_some());
    }
    assert_eq!(pool.get(old.damaged).await.expect("get"), None);
    assert_eq!(pool.len().await.expect("len"), 5);

    // The ledger's counts came along: the crawled picture nobody had yet is next.
    assert_eq!(
        pool.pick_for_new_user(0).await.expect("pick"),
        Some(old.crawled[2])
    );

    // Nothing is left to import; a second run changes nothing.
    let again = import_dirs(&pool, &pool_dir, &upload_dir)
        .await
        .expect("import again");
    assert_eq!(again, ImportReport::default());
    assert_eq!(pool.len().await.expect("len"), 5);
}

#[tokio::test]
async fn an_import_cut_short_runs_again_without_counting_twice() {
    let data = tempfile::tempdir().expect("temp dir");
    let old = write_old_install(data.path());
    let pool = pool_in(data.path()).await;
    let (pool_dir, upload_dir) = (
        data.path().join("avatars/pool"),
        data.path().join("avatars/uploads"),
    );
    // A crash before the rename looks like the directories are still there
    // after the pictures went in: copy them back and import again.
    import_dirs(&pool, &pool_dir, &upload_dir)
        .await
        .expect("import");
    let write_again = write_old_install(data.path());
    assert_eq!(write_again.crawled, old.crawled);
    let report = import_dirs(&pool, &pool_dir, &upload_dir)
        .await
        .expect("import again");
    assert_eq!((report.pool, report.uploads), (5, 2));
    assert_eq!(
        report.moved,
        vec![
            data.path().join("avatars/pool.imported.2"),
            data.path().join("avatars/uploads.imported.2"),
        ]
    );
    assert_eq!(pool.len().await.expect("len"), 5);
    // Counts were raised to the ledger's, not added.
    let store = store::open(&format!(
        "sqlite://{}",
        data.path().join("chat.db").display()
    ))
    .await
    .expect("open store");
    let counts: BTreeSet<(AvatarHash, u64)> = store
        .pool_avatars()
        .await
        .expect("pool")
        .into_iter()
        .filter(|entry| entry.kind == AvatarKind::Crawled)
        .map(|entry| (entry.hash, entry.assigned))
        .collect();
    assert_eq!(
        counts,
        BTreeSet::from([
            (old.crawled[0], 2),
            (old.crawled[1], 1),
            (old.crawled[2], 0)
        ])
    );
}

#[tokio::test]
async fn a_server_started_on_an_old_install_serves_its_pictures() {
    let data = tempfile::tempdir().expect("temp dir");
    let old = write_old_install(data.path());
    let config = chatroom_testkit::server::config(data.path()).await;
    let server = TestServer::start_config(config).await;

    // The next account gets the crawled picture the ledger says nobody had.
    let alice = server.user("alice").await;
    assert_eq!(
        alice.user().and_then(|user| user.avatar),
        Some(old.crawled[2])
    );
    let offered: BTreeSet<AvatarHash> = alice
        .avatar_pool()
        .await
        .expect("pool listing")
        .into_iter()
        .collect();
    assert!(offered.is_superset(&old.crawled.iter().copied().collect()));
    assert!(offered.is_superset(&old.generated.iter().copied().collect()));
    assert!(offered.is_disjoint(&old.uploads.iter().copied().collect()));
    assert_eq!(offered.len(), 24, "topped up with identicons as before");
    for hash in old.uploads.iter().chain(&old.crawled) {
        let png = alice.avatar(*hash).await.expect("served");
        let file = if old.uploads.contains(hash) {
            data.path()
                .join(format!("avatars/uploads.imported/{hash}.png"))
        } else {
            data.path()
                .join(format!("avatars/pool.imported/{hash}.png"))
        };
        assert_eq!(png, std::fs::read(file).expect("file"));
    }
    alice.close().await;
    server.stop().await;
}
