//! The store conformance suite on MariaDB at 127.0.0.1:3306 (root, empty
//! password; `scripts/mariadb.sh` starts it), each test in a database of its own,
//! plus what only a shared server database has: several pools writing at once,
//! unreachable servers, and a restart under load.
//!
//! These tests fail when MariaDB cannot be reached; `CHATROOM_SKIP_MYSQL=1` skips
//! them instead, for a developer without MariaDB (never set it in CI).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use chatroom_common::protocol::{HistoryQuery, Seq};
use chatroom_server::store::mysql::MysqlStore;
use chatroom_server::store::{self, Store, StoreError};
use chatroom_testkit::mysql::{ADMIN_URL, MysqlDb, RestartGuard, admin, restart_mariadb};
use mysql_async::prelude::Queryable;

use crate::store_conformance::{Backend, conformance_tests, new_message, new_user};

/// The conformance suite reaches a test database through its URL.
impl Backend for MysqlDb {
    fn url(&self) -> String {
        MysqlDb::url(self)
    }
}

conformance_tests!(MysqlDb::create().await);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pools_appending_to_one_room_get_contiguous_numbers() {
    let Some(db) = MysqlDb::create().await else {
        return;
    };
    // Two pools stand in for two server processes sharing the database.
    let first: Arc<dyn Store> = Arc::new(MysqlStore::open(&db.url()).await.expect("open"));
    let second: Arc<dyn Store> = Arc::new(MysqlStore::open(&db.url()).await.expect("open"));
    let alice = first
        .create_user(new_user("alice"))
        .await
        .expect("create")
        .id;
    let room = first
        .create_room("general", chatroom_common::protocol::RoomKind::Public)
        .await
        .expect("room")
        .id;
    first.add_member(room, alice).await.expect("join");

    let tasks: Vec<_> = (0..40u128)
        .map(|key| {
            let store = Arc::clone(if key % 2 == 0 { &first } else { &second });
            tokio::spawn(async move {
                store
                    .append_message(new_message(room, alice, &format!("m{key}"), key))
                    .await
            })
        })
        .collect();
    let mut got = Vec::new();
    for task in tasks {
        got.push(task.await.expect("task").expect("append").seq);
    }
    got.sort_unstable();
    assert_eq!(got, (1..=40).collect::<Vec<Seq>>());
    let latest = second
        .room_by_name("general")
        .await
        .expect("lookup")
        .expect("found")
        .latest_seq;
    assert_eq!(latest, 40);
}

