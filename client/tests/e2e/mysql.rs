//! The server on MariaDB: two servers sharing one database, and a database
//! restart under load that loses no acknowledged message.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chatroom_client::ClientError;
use chatroom_client::session::new_key;
use chatroom_common::protocol::{ErrorCode, HistoryQuery, Seq};

use chatroom_testkit::mysql::{MysqlDb, RestartGuard, restart_mariadb};
use chatroom_testkit::{TestServer, bulk_limits};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_hand_out_contiguous_sequence_numbers() {
    let Some(db) = MysqlDb::create().await else {
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = TestServer::start_with(dir_a.path(), Some(db.url()), bulk_limits()).await;
    let b = TestServer::start_with(dir_b.path(), Some(db.url()), bulk_limits()).await;
    let alice = Arc::new(a.user("alice").await);
    // Bob registered through server A logs in through server B: one database.
    drop(a.user("bob").await);
    let bob = Arc::new(b.login("bob").await);
    let mut tasks = tokio::task::JoinSet::new();
    for (who, s) in [("a", alice.clone()), ("b", bob.clone())] {
        tasks.spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..40 {
                seqs.push(s.send("lobby", &format!("{who}{i}")).await.unwrap().seq);
            }
            seqs
        });
    }
    let mut all: Vec<Seq> = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (1..=80).collect::<Vec<_>>());
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts MariaDB: run alone, with --run-ignored only"]
async fn a_database_restart_loses_no_acknowledged_message() {
    let _restart = RestartGuard;
    let Some(db) = MysqlDb::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), Some(db.url()), bulk_limits()).await;
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..3 {
        let s = server.user(&format!("writer{w}")).await;
        writers.spawn(async move {
            let mut acked = BTreeMap::new();
            let mut unavailable = 0;
            for i in 0..150 {
                let text = format!("w{w}-{i}");
                let key = new_key();
                // Retry with the same key until acknowledged: never twice.
                loop {
                    match s.send_with_key("lobby", &text, key).await {
                        Ok(sent) => {
                            acked.insert(text.clone(), sent.seq);
                            break;
                        }
                        Err(ClientError::Server(e)) if e.code == ErrorCode::StorageUnavailable => {
                            assert!(e.message.contains("try again"), "{}", e.message);
                            unavailable += 1;
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        Err(e) => panic!("unexpected error: {e}"),
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (acked, unavailable)
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::task::spawn_blocking(|| restart_mariadb(Duration::from_millis(1500)))
        .await
        .unwrap();
    let mut acked = BTreeMap::new();
    let mut unavailable = 0;
    while let Some(r) = writers.join_next().await {
        let (a, u) = r.unwrap();
        acked.extend(a);
        unavailable += u;
    }
    assert_eq!(acked.len(), 450);
    assert!(
        unavailable > 0,
        "the restart was noticed as 'storage unavailable'"
    );
    // Every acknowledged message is stored exactly once, and seqs are contiguous.
    let reader = server.user("reader").await;
    let mut stored = Vec::new();
    let mut after = 0;
    loop {
        let (page, _) = reader
            .history("lobby", HistoryQuery::After { after, limit: 200 })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        stored.extend(page);
    }
    let seqs: Vec<Seq> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as Seq).collect::<Vec<_>>());
    let mut texts: Vec<&str> = stored.iter().map(|m| m.text.as_str()).collect();
    texts.sort_unstable();
    texts.dedup();
    assert_eq!(texts.len(), stored.len(), "no message stored twice");
    for (text, seq) in &acked {
        let m = stored
            .iter()
            .find(|m| &m.text == text)
            .expect("acknowledged message stored");
        assert_eq!(m.seq, *seq);
    }
    server.stop().await;
    drop(db);
}
