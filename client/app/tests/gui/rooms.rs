//! Rooms that come and go while the app is open: a room someone else creates
//! appears by itself, a room can be left (from its title row, from its
//! context menu, or on another device), and "Retry now" skips the wait for
//! the next reconnect attempt.

use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

use crate::harness::{
    TestServer, app, click, options, register, send, shows, shows_part, wait_for, wait_for_lobby,
};

#[test]
fn rooms_others_create_appear_by_themselves_and_rooms_can_be_left() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let bob = server.session("bob", true);
    let mut h = app(server.pinned_settings("alice"), options(dir.path()));
    register(&mut h, "alice@example.org");
    wait_for_lobby(&mut h);
    assert!(!shows(&h, "Join # garden"));

    // Nobody touches the room field or asks for the list: the server's
    // announcement alone brings it.
    server.rt.block_on(bob.create_room("garden")).unwrap();
    wait_for(&mut h, "bob's new room on offer", |h| {
        shows(h, "Join # garden")
    });
    click(&mut h, "Join # garden");
    wait_for(&mut h, "the garden", |h| {
        shows(h, "# garden") && shows(h, "Leave #garden")
    });
    send(&mut h, "hello garden");
    wait_for(&mut h, "the message", |h| {
        shows(h, "hello garden") && !shows_part(h, "sending")
    });

    // From the title row: the room goes, the lobby is shown, and the room is
    // on offer again.
    click(&mut h, "Leave #garden");
    wait_for(&mut h, "the garden gone", |h| {
        !shows(h, "# garden") && shows(h, "Join # garden") && shows(h, "Leave #lobby")
    });
    // The server agrees: alice is no longer a member.
    let online = server.rt.block_on(bob.who("garden")).unwrap();
    assert!(online.iter().all(|u| u.username != "alice"), "{online:?}");

    // From the room's context menu in the list (the lobby stays shown).
    click(&mut h, "Join # garden");
    wait_for(&mut h, "the garden again", |h| shows(h, "Leave #garden"));
    h.get_by_role_and_label(Role::Button, "# lobby").click();
    h.run_steps(2);
    assert!(shows(&h, "Leave #lobby"));
    h.get_by_role_and_label(Role::Button, "# garden")
        .click_secondary();
    h.run_steps(2);
    click(&mut h, "Leave #garden");
    wait_for(&mut h, "the garden gone again", |h| {
        !shows(h, "# garden") && shows(h, "Join # garden")
    });
    // Direct conversations offer no "Leave", in the title row or the menu.
    server.rt.block_on(bob.open_direct("alice")).unwrap();
    wait_for(&mut h, "bob's conversation", |h| shows(h, "@ bob"));
    h.get_by_role_and_label(Role::Button, "@ bob").click();
    h.run_steps(2);
    assert!(!shows_part(&h, "Leave #"));
    h.get_by_role_and_label(Role::Button, "@ bob")
        .click_secondary();
    h.run_steps(2);
    assert!(!shows_part(&h, "Leave #"));
    h.key_press(egui::Key::Escape);
    h.get_by_role_and_label(Role::Button, "# lobby").click();
    h.run_steps(2);

    // Left on another device: the app drops it too.
    click(&mut h, "Join # garden");
    wait_for(&mut h, "the garden once more", |h| shows(h, "# garden"));
    let phone = server.session("alice", false);
    server.rt.block_on(phone.leave("garden")).unwrap();
    wait_for(&mut h, "the garden gone from the other device", |h| {
        !shows(h, "# garden") && shows(h, "Join # garden")
    });
    drop(h);
    server.stop();
}

#[test]
fn retry_now_reconnects_without_waiting_for_the_timer() {
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    let server = TestServer::start(&server_dir);
    let addr = server.addr;
    // The timer would wait ten minutes, far beyond this test's waits: only
    // the button can bring the app back in time.
    let opts = chatroom_app::AppOptions {
        first_retry: Some(Duration::from_secs(600)),
        ..options(dir.path())
    };
    let mut h = app(server.pinned_settings("alice"), opts);
    register(&mut h, "alice@example.org");
    wait_for_lobby(&mut h);
    assert!(!shows(&h, "Retry now"), "offered while connected");

    server.stop();
    wait_for(&mut h, "the banner with its button", |h| {
        shows_part(h, "Connection lost") && shows(h, "Retry now")
    });
    assert!(shows_part(&h, "Reconnecting in"));
    send(&mut h, "typed while offline");

    let server = TestServer::start_at(&server_dir, addr);
    click(&mut h, "Retry now");
    wait_for(&mut h, "back online", |h| {
        !shows_part(h, "Connection lost")
            && !shows_part(h, "Connecting")
            && !shows_part(h, "sending")
            && shows(h, "typed while offline")
    });
    assert!(!shows(&h, "Retry now"));
    drop(h);
    server.stop();
}
