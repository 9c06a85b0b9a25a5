//! Following a conversation: the view stays put while the user reads further
//! up (a button counts what arrives), the "New" divider on entering a room,
//! the scrolling keys, older history at the top, and the growing composer.

use egui::{Key, Modifiers};

use crate::harness::{
    PASS, TestServer, app, chatter, click, fill, in_view, log_in, options, press, rect_of, shows,
    shows_part, top_of, wait_for, wait_for_lobby,
};

/// Logs `name` (registered by the test kit) in through the form.
fn logged_in(
    server: &TestServer,
    dir: &std::path::Path,
    name: &str,
) -> egui_kittest::Harness<'static, chatroom_app::ChatApp> {
    drop(server.session(name, true));
    let mut h = app(server.pinned_settings(name), options(dir));
    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    h
}

#[test]
fn reading_further_up_keeps_the_view_and_a_button_counts_what_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let bob = chatter(&server, "bob", "line", 40);
    let mut h = logged_in(&server, dir.path(), "alice");
    wait_for(&mut h, "the newest line", |h| in_view(h, "line 40"));
    for _ in 0..3 {
        press(&mut h, Modifiers::NONE, Key::PageUp);
    }
    h.run_steps(3);
    assert!(!in_view(&h, "line 40") && in_view(&h, "line 1"));
    let reading = top_of(&h, "line 1");

    for text in ["fresh 1", "fresh 2"] {
        server.rt.block_on(bob.send("lobby", text)).unwrap();
    }
    wait_for(&mut h, "the counting button", |h| {
        shows(h, "2 new messages ⬇")
    });
    h.run_steps(3);
    assert_eq!(top_of(&h, "line 1"), reading, "the view moved");
    assert!(!in_view(&h, "fresh 2"));
    click(&mut h, "2 new messages ⬇");
    wait_for(&mut h, "the newest message", |h| in_view(h, "fresh 2"));
    assert!(!shows_part(&h, "new message"));

    // Keys: Page Up leaves the bottom, Ctrl+End returns; Page Down walks back.
    press(&mut h, Modifiers::NONE, Key::PageUp);
    wait_for(&mut h, "the jump button", |h| shows(h, "Newest ⬇"));
    press(&mut h, Modifiers::CTRL, Key::End);
    wait_for(&mut h, "the bottom again", |h| {
        in_view(h, "fresh 2") && !shows(h, "Newest ⬇")
    });
    press(&mut h, Modifiers::NONE, Key::PageUp);
    press(&mut h, Modifiers::NONE, Key::PageUp);
    assert!(!in_view(&h, "fresh 2"));
    press(&mut h, Modifiers::NONE, Key::PageDown);
    press(&mut h, Modifiers::NONE, Key::PageDown);
    wait_for(&mut h, "the bottom by Page Down", |h| in_view(h, "fresh 2"));
    // Plain End works when no text field has the keyboard.
    press(&mut h, Modifiers::NONE, Key::PageUp);
    press(&mut h, Modifiers::NONE, Key::Escape);
    press(&mut h, Modifiers::NONE, Key::End);
    wait_for(&mut h, "the bottom by End", |h| {
        in_view(h, "fresh 2") && !shows(h, "Newest ⬇")
    });
    drop(h);
    server.stop();
}

#[test]
fn entering_a_room_with_unread_messages_shows_the_new_divider() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let bob = chatter(&server, "bob", "hi", 1);
    server.rt.block_on(async {
        bob.create_room("books").await.unwrap();
        bob.send("books", "already read").await.unwrap();
    });
    let mut h = logged_in(&server, dir.path(), "alice");
    fill(&mut h, "Join or create a room", "books");
    click(&mut h, "Join");
    wait_for(&mut h, "books", |h| shows(h, "already read"));
    click(&mut h, "# lobby");
    for text in ["unread 1", "unread 2"] {
        server.rt.block_on(bob.send("books", text)).unwrap();
    }
    wait_for(&mut h, "the badge", |h| shows(h, "# books (2 unread)"));
    click(&mut h, "# books (2 unread)");
    wait_for(&mut h, "the divider", |h| shows(h, "New messages"));
    let divider = top_of(&h, "New messages");
    assert!(top_of(&h, "already read") < divider);
    assert!(divider < top_of(&h, "unread 1"));
    // Read: gone once the room is left.
    click(&mut h, "# lobby");
    click(&mut h, "# books");
    assert!(!shows(&h, "New messages"));
    drop(h);
    server.stop();
}

#[test]
fn older_messages_load_at_the_top_and_the_reading_position_stays() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    // More than a join brings (50): the first 70 are older history.
    let _bob = chatter(&server, "bob", "old", 120);
    let mut h = logged_in(&server, dir.path(), "alice");
    wait_for(&mut h, "the newest", |h| in_view(h, "old 120"));
    assert!(!shows(&h, "old 70"));
    // Page up to the top of what the join brought: the page before loads by itself.
    for _ in 0..40 {
        let asked = h
            .state()
            .model
            .current()
            .is_some_and(|v| v.loading_older || v.store.len() == 120);
        if asked {
            break;
        }
        press(&mut h, Modifiers::NONE, Key::PageUp);
    }
    wait_for(&mut h, "the older page", |h| {
        h.state().model.current().map(|v| v.store.len()) == Some(120)
    });
    // Still reading where the page arrived, not thrown to its top. The rows
    // of the new page are measured over the next frames; on a loaded machine
    // other events (pictures, presence) can come between them, so this waits
    // for the list to settle rather than counting frames. A lost position
    // would sit at "old 1" and never show "old 71" again.
    wait_for(&mut h, "the reading position kept", |h| {
        in_view(h, "old 71")
    });
    assert!(!shows(&h, "old 1"));
    // And the page is there to read on.
    press(&mut h, Modifiers::NONE, Key::PageUp);
    h.run_steps(3);
    assert!(top_of(&h, "old 70") < top_of(&h, "old 71"));
    drop(h);
    server.stop();
}

#[test]
fn the_composer_grows_to_a_third_and_counts_bytes_near_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let _bob = chatter(&server, "bob", "chat", 30);
    let mut h = logged_in(&server, dir.path(), "alice");
    wait_for(&mut h, "the newest", |h| in_view(h, "chat 30"));
    let window = 720.0;

    fill(&mut h, "Message", &"x".repeat(3600));
    // The count shows before the limit is reached, and Send still works.
    assert!(shows(&h, "3,600 / 4,096 bytes"));
    fill(&mut h, "Message", &"y".repeat(600));
    assert!(shows(&h, "4,200 / 4,096 bytes: 104 too many"));
    press(&mut h, Modifiers::NONE, Key::Enter);
    assert!(!shows(&h, "sending…"));
    assert!(shows(
        &h,
        "Not sent: the message is 4200 bytes; the limit is 4096."
    ));
    press(&mut h, Modifiers::COMMAND, Key::A);
    press(&mut h, Modifiers::NONE, Key::Backspace);
    assert!(!shows_part(&h, "/ 4,096 bytes") && !shows_part(&h, "Not sent"));

    let tall: String = (1..=40).map(|i| format!("line {i}\n")).collect();
    fill(&mut h, "Message", &tall);
    h.run_steps(3);
    // The box stopped at a third of the window: the list keeps the rest.
    let newest = rect_of(&h, "chat 30");
    assert!(
        newest.max.y > window * 2.0 / 3.0 - 40.0,
        "the composer took the list: {newest:?}"
    );
    let send = rect_of(&h, "Send");
    assert!(send.max.y <= window, "Send is off screen: {send:?}");
    drop(h);
    server.stop();
}
