//! Pictures and files through the app: a picture dropped on one user's
//! window shows as a thumbnail on another's and opens full size; a file
//! card saves the very bytes sent; an upload shows its progress and can be
//! cancelled (nothing is stored) or, after failing, retried.

use std::path::Path;
use std::time::{Duration, Instant};

use chatroom_app::ChatApp;
use chatroom_app::file_pick::Picked;
use chatroom_app::files::UploadState;
use chatroom_bench::relay::Direction;
use chatroom_client::ClientError;
use chatroom_client::session::new_key;
use chatroom_common::protocol::{Attachment, ErrorCode, FileHash, FileRef};
use chatroom_testkit::TestRelay;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use sha2::{Digest, Sha256};

use crate::file_pick::{drop_file, png_file};
use crate::harness::{
    TestServer, app, click, options, register, send, shows, shows_part, wait_for, wait_for_lobby,
};

/// The lobby's messages that carry files, as the app holds them.
fn attachments_shown(h: &Harness<'static, ChatApp>) -> Vec<Attachment> {
    let app = h.state();
    let Some(view) = app.model.rooms.get("lobby") else {
        return Vec::new();
    };
    view.store
        .iter()
        .flat_map(|m| m.attachments.iter().cloned())
        .collect()
}

/// Bytes that do not compress and are not a picture.
fn noise(len: usize, seed: u8) -> Vec<u8> {
    let mut state = u32::from(seed).wrapping_mul(2_654_435_761) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// A file of `len` noisy bytes in `dir`.
fn noise_file(dir: &Path, name: &str, len: usize) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, noise(len, 9)).unwrap();
    path
}

#[test]
fn a_dropped_picture_shows_as_a_thumbnail_for_the_other_user_and_opens_full_size() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let mut bob = app(
        server.pinned_settings("bob"),
        options(&dir.path().join("bob")),
    );
    register(&mut bob, "bob@example.org");
    wait_for_lobby(&mut bob);
    let mut alice = app(
        server.pinned_settings("alice"),
        options(&dir.path().join("alice")),
    );
    register(&mut alice, "alice@example.org");
    wait_for_lobby(&mut alice);

    // Dragged over the window, it says what letting go does.
    let png = png_file(dir.path(), "harbour.png", 80, 120);
    alice.input_mut().hovered_files.push(egui::HoveredFile {
        path: Some(png.clone()),
        ..Default::default()
    });
    // An area is measured on its first frame and shown from the second.
    alice.step();
    alice.step();
    assert!(shows(
        &alice,
        "Drop the files to attach them to your message"
    ));
    alice.input_mut().hovered_files.clear();
    drop_file(&mut alice, &png);
    assert!(
        shows_part(&alice, "harbour.png"),
        "the composer shows the dropped file"
    );
    wait_for(&mut alice, "the upload", |h| {
        h.query_by_label("Remove harbour.png").is_some()
    });
    send(&mut alice, "the view from here");
    wait_for(&mut alice, "the message sent", |h| {
        attachments_shown(h).len() == 1 && !shows_part(h, "sending")
    });
    assert!(
        alice.query_by_label("Remove harbour.png").is_none(),
        "the composer is empty again"
    );

    wait_for(&mut bob, "the thumbnail on bob's screen", |h| {
        let shown = attachments_shown(h);
        shown.len() == 1
            && shown[0]
                .image
                .is_some_and(|info| h.state().files.shows_thumbnail(&info.thumbnail))
            && shows(h, "the view from here")
    });
    let picture = attachments_shown(&bob).remove(0);
    assert_eq!(picture.name, "harbour.png");
    assert_eq!(picture.mime, "image/png");
    let info = picture.image.unwrap();
    assert_eq!((info.width, info.height), (80, 80));
    assert!(shows(&bob, "Picture: harbour.png"));

    // A click shows the whole picture; Close closes it.
    bob.get_by_label("Picture: harbour.png").click();
    bob.step();
    wait_for(&mut bob, "the full-size picture", |h| {
        h.state()
            .files
            .viewer
            .as_ref()
            .is_some_and(|v| v.is_ready())
    });
    click(&mut bob, "Close the picture");
    assert!(bob.state().files.viewer.is_none());
    drop(alice);
    drop(bob);
    server.stop();
}

