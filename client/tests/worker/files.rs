//! Files through the worker, against the real server: uploads from a path and
//! from bytes with throttled progress, a message carrying text and two files,
//! thumbnails fetched once, a file saved whole to a path; an upload cancelled
//! during a blackout of the uplink that reports nothing and stores nothing;
//! and an upload cut by the server going away that fails, then succeeds when
//! tried again after the reconnect.

use std::sync::Arc;
use std::time::Duration;

use chatroom_bench::relay::Direction;
use chatroom_client::chat::{
    Cause, ChatHandle, Command, ConnStatus, Credentials, Fetched, Purpose, TransferId, UiEvent,
    UploadSource,
};
use chatroom_client::session::new_key;
use chatroom_common::protocol::{Attachment, ErrorCode, Event, FileHash};
use chatroom_testkit::{TestRelay, next_event};
use image::{ImageEncoder, Rgba, RgbaImage};
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;

use crate::{any, collect_until, credentials, session, start, stop};

/// A `side`×`side` PNG.
fn png(side: u32) -> Vec<u8> {
    let img = RgbaImage::from_fn(side, side, |x, y| Rgba([x as u8, y as u8, 120, 255]));
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(img.as_raw(), side, side, image::ExtendedColorType::Rgba8)
        .unwrap();
    out
}

/// `len` bytes that are no known file type (and do not compress away).
fn noise(len: usize, seed: u8) -> Vec<u8> {
    let mut state = u32::from(seed) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 8) as u8
        })
        .collect()
}

/// The stored file an upload reported.
fn uploaded(all: &[UiEvent], id: TransferId) -> Option<Attachment> {
    all.iter().find_map(|e| match e {
        UiEvent::Uploaded { id: i, file } if *i == id => Some(file.clone()),
        _ => None,
    })
}

/// Every progress report of upload `id`: (sent, total).
fn upload_progress(all: &[UiEvent], id: TransferId) -> Vec<(u64, u64)> {
    all.iter()
        .filter_map(|e| match e {
            UiEvent::UploadProgress { id: i, sent, total } if *i == id => Some((*sent, *total)),
            _ => None,
        })
        .collect()
}

/// Whether anything at all was reported about transfer `id`'s end.
fn ended(all: &[UiEvent], id: TransferId) -> bool {
    any(all, |e| {
        matches!(e,
            UiEvent::Uploaded { id: i, .. } | UiEvent::UploadFailed { id: i, .. }
            | UiEvent::Downloaded { id: i, .. } | UiEvent::DownloadFailed { id: i, .. }
            if *i == id)
    })
}

/// A worker logged in as `name` at `server` (an address: the server's or a
/// relay's), with the lobby joined.
fn worker(credentials: Credentials) -> (ChatHandle, Vec<UiEvent>) {
    let handle = ChatHandle::spawn(Arc::new(|| {})).unwrap();
    let email = format!("{}@example.org", credentials.username);
    handle.send(Command::Register { credentials, email });
    let mut all = Vec::new();
    collect_until(&handle, &mut all, "the lobby", |all| {
        any(
            all,
            |e| matches!(e, UiEvent::Joined { room, .. } if room.name == "lobby"),
        )
    });
    (handle, all)
}

