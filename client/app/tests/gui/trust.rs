//! Certificates: the first-use prompt with the fingerprint, and a changed
//! certificate on a pinned address refused with a warning.

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

use crate::harness::{
    PASS, TestServer, app, click, fill, log_in, options, shows, shows_part, wait_for,
    wait_for_lobby,
};

#[test]
fn first_use_shows_the_fingerprint_then_a_changed_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("a"));
    let addr = server.addr;
    drop(server.session("frank", true));

    // No pin yet: the app shows the fingerprint and waits for the user.
    let mut h = app(Default::default(), options(dir.path()));
    fill(&mut h, "Server address", &addr.to_string());
    fill(&mut h, "Username", "frank");
    log_in(&mut h, PASS);
    wait_for(&mut h, "the trust prompt", |h| {
        shows(h, "Trust and connect")
    });
    assert!(shows_part(&h, &format!("First connection to {addr}")));
    // As the server prints it, so the two can be compared character by character.
    assert!(shows(&h, &server.fingerprint));
    assert_eq!(server.fingerprint.len(), 64);
    assert!(!shows(&h, "Log out"));
    // Waiting for the user: the answer has the keyboard, and nothing spins.
    h.step();
    assert!(
        h.get_by_role_and_label(Role::Button, "Trust and connect")
            .is_focused()
    );
    assert!(h.query_by_role(Role::ProgressIndicator).is_none());
    click(&mut h, "Trust and connect");
    wait_for_lobby(&mut h);
    let settings = h.state().settings.clone();
    assert_eq!(
        settings.pin(&addr.to_string()),
        Some(server.fingerprint.as_str())
    );
    drop(h);
    server.stop();

    // Another server (another CA) on the same address.
    let impostor = TestServer::start_at(&dir.path().join("b"), addr);
    assert_ne!(
        impostor.fingerprint,
        server_fingerprint(&settings, &addr.to_string())
    );
    drop(impostor.session("frank", true));
    let mut h = app(settings, options(dir.path()));
    log_in(&mut h, PASS);
    wait_for(&mut h, "the warning", |h| {
        shows_part(h, "certificate changed")
    });
    assert!(shows_part(&h, "it may not be the server you trusted"));
    assert!(shows(&h, &impostor.fingerprint));
    assert!(!shows(&h, "Log out"));
    assert!(h.state().model.me.is_none());
    // Forgetting the pin asks again, with the new fingerprint.
    click(&mut h, "Forget the trusted certificate");
    log_in(&mut h, PASS);
    wait_for(&mut h, "a new prompt", |h| shows(h, "Trust and connect"));
    assert!(shows(&h, &impostor.fingerprint));
    drop(h);
    impostor.stop();
}

fn server_fingerprint(settings: &chatroom_app::Settings, server: &str) -> String {
    settings.pin(server).unwrap_or_default().to_owned()
}
