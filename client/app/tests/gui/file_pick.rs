//! Files given without typing: dropped on "Your picture", or chosen with
//! "Choose…". The native dialog cannot be driven here, so its answer is handed
//! in where the dialog's thread hands it (`FilePicker::deliver`); everything
//! after that is the real app against a real server.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chatroom_app::file_pick::Picked;
use chatroom_app::i18n::{I18n, Language};
use chatroom_app::{ChatApp, Settings};
use chatroom_common::protocol::AvatarHash;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use image::{ImageEncoder, Rgba, RgbaImage};

use crate::harness::{
    PASS, TestServer, app, click, fill, log_in, options, shows, shows_part, wait_for,
    wait_for_lobby,
};

/// The "Choose…" button's label, from the app's (English) catalogue.
fn choose() -> String {
    I18n::new(Language::English).text("file-choose", None)
}

/// What is said when the desktop has no file chooser.
fn unavailable() -> String {
    I18n::new(Language::English).text("file-unavailable", None)
}

/// A file dragged from the desktop, as eframe's integration hands it over.
#[derive(Debug)]
struct Dragged(PathBuf);

impl egui::DroppedFile for Dragged {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// Drops `file` on the app's window, as a person letting go of it would.
pub fn drop_file(h: &mut Harness<'static, ChatApp>, file: &Path) {
    h.input_mut().hovered_files.push(egui::HoveredFile {
        path: Some(file.to_owned()),
        ..Default::default()
    });
    h.step();
    h.input_mut().hovered_files.clear();
    h.input_mut()
        .dropped_files
        .push(Arc::new(Dragged(file.to_owned())));
    h.step();
}

/// A PNG file of `side`×`side` pixels in `dir`, coloured by `seed`.
pub fn png_file(dir: &Path, name: &str, side: u32, seed: u8) -> PathBuf {
    let img = RgbaImage::from_fn(side, side, |x, y| {
        Rgba([x as u8 * 3, y as u8 * 3, seed, 255])
    });
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(img.as_raw(), side, side, image::ExtendedColorType::Rgba8)
        .unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn my_picture(h: &Harness<'static, ChatApp>) -> Option<AvatarHash> {
    h.state().model.me.as_ref().and_then(|m| m.avatar)
}

/// jade logged in with "Your picture" open, and kim in the lobby to see her.
fn picture_window(
    dir: &Path,
) -> (
    TestServer,
    chatroom_client::Session,
    Harness<'static, ChatApp>,
) {
    let server = TestServer::start(&dir.join("server"));
    drop(server.session("jade", true));
    let kim = server.session("kim", true);
    server.rt.block_on(kim.join("lobby")).unwrap();
    let mut h = app(server.pinned_settings("jade"), options(dir));
    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    click(&mut h, "Change picture");
    wait_for(&mut h, "Your picture", |h| shows(h, "Image file"));
    (server, kim, h)
}

/// jade's picture as kim's client learns it from the server.
fn seen_by(server: &TestServer, kim: &chatroom_client::Session) -> Option<AvatarHash> {
    let online = server.rt.block_on(kim.who("lobby")).unwrap();
    online
        .into_iter()
        .find(|u| u.username == "jade")
        .and_then(|u| u.avatar)
}

#[test]
fn a_picture_dropped_on_the_window_is_uploaded_and_a_text_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (server, kim, mut h) = picture_window(dir.path());
    let before = my_picture(&h).expect("an assigned avatar");

    // While a file is dragged over the window, it says where it goes.
    let png = png_file(dir.path(), "dropped.png", 48, 40);
    h.input_mut().hovered_files.push(egui::HoveredFile {
        path: Some(png.clone()),
        ..Default::default()
    });
    h.step();
    assert!(shows(&h, "Drop the image to upload it"));
    h.input_mut().hovered_files.clear();
    h.step();
    assert!(!shows(&h, "Drop the image to upload it"));

    drop_file(&mut h, &png);
    wait_for(&mut h, "the dropped picture", |h| {
        my_picture(h).is_some_and(|a| a != before)
    });
    let uploaded = my_picture(&h).unwrap();
    assert_eq!(seen_by(&server, &kim), Some(uploaded));
    // The path is shown, as if typed, so a problem can be fixed there.
    assert_eq!(
        h.get_by_label("Image file").value().as_deref(),
        png.to_str()
    );

    // Not an image: the server's refusal, inside the window; nothing changes.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "these are not pixels\n").unwrap();
    drop_file(&mut h, &text);
    wait_for(&mut h, "the refusal", |h| {
        shows_part(h, "That picture was not accepted")
    });
    assert!(shows(&h, "Your picture"), "the window stays open");
    assert_eq!(my_picture(&h), Some(uploaded));
    assert_eq!(seen_by(&server, &kim), Some(uploaded));
    drop(h);
    drop(kim);
    server.stop();
}

#[test]
fn a_picture_chosen_in_the_file_chooser_is_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let (server, kim, mut h) = picture_window(dir.path());
    let before = my_picture(&h).expect("an assigned avatar");
    assert!(
        h.query_by_role_and_label(Role::Button, &choose()).is_some(),
        "a Choose… button beside the image file field"
    );

    // What the chooser's thread does when the person picks a file.
    let png = png_file(dir.path(), "chosen.png", 40, 200);
    h.state()
        .profile
        .picker
        .deliver(Picked::Chosen(png.clone()));
    h.step();
    assert_eq!(
        h.get_by_label("Image file").value().as_deref(),
        png.to_str()
    );
    wait_for(&mut h, "the chosen picture", |h| {
        my_picture(h).is_some_and(|a| a != before)
    });
    let chosen = my_picture(&h).unwrap();
    assert_eq!(seen_by(&server, &kim), Some(chosen));

    // Cancelled: nothing happens. No chooser on this desktop: said in the
    // window until a path is typed.
    h.state().profile.picker.deliver(Picked::Cancelled);
    h.step();
    assert!(!shows(&h, &unavailable()));
    h.state().profile.picker.deliver(Picked::Unavailable);
    h.step();
    assert!(shows(&h, &unavailable()));
    fill(&mut h, "Image file", "x");
    assert!(!shows(&h, &unavailable()));
    assert_eq!(my_picture(&h), Some(chosen));
    drop(h);
    drop(kim);
    server.stop();
}

#[test]
fn a_ca_file_chosen_on_the_login_screen_is_the_one_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    let server = TestServer::start(&server_dir);
    drop(server.session("jade", true));
    // No pin: without the CA file the app would ask to trust the fingerprint.
    let settings = Settings {
        server: server.addr.to_string(),
        username: "jade".into(),
        ..Settings::default()
    };
    let mut h = app(settings, options(dir.path()));
    h.step();
    // A collapsing header, not a button: unfolded by its label.
    h.get_by_label("Certificate (optional)").click();
    h.step();
    h.step();
    assert!(
        h.query_by_role_and_label(Role::Button, &choose()).is_some(),
        "a Choose… button beside the CA file field"
    );
    let picker = chatroom_app::login::ca_file_picker(&h.ctx);

    picker.deliver(Picked::Unavailable);
    h.step();
    assert!(shows(&h, &unavailable()));

    let ca = server_dir.join("certs").join("ca.pem");
    assert!(ca.is_file(), "the server wrote its CA to {}", ca.display());
    picker.deliver(Picked::Chosen(ca.clone()));
    h.step();
    assert_eq!(h.get_by_label("CA file").value().as_deref(), ca.to_str());
    assert!(!shows(&h, &unavailable()));

    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    assert!(!shows(&h, "Trust and connect"));
    drop(h);
    server.stop();
}
