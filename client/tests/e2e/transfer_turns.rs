//! Files never take a chat message's stream: a connection runs at most
//! `TRANSFERS_AT_ONCE` uploads and downloads, fewer than the request streams
//! the server allows, so a message finds a stream however many transfers
//! are held open.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use chatroom_client::ClientError;
use chatroom_client::connection::TRANSFERS_AT_ONCE;
use chatroom_client::transfer::Downloaded;
use chatroom_testkit::{TestServer, bulk_limits};

/// Downloads asked for at once: twice the server's 16 request streams, so
/// that however many finish while the first ones start, 16 or more are left
/// to hold every stream were they not taken in turns.
const DOWNLOADS: usize = 32;
/// Larger than the client's 1 MiB stream window, so a download whose reader
/// stops is held by the server part-way and keeps its stream.
const FILE_BYTES: usize = 8 << 20;

type Download<'a> = Pin<Box<dyn Future<Output = Result<Downloaded, ClientError>> + Send + 'a>>;

#[tokio::test]
async fn downloads_held_open_leave_a_stream_for_a_chat_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), None, bulk_limits()).await;
    let alice = server.user("alice").await;
    alice.join("lobby").await.unwrap();
    let bytes: Vec<u8> = (0..FILE_BYTES).map(|i| (i % 251) as u8).collect();
    let file = alice.upload("big.bin", &bytes, |_| {}).await.unwrap();

    // Start every download and drive them until the first bytes of
    // `TRANSFERS_AT_ONCE` have arrived, then stop reading: each one that got
    // its stream holds it, the server waiting for window.
    let begun = Arc::new(AtomicUsize::new(0));
    let mut downloads: Vec<Option<Download<'_>>> = (0..DOWNLOADS)
        .map(|_| {
            let begun = begun.clone();
            let mut counted = false;
            let download: Download<'_> = Box::pin(alice.download(file.hash, move |got, _| {
                if got > 0 && !counted {
                    counted = true;
                    begun.fetch_add(1, Ordering::SeqCst);
                }
            }));
            Some(download)
        })
        .collect();
    let driven = std::future::poll_fn(|cx| {
        for slot in downloads.iter_mut() {
            if let Some(download) = slot
                && let Poll::Ready(done) = download.as_mut().poll(cx)
            {
                assert_eq!(done.unwrap().bytes.len(), FILE_BYTES);
                *slot = None;
            }
        }
        if begun.load(Ordering::SeqCst) >= TRANSFERS_AT_ONCE {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    });
    tokio::time::timeout(Duration::from_secs(60), driven)
        .await
        .expect("the downloads began");
    let held = downloads.iter().filter(|d| d.is_some()).count();
    assert!(held >= 16, "only {held} downloads still waiting or held");

    // Without the bound, 16 held downloads would hold every request stream
    // and this would wait until one of them was read to its end.
    let sent = tokio::time::timeout(Duration::from_secs(30), alice.send("lobby", "still here"))
        .await
        .expect("a message got a stream beside the held downloads");
    assert!(sent.is_ok(), "{sent:?}");

    // Given up, the held downloads free their turns for the next one.
    drop(downloads);
    let again = tokio::time::timeout(
        Duration::from_secs(60),
        alice.download(file.hash, |_, _| {}),
    )
    .await
    .expect("a download after the others were dropped")
    .unwrap();
    assert!(again.bytes == bytes);
    server.stop().await;
}
