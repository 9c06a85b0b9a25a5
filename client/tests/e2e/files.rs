//! Pictures and files in messages through the real server: uploads checked
//! and examined (type from the bytes, thumbnails, metadata removed), posted
//! with text, fetched only by the room's members, and held to the limits.

use std::time::Duration;

use chatroom_client::Session;
use chatroom_common::codec;
use chatroom_common::protocol::{
    Attachment, ErrorCode, Event, FileHash, FileRef, MAX_ATTACHMENTS, Request,
};
use chatroom_server::config::Limits;
use chatroom_testkit::{TestServer, bulk_limits, next_event};
use image::codecs::jpeg::JpegEncoder;
use sha2::{Digest, Sha256};

/// A 64×48 JPEG photo carrying EXIF with a GPS block (the bytes "GPS" and a
/// made-up position), as phones write them.
fn photo_with_gps() -> Vec<u8> {
    let pixels = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 7]));
    let mut plain = Vec::new();
    JpegEncoder::new_with_quality(&mut plain, 85)
        .encode_image(&pixels)
        .unwrap();
    let exif: &[u8] = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x88\x25\0\x04\0\0\0\x01\0\0\0\x1a\0\0\0\0GPS 52.5200N 13.4050E";
    let mut app1 = vec![0xff, 0xe1];
    app1.extend_from_slice(&u16::try_from(exif.len() + 2).unwrap().to_be_bytes());
    app1.extend_from_slice(exif);
    let mut photo = plain[..2].to_vec();
    photo.extend_from_slice(&app1);
    photo.extend_from_slice(&plain[2..]);
    photo
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn attach(file: &Attachment) -> FileRef {
    FileRef {
        hash: file.hash,
        name: file.name.clone(),
    }
}