#[test]
fn uploads_report_progress_a_message_carries_them_and_downloads_come_back_whole() {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        &rt,
        &dir.path().join("server"),
        "127.0.0.1:0".parse().unwrap(),
    );
    let mut bob = session(&rt, &server, "bob", true);
    let mut bob_events = bob.take_events().unwrap();
    rt.block_on(bob.join("lobby")).unwrap();
    let (handle, mut all) = worker(credentials(&server, "alice"));

    // A 3 MiB file from a path, a picture from bytes held in memory.
    let big = noise(3 * 1024 * 1024, 7);
    let path = dir.path().join("notes.bin");
    std::fs::write(&path, &big).unwrap();
    let picture = png(400);
    let (file_id, picture_id) = (TransferId(1), TransferId(2));
    handle.send(Command::Upload {
        id: file_id,
        name: "notes.bin".into(),
        source: UploadSource::Path(path),
    });
    handle.send(Command::Upload {
        id: picture_id,
        name: "/home/alice/sunset.png".into(),
        source: UploadSource::Bytes(picture.clone().into()),
    });
    collect_until(&handle, &mut all, "both uploads", |all| {
        uploaded(all, file_id).is_some() && uploaded(all, picture_id).is_some()
    });
    let file = uploaded(&all, file_id).unwrap();
    let photo = uploaded(&all, picture_id).unwrap();
    assert_eq!(file.size, big.len() as u64);
    assert_eq!(file.hash.0, <[u8; 32]>::from(Sha256::digest(&big)));
    assert_eq!(photo.name, "sunset.png", "folders are not sent");
    let info = photo.image.expect("the server decoded the picture");
    assert_eq!((info.width, info.height), (400, 400));

    // Progress: from 0 to the whole size, never backwards, and throttled:
    // far fewer reports than the 48 pieces written.
    let progress = upload_progress(&all, file_id);
    assert_eq!(progress.first(), Some(&(0, big.len() as u64)));
    assert_eq!(progress.last(), Some(&(big.len() as u64, big.len() as u64)));
    assert!(progress.windows(2).all(|w| w[0].0 < w[1].0), "{progress:?}");
    assert!(progress.len() < 48, "{} reports", progress.len());

    // Text and both files in one message: acknowledged once, shown with its
    // files at once, and bob receives them in the order given.
    let key = new_key();
    handle.send(Command::SendWithFiles {
        room: "lobby".into(),
        text: "the notes and the view".into(),
        key,
        files: vec![file.clone(), photo.clone()],
    });
    collect_until(&handle, &mut all, "the acknowledgement", |all| {
        any(
            all,
            |e| matches!(e, UiEvent::Sent { key: k, .. } if *k == key),
        )
    });
    let shown = crate::messages(&all, "lobby")
        .into_iter()
        .find(|m| m.text == "the notes and the view")
        .expect("the own message is shown");
    assert_eq!(shown.attachments, vec![file.clone(), photo.clone()]);
    let received = rt.block_on(next_event(&mut bob_events, |e| match e {
        Event::Message(m) if m.text == "the notes and the view" => Some(m),
        _ => None,
    }));
    assert_eq!(received.attachments, vec![file.clone(), photo.clone()]);

    // Files alone, no text.
    let files_only = new_key();
    handle.send(Command::SendWithFiles {
        room: "lobby".into(),
        text: String::new(),
        key: files_only,
        files: vec![photo.clone()],
    });
    collect_until(&handle, &mut all, "the files-only message", |all| {
        any(
            all,
            |e| matches!(e, UiEvent::Sent { key: k, .. } if *k == files_only),
        )
    });

    // The thumbnail: fetched once, then answered from what the worker kept
    // (no progress, since nothing crosses the network).
    let thumb_bytes = |all: &[UiEvent], id: TransferId| {
        all.iter().find_map(|e| match e {
            UiEvent::Downloaded {
                id: i,
                fetched: Fetched::Bytes { bytes, mime },
                ..
            } if *i == id => Some((mime.clone(), bytes.clone())),
            _ => None,
        })
    };
    for id in [TransferId(3), TransferId(4)] {
        handle.send(Command::Download {
            id,
            hash: info.thumbnail,
            purpose: Purpose::Thumbnail,
        });
        collect_until(&handle, &mut all, "the thumbnail", |all| {
            thumb_bytes(all, id).is_some()
        });
    }
    let (mime, thumb) = thumb_bytes(&all, TransferId(3)).unwrap();
    assert_eq!(mime, "image/png");
    let decoded = image::load_from_memory(&thumb).unwrap();
    assert!(decoded.width() <= 320 && decoded.height() <= 320);
    assert_eq!(thumb_bytes(&all, TransferId(4)).unwrap().1, thumb);
    assert!(!any(&all, |e| matches!(
        e,
        UiEvent::DownloadProgress {
            id: TransferId(4),
            ..
        }
    )));

    // Saved whole to a path of the user's choosing.
    let saved_to = dir.path().join("saved notes.bin");
    let save = TransferId(5);
    handle.send(Command::Download {
        id: save,
        hash: file.hash,
        purpose: Purpose::SaveTo(saved_to.clone()),
    });
    collect_until(&handle, &mut all, "the saved file", |all| ended(all, save));
    assert!(any(&all, |e| matches!(
        e,
        UiEvent::Downloaded { id, fetched: Fetched::Saved(p), .. } if *id == save && *p == saved_to
    )));
    assert_eq!(std::fs::read(&saved_to).unwrap(), big);
    let last = all.iter().rev().find_map(|e| match e {
        UiEvent::DownloadProgress {
            id,
            received,
            total,
        } if *id == save => Some((*received, *total)),
        _ => None,
    });
    assert_eq!(last, Some((big.len() as u64, big.len() as u64)));

    // A file that is not there: said, with the path, and nothing else breaks.
    let gone = TransferId(6);
    let missing = dir.path().join("vanished.txt");
    handle.send(Command::Upload {
        id: gone,
        name: "vanished.txt".into(),
        source: UploadSource::Path(missing.clone()),
    });
    collect_until(&handle, &mut all, "the read failure", |all| {
        ended(all, gone)
    });
    assert!(any(&all, |e| matches!(
        e,
        UiEvent::UploadFailed { id, notice }
            if *id == gone && notice.about == Some(chatroom_client::chat::About::ReadFile(missing.clone()))
    )));
    // A hash nobody posted: refused as no such file.
    let unknown = TransferId(7);
    handle.send(Command::Download {
        id: unknown,
        hash: FileHash([9; 32]),
        purpose: Purpose::Show,
    });
    collect_until(&handle, &mut all, "the refusal", |all| ended(all, unknown));
    assert!(any(&all, |e| matches!(
        e,
        UiEvent::DownloadFailed { id, notice, .. }
            if *id == unknown && notice.cause == Cause::Refused(ErrorCode::NoSuchFile)
    )));
    drop(handle);
    drop(bob);
    stop(&rt, server);
}

