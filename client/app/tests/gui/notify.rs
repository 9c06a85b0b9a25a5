//! Desktop notifications against a real notification service on a private
//! session bus: a direct message while the window is in the background
//! notifies once, more replace it in place, a click opens the conversation,
//! coming back closes it, the unread total is in the window title, a muted
//! room notifies nothing, and neither does anything with notifications off.

use egui::ViewportCommand;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use chatroom_app::ChatApp;

use crate::harness::{TestServer, app, click, options, register, shows, wait_for, wait_for_lobby};
use crate::notification_service::{NotificationService, on_private_bus};

/// This test's name as the test binary knows it ("notify::…").
fn test_name(function: &str) -> String {
    let module = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, rest)| rest);
    format!("{module}::{function}")
}

/// Puts the window in the background (or back in front) and draws a frame.
fn set_focused(h: &mut Harness<'static, ChatApp>, focused: bool) {
    h.input_mut().focused = focused;
    h.step();
}

/// Whether the last frame asked the window manager to raise the window.
fn asked_for_focus(h: &Harness<'static, ChatApp>) -> bool {
    h.output()
        .viewport_output
        .values()
        .any(|v| v.commands.contains(&ViewportCommand::Focus))
}

#[test]
fn a_direct_message_in_the_background_notifies_once_and_a_click_opens_it() {
    if !on_private_bus(&test_name(
        "a_direct_message_in_the_background_notifies_once_and_a_click_opens_it",
    )) {
        return;
    }
    let service = NotificationService::start();
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let bob = server.session("bob", true);
    let mut h = app(server.pinned_settings("alice"), options(dir.path()));
    register(&mut h, "alice@example.org");
    wait_for_lobby(&mut h);
    assert_eq!(h.state().window_title, "Chatroom");

    set_focused(&mut h, false);
    let dm = server.rt.block_on(async {
        let dm = bob.open_direct("alice").await.unwrap();
        bob.send(&dm.name, "are you free at 3?").await.unwrap();
        dm
    });
    wait_for(&mut h, "the notification", |_| {
        !service.notified().is_empty()
    });
    let first = service.notified()[0].clone();
    assert_eq!(first.app, "Chatroom");
    assert_eq!(first.summary, "bob");
    assert_eq!(first.body, "are you free at 3?");
    assert_eq!(first.replaces, 0);
    assert!(first.actions.contains(&"default".to_owned()), "{first:?}");
    // The conversation is not shown: its message counts in the title.
    wait_for(&mut h, "the title", |h| {
        h.state().window_title == "(1) Chatroom"
    });

    // The next one replaces it in place (same id) and counts: exactly one
    // call came before it, so the first message notified exactly once.
    server.rt.block_on(bob.send(&dm.name, "or at 4?")).unwrap();
    wait_for(&mut h, "the update", |_| service.notified().len() >= 2);
    let notified = service.notified();
    assert_eq!(notified.len(), 2, "{notified:?}");
    assert_eq!(notified[1].replaces, first.id);
    assert_eq!(notified[1].summary, "bob (2 new)");
    assert_eq!(notified[1].body, "or at 4?");
    wait_for(&mut h, "the title", |h| {
        h.state().window_title == "(2) Chatroom"
    });

    // A click brings the window forward on the conversation.
    service.click(first.id);
    wait_for(&mut h, "the conversation shown", |h| {
        h.state().model.selected.as_deref() == Some(dm.name.as_str()) && asked_for_focus(h)
    });
    wait_for(&mut h, "the title", |h| {
        h.state().window_title == "Chatroom"
    });

    // Back in front: the notification is closed.
    set_focused(&mut h, true);
    wait_for(&mut h, "the notification closed", |_| {
        service.closed().contains(&first.id)
    });
    drop(h);
    server.stop();
}

#[test]
fn a_muted_room_notifies_nothing() {
    if !on_private_bus(&test_name("a_muted_room_notifies_nothing")) {
        return;
    }
    let service = NotificationService::start();
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let carol = server.session("carol", true);
    server.rt.block_on(carol.join("lobby")).unwrap();
    let bob = server.session("bob", true);
    let mut h = app(server.pinned_settings("alice"), options(dir.path()));
    register(&mut h, "alice@example.org");
    wait_for_lobby(&mut h);

    // Unmuted, a mention in the room shown notifies while in the background.
    set_focused(&mut h, false);
    server
        .rt
        .block_on(carol.send("lobby", "@alice first"))
        .unwrap();
    wait_for(&mut h, "the mention's notification", |_| {
        !service.notified().is_empty()
    });
    assert_eq!(service.notified()[0].summary, "carol in #lobby");
    assert_eq!(service.notified()[0].body, "@alice first");

    // Muted from the room's menu in the list (and remembered).
    set_focused(&mut h, true);
    h.get_by_role_and_label(Role::Button, "# lobby")
        .click_secondary();
    h.run_steps(2);
    click(&mut h, "Mute #lobby");
    assert!(h.state().is_muted("lobby"));
    assert!(shows(&h, "# lobby (muted)"));

    set_focused(&mut h, false);
    server
        .rt
        .block_on(carol.send("lobby", "@alice second"))
        .unwrap();
    wait_for(&mut h, "the second mention shown", |h| {
        shows(h, "@alice second")
    });
    // Then a direct message, which does notify: by the time it has, the
    // muted room's mention (handled before it) would have too.
    server.rt.block_on(async {
        let dm = bob.open_direct("alice").await.unwrap();
        bob.send(&dm.name, "ping").await.unwrap();
    });
    wait_for(&mut h, "the direct message's notification", |_| {
        service.notified().iter().any(|n| n.body == "ping")
    });
    let bodies: Vec<String> = service.notified().into_iter().map(|n| n.body).collect();
    assert_eq!(bodies, ["@alice first", "ping"]);

    // Turned off altogether (top bar): a direct message arrives, unnoticed
    // by the desktop; turned on again, the next one notifies.
    let dm = server.rt.block_on(bob.open_direct("alice")).unwrap();
    h.get_by_label("Notifications").click();
    h.run_steps(2);
    assert!(!h.state().settings.notifications);
    server.rt.block_on(bob.send(&dm.name, "pong")).unwrap();
    wait_for(&mut h, "the message counted", |h| {
        shows(h, "@ bob (2 unread)")
    });
    h.get_by_label("Notifications").click();
    h.run_steps(2);
    assert!(h.state().settings.notifications);
    server.rt.block_on(bob.send(&dm.name, "pang")).unwrap();
    wait_for(&mut h, "the next notification", |_| {
        service.notified().iter().any(|n| n.body == "pang")
    });
    let bodies: Vec<String> = service.notified().into_iter().map(|n| n.body).collect();
    assert_eq!(bodies, ["@alice first", "ping", "pang"]);
    drop(h);
    server.stop();
}
