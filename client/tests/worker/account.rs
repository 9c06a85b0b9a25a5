//! The worker's account features against the real server: the e-mail
//! verification code, "slow down" with automatic retries, public rooms joined
//! on another device, and the warning when one-time passwords were skipped.

use std::sync::Arc;
use std::time::Duration;

use chatroom_common::protocol::RoomKind;
use chatroom_server::{Config, MailConfig};
use chatroom_testkit::mail::wait_for_code;
use tokio::runtime::Runtime;

use crate::{
    ChatHandle, Command, UiEvent, any, collect_until, credentials, session, start, start_config,
    stop,
};
use chatroom_client::chat::LoginProblem;
use chatroom_client::session::new_key;

#[test]
fn registration_waits_for_the_mailed_code_then_logs_in() {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path());
    config.mail = MailConfig {
        require_verification: true,
        resend_interval: Duration::from_millis(200),
        ..MailConfig::default()
    };
    let server = start_config(&rt, config);
    let outbox = dir.path().join("outbox");
    let handle = ChatHandle::spawn(Arc::new(|| {})).unwrap();
    handle.send(Command::Register {
        credentials: credentials(&server, "dora"),
        email: "dora@example.org".into(),
    });
    let mut all = Vec::new();
    collect_until(&handle, &mut all, "the request for a code", |all| {
        any(all, |e| matches!(e, UiEvent::LoginFailed(_)))
    });
    assert!(
        any(&all, |e| matches!(
            e,
            UiEvent::LoginFailed(LoginProblem::EmailNotVerified)
        )),
        "{all:#?}"
    );
    let first = wait_for_code(&outbox, 1);

    // A wrong code: the server's reason, not "wrong passphrase"; still waiting.
    let wrong = if first == "000000" {
        "111111"
    } else {
        "000000"
    };
    all.clear();
    handle.send(Command::VerifyEmail { code: wrong.into() });
    collect_until(&handle, &mut all, "the refusal", |all| {
        any(all, |e| matches!(e, UiEvent::LoginFailed(_)))
    });
    let refusal = all.iter().find_map(|e| match e {
        UiEvent::LoginFailed(LoginProblem::Refused { message, .. }) => Some(message.clone()),
        _ => None,
    });
    assert!(
        refusal.as_deref().is_some_and(|t| t.contains("code")),
        "{all:#?}"
    );

    // A new code voids the first; the new one logs in, passphrase not typed again.
    std::thread::sleep(Duration::from_millis(300));
    all.clear();
    handle.send(Command::ResendVerification);
    collect_until(&handle, &mut all, "the new code", |all| {
        any(all, |e| matches!(e, UiEvent::VerificationSent))
    });
    let second = wait_for_code(&outbox, 2);
    handle.send(Command::VerifyEmail { code: second });
    collect_until(&handle, &mut all, "the login", |all| {
        any(all, |e| matches!(e, UiEvent::LoggedIn { .. }))
    });
    drop(handle);
    stop(&rt, server);
}

#[test]
fn over_the_send_rate_the_app_is_told_to_slow_down_and_retries_by_itself() {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The default flood control (a small burst, a few a second).
    let config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path());
    let burst = config.limits.send_burst;
    let server = start_config(&rt, config);
    drop(session(&rt, &server, "erin", true));
    let handle = ChatHandle::spawn(Arc::new(|| {})).unwrap();
    handle.send(Command::Login(credentials(&server, "erin")));
    let mut all = Vec::new();
    collect_until(&handle, &mut all, "the lobby", |all| {
        any(all, |e| matches!(e, UiEvent::Joined { .. }))
    });
    let total = usize::try_from(burst).unwrap() + 5;
    let keys: Vec<_> = (0..total).map(|_| new_key()).collect();
    for (i, key) in keys.iter().enumerate() {
        handle.send(Command::Send {
            room: "lobby".into(),
            text: format!("quick {i}"),
            key: *key,
        });
    }
    collect_until(&handle, &mut all, "every send acknowledged", |all| {
        all.iter()
            .filter(|e| matches!(e, UiEvent::Sent { .. }))
            .count()
            == total
    });
    let slow = all.iter().find_map(|e| match e {
        UiEvent::SlowDown { retry_in } => Some(*retry_in),
        _ => None,
    });
    assert!(
        slow.is_some_and(|d| d > Duration::ZERO && d < Duration::from_secs(10)),
        "{slow:?}"
    );
    assert!(!any(&all, |e| matches!(e, UiEvent::SendFailed { .. })));
    // In the order sent, each once.
    let sent: Vec<_> = all
        .iter()
        .filter_map(|e| match e {
            UiEvent::Sent { key, .. } => Some(*key),
            _ => None,
        })
        .collect();
    assert_eq!(sent, keys);
    drop(handle);
    stop(&rt, server);
}