#[test]
fn a_cancelled_upload_stores_nothing_and_one_cut_by_the_server_is_retried_after_the_reconnect() {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&rt, dir.path(), "127.0.0.1:0".parse().unwrap());
    let addr = server.socket;
    let relay = rt.block_on(TestRelay::to(server.socket));
    let (handle, mut all) = worker(Credentials {
        server: relay.addr.to_string(),
        ..credentials(&server, "alice")
    });

    // Cancelled while nothing can get through: nothing more is said of it,
    // and the server never stores it (its stream is reset, not finished).
    // 1 MiB fits in the server's stream window, so the whole file is
    // buffered at once: a stream finished on cancel would still deliver it.
    let bytes = noise(1024 * 1024, 3);
    let cancelled = TransferId(1);
    relay
        .control
        .black_out(Direction::Up, Duration::from_secs(3));
    handle.send(Command::Upload {
        id: cancelled,
        name: "draft.bin".into(),
        source: UploadSource::Bytes(bytes.clone().into()),
    });
    collect_until(&handle, &mut all, "the upload under way", |all| {
        !upload_progress(all, cancelled).is_empty()
    });
    handle.send(Command::CancelTransfer(cancelled));
    // After the blackout a message goes through: the connection works again.
    let key = new_key();
    handle.send(Command::Send {
        room: "lobby".into(),
        text: "after the blackout".into(),
        key,
    });
    collect_until(&handle, &mut all, "the message after the blackout", |all| {
        any(
            all,
            |e| matches!(e, UiEvent::Sent { key: k, .. } if *k == key),
        )
    });
    std::thread::sleep(Duration::from_millis(500));
    all.extend(handle.drain());
    assert!(!ended(&all, cancelled), "nothing is said after a cancel");
    let alice = session(&rt, &server, "alice", false);
    let hash = FileHash(Sha256::digest(&bytes).into());
    let fetched = rt.block_on(alice.download(hash, |_, _| {}));
    assert_eq!(
        fetched.map(|_| ()).map_err(|e| e.code()),
        Err(Some(ErrorCode::NoSuchFile)),
        "the cancelled upload was not stored"
    );
    drop(alice);

    // Cut by the server going away mid-upload: a failure that says the
    // connection is gone; tried again after the reconnect, it goes through.
    let cut = TransferId(2);
    relay
        .control
        .black_out(Direction::Up, Duration::from_secs(3));
    handle.send(Command::Upload {
        id: cut,
        name: "report.bin".into(),
        source: UploadSource::Bytes(bytes.clone().into()),
    });
    collect_until(&handle, &mut all, "the upload under way", |all| {
        !upload_progress(all, cut).is_empty()
    });
    stop(&rt, server);
    collect_until(&handle, &mut all, "the cut upload's failure", |all| {
        ended(all, cut)
    });
    assert!(any(&all, |e| matches!(
        e,
        UiEvent::UploadFailed { id, notice } if *id == cut && notice.cause == Cause::Offline
    )));
    let server = start(&rt, dir.path(), addr);
    let seen = all.len();
    collect_until(&handle, &mut all, "the reconnect", |all| {
        any(&all[seen..], |e| {
            matches!(e, UiEvent::Status(ConnStatus::Online))
        })
    });
    let again = TransferId(3);
    handle.send(Command::Upload {
        id: again,
        name: "report.bin".into(),
        source: UploadSource::Bytes(bytes.clone().into()),
    });
    collect_until(&handle, &mut all, "the retried upload", |all| {
        ended(all, again)
    });
    assert_eq!(uploaded(&all, again).map(|f| f.hash), Some(hash));
    drop(handle);
    stop(&rt, server);
}