async fn message_with_files(events: &mut tokio::sync::mpsc::Receiver<Event>) -> Vec<Attachment> {
    next_event(events, |e| match e {
        Event::Message(m) if !m.attachments.is_empty() => Some(m.attachments),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn a_photo_reaches_the_room_with_a_thumbnail_and_without_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut b_events = bob.take_events().unwrap();
    alice.create_room("trip").await.unwrap();
    bob.join("trip").await.unwrap();

    let photo = photo_with_gps();
    assert!(contains(&photo, b"GPS"));
    let mut reported = Vec::new();
    let file = alice
        .upload("/home/alice/照片 1.jpg", &photo, |n| reported.push(n))
        .await
        .unwrap();
    assert_eq!(reported.last(), Some(&(photo.len() as u64)));
    assert_eq!(file.name, "照片 1.jpg", "folders are not sent");
    assert_eq!(file.mime, "image/jpeg");
    let picture = file.image.expect("a picture");
    assert_eq!((picture.width, picture.height), (64, 48));
    assert_ne!(
        file.hash.0,
        <[u8; 32]>::from(Sha256::digest(&photo)),
        "stored without EXIF"
    );

    let sent = alice
        .send_with_files(
            "trip",
            "",
            chatroom_client::session::new_key(),
            vec![attach(&file)],
        )
        .await
        .unwrap();
    let got = message_with_files(&mut b_events).await;
    assert_eq!(got, vec![file.clone()]);

    // Bob fetches the photo and its thumbnail: the picture is whole, the
    // position gone.
    let mut progress = Vec::new();
    let stored = bob
        .download(file.hash, |done, total| progress.push((done, total)))
        .await
        .unwrap();
    assert_eq!(stored.mime, "image/jpeg");
    assert_eq!(stored.bytes.len() as u64, file.size);
    assert_eq!(progress.last(), Some(&(file.size, file.size)));
    assert!(!contains(&stored.bytes, b"GPS"));
    assert!(!contains(&stored.bytes, b"Exif"));
    let decoded = image::load_from_memory(&stored.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (64, 48));
    let thumb = bob.download(picture.thumbnail, |_, _| {}).await.unwrap();
    assert_eq!(thumb.mime, "image/png");
    let thumb = image::load_from_memory(&thumb.bytes).unwrap();
    assert!(thumb.width() <= 320 && thumb.height() <= 320);

    // History carries the attachments too.
    let (page, _) = bob
        .history(
            "trip",
            chatroom_common::protocol::HistoryQuery::Before {
                before: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    let posted = page.iter().find(|m| m.seq == sent.seq).unwrap();
    assert_eq!(posted.attachments, vec![file]);
    server.stop().await;
}

#[tokio::test]
async fn only_members_fetch_a_file_and_a_forbidden_one_looks_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    alice.create_room("plans").await.unwrap();
    bob.join("plans").await.unwrap();
    let file = alice
        .upload("plan.pdf", b"%PDF-1.4 the plan", |_| {})
        .await
        .unwrap();
    assert_eq!(file.mime, "application/pdf");
    assert!(file.image.is_none());

    // Uploaded but not posted: only alice may fetch it.
    let refused = bob.download(file.hash, |_, _| {}).await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::NoSuchFile));
    assert_eq!(
        alice.download(file.hash, |_, _| {}).await.unwrap().bytes,
        b"%PDF-1.4 the plan"
    );

    alice
        .send_with_files(
            "plans",
            "the plan",
            chatroom_client::session::new_key(),
            vec![attach(&file)],
        )
        .await
        .unwrap();
    assert!(bob.download(file.hash, |_, _| {}).await.is_ok());
    let forbidden = carol.download(file.hash, |_, _| {}).await.unwrap_err();
    let unknown = carol
        .download(FileHash([0x5a; 32]), |_, _| {})
        .await
        .unwrap_err();
    assert_eq!(forbidden.code(), Some(ErrorCode::NoSuchFile));
    assert_eq!(forbidden.to_string(), unknown.to_string());

    // Leaving the room ends access; a direct conversation's file is its two users'.
    bob.leave("plans").await.unwrap();
    assert_eq!(
        bob.download(file.hash, |_, _| {}).await.unwrap_err().code(),
        Some(ErrorCode::NoSuchFile)
    );
    let dm = alice.open_direct("carol").await.unwrap();
    let note = alice
        .upload("note.txt", "你好\n".as_bytes(), |_| {})
        .await
        .unwrap();
    assert_eq!(note.mime, "text/plain");
    alice
        .send_with_files(
            &dm.name,
            "for you",
            chatroom_client::session::new_key(),
            vec![attach(&note)],
        )
        .await
        .unwrap();
    assert_eq!(
        carol.download(note.hash, |_, _| {}).await.unwrap().bytes,
        "你好\n".as_bytes()
    );
    assert_eq!(
        bob.download(note.hash, |_, _| {}).await.unwrap_err().code(),
        Some(ErrorCode::NoSuchFile)
    );
    server.stop().await;
}

#[tokio::test]
async fn uploads_are_held_to_size_quota_count_hash_and_ownership() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_file_bytes: 100_000,
        daily_upload_bytes: 150_000,
        ..bulk_limits()
    };
    let server = TestServer::start_with(dir.path(), None, limits).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    alice.join("lobby").await.unwrap();

    let big = vec![1u8; 100_001];
    let err = alice.upload("big.bin", &big, |_| {}).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::TooLarge));

    // A program named like a picture is served as what it is.
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.resize(90_000, 0);
    let disguised = alice.upload("cat.jpg", &elf, |_| {}).await.unwrap();
    assert_eq!(disguised.mime, "application/octet-stream");
    assert!(disguised.image.is_none());
    // The same bytes again count nothing; new ones over the quota are refused.
    alice.upload("cat again.jpg", &elf, |_| {}).await.unwrap();
    let err = alice
        .upload("more.bin", &vec![2u8; 70_000], |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::QuotaExceeded));
    assert!(err.to_string().contains("90000"), "{err}");
    // Another user's quota is their own.
    let theirs = bob
        .upload("b.bin", &vec![3u8; 70_000], |_| {})
        .await
        .unwrap();

    // Only one's own uploads can be attached, at most MAX_ATTACHMENTS, and
    // bytes must match the hash their header names.
    let err = alice
        .send_with_files(
            "lobby",
            "",
            chatroom_client::session::new_key(),
            vec![attach(&theirs)],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NoSuchFile));
    let many = vec![attach(&disguised); MAX_ATTACHMENTS + 1];
    let err = alice
        .send_with_files(
            "lobby",
            "",
            chatroom_client::session::new_key(),
            many.clone(),
        )
        .await;
    assert!(err.is_err(), "refused on this side already");
    let raw = raw_request(
        &alice,
        &Request::Send {
            room: "lobby".into(),
            text: String::new(),
            key: chatroom_client::session::new_key(),
            attachments: many,
        },
    )
    .await;
    assert_eq!(raw.unwrap_err().code, ErrorCode::InvalidInput);
    let lying = raw_upload(&alice, "x.txt", b"hello", FileHash([9; 32])).await;
    assert_eq!(lying.unwrap_err().code, ErrorCode::InvalidInput);
    server.stop().await;
}

