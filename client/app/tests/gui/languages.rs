//! The app in Simplified Chinese: the login, registration and chat screens
//! speak it (every word from the catalogue, none missing), a server's
//! refusal is worded from its error code, the language picker switches at
//! once and is saved; and Chinese typed through an input method (IME) reaches
//! the room whole, never half-composed.

use chatroom_app::i18n::{I18n, Language};
use chatroom_common::protocol::HistoryQuery;
use egui::accesskit::Role;
use egui::{Event, ImeEvent, Key};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use crate::harness::{
    PASS, TestServer, app, click, fill, have_cjk_font, log_in, options, shows, wait_for,
    wait_for_lobby,
};

/// A message's words in Chinese, from the catalogue the app uses.
fn zh(id: &str) -> String {
    I18n::new(Language::ChineseSimplified).text(id, None)
}

/// Whether `text` has Chinese characters in it (so it is not English that
/// slipped through).
fn chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// Asserts the label for `id` is shown and is Chinese.
fn shows_zh(h: &Harness<'static, chatroom_app::ChatApp>, id: &str) {
    let label = zh(id);
    assert!(chinese(&label), "{id} is not Chinese: {label:?}");
    assert!(shows(h, &label), "{id} ({label:?}) is not shown");
}

/// No lookup so far fell back to English or to an id.
fn no_misses(h: &Harness<'static, chatroom_app::ChatApp>) {
    let misses = h.state().i18n.misses();
    assert!(misses.is_empty(), "missing translations: {misses:?}");
}

#[test]
fn login_registration_and_chat_screens_speak_chinese() {
    if !have_cjk_font() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    drop(server.session("carol", true));
    let bob = server.session("bob", true);
    server.rt.block_on(bob.create_room("books")).unwrap();
    let mut settings = server.pinned_settings("carol");
    settings.language = Some("zh-CN".into());
    let mut opts = options(dir.path());
    opts.search_cjk_font = true;
    let mut h = app(settings, opts);
    assert_eq!(h.state().i18n.language(), Language::ChineseSimplified);

    // The login screen, and a wrong passphrase worded in Chinese.
    for id in [
        "login-server",
        "login-username",
        "login-passphrase",
        "login-connect",
    ] {
        shows_zh(&h, id);
    }
    fill(&mut h, &zh("login-passphrase"), "this is not it at all");
    click(&mut h, &zh("login-connect"));
    wait_for(&mut h, "the refusal", |h| {
        shows(h, &zh("problem-wrong-passphrase"))
    });

    // Registration: its fields and their problems as typed.
    click(&mut h, &zh("login-tab-register"));
    for id in [
        "login-email",
        "login-passphrase-again",
        "login-create-account",
    ] {
        shows_zh(&h, id);
    }
    fill(&mut h, &zh("login-passphrase"), "short");
    fill(&mut h, &zh("login-passphrase-again"), "other");
    shows_zh(&h, "form-passphrases-differ");
    // A taken name, refused by the server, said by its code under the field.
    fill(&mut h, &zh("login-email"), "carol@example.org");
    h.state_mut().form.passphrase.clear();
    h.state_mut().form.passphrase2.clear();
    fill(&mut h, &zh("login-passphrase"), PASS);
    fill(&mut h, &zh("login-passphrase-again"), PASS);
    click(&mut h, &zh("login-create-account"));
    wait_for(&mut h, "the taken name", |h| {
        shows(h, &zh("error-username-taken"))
    });
    fill(&mut h, &zh("login-username"), "2");
    click(&mut h, &zh("login-create-account"));
    wait_for(&mut h, "the chat screen", |h| {
        shows(h, "# lobby") && shows(h, &zh("top-log-out"))
    });

    // The chat screen.
    for id in [
        "rooms-heading",
        "rooms-direct-heading",
        "room-join-heading",
        "composer-send",
        "top-change-picture",
        "notifications",
    ] {
        shows_zh(&h, id);
    }
    // "Online (N)" over the list, N as many as the app knows are there.
    let online = |n: usize| {
        I18n::new(Language::ChineseSimplified).text(
            "online-count",
            Some(&chatroom_app::i18n::FluentArgs::from_iter([("count", n)])),
        )
    };
    wait_for(&mut h, "the online list", |h| {
        let n = h.state().model.current().map_or(0, |r| r.online.len());
        n > 0 && shows(h, &online(n))
    });
    // Creating a room that exists: the server refuses with a code, and the
    // app words it.
    fill(&mut h, &zh("room-join-heading"), "books");
    click(&mut h, &zh("room-create"));
    let exists = zh("error-room-exists");
    wait_for(&mut h, "the refusal", |h| {
        h.query_all_by_label_contains(&exists).next().is_some()
    });
    no_misses(&h);
    drop(h);
    server.stop();
}