#[tokio::test]
async fn the_schema_is_utf8mb4_innodb_even_in_a_latin1_database() {
    let Some(db) = MysqlDb::create_with("CHARACTER SET latin1").await else {
        return;
    };
    let store = MysqlStore::open(&db.url()).await.expect("open");
    let created = store.create_user(new_user("小明😀")).await.expect("create");
    assert_eq!(
        store.user_by_name("小明😀").await.expect("lookup"),
        Some(created)
    );
    store.close().await;

    let mut conn = admin().await.expect("admin connection");
    let odd_columns: Vec<(String, String, String)> = conn
        .exec(
            "SELECT table_name, column_name, collation_name FROM information_schema.columns \
             WHERE table_schema = ? AND collation_name IS NOT NULL AND collation_name <> 'utf8mb4_bin'",
            (db.name.as_str(),),
        )
        .await
        .expect("columns");
    assert_eq!(odd_columns, vec![]);
    let engines: Vec<(String, String)> = conn
        .exec(
            "SELECT table_name, engine FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name",
            (db.name.as_str(),),
        )
        .await
        .expect("tables");
    let expected = [
        "avatars",
        // information_schema's collation sorts `_` after the letters.
        "blobs",
        "blob_chunks",
        "email_verifications",
        "files",
        "mail_outbox",
        "memberships",
        "messages",
        "message_attachments",
        "message_files",
        "rooms",
        "schema_migrations",
        "uploads",
        "users",
    ];
    assert_eq!(
        engines,
        expected
            .map(|t| (t.to_owned(), "InnoDB".to_owned()))
            .to_vec()
    );
    let versions: Vec<u32> = conn
        .exec(
            format!(
                "SELECT version FROM `{}`.schema_migrations WHERE applied_at IS NOT NULL",
                db.name
            ),
            (),
        )
        .await
        .expect("versions");
    assert_eq!(versions, vec![1, 2, 3, 4]);
    conn.disconnect().await.expect("disconnect");
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_quickly() {
    let started = Instant::now();
    let result = store::open("mysql://chat:hunter2@127.0.0.1:1/chatroom_nowhere").await;
    let elapsed = started.elapsed();
    match result {
        Err(StoreError::Unavailable(message)) => {
            assert!(message.contains("127.0.0.1:1"), "{message}");
            assert!(message.contains("chatroom_nowhere"), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("nothing listens on port 1"),
    }
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[tokio::test]
async fn a_silent_server_fails_within_the_connect_timeout() {
    // Accepts connections and never says a word, like a hung database.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let url = format!("mysql://chat:hunter2@127.0.0.1:{port}/chat?connect_timeout_ms=300");
    let result = store::open(&url).await;
    let elapsed = started.elapsed();
    holder.abort();
    match result {
        Err(StoreError::Unavailable(message)) => {
            assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a silent server cannot be opened"),
    }
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[tokio::test]
async fn a_missing_database_is_named() {
    if std::env::var("CHATROOM_SKIP_MYSQL").as_deref() == Ok("1") {
        return;
    }
    match store::open(&format!("{ADMIN_URL}/chatroom_does_not_exist")).await {
        Err(StoreError::Other(message)) => {
            assert!(message.contains("chatroom_does_not_exist"), "{message}")
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("the database does not exist"),
    }
}

#[test]
fn urls_are_redacted() {
    assert_eq!(
        store::redact_url("mysql://chat:hunter2@db.example:3306/chat?pool_max=4"),
        "mysql://chat:***@db.example:3306/chat?pool_max=4"
    );
    assert_eq!(
        store::redact_url("mysql://chat@db.example/chat"),
        "mysql://chat@db.example/chat"
    );
    assert_eq!(
        store::redact_url("/var/lib/chatroom/chat.db"),
        "/var/lib/chatroom/chat.db"
    );
    assert_eq!(
        store::redact_url("sqlite:///var/lib/chat.db"),
        "sqlite:///var/lib/chat.db"
    );
    assert!(!store::redact_url("mysql://chat:p%40ss@db/chat").contains("p%40ss"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts MariaDB: run alone, with --run-ignored only"]
async fn mysql_restart_keeps_acknowledged_messages() {
    let _guard = RestartGuard;
    let Some(db) = MysqlDb::create().await else {
        return;
    };
    let url = format!("{}?connect_timeout_ms=2000&query_timeout_ms=5000", db.url());
    let store: Arc<dyn Store> = Arc::new(MysqlStore::open(&url).await.expect("open"));
    let alice = store
        .create_user(new_user("alice"))
        .await
        .expect("create")
        .id;
    let room = store
        .create_room("general", chatroom_common::protocol::RoomKind::Public)
        .await
        .expect("room")
        .id;
    store.add_member(room, alice).await.expect("join");

    let stop = Arc::new(AtomicBool::new(false));
    let outages = Arc::new(AtomicU32::new(0));
    // Acknowledgements of a retry whose first attempt had committed after all.
    let late_acks = Arc::new(AtomicU32::new(0));
    let writers: Vec<_> = (0..4u128)
        .map(|writer| {
            let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
            let (outages, late_acks) = (Arc::clone(&outages), Arc::clone(&late_acks));
            tokio::spawn(async move {
                let mut acked = Vec::new();
                let mut i = 0u128;
                while !stop.load(Ordering::Relaxed) {
                    let key = writer << 32 | i;
                    let text = format!("writer {writer} message {i}");
                    let give_up = Instant::now() + Duration::from_secs(120);
                    // Retry with the same key until acknowledged, as a client does.
                    loop {
                        match store
                            .append_message(new_message(room, alice, &text, key))
                            .await
                        {
                            Ok(sent) => {
                                if sent.duplicate {
                                    late_acks.fetch_add(1, Ordering::Relaxed);
                                }
                                acked.push((text, sent.seq));
                                break;
                            }
                            Err(StoreError::Unavailable(_)) if Instant::now() < give_up => {
                                outages.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                            Err(e) => panic!("append failed for good: {e}"),
                        }
                    }
                    i += 1;
                }
                acked
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::task::spawn_blocking(|| restart_mariadb(Duration::from_millis(1500)))
        .await
        .expect("restart");
    let outages_seen = outages.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);

    let mut acked = BTreeMap::new();
    for writer in writers {
        for (text, seq) in writer.await.expect("writer") {
            assert!(
                acked.insert(seq, text).is_none(),
                "sequence number {seq} acknowledged twice"
            );
        }
    }
    assert!(
        outages_seen > 0,
        "the restart should have interrupted the writers"
    );

    // Read everything back through a fresh pool.
    let reader = MysqlStore::open(&url).await.expect("reopen");
    let mut stored = Vec::new();
    loop {
        let after = stored.last().map_or(0, |(seq, _)| *seq);
        let page = reader
            .history(room, HistoryQuery::After { after, limit: 200 })
            .await
            .expect("history");
        if page.is_empty() {
            break;
        }
        stored.extend(page.into_iter().map(|m| (m.seq, m.text)));
    }
    let total = u64::try_from(stored.len()).expect("count");
    eprintln!(
        "{total} messages stored, {outages_seen} outage errors during the restart, {} late acknowledgements",
        late_acks.load(Ordering::Relaxed)
    );
    let seqs: Vec<Seq> = stored.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (1..=total).collect::<Vec<_>>(),
        "sequence numbers must be contiguous"
    );
    // Every acknowledged message is stored exactly once, under its number, and
    // nothing else is: each writer finished every message it began.
    assert_eq!(stored.into_iter().collect::<BTreeMap<_, _>>(), acked);
    reader.close().await;
}

#[tokio::test]
async fn a_blob_larger_than_max_allowed_packet_goes_in_small_chunks() {
    use chatroom_server::store::BlobHash;
    use chatroom_server::store::blobs::CHUNK_BYTES;

    let Some(db) = MysqlDb::create().await else {
        return;
    };
    let mut conn = admin().await.expect("admin connection");
    let packet: Option<u64> = conn
        .query_first("SELECT @@max_allowed_packet")
        .await
        .expect("max_allowed_packet");
    // One byte more than a single statement may carry (MariaDB's default is
    // 16 MiB); on a server configured far larger, 17 MiB still shows chunking.
    let len = packet.map_or(17 << 20, |p| {
        usize::try_from(p + 1).unwrap_or(17 << 20).min(64 << 20)
    });
    let bytes: Vec<u8> = (0..len)
        .map(|i| (i % 253) as u8 ^ (i >> 16) as u8)
        .collect();
    let hash = BlobHash::of(&bytes);
    let store = MysqlStore::open(&db.url()).await.expect("open");
    assert!(store.put_blob(hash, bytes.clone()).await.expect("put"));
    assert!(store.blob(hash).await.expect("get") == Some(bytes));
    store.close().await;

    let (chunks, largest): (u64, u64) = conn
        .exec_first(
            format!(
                "SELECT COUNT(*), MAX(LENGTH(bytes)) FROM `{}`.blob_chunks WHERE hash = ?",
                db.name
            ),
            (hash.0.to_vec(),),
        )
        .await
        .expect("chunks")
        .expect("a row");
    assert_eq!(chunks, len.div_ceil(CHUNK_BYTES) as u64);
    assert_eq!(largest, CHUNK_BYTES as u64);
    conn.disconnect().await.expect("disconnect");
}