#[test]
fn a_room_joined_on_another_device_appears_now_and_after_the_next_login() {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&rt, dir.path(), "127.0.0.1:0".parse().unwrap());
    let phone = session(&rt, &server, "fay", true);
    let handle = ChatHandle::spawn(Arc::new(|| {})).unwrap();
    handle.send(Command::Login(credentials(&server, "fay")));
    let mut all = Vec::new();
    collect_until(&handle, &mut all, "the lobby", |all| {
        any(all, |e| matches!(e, UiEvent::Joined { .. }))
    });
    let joined = |all: &[UiEvent], name: &str| {
        any(
            all,
            |e| matches!(e, UiEvent::Joined { room, .. } if room.name == name && room.kind == RoomKind::Public),
        )
    };
    rt.block_on(phone.create_room("garden")).unwrap();
    rt.block_on(phone.join("garden")).unwrap();
    collect_until(&handle, &mut all, "garden, joined on the phone", |all| {
        joined(all, "garden")
    });
    drop(handle);

    // A fresh start that remembers no rooms still rejoins it.
    let handle = ChatHandle::spawn(Arc::new(|| {})).unwrap();
    handle.send(Command::Login(credentials(&server, "fay")));
    let mut all = Vec::new();
    collect_until(&handle, &mut all, "garden after a fresh login", |all| {
        joined(all, "garden")
    });
    drop(handle);
    drop(phone);
    stop(&rt, server);
}

#[test]
fn one_time_passwords_used_elsewhere_are_pointed_out() {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&rt, dir.path(), "127.0.0.1:0".parse().unwrap());
    drop(session(&rt, &server, "gus", true));
    let logged_in = |handle: &ChatHandle, last: Option<u32>| {
        handle.send(Command::Login(chatroom_client::chat::Credentials {
            last_count: last,
            ..credentials(&server, "gus")
        }));
        let mut all = Vec::new();
        collect_until(handle, &mut all, "the login", |all| {
            any(all, |e| matches!(e, UiEvent::LoggedIn { .. }))
        });
        all.into_iter()
            .find_map(|e| match e {
                UiEvent::LoggedIn {
                    last_count,
                    warning,
                    ..
                } => Some((last_count, warning)),
                _ => None,
            })
            .unwrap()
    };
    let handle = ChatHandle::spawn(Arc::new(|| {})).unwrap();
    let (count, warning) = logged_in(&handle, None);
    assert_eq!(warning, None);
    // The next login from here, with nothing in between: no warning.
    let (count, warning) = logged_in(&handle, Some(count));
    assert_eq!(warning, None);
    // Two logins from elsewhere, then this computer again.
    drop(session(&rt, &server, "gus", false));
    drop(session(&rt, &server, "gus", false));
    let (_, warning) = logged_in(&handle, Some(count));
    let warning = warning.expect("a warning");
    assert!(
        warning.starts_with("2 one-time passwords were used"),
        "{warning}"
    );
    drop(handle);
    stop(&rt, server);
}
