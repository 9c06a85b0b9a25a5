//! Mentions: typing `@` offers the room's members (online first, then recent
//! senders), the keyboard picks one, and a message that mentions the user is
//! marked in the list and counted apart in the room list.

use egui::accesskit::Role;
use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use chatroom_app::ChatApp;

use crate::harness::{
    TestServer, app, click, fill, options, press, register, send, shows, shows_part, wait_for,
    wait_for_lobby,
};

/// What the message box holds.
fn draft(h: &Harness<'static, ChatApp>) -> String {
    h.get_by_label("Message").value().unwrap_or_default()
}

/// The names the mention list offers, and the one selected.
fn offered(h: &Harness<'static, ChatApp>) -> Option<(Vec<String>, usize)> {
    h.state()
        .mentions
        .offered()
        .map(|(names, selected)| (names.to_vec(), selected))
}

#[test]
fn typing_at_offers_the_members_and_the_keyboard_puts_one_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    // Carol wrote earlier and is gone: a recent sender, not online.
    let carol = server.session("carol", true);
    server.rt.block_on(async {
        carol.join("lobby").await.unwrap();
        carol.send("lobby", "carol was here").await.unwrap();
        carol.close().await;
    });
    drop(carol);
    let bobby = server.session("bobby", true);
    let bob = server.session("bob", true);
    server.rt.block_on(async {
        bobby.join("lobby").await.unwrap();
        bob.join("lobby").await.unwrap();
    });
    let mut h = app(server.pinned_settings("alice"), options(dir.path()));
    register(&mut h, "alice@example.org");
    wait_for_lobby(&mut h);
    wait_for(&mut h, "bob and bobby online, carol's message", |h| {
        h.query_by_role_and_label(Role::Button, "bob").is_some()
            && h.query_by_role_and_label(Role::Button, "bobby").is_some()
            && shows(h, "carol was here")
    });

    // "@bo" offers the two whose names start so; ↓ and Enter take the second.
    fill(&mut h, "Message", "hi @bo");
    h.step();
    assert!(shows(&h, "Mention bob") && shows(&h, "Mention bobby"));
    assert!(!shows(&h, "Mention carol"));
    assert_eq!(offered(&h), Some((vec!["bob".into(), "bobby".into()], 0)));
    press(&mut h, Modifiers::NONE, Key::ArrowDown);
    assert_eq!(offered(&h).map(|(_, s)| s), Some(1));
    press(&mut h, Modifiers::NONE, Key::Enter);
    assert_eq!(draft(&h), "hi @bobby ");
    // Enter took the name: nothing was sent, and the list is closed.
    assert!(!shows_part(&h, "sending"));
    assert!(!shows(&h, "Mention bob"));
    assert!(h.get_by_label("Message").is_focused());

    // A recent sender who is away is offered too; Tab takes it.
    h.get_by_label("Message").type_text("and @CA");
    h.step();
    h.step();
    assert_eq!(offered(&h), Some((vec!["carol".into()], 0)));
    press(&mut h, Modifiers::NONE, Key::Tab);
    assert_eq!(draft(&h), "hi @bobby and @carol ");
    assert!(h.get_by_label("Message").is_focused());

    // Esc closes the list and leaves the text and the keyboard where they
    // were; Enter sends again.
    h.get_by_label("Message").type_text("@b");
    h.step();
    h.step();
    assert!(shows(&h, "Mention bob"));
    press(&mut h, Modifiers::NONE, Key::Escape);
    assert!(!shows(&h, "Mention bob"));
    assert!(h.get_by_label("Message").is_focused());
    assert_eq!(draft(&h), "hi @bobby and @carol @b");
    h.get_by_label("Message").type_text("ob");
    h.step();
    h.step();
    assert_eq!(offered(&h), None, "closed until another @ is typed");
    press(&mut h, Modifiers::NONE, Key::Enter);
    assert_eq!(draft(&h), "");
    wait_for(&mut h, "the message sent", |h| {
        shows(h, "hi @bobby and @carol @bob") && !shows_part(h, "sending")
    });

    // A click on a name works too, and the keyboard comes back to the box.
    fill(&mut h, "Message", "@");
    h.step();
    assert_eq!(
        offered(&h).map(|(names, _)| names),
        Some(vec!["bob".into(), "bobby".into(), "carol".into()]),
        "online members first, never the user"
    );
    h.get_by_label("Mention carol").click();
    h.run_steps(2);
    assert_eq!(draft(&h), "@carol ");
    h.step();
    assert!(h.get_by_label("Message").is_focused());
    drop(h);
    server.stop();
}

#[test]
fn a_message_that_mentions_me_is_marked_and_counted_apart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let bob = server.session("bob", true);
    server.rt.block_on(async {
        bob.join("lobby").await.unwrap();
        bob.create_room("garden").await.unwrap();
    });
    let mut h = app(server.pinned_settings("alice"), options(dir.path()));
    register(&mut h, "alice@example.org");
    wait_for_lobby(&mut h);
    wait_for(&mut h, "the garden on offer", |h| shows(h, "Join # garden"));
    click(&mut h, "Join # garden");
    wait_for(&mut h, "the garden", |h| shows(h, "# garden"));
    click(&mut h, "# lobby");
    wait_for(&mut h, "the lobby shown", |h| {
        h.state().model.selected.as_deref() == Some("lobby")
    });

    // Three messages while the lobby is shown; one mentions alice (in
    // capitals), one names a longer name that only starts like hers.
    server.rt.block_on(async {
        for text in ["morning all", "@ALICE the seeds arrived", "@alicex not you"] {
            bob.send("garden", text).await.unwrap();
        }
    });
    wait_for(&mut h, "the counts", |h| {
        shows(h, "# garden (3 unread, 1 mention)")
    });
    click(&mut h, "# garden (3 unread, 1 mention)");
    wait_for(&mut h, "the garden's messages", |h| {
        shows(h, "@alicex not you") && shows(h, "# garden")
    });
    // One mark, on the row of the message that mentions her; its words
    // come from the app's catalogue.
    let mark = h.state().i18n.text("list-mentions-you", None);
    let marks: Vec<egui::Rect> = h.query_all_by_label(&mark).map(|n| n.rect()).collect();
    assert_eq!(marks.len(), 1, "{marks:?}");
    let row = h.get_by_label("@ALICE the seeds arrived").rect();
    assert!(
        marks[0].min.y < row.max.y && marks[0].max.y > row.min.y,
        "the mark {:?} is beside {row:?}",
        marks[0]
    );

    // In the room shown, a mention is marked as it arrives and counts nowhere.
    server
        .rt
        .block_on(bob.send("garden", "lunch, @alice?"))
        .unwrap();
    wait_for(&mut h, "the second mark", |h| {
        h.query_all_by_label(&mark).count() == 2
    });
    assert!(shows(&h, "# garden"));
    // Her own message naming herself is not marked.
    send(&mut h, "note to self @alice");
    wait_for(&mut h, "her message", |h| {
        shows(h, "note to self @alice") && !shows_part(h, "sending")
    });
    assert_eq!(h.query_all_by_label(&mark).count(), 2);
    drop(h);
    server.stop();
}
