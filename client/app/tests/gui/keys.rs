//! Rooms by keyboard (Alt+↑/↓, Ctrl+Tab, Ctrl+K "Jump to a room"), with the
//! keyboard staying in the message box, and a small window that keeps most
//! of its width for the messages.

use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;

use crate::harness::{
    PASS, TestServer, app, app_sized, chatter, click, log_in, options, press, rect_of, shows,
    wait_for, wait_for_lobby,
};

/// The room shown.
fn shown(h: &egui_kittest::Harness<'static, chatroom_app::ChatApp>) -> String {
    h.state().model.selected.clone().unwrap_or_default()
}

/// Opens "Jump to a room", types `part` and presses Enter.
fn jump(h: &mut egui_kittest::Harness<'static, chatroom_app::ChatApp>, part: &str) {
    press(h, Modifiers::COMMAND, Key::K);
    assert!(shows(h, "Jump to a room"));
    assert!(h.get_by_label("Room name").is_focused());
    h.get_by_label("Room name").type_text(part);
    h.step();
    press(h, Modifiers::NONE, Key::Enter);
}

#[test]
fn rooms_switch_by_keyboard_and_ctrl_k_jumps_to_one_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let bob = chatter(&server, "bob", "hi", 1);
    server.rt.block_on(async {
        bob.create_room("books").await.unwrap();
        bob.create_room("cooking").await.unwrap();
    });
    drop(server.session("alice", true));
    let mut h = app(server.pinned_settings("alice"), options(dir.path()));
    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    // Rooms not joined yet are offered too; Enter joins the one chosen.
    jump(&mut h, "boo");
    wait_for(&mut h, "books", |h| shown(h) == "books");
    jump(&mut h, "COOK");
    wait_for(&mut h, "cooking", |h| shown(h) == "cooking");
    assert!(!shows(&h, "Jump to a room"));
    // The list's order is books, cooking, lobby; the steps wrap around.
    for (modifiers, key, room) in [
        (Modifiers::ALT, Key::ArrowDown, "lobby"),
        (Modifiers::ALT, Key::ArrowDown, "books"),
        (Modifiers::ALT, Key::ArrowUp, "lobby"),
        (Modifiers::CTRL, Key::Tab, "books"),
        (Modifiers::CTRL | Modifiers::SHIFT, Key::Tab, "lobby"),
    ] {
        press(&mut h, modifiers, key);
        assert_eq!(shown(&h), room, "after {modifiers:?}+{key:?}");
        // The keyboard stays in the message box, and no tab was typed into it.
        h.step();
        assert!(h.get_by_label("Message").is_focused());
        assert_eq!(h.get_by_label("Message").value().as_deref(), Some(""));
    }
    jump(&mut h, "cook");
    assert_eq!(shown(&h), "cooking");
    // Esc closes the dialog without going anywhere.
    press(&mut h, Modifiers::COMMAND, Key::K);
    press(&mut h, Modifiers::NONE, Key::Escape);
    assert!(!shows(&h, "Jump to a room"));
    assert_eq!(shown(&h), "cooking");
    drop(h);
    server.stop();
}

#[test]
fn a_small_window_keeps_most_of_its_width_for_the_messages() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let _bob = chatter(&server, "bob", "a message from bob", 1);
    drop(server.session("alice", true));
    let (width, height) = (640.0, 480.0);
    let mut h = app_sized(
        server.pinned_settings("alice"),
        options(dir.path()),
        [width, height],
    );
    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    wait_for(&mut h, "bob's message", |h| {
        shows(h, "a message from bob 1")
    });
    // The rooms panel narrows and the online list folds away.
    let rooms_edge = rect_of(&h, "# lobby").max.x;
    let list_edge = rect_of(&h, "Send").max.x;
    assert!(
        list_edge - rooms_edge >= width * 0.7,
        "messages get {} of {width}",
        list_edge - rooms_edge
    );
    assert!(h.query_by_label("alice (you)").is_none());
    assert!(rect_of(&h, "Log out").max.x <= width);
    // The online list is a click away, and folds again.
    wait_for(&mut h, "the online button", |h| shows(h, "Online (2)"));
    click(&mut h, "Online (2)");
    assert!(shows(&h, "alice (you)"));
    click(&mut h, "Online (2)");
    assert!(!shows(&h, "alice (you)"));
    drop(h);
    server.stop();
}