#[tokio::test]
async fn an_abandoned_upload_is_dropped_and_frees_the_servers_memory() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        transfer_memory: 1024 * 1024,
        upload_idle_timeout: Duration::from_millis(500),
        ..bulk_limits()
    };
    let server = TestServer::start_with(dir.path(), None, limits).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;

    // Alice announces 800 KB, sends a little, then goes silent: the memory
    // is hers while she might go on, so bob's upload has to wait...
    let bytes = vec![4u8; 800 * 1024];
    let header = codec::encode(&Request::Upload {
        name: "stalled.bin".into(),
        size: bytes.len() as u64,
        sha256: FileHash(Sha256::digest(&bytes).into()),
    })
    .unwrap();
    let (mut send, mut recv) = alice.connection().quic().open_bi().await.unwrap();
    send.write_all(&header).await.unwrap();
    send.write_all(&bytes[..1000]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let busy = bob
        .upload("next.bin", &vec![5u8; 400 * 1024], |_| {})
        .await
        .unwrap_err();
    assert_eq!(busy.code(), Some(ErrorCode::RateLimited));

    // ...until the idle timeout drops hers, with an answer saying so.
    let answer = recv.read_to_end(4096).await.unwrap();
    let answer: chatroom_common::protocol::Response = codec::decode(&answer, 4096).unwrap();
    assert_eq!(answer.unwrap_err().code, ErrorCode::BadRequest);
    bob.upload("next.bin", &vec![5u8; 400 * 1024], |_| {})
        .await
        .unwrap();

    // A reset stream frees its share at once.
    let (mut send, _recv) = alice.connection().quic().open_bi().await.unwrap();
    send.write_all(&header).await.unwrap();
    send.write_all(&bytes[..1000]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    send.reset(quinn::VarInt::from_u32(0)).unwrap();
    let mut freed = false;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if bob
            .upload("again.bin", &vec![6u8; 400 * 1024], |_| {})
            .await
            .is_ok()
        {
            freed = true;
            break;
        }
    }
    assert!(freed, "the reset upload still holds the memory");
    // Nothing of the abandoned uploads was stored.
    let err = alice
        .download(FileHash(Sha256::digest(&bytes).into()), |_, _| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NoSuchFile));
    server.stop().await;
}

/// Sends a request the client library would refuse to send, and reads the answer.
async fn raw_request(session: &Session, request: &Request) -> chatroom_common::protocol::Response {
    let (mut send, mut recv) = session.connection().quic().open_bi().await.unwrap();
    send.write_all(&codec::encode(request).unwrap())
        .await
        .unwrap();
    send.finish().unwrap();
    codec::decode(&recv.read_to_end(1 << 20).await.unwrap(), 1 << 20).unwrap()
}

/// An upload whose header names `sha256` whatever the bytes are.
async fn raw_upload(
    session: &Session,
    name: &str,
    bytes: &[u8],
    sha256: FileHash,
) -> chatroom_common::protocol::Response {
    let mut stream = codec::encode(&Request::Upload {
        name: name.into(),
        size: bytes.len() as u64,
        sha256,
    })
    .unwrap();
    stream.extend_from_slice(bytes);
    let (mut send, mut recv) = session.connection().quic().open_bi().await.unwrap();
    send.write_all(&stream).await.unwrap();
    send.finish().unwrap();
    codec::decode(&recv.read_to_end(1 << 20).await.unwrap(), 1 << 20).unwrap()
}

#[tokio::test]
async fn transfers_need_a_login_and_leave_the_connection_usable() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let stranger = server.connect().await;
    let upload = raw_upload(
        &stranger,
        "a.txt",
        b"hi",
        FileHash(Sha256::digest(b"hi").into()),
    )
    .await;
    assert_eq!(upload.unwrap_err().code, ErrorCode::NotLoggedIn);
    let download = raw_request(
        &stranger,
        &Request::Download {
            hash: FileHash([1; 32]),
            offset: 0,
        },
    )
    .await;
    assert_eq!(download.unwrap_err().code, ErrorCode::NotLoggedIn);
    // The same connection still answers.
    let rooms = raw_request(&stranger, &Request::ListRooms).await;
    assert_eq!(rooms.unwrap_err().code, ErrorCode::NotLoggedIn);

    // An offset past the end is refused; one inside the file resumes there.
    let alice = server.user("alice").await;
    let file = alice.upload("n.txt", b"0123456789", |_| {}).await.unwrap();
    let resumed = alice
        .connection()
        .download(file.hash, 4, |_, _| {})
        .await
        .unwrap();
    assert_eq!(resumed.bytes, b"456789");
    let past = alice
        .connection()
        .download(file.hash, 11, |_, _| {})
        .await
        .unwrap_err();
    assert_eq!(past.code(), Some(ErrorCode::InvalidInput));
    server.stop().await;
}