#[test]
fn a_pasted_picture_is_attached_as_a_png_and_sent() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let mut h = app(server.pinned_settings("gus"), options(dir.path()));
    register(&mut h, "gus@example.org");
    wait_for_lobby(&mut h);

    // What eframe sends for Ctrl+V when the clipboard holds a picture and no
    // text; the composer has the keyboard.
    crate::harness::fill(&mut h, "Message", "a screenshot");
    let mut pixels = egui::ColorImage::filled([30, 20], egui::Color32::from_rgb(20, 90, 200));
    pixels.pixels[0] = egui::Color32::RED;
    h.input_mut()
        .events
        .push(egui::Event::PasteImage(std::sync::Arc::new(pixels)));
    h.step();
    wait_for(&mut h, "the pasted picture uploaded", |h| {
        h.query_by_label_contains("Remove pasted-").is_some()
    });
    h.key_press(egui::Key::Enter);
    h.step();
    wait_for(&mut h, "the message with the picture", |h| {
        attachments_shown(h).len() == 1 && shows(h, "a screenshot")
    });
    let sent = attachments_shown(&h).remove(0);
    assert!(sent.name.starts_with("pasted-") && sent.name.ends_with(".png"));
    assert_eq!(sent.mime, "image/png");
    let info = sent.image.expect("a picture");
    assert_eq!((info.width, info.height), (30, 20));

    // Two files chosen at once with the 📎 button; a message of files alone.
    assert!(
        h.query_by_role_and_label(Role::Button, "Attach files")
            .is_some()
    );
    let a = dir.path().join("a.txt");
    let b = dir.path().join("b.csv");
    std::fs::write(&a, "first\n").unwrap();
    std::fs::write(&b, "x,y\n1,2\n").unwrap();
    h.state()
        .files
        .attach_picker
        .deliver(Picked::Several(vec![a, b]));
    h.step();
    wait_for(&mut h, "both files uploaded", |h| {
        h.query_by_label("Remove a.txt").is_some() && h.query_by_label("Remove b.csv").is_some()
    });
    click(&mut h, "Send");
    wait_for(&mut h, "the message of two files", |h| {
        attachments_shown(h).len() == 3
            && h.query_by_role_and_label(Role::Button, "Save b.csv")
                .is_some()
    });
    let names: Vec<String> = attachments_shown(&h).into_iter().map(|a| a.name).collect();
    assert_eq!(names[1..], ["a.txt", "b.csv"]);
    drop(h);
    server.stop();
}

#[test]
fn a_file_card_saves_the_bytes_that_were_sent() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let carol = server.session("carol", true);
    let sent = noise(3 * 1024 * 1024 + 17, 3);
    let stored = server.rt.block_on(async {
        carol.join("lobby").await.unwrap();
        carol.upload("report.bin", &sent, |_| {}).await.unwrap()
    });

    let saves = dir.path().join("saves");
    std::fs::create_dir_all(&saves).unwrap();
    // A file of that name is already there: the save must not replace it.
    std::fs::write(saves.join("report.bin"), "older").unwrap();
    let mut opts = options(dir.path());
    opts.save_dir = Some(saves.clone());
    let mut h = app(server.pinned_settings("dan"), opts);
    register(&mut h, "dan@example.org");
    wait_for_lobby(&mut h);
    let refs = vec![FileRef {
        hash: stored.hash,
        name: stored.name.clone(),
    }];
    server
        .rt
        .block_on(carol.send_with_files("lobby", "the numbers", new_key(), refs))
        .unwrap();
    wait_for(&mut h, "the file card", |h| {
        h.query_by_role_and_label(Role::Button, "Save report.bin")
            .is_some()
    });
    assert!(shows_part(&h, "3.1 MB · application/octet-stream"));
    click(&mut h, "Save report.bin");
    wait_for(&mut h, "the saved file", |h| {
        shows(h, "Saved as report (2).bin")
    });
    let saved = std::fs::read(saves.join("report (2).bin")).unwrap();
    assert_eq!(saved.len(), sent.len());
    assert!(saved == sent, "the saved bytes differ from the sent ones");
    assert_eq!(std::fs::read(saves.join("report.bin")).unwrap(), b"older");
    drop(h);
    drop(carol);
    server.stop();
}

