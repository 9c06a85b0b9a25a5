//! A server that dies without a word (`kill -9`: no close frame, no graceful
//! shutdown) is noticed by the QUIC idle timeout, and the worker reports that
//! it is reconnecting within seconds rather than showing "connected" to a dead
//! server. The real `chatroom-server` binary runs as a child process, since
//! only a process can be killed like that.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chatroom_client::chat::{ChatHandle, Command, ConnStatus, Credentials, Secret, UiEvent};
use chatroom_client::connection::{IDLE_TIMEOUT, KEEP_ALIVE};
use chatroom_testkit::{PASS, ServerProcess};
use tokio::runtime::Runtime;

use crate::collect_until;

/// How soon after the kill the worker must say it is reconnecting: the
/// slowest detection QUIC allows is the idle timeout after the first
/// keep-alive that goes unanswered (10 s), plus room for a busy test machine.
/// A bound, not a measurement.
const NOTICED_WITHIN: Duration = Duration::from_secs(12);

/// The design target this test holds the transport settings to (issue #14):
/// a dead path noticed within about 10 s.
const _: () = assert!(IDLE_TIMEOUT.as_millis() + KEEP_ALIVE.as_millis() <= 10_000);

// Ignored (run serially by scripts/test.sh, with the server already built):
// without CHATROOM_SERVER_BIN the kit runs `cargo build` for the binary inside
// the test, minutes of compiling beside the parallel suite's timing-bound
// tests; and this test's own bound is best checked on a machine not busy with
// other tests.
#[test]
#[ignore = "runs the server binary; scripts/test.sh runs it serially with CHATROOM_SERVER_BIN"]
fn a_killed_server_is_noticed_within_seconds() {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = rt.block_on(ServerProcess::start(dir.path(), "warn", &[]));

    let handle = ChatHandle::spawn(Arc::new(|| {})).unwrap();
    handle.send(Command::Register {
        credentials: Credentials {
            server: server.addr.clone(),
            trust: server.pin.clone(),
            username: "alice".into(),
            passphrase: Secret::new(PASS),
            last_count: None,
            rooms: Vec::new(),
        },
        email: "alice@example.org".into(),
    });
    let mut all = Vec::new();
    collect_until(&handle, &mut all, "the lobby", |all| {
        all.iter()
            .any(|e| matches!(e, UiEvent::Joined { room, .. } if room.name == "lobby"))
    });

    let killed = std::process::Command::new("kill")
        .args(["-KILL", &server.pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let killed_at = Instant::now();
    let mut after = Vec::new();
    let noticed = loop {
        after.extend(handle.wait(Duration::from_millis(100)));
        if let Some(reason) = after.iter().find_map(|e| match e {
            UiEvent::Status(ConnStatus::Reconnecting { reason, .. }) => Some(reason.clone()),
            _ => None,
        }) {
            break reason;
        }
        assert!(
            killed_at.elapsed() < NOTICED_WITHIN,
            "still no Reconnecting {NOTICED_WITHIN:?} after kill -9: {after:#?}"
        );
    };
    eprintln!("kill -9 noticed after {:?}: {noticed}", killed_at.elapsed());
    drop(handle);
    drop(server);
}