#[tokio::test]
async fn a_cancelled_upload_stores_nothing_and_frees_its_share_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        transfer_memory: 24 * 1024 * 1024,
        ..bulk_limits()
    };
    let server = TestServer::start_with(dir.path(), None, limits).await;
    let alice = std::sync::Arc::new(server.user("alice").await);
    let bob = server.user("bob").await;
    let big: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i % 241) as u8).collect();
    let hash = FileHash(Sha256::digest(&big).into());

    // Alice's upload is under way (a few MiB sent) when she cancels it.
    let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
    let uploader = alice.clone();
    let upload = tokio::spawn(async move {
        uploader
            .upload("big.bin", &big, |sent| {
                if sent >= 2 * 1024 * 1024 {
                    let _ = started_tx.send(());
                }
            })
            .await
    });
    started.recv().await.expect("the upload got going");
    let busy = bob
        .upload("b.bin", &vec![1u8; 8 * 1024 * 1024], |_| {})
        .await;
    assert_eq!(busy.unwrap_err().code(), Some(ErrorCode::RateLimited));
    upload.abort();
    assert!(upload.await.unwrap_err().is_cancelled());

    let mut took = None;
    for attempt in 0..40 {
        if bob
            .upload("b.bin", &vec![1u8; 8 * 1024 * 1024], |_| {})
            .await
            .is_ok()
        {
            took = Some(attempt);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        took.is_some(),
        "the cancelled upload still holds its memory"
    );
    let err = alice.download(hash, |_, _| {}).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NoSuchFile));
    server.stop().await;
}

#[tokio::test]
async fn two_thousand_parallel_uploads_get_typed_answers_and_the_connection_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    // Room for four of these uploads at a time, fewer than the 16 request
    // streams a connection may have open: the rest must be told to come back
    // later, not queued without bound.
    let limits = Limits {
        transfer_memory: 16 * 1024,
        ..bulk_limits()
    };
    let server = TestServer::start_with(dir.path(), None, limits).await;
    let alice = std::sync::Arc::new(server.user("alice").await);
    alice.join("lobby").await.unwrap();
    const UPLOADS: usize = 2000;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..UPLOADS {
        let alice = alice.clone();
        let bytes = file_bytes(i);
        tasks.spawn(async move {
            let sha = FileHash(Sha256::digest(&bytes).into());
            (
                i,
                raw_upload(&alice, &format!("{i}.bin"), &bytes, sha).await,
            )
        });
    }
    // Meanwhile the same connection still carries a chat message.
    let sent = tokio::time::timeout(Duration::from_secs(30), alice.send("lobby", "still here"))
        .await
        .expect("a message got through beside the uploads");
    assert!(sent.is_ok(), "{sent:?}");

    let (mut stored, mut busy) = (Vec::new(), Vec::new());
    while let Some(done) = tasks.join_next().await {
        let (i, answer) = done.unwrap();
        match answer {
            Ok(chatroom_common::protocol::Reply::Uploaded(file)) => stored.push((i, file)),
            Err(e) if e.code == ErrorCode::RateLimited => busy.push(i),
            other => panic!("upload {i}: neither stored nor busy: {other:?}"),
        }
    }
    eprintln!(
        "{UPLOADS} parallel uploads: {} stored, {} told to wait",
        stored.len(),
        busy.len()
    );
    assert_eq!(stored.len() + busy.len(), UPLOADS);
    assert!(!stored.is_empty(), "some uploads fit the budget");
    assert!(!busy.is_empty(), "the budget was never reached");
    // What was stored is whole; what was refused left nothing behind.
    for (i, file) in stored.iter().step_by(50) {
        let got = alice.download(file.hash, |_, _| {}).await.unwrap();
        assert_eq!(got.bytes, file_bytes(*i));
    }
    for i in busy.iter().step_by(50) {
        let hash = FileHash(Sha256::digest(file_bytes(*i)).into());
        let err = alice.download(hash, |_, _| {}).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::NoSuchFile), "upload {i}");
    }
    // And the connection goes on as before.
    alice.upload("after.txt", b"after", |_| {}).await.unwrap();
    server.stop().await;
}

/// The bytes of the `i`th upload in the test above.
fn file_bytes(i: usize) -> Vec<u8> {
    let mut bytes = vec![(i % 251) as u8; 4096];
    bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
    bytes
}