#[test]
fn an_upload_shows_its_progress_and_a_cancelled_one_is_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let relay = server.rt.block_on(TestRelay::to(server.addr));
    let relay_addr = relay.addr.to_string();
    let control = relay.control.clone();
    let mut settings = server.pinned_settings("erin");
    settings.server = relay_addr.clone();
    settings.set_pin(&relay_addr, &server.fingerprint);
    let mut h = app(settings, options(dir.path()));
    register(&mut h, "erin@example.org");
    wait_for_lobby(&mut h);

    // The way up is dark: the upload cannot finish while the test looks.
    let big = noise_file(dir.path(), "big.bin", 4 * 1024 * 1024);
    let hash = FileHash(Sha256::digest(std::fs::read(&big).unwrap()).into());
    control.black_out(Direction::Up, Duration::from_secs(4));
    drop_file(&mut h, &big);
    let bar = h.get_by_role_and_label(Role::ProgressIndicator, "Uploading big.bin");
    assert!(
        bar.accesskit_node()
            .numeric_value()
            .is_some_and(|v| v < 100.0)
    );
    // Sending now would go without the file: it waits, and says so.
    crate::harness::fill(&mut h, "Message", "with the file");
    h.key_press(egui::Key::Enter);
    h.step();
    assert!(shows_part(&h, "wait until the files have uploaded"));
    assert_eq!(
        h.get_by_label("Message").value().as_deref(),
        Some("with the file")
    );

    // The panel grows to fit the notice on the next frame; click once
    // everything sits still, as a person would.
    h.step();
    h.step();
    click(&mut h, "Cancel uploading big.bin");
    h.step();
    assert!(h.query_by_label("Uploading big.bin").is_none());
    assert!(!shows_part(&h, "big.bin"));
    assert!(h.state().files.outgoing.values().all(Vec::is_empty));

    // Once the link is back, the server has nothing of it: not even its
    // uploader may fetch it, for as long as an upload left going would take
    // to arrive (about 2 s after the blackout here).
    let erin = server.session("erin", false);
    let until = Instant::now() + Duration::from_secs(12);
    while Instant::now() < until {
        h.step();
        match server.rt.block_on(erin.download(hash, |_, _| {})) {
            Err(ClientError::Server(e)) if e.code == ErrorCode::NoSuchFile => {}
            Err(e) => panic!("not the answer for a file never stored: {e}"),
            Ok(got) => panic!(
                "the cancelled upload was stored ({} bytes)",
                got.bytes.len()
            ),
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    drop(h);
    drop(erin);
    server.rt.block_on(relay.stop());
    server.stop();
}

#[test]
fn a_failed_upload_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    let server = TestServer::start(&server_dir);
    let addr = server.addr;
    let mut h = app(server.pinned_settings("finn"), options(dir.path()));
    register(&mut h, "finn@example.org");
    wait_for_lobby(&mut h);

    // The server goes away: the upload fails, and says why.
    server.stop();
    wait_for(&mut h, "the app offline", |h| {
        h.state().model.status != chatroom_client::chat::ConnStatus::Online
    });
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "buy milk\n").unwrap();
    drop_file(&mut h, &notes);
    wait_for(&mut h, "the failure", |h| {
        h.query_by_label("Retry uploading notes.txt").is_some()
    });
    assert!(matches!(
        h.state().files.outgoing["lobby"][0].state,
        UploadState::Failed(_)
    ));
    crate::harness::fill(&mut h, "Message", "see the list");
    click(&mut h, "Send");
    assert!(shows_part(&h, "retry or remove the files"));

    // Back on the same port: Retry uploads it, and the message goes with it.
    let server = TestServer::start_at(&server_dir, addr);
    wait_for(&mut h, "the app online", |h| {
        h.state().model.status == chatroom_client::chat::ConnStatus::Online
    });
    click(&mut h, "Retry uploading notes.txt");
    wait_for(&mut h, "the retried upload", |h| {
        h.query_by_label("Remove notes.txt").is_some()
    });
    click(&mut h, "Send");
    wait_for(&mut h, "the message with its file", |h| {
        attachments_shown(h)
            .iter()
            .any(|a| a.name == "notes.txt" && a.size == 9)
            && shows(h, "see the list")
    });
    assert!(
        h.query_by_role_and_label(Role::Button, "Save notes.txt")
            .is_some()
    );
    drop(h);
    server.stop();
}
