//! Chatting through the UI: sending, receiving another client's messages,
//! direct messages from the user list, and surviving a server restart.

use std::time::Duration;

use chatroom_common::protocol::{Event, HistoryQuery};
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

use crate::harness::{
    PASS, TestServer, app, chatter, click, in_view, log_in, options, register, send, shows,
    shows_part, top_of, wait_for, wait_for_lobby,
};

#[test]
fn messages_flow_both_ways_and_direct_messages_start_from_the_user_list() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let mut bob = server.session("bob", true);
    let mut bob_events = bob.take_events().unwrap();
    server.rt.block_on(bob.join("lobby")).unwrap();

    let mut h = app(server.pinned_settings("alice"), options(dir.path()));
    register(&mut h, "alice@example.org");
    wait_for_lobby(&mut h);

    send(&mut h, "hello from the app");
    wait_for(&mut h, "the acknowledged message", |h| {
        shows(h, "hello from the app") && !shows_part(h, "sending")
    });
    // Stored once on the server.
    let (history, _) = server
        .rt
        .block_on(bob.history(
            "lobby",
            HistoryQuery::After {
                after: 0,
                limit: 50,
            },
        ))
        .unwrap();
    assert_eq!(
        history
            .iter()
            .filter(|m| m.text == "hello from the app")
            .count(),
        1
    );

    server
        .rt
        .block_on(bob.send("lobby", "hi alice, bob here"))
        .unwrap();
    wait_for(&mut h, "bob's message", |h| shows(h, "hi alice, bob here"));
    // Both avatars beside the messages are the pictures the server assigned.
    let bob_avatar = bob
        .user()
        .and_then(|u| u.avatar)
        .expect("bob has an avatar");
    wait_for(&mut h, "the avatar pictures", |h| {
        let app = h.state();
        let alice_avatar = app.model.me.as_ref().and_then(|me| me.avatar);
        app.shows_avatar_picture(&bob_avatar)
            && alice_avatar.is_some_and(|a| app.shows_avatar_picture(&a))
    });
    assert!(
        dir.path()
            .join("avatars")
            .join(format!("{bob_avatar}.png"))
            .is_file()
    );
    assert!(top_of(&h, "hello from the app") < top_of(&h, "hi alice, bob here"));
    // Bob is in the online list; clicking his name opens a direct conversation.
    wait_for(&mut h, "bob online", |h| {
        h.query_by_role_and_label(Role::Button, "bob").is_some()
    });
    click(&mut h, "bob");
    wait_for(&mut h, "the direct room", |h| shows(h, "@ bob"));
    send(&mut h, "just between us");
    wait_for(&mut h, "the direct message", |h| {
        shows(h, "just between us") && !shows_part(h, "sending")
    });
    let dm = server.rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                match bob_events.recv().await {
                    Some(Event::Message(m)) if m.text == "just between us" => return m,
                    Some(_) => {}
                    None => panic!("bob's event stream ended"),
                }
            }
        })
        .await
        .expect("bob gets the direct message")
    });
    assert!(dm.room.starts_with("dm:"));
    // A message in the lobby while the direct room is shown counts as unread.
    server
        .rt
        .block_on(bob.send("lobby", "are you there?"))
        .unwrap();
    wait_for(&mut h, "the unread count", |h| {
        shows(h, "# lobby (1 unread)")
    });
    click(&mut h, "# lobby (1 unread)");
    wait_for(&mut h, "the lobby again", |h| {
        shows(h, "are you there?") && shows(h, "# lobby")
    });
    drop(h);
    server.stop();
}

#[test]
fn a_server_restart_shows_the_banner_then_the_missed_messages_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    let server = TestServer::start(&server_dir);
    let addr = server.addr;
    // Enough to scroll: the list has to keep following, banner or not.
    drop(chatter(&server, "bob", "filler", 40));

    let mut h = app(server.pinned_settings("alice"), options(dir.path()));
    register(&mut h, "alice@example.org");
    wait_for_lobby(&mut h);
    send(&mut h, "before the restart");
    wait_for(&mut h, "the first message", |h| {
        shows(h, "before the restart") && !shows_part(h, "sending")
    });
    // Let the measured row heights settle before taking the position.
    h.run_steps(5);
    let before = top_of(&h, "before the restart");

    server.stop();
    wait_for(&mut h, "the banner", |h| shows_part(h, "Connection lost"));
    h.run_steps(5);
    // The status sits in the title row: nothing moved under it.
    assert_eq!(top_of(&h, "before the restart"), before);
    // It counts down to the next attempt.
    assert!(shows_part(&h, "Reconnecting in") || shows_part(&h, "Reconnecting now"));
    assert!(shows_part(&h, "(attempt "));
    // Typed while offline: shown as pending, sent once after the reconnect.
    send(&mut h, "typed while offline");
    assert!(shows(&h, "sending…"));

    // Same port, same data: the app's next attempt reaches it. Bob talks first.
    let server = TestServer::start_at(&server_dir, addr);
    let bob = server.session("bob", false);
    for i in 1..=3 {
        server
            .rt
            .block_on(bob.send("lobby", &format!("missed {i}")))
            .unwrap();
    }
    wait_for(&mut h, "the missed messages", |h| {
        (1..=3).all(|i| shows(h, &format!("missed {i}")))
            && !shows_part(h, "Connection lost")
            && !shows_part(h, "sending")
    });
    // Still following: the newest messages are in view, not below it.
    wait_for(&mut h, "the newest in view", |h| {
        in_view(h, "missed 3") && in_view(h, "typed while offline")
    });
    let tops: Vec<f32> = ["before the restart", "missed 1", "missed 2", "missed 3"]
        .iter()
        .map(|t| top_of(&h, t))
        .collect();
    assert!(
        tops.windows(2).all(|w| w[0] < w[1]),
        "out of order: {tops:?}"
    );
    // Nothing was posted twice, and the offline message arrived exactly once.
    let (history, _) = server
        .rt
        .block_on(bob.history(
            "lobby",
            HistoryQuery::After {
                after: 40,
                limit: 50,
            },
        ))
        .unwrap();
    let texts: Vec<&str> = history.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts
            .iter()
            .filter(|t| **t == "typed while offline")
            .count(),
        1
    );
    assert_eq!(texts.len(), 5, "{texts:?}");
    assert!(shows(&h, "typed while offline"));
    drop(h);
    server.stop();
}

#[test]
fn logging_out_returns_to_the_form_and_logging_in_again_works() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    drop(server.session("erin", true));
    let mut h = app(server.pinned_settings("erin"), options(dir.path()));
    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    let first = h
        .state()
        .settings
        .last_counts
        .values()
        .copied()
        .next()
        .unwrap();
    click(&mut h, "Log out");
    wait_for(&mut h, "the form", |h| shows(h, "Connect and log in"));
    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    // The remembered count went down: the next challenge must be below it.
    let second = h
        .state()
        .settings
        .last_counts
        .values()
        .copied()
        .next()
        .unwrap();
    assert!(second < first, "{second} < {first}");
    drop(h);
    server.stop();
}
