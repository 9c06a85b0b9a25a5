//! Feedback where the problem is: registration problems under their fields,
//! all at once and as typed; room-field problems beside the field (with
//! "create it" for a room that does not exist); "Your picture" problems in
//! its window, which scrolls at any size and closes with Esc.

use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;

use crate::harness::{
    PASS, TestServer, app, app_sized, click, fill, log_in, options, press, rect_of, shows,
    shows_part, wait_for, wait_for_lobby,
};

/// Empties the text field labelled `label` the way a person would.
fn clear_field(h: &mut egui_kittest::Harness<'static, chatroom_app::ChatApp>, label: &str) {
    fill(h, label, "");
    press(h, Modifiers::COMMAND, Key::A);
    press(h, Modifiers::NONE, Key::Backspace);
}

#[test]
fn registration_shows_every_problem_at_once_and_a_taken_name_keeps_the_passphrases() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    drop(server.session("alice", true));
    let mut h = app(server.pinned_settings("x"), options(dir.path()));
    click(&mut h, "Register");
    fill(&mut h, "E-mail", "nope");
    fill(&mut h, "Passphrase", "short");
    fill(&mut h, "Passphrase again", "other");
    // Every problem at once, each under its field, before anything is sent.
    for problem in [
        "2 to 32 letters, digits, '_', '-' or '.', starting with a letter or digit.",
        "That does not look like an e-mail address (you@example.org).",
        "5 characters: at least 10 needed.",
        "The two passphrases differ.",
    ] {
        assert!(shows(&h, problem), "{problem}");
    }
    assert!(
        rect_of(&h, "The two passphrases differ.").min.y > rect_of(&h, "Passphrase again").max.y
    );
    assert!(!shows_part(&h, "pass phrase"));
    // Fixed as typed: each goes away with its cause.
    clear_field(&mut h, "Username");
    fill(&mut h, "Username", "alice");
    clear_field(&mut h, "E-mail");
    fill(&mut h, "E-mail", "alice@example.org");
    clear_field(&mut h, "Passphrase");
    fill(&mut h, "Passphrase", PASS);
    clear_field(&mut h, "Passphrase again");
    fill(&mut h, "Passphrase again", PASS);
    assert!(!shows_part(&h, "2 to 32 letters") && !shows_part(&h, "differ"));
    assert!(!shows_part(&h, "does not look like") && !shows_part(&h, "needed"));

    // Enter in the e-mail field submits; the name is taken: said under the
    // username, and both passphrases are still there.
    fill(&mut h, "E-mail", "");
    press(&mut h, Modifiers::NONE, Key::Enter);
    wait_for(&mut h, "the refusal", |h| {
        shows_part(h, "username is taken")
    });
    let taken = h
        .query_all_by_label_contains("username is taken")
        .next()
        .unwrap()
        .rect();
    assert!(rect_of(&h, "Username").max.y < taken.min.y);
    assert!(taken.max.y < rect_of(&h, "E-mail").min.y);
    assert_eq!(h.state().form.passphrase, PASS);
    assert_eq!(h.state().form.passphrase2, PASS);
    // Another name clears it; Enter in "Passphrase again" creates the account.
    fill(&mut h, "Username", "2");
    assert!(!shows_part(&h, "username is taken"));
    fill(&mut h, "Passphrase again", "");
    press(&mut h, Modifiers::NONE, Key::Enter);
    wait_for_lobby(&mut h);
    assert!(h.state().form.passphrase.is_empty());
    // Logging out opens on "Log in", not on "Register".
    click(&mut h, "Log out");
    wait_for(&mut h, "the form", |h| shows(h, "Connect and log in"));
    h.step();
    assert!(!shows(&h, "Passphrase again"));
    assert!(h.get_by_label("Passphrase").is_focused());
    drop(h);
    server.stop();
}

#[test]
fn room_problems_show_beside_the_field_and_a_missing_room_can_be_created() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    drop(server.session("alice", true));
    let mut h = app(server.pinned_settings("alice"), options(dir.path()));
    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    // Nothing usable: the rule shows before anything is sent.
    fill(&mut h, "Join or create a room", "!!!");
    assert!(shows_part(&h, "A room name has letters, digits"));
    clear_field(&mut h, "Join or create a room");
    assert!(!shows_part(&h, "A room name has"));
    // "Design Team" is joined as design-team, which does not exist yet.
    fill(&mut h, "Join or create a room", "Design Team");
    assert!(shows(&h, "Becomes #design-team"));
    click(&mut h, "Join");
    wait_for(&mut h, "the offer", |h| shows(h, "Create #design-team"));
    assert!(shows(&h, "There is no room #design-team yet."));
    assert!(
        !shows(&h, "Dismiss"),
        "a global notice instead of one by the field"
    );
    assert!(rect_of(&h, "There is no room #design-team yet.").min.y > rect_of(&h, "Join").max.y);
    click(&mut h, "Create #design-team");
    wait_for(&mut h, "the new room", |h| {
        shows(h, "# design-team") && shows(h, "design-team")
    });
    assert!(!shows_part(&h, "There is no room"));
    drop(h);
    server.stop();
}

#[test]
fn your_picture_scrolls_at_any_size_shows_problems_inside_and_closes_with_escape() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    drop(server.session("jade", true));
    let (width, height) = (640.0, 480.0);
    let mut h = app_sized(
        server.pinned_settings("jade"),
        options(dir.path()),
        [width, height],
    );
    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    click(&mut h, "Change picture");
    wait_for(&mut h, "the pool", |h| shows(h, "Picture 2"));
    let pool = h.state().profile.pool.clone();
    assert!(pool.len() >= 24, "{} pictures", pool.len());
    // Every picture can be scrolled to and is then on screen.
    for i in 1..=pool.len() {
        let label = format!("Picture {i}");
        h.get_by_label(&label).scroll_to_me();
        h.run_steps(4);
        let rect = rect_of(&h, &label);
        assert!(
            rect.min.x >= 0.0 && rect.max.x <= width && rect.min.y >= 0.0 && rect.max.y <= height,
            "{label} at {rect:?}"
        );
    }
    let last = format!("Picture {}", pool.len());
    click(&mut h, &last);
    let wanted = pool.last().copied();
    wait_for(&mut h, "the last picture", |h| {
        h.state().model.me.as_ref().and_then(|m| m.avatar) == wanted
    });

    // Not an image: said in the window, under the field; no global notice.
    let bad = dir.path().join("notes.png");
    std::fs::write(&bad, b"these are not pixels").unwrap();
    fill(&mut h, "Image file", bad.to_str().unwrap());
    click(&mut h, "Upload");
    wait_for(&mut h, "the refusal", |h| {
        shows_part(h, "That picture was not accepted")
    });
    assert!(!shows(&h, "Dismiss"));
    let upload = rect_of(&h, "Upload");
    let error = h
        .query_all_by_label_contains("That picture was not accepted")
        .next()
        .unwrap()
        .rect();
    assert!(
        error.min.y >= upload.max.y && error.max.y <= height,
        "{error:?}"
    );
    // A new path clears it; Esc closes the window.
    fill(&mut h, "Image file", "x");
    assert!(!shows_part(&h, "That picture was not accepted"));
    press(&mut h, Modifiers::NONE, Key::Escape);
    assert!(!shows(&h, "Upload"));
    drop(h);
    server.stop();
}