#[test]
fn the_language_picker_switches_at_once_and_is_saved() {
    if !have_cjk_font() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    drop(server.session("dave", true));
    let mut opts = options(dir.path());
    opts.search_cjk_font = true;
    let mut h = app(server.pinned_settings("dave"), opts);
    // Tests pin the system's language to English.
    assert_eq!(h.state().i18n.language(), Language::English);
    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    h.get_by_role_and_label(Role::ComboBox, "Language").click();
    h.run_steps(2);
    h.get_by_label(Language::ChineseSimplified.autonym())
        .click();
    h.run_steps(2);
    shows_zh(&h, "top-log-out");
    assert!(!shows(&h, "Log out"));
    assert_eq!(h.state().settings.language.as_deref(), Some("zh-CN"));
    // Back to following the system, which is English here.
    h.get_by_role_and_label(Role::ComboBox, &zh("language-label"))
        .click();
    h.run_steps(2);
    let system = I18n::new(Language::ChineseSimplified).text(
        "language-system",
        Some(&chatroom_app::i18n::FluentArgs::from_iter([(
            "language", "English",
        )])),
    );
    h.get_by_label(&system).click();
    h.run_steps(2);
    assert!(shows(&h, "Log out"));
    assert_eq!(h.state().settings.language, None);
    no_misses(&h);
    drop(h);
    server.stop();
}

#[test]
fn chinese_typed_through_an_input_method_is_sent_whole() {
    if !have_cjk_font() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let bob = server.session("bob", true);
    server.rt.block_on(bob.join("lobby")).unwrap();
    drop(server.session("erin", true));
    let mut opts = options(dir.path());
    opts.search_cjk_font = true;
    let mut h = app(server.pinned_settings("erin"), opts);
    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    wait_for(&mut h, "the focused composer", |h| {
        h.get_by_label("Message").is_focused()
    });

    // Pinyin being composed sits in the box, as egui shows it.
    #[expect(deprecated, reason = "egui no longer sends it, some systems still do")]
    h.event(Event::Ime(ImeEvent::Enabled));
    h.event(Event::Ime(ImeEvent::Preedit {
        text: "ni".into(),
        active_range_chars: Some(0..2),
    }));
    h.run_steps(2);
    assert_eq!(h.get_by_label("Message").value().as_deref(), Some("ni"));
    // The candidate window is told where the caret is: in the message box.
    let ime = h.output().platform_output.ime.expect("IME output");
    let composer = h.get_by_label("Message").rect();
    assert!(
        composer.expand(2.0).contains_rect(ime.cursor_rect),
        "caret {:?} outside the box {composer:?}",
        ime.cursor_rect
    );
    // Enter while composing sends nothing (the input method owns it).
    h.key_press(Key::Enter);
    h.run_steps(2);
    assert_eq!(h.get_by_label("Message").value().as_deref(), Some("ni"));
    assert!(!shows(&h, "sending…"));

    // The composition ends in Chinese, and Enter sends that.
    h.event(Event::Ime(ImeEvent::Commit("你好".into())));
    #[expect(deprecated, reason = "egui no longer sends it, some systems still do")]
    h.event(Event::Ime(ImeEvent::Disabled));
    h.run_steps(2);
    assert_eq!(h.get_by_label("Message").value().as_deref(), Some("你好"));
    h.key_press(Key::Enter);
    h.run_steps(2);
    assert_eq!(h.get_by_label("Message").value().as_deref(), Some(""));
    wait_for(&mut h, "the message", |h| {
        shows(h, "你好") && !shows(h, "sending…")
    });
    let query = HistoryQuery::After {
        after: 0,
        limit: 50,
    };
    let (messages, _) = server.rt.block_on(bob.history("lobby", query)).unwrap();
    let texts: Vec<_> = messages.into_iter().map(|m| m.text).collect();
    assert_eq!(texts, vec!["你好".to_owned()], "nothing half-composed");
    drop(h);
    server.stop();
}
