//! The store conformance suite on SQLite, each test in its own temporary
//! directory, plus what is particular to the SQLite backend.

use std::time::{Duration, Instant};

use chatroom_common::protocol::RoomKind;
use chatroom_server::store::{self, StoreError};
use tempfile::TempDir;

use crate::store_conformance::{self, Backend, conformance_tests};

/// A SQLite database file in a temporary directory, removed with it.
struct SqliteDb {
    /// Keeps the directory alive for the test's duration.
    dir: TempDir,
}

impl SqliteDb {
    /// A fresh directory; the database file is created on first open.
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }
}

impl Backend for SqliteDb {
    fn url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("chat.db").display())
    }
}

conformance_tests!(Some(SqliteDb::new()));

#[tokio::test]
async fn a_bare_path_opens_sqlite_in_wal_mode() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("nested/dir/chat.db");
    let path = path.to_str().expect("UTF-8 path");
    assert_eq!(
        store::migrate(path).await.expect("migrate"),
        vec![1, 2, 3, 4]
    );
    let store = store::open(path).await.expect("open");
    store
        .create_user(store_conformance::new_user("alice"))
        .await
        .expect("create");
    // WAL mode leaves its log beside the database while a connection is open.
    assert!(dir.path().join("nested/dir/chat.db-wal").exists());
    assert_eq!(
        store::migrate(&format!("sqlite://{path}"))
            .await
            .expect("migrate"),
        Vec::<u32>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_copied_into_the_database_in_the_background() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("chat.db");
    let store = store::open(path.to_str().expect("UTF-8 path"))
        .await
        .expect("open");
    let alice = store
        .create_user(store_conformance::new_user("alice"))
        .await
        .expect("create");
    let room = store
        .create_room("general", RoomKind::Public)
        .await
        .expect("create room")
        .id;
    store.add_member(room, alice.id).await.expect("join");
    // About 2 MB, in 2,000 commits. The appending connection's automatic
    // checkpoints are off, so only the store's checkpoint thread can copy it
    // into the database file (without it the file stays one page long).
    let text = "x".repeat(1000);
    for key in 1..=2000 {
        store
            .append_message(store_conformance::new_message(room, alice.id, &text, key))
            .await
            .expect("append");
    }
    let size = || std::fs::metadata(&path).expect("database file").len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while size() < 2_000_000 {
        assert!(
            Instant::now() < deadline,
            "the database file is still {} bytes: the log was not checkpointed",
            size()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_unknown_scheme_is_refused_by_name() {
    for url in ["postgres://localhost/chat", "mariadb://root@localhost/chat"] {
        match store::open(url).await {
            Err(StoreError::Other(message)) => {
                let scheme = url.split("://").next().expect("scheme");
                assert!(message.contains(&format!("`{scheme}://`")), "{message}");
            }
            Err(e) => panic!("{url}: wrong error {e}"),
            Ok(_) => panic!("{url} should be refused"),
        }
    }
}

#[tokio::test]
async fn an_unopenable_file_is_unavailable() {
    let dir = tempfile::tempdir().expect("temporary directory");
    // A directory where the database file should be.
    let path = dir.path().join("chat.db");
    std::fs::create_dir(&path).expect("mkdir");
    match store::open(path.to_str().expect("UTF-8 path")).await {
        Err(StoreError::Unavailable(message)) => assert!(message.contains("chat.db"), "{message}"),
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("a directory is not a database"),
    }
}
