//! Files take turns: a connection runs at most `TRANSFERS_AT_ONCE` uploads
//! and downloads at once, fewer than the 16 request streams the server
//! allows, so transfers leave streams for chat requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chatroom_client::connection::TRANSFERS_AT_ONCE;
use chatroom_testkit::{TestServer, bulk_limits};

/// Uploads started together: more than the server's 16 request streams.
const UPLOADS: usize = 20;

// One thread: an upload's task counts itself out as soon as its call returns,
// before another task can start, so the count is exact.
#[tokio::test]
async fn twenty_uploads_at_once_run_at_most_eight_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), None, bulk_limits()).await;
    let alice = Arc::new(server.user("alice").await);
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..UPLOADS {
        let (alice, running, most) = (alice.clone(), running.clone(), most.clone());
        // Different bytes each, so no upload is a copy of a stored file.
        let bytes: Vec<u8> = (0..1 << 20).map(|j| ((i * 7 + j) % 251) as u8).collect();
        tasks.spawn(async move {
            let mut started = false;
            let stored = alice
                .upload(&format!("{i}.bin"), &bytes, |sent| {
                    // Counted in once its first bytes are written.
                    if sent > 0 && !started {
                        started = true;
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                    }
                })
                .await;
            if started {
                running.fetch_sub(1, Ordering::SeqCst);
            }
            stored
        });
    }
    while let Some(done) = tasks.join_next().await {
        assert_eq!(done.unwrap().unwrap().size, 1 << 20);
    }
    let most = most.load(Ordering::SeqCst);
    assert!(
        most <= TRANSFERS_AT_ONCE,
        "{most} uploads ran at once, more than {TRANSFERS_AT_ONCE}"
    );
    assert!(most > 1, "the uploads ran one by one ({most})");
    server.stop().await;
}
