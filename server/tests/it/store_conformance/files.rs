//! Conformance cases for files posted in messages: uploads, the quota's sum,
//! attachments in history, and who may fetch what.

use std::sync::Arc;

use chatroom_common::protocol::{FileHash, HistoryQuery, ImageInfo};
use chatroom_server::store::{BlobHash, NewFile, Picture, Store, StoreError};

use super::{new_message, room, user};

fn file(uploader: i64, bytes: &[u8], picture: bool, at: i64) -> NewFile {
    NewFile {
        uploader,
        hash: FileHash(BlobHash::of(bytes).0),
        bytes: bytes.to_vec(),
        mime: if picture { "image/png" } else { "text/plain" }.into(),
        picture: picture.then(|| Picture {
            width: 640,
            height: 480,
            thumbnail: [bytes, b" thumbnail"].concat(),
        }),
        at,
    }
}

pub async fn an_upload_is_stored_once_and_counted_once(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let photo = store
        .put_file(file(alice, b"a photo", true, 1_000))
        .await
        .expect("put");
    let thumbnail = FileHash(BlobHash::of(b"a photo thumbnail").0);
    assert_eq!(
        photo.image,
        Some(ImageInfo {
            width: 640,
            height: 480,
            thumbnail
        })
    );
    assert_eq!((photo.size, photo.mime.as_str()), (7, "image/png"));
    assert_eq!(
        store.blob(BlobHash(thumbnail.0)).await.expect("blob"),
        Some(b"a photo thumbnail".to_vec())
    );
    // Again by alice: counted once; by bob: his upload too, same record.
    let again = store
        .put_file(file(alice, b"a photo", true, 2_000))
        .await
        .expect("put again");
    assert_eq!(again, photo);
    store
        .put_file(file(bob, b"a photo", true, 3_000))
        .await
        .expect("bob's");
    store
        .put_file(file(alice, b"notes", false, 5_000))
        .await
        .expect("notes");
    assert_eq!(store.uploaded_since(alice, 0).await.expect("sum"), 12);
    assert_eq!(store.uploaded_since(alice, 1_001).await.expect("sum"), 5);
    assert_eq!(store.uploaded_since(bob, 0).await.expect("sum"), 7);

    let mine = store
        .uploaded_files(
            alice,
            vec![
                photo.hash,
                FileHash([7; 32]),
                FileHash(BlobHash::of(b"notes").0),
            ],
        )
        .await
        .expect("mine");
    assert_eq!(mine.len(), 2);
    assert!(mine.contains(&photo));
    let carol = user(&store, "carol").await;
    assert!(
        store
            .uploaded_files(carol, vec![photo.hash])
            .await
            .expect("none")
            .is_empty()
    );

    // Bytes under the wrong name are refused, and nothing is stored.
    let mut lying = file(alice, b"honest", false, 6_000);
    lying.hash = FileHash([1; 32]);
    assert!(matches!(
        store.put_file(lying).await,
        Err(StoreError::BlobHashMismatch { .. })
    ));
    assert_eq!(store.blob(BlobHash([1; 32])).await.expect("blob"), None);
}

pub async fn only_uploaders_and_members_may_fetch_a_file(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let garden = room(&store, "garden").await;
    store.add_member(garden, alice).await.expect("member");
    store.add_member(garden, bob).await.expect("member");
    let photo = store
        .put_file(file(alice, b"roses", true, 1))
        .await
        .expect("put");
    let thumb = photo.image.expect("picture").thumbnail;

    let fetch = |user, hash| {
        let store = store.clone();
        async move { store.fetchable_file(user, hash).await.expect("fetchable") }
    };
    assert_eq!(fetch(alice, photo.hash).await.map(|f| f.size), Some(5));
    assert_eq!(fetch(bob, photo.hash).await, None, "not posted yet");

    let mut message = new_message(garden, alice, "look", 1);
    message.attachments = vec![photo.attachment("roses.png".into())];
    store.append_message(message).await.expect("append");
    let got = fetch(bob, photo.hash).await.expect("bob is a member");
    assert_eq!((got.size, got.mime.as_str()), (5, "image/png"));
    let got = fetch(bob, thumb).await.expect("and so gets the thumbnail");
    assert_eq!((got.size, got.mime.as_str()), (15, "image/png"));
    assert_eq!(fetch(carol, photo.hash).await, None);
    assert_eq!(fetch(carol, thumb).await, None);
    assert_eq!(fetch(bob, FileHash([3; 32])).await, None);

    store.remove_member(garden, bob).await.expect("leave");
    assert_eq!(fetch(bob, photo.hash).await, None, "left the room");
    assert!(
        fetch(alice, photo.hash).await.is_some(),
        "still the uploader"
    );
}

pub async fn attachments_come_back_with_their_messages(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let lobby = room(&store, "lobby").await;
    store.add_member(lobby, alice).await.expect("member");
    let a = store
        .put_file(file(alice, b"one", false, 1))
        .await
        .expect("put");
    let b = store
        .put_file(file(alice, b"two", true, 1))
        .await
        .expect("put");
    store
        .append_message(new_message(lobby, alice, "plain", 1))
        .await
        .expect("append");
    let mut with_files = new_message(lobby, alice, "", 2);
    // One file twice is allowed: it is listed twice and stored once.
    with_files.attachments = vec![
        a.attachment("一.txt".into()),
        b.attachment("two.png".into()),
        a.attachment("again.txt".into()),
    ];
    let expected = with_files.attachments.clone();
    let appended = store
        .append_message(with_files.clone())
        .await
        .expect("append");
    // A retry with the same key is a duplicate, as for any message.
    let retried = store.append_message(with_files).await.expect("retry");
    assert!(retried.duplicate);
    assert_eq!(retried.seq, appended.seq);
    let page = store
        .history(
            lobby,
            HistoryQuery::Before {
                before: None,
                limit: 10,
            },
        )
        .await
        .expect("history");
    assert_eq!(page.len(), 2);
    assert!(page[0].attachments.is_empty());
    assert_eq!(page[1].attachments, expected);
}
