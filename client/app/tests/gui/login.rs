//! Registering, logging in with a wrong passphrase, and hosting a server here.

use crate::harness::{
    PASS, TestServer, app, click, fill, log_in, options, register, shows, shows_part, wait_for,
    wait_for_lobby,
};

#[test]
fn register_shows_the_strength_hint_and_lands_in_the_lobby() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let mut h = app(server.pinned_settings("alice"), options(dir.path()));
    click(&mut h, "Register");
    assert!(shows_part(&h, "never leaves this computer"));
    fill(&mut h, "Passphrase", "short");
    assert!(shows_part(&h, "5 characters: at least 10 needed"));
    h.state_mut().form.passphrase.clear();
    fill(&mut h, "Passphrase", "a much longer passphrase");
    assert!(shows_part(&h, "24 characters: strong"));
    // A mismatch is caught before anything is sent.
    fill(&mut h, "E-mail", "alice@example.org");
    fill(&mut h, "Passphrase again", "something else entirely");
    // Said as it is typed, before anything is sent.
    assert!(shows(&h, "The two passphrases differ."));
    click(&mut h, "Create the account");
    assert!(shows(&h, "The two passphrases differ."));
    assert!(!shows(&h, "Log out"));
    h.state_mut().form.passphrase.clear();
    h.state_mut().form.passphrase2.clear();
    fill(&mut h, "Passphrase", PASS);
    fill(&mut h, "Passphrase again", PASS);
    click(&mut h, "Create the account");
    wait_for_lobby(&mut h);
    // Plenty left: the count is not shown (it appears when few remain).
    assert!(!shows_part(&h, "one-time passwords left"));
    // The passphrase is gone from the form, and the settings never had it.
    assert!(h.state().form.passphrase.is_empty());
    let saved = format!("{:?}", h.state().settings);
    assert!(!saved.contains(PASS));
    assert!(h.state().settings.last_counts.values().all(|&c| c < 1000));
    drop(h);
    server.stop();
}

#[test]
fn a_wrong_passphrase_is_shown_inline_and_nothing_else_happens() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    drop(server.session("carol", true));
    let mut h = app(server.pinned_settings("carol"), options(dir.path()));
    log_in(&mut h, "this is not it at all");
    wait_for(&mut h, "the error", |h| {
        shows(h, "Wrong username or passphrase.")
    });
    assert!(!shows(&h, "Log out"));
    // The right one still works afterwards.
    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    drop(h);
    server.stop();
}

#[test]
fn an_unreachable_server_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: bind a UDP socket, note the port, close it.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut settings = chatroom_app::Settings {
        server: format!("127.0.0.1:{port}"),
        username: "dave".into(),
        ..Default::default()
    };
    settings.set_pin(&settings.server.clone(), &"ab".repeat(32));
    let mut h = app(settings, options(dir.path()));
    log_in(&mut h, PASS);
    wait_for(&mut h, "the error", |h| {
        shows_part(h, "Cannot reach the server at 127.0.0.1")
    });
}

#[test]
fn host_here_lets_a_newcomer_register_with_no_set_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = app(Default::default(), options(dir.path()));
    click(&mut h, "Host a server on this computer");
    wait_for(&mut h, "the hosted server", |h| {
        shows_part(h, "Hosting a server on port")
    });
    let info = h.state().hosting.clone().unwrap();
    // Its fingerprint is shown for others and pinned for this app.
    assert!(shows(&h, &info.fingerprint));
    assert_eq!(h.state().settings.server, info.local_address);
    assert_eq!(
        h.state().settings.pin(&info.local_address),
        Some(info.fingerprint.as_str())
    );
    fill(&mut h, "Username", "newcomer");
    register(&mut h, "new@example.org");
    // Pinned already: no trust prompt, straight into the lobby.
    wait_for_lobby(&mut h);
    assert!(!shows(&h, "Trust and connect"));
}

#[test]
fn a_server_that_wants_the_mailed_code_gets_it_on_the_login_screen() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let mut config = chatroom_server::Config::new("127.0.0.1:0".parse().unwrap(), &data);
    config.mail.require_verification = true;
    let server = TestServer::start_with(config);
    let mut h = app(server.pinned_settings("iris"), options(dir.path()));
    register(&mut h, "iris@example.org");
    wait_for(&mut h, "the code field", |h| shows(h, "Verification code"));
    assert!(shows_part(&h, "enter the 6-digit code"));
    // Not six digits: caught before anything is sent.
    fill(&mut h, "Verification code", "12a");
    click(&mut h, "Confirm the code");
    assert!(shows(&h, "The code is the 6 digits from the mail."));
    h.state_mut().form.code.clear();
    let code = chatroom_testkit::mail::wait_for_code(&data.join("outbox"), 1);
    fill(&mut h, "Verification code", &code);
    click(&mut h, "Confirm the code");
    wait_for_lobby(&mut h);
    assert!(!shows(&h, "Verification code"));
    drop(h);
    server.stop();
}
