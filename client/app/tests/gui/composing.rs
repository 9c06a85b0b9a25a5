//! Wrong room, wrong author: drafts stay in the room (or direct conversation)
//! they were typed in, and the user's own pending messages always show under
//! their own name, at once, at the bottom.

use chatroom_common::protocol::HistoryQuery;
use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;

use crate::harness::{
    PASS, TestServer, app, chatter, click, fill, in_view, log_in, options, press, send, shows,
    top_of, wait_for, wait_for_lobby,
};

/// The texts in a room's stored history.
fn history(server: &TestServer, session: &chatroom_client::Session, room: &str) -> Vec<String> {
    let query = HistoryQuery::After {
        after: 0,
        limit: 50,
    };
    let (messages, _) = server.rt.block_on(session.history(room, query)).unwrap();
    messages.into_iter().map(|m| m.text).collect()
}

#[test]
fn drafts_stay_in_their_room_and_enter_never_posts_them_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let bob = chatter(&server, "bob", "hello", 1);
    server.rt.block_on(bob.create_room("books")).unwrap();
    drop(server.session("alice", true));
    let mut h = app(server.pinned_settings("alice"), options(dir.path()));
    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    // After login the keyboard is in the message box.
    wait_for(&mut h, "the focused composer", |h| {
        h.get_by_label("Message").is_focused()
    });
    fill(&mut h, "Join or create a room", "books");
    click(&mut h, "Join");
    wait_for(&mut h, "books", |h| shows(h, "# books"));
    click(&mut h, "# lobby");

    fill(&mut h, "Message", "meant for lobby");
    click(&mut h, "# books");
    // Another room: an empty box, still with the keyboard in it.
    assert_eq!(h.get_by_label("Message").value().as_deref(), Some(""));
    assert!(h.get_by_label("Message").is_focused());
    press(&mut h, Modifiers::NONE, Key::Enter);
    assert!(!shows(&h, "meant for lobby") && !shows(&h, "sending…"));
    // A direct conversation has its own draft too.
    wait_for(&mut h, "bob online", |h| {
        h.query_by_role_and_label(egui::accesskit::Role::Button, "bob")
            .is_some()
    });
    click(&mut h, "bob");
    wait_for(&mut h, "the direct room", |h| shows(h, "@ bob"));
    assert_eq!(h.get_by_label("Message").value().as_deref(), Some(""));
    fill(&mut h, "Message", "just for bob");
    // Back in the lobby, its draft is as it was left; Enter posts it there.
    click(&mut h, "# lobby");
    assert_eq!(
        h.get_by_label("Message").value().as_deref(),
        Some("meant for lobby")
    );
    assert!(h.get_by_label("Message").is_focused());
    press(&mut h, Modifiers::NONE, Key::Enter);
    wait_for(&mut h, "the lobby message", |h| {
        shows(h, "meant for lobby") && !shows(h, "sending…")
    });
    click(&mut h, "@ bob");
    assert_eq!(
        h.get_by_label("Message").value().as_deref(),
        Some("just for bob")
    );
    assert!(history(&server, &bob, "lobby").contains(&"meant for lobby".to_owned()));
    assert!(history(&server, &bob, "books").is_empty());
    drop(h);
    server.stop();
}

#[test]
fn own_pending_messages_show_under_their_own_name_at_the_bottom() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let _bob = chatter(&server, "bob", "bob says", 40);
    drop(server.session("alice", true));
    let mut h = app(server.pinned_settings("alice"), options(dir.path()));
    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    wait_for(&mut h, "bob's last message", |h| in_view(h, "bob says 40"));
    // Read further up; the newest message leaves the view.
    press(&mut h, Modifiers::NONE, Key::PageUp);
    press(&mut h, Modifiers::NONE, Key::PageUp);
    assert!(!in_view(&h, "bob says 40"));

    server.stop();
    wait_for(&mut h, "the banner", |h| {
        crate::harness::shows_part(h, "Connection lost")
    });
    send(&mut h, "first while offline");
    send(&mut h, "second while offline");
    // Shown at once, at the bottom, in a group of their own under "alice".
    assert!(in_view(&h, "first while offline") && in_view(&h, "second while offline"));
    assert!(in_view(&h, "bob says 40"));
    assert_eq!(h.get_all_by_label("sending…").count(), 2);
    let name = top_of(&h, "alice");
    assert!(top_of(&h, "bob says 40") < name);
    assert!(name < top_of(&h, "first while offline"));
    assert!(top_of(&h, "first while offline") < top_of(&h, "second while offline"));
}
