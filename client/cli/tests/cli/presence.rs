//! Every way a run ends closes its connection: the others see its user go
//! offline at once instead of after the QUIC idle timeout.

use std::process::Stdio;
use std::time::Duration;

use chatroom_common::protocol::Event;
use chatroom_testkit::{TestServer, in_lobby, presence};
use tokio::sync::mpsc;

use crate::{cli, run_ok};

/// Under the QUIC idle timeout (8 s, the client's, which wins over the
/// server's 30 s): an offline presence within this bound came from the close
/// frame, since without one the server waits out the idle timeout. A bound,
/// not a measurement: the close itself takes milliseconds.
const OFFLINE_BOUND: Duration = Duration::from_secs(5);

/// A server, `alice` registered through the CLI, and `bob` in the lobby
/// watching presence.
async fn setup(
    dir: &std::path::Path,
) -> (TestServer, chatroom_client::Session, mpsc::Receiver<Event>) {
    let server = TestServer::start(dir).await;
    run_ok(cli(&server).args(["register", "alice", "alice@example.org"])).await;
    let (bob, events) = in_lobby(&server.addr, &server.pin, "bob").await;
    (server, bob, events)
}

/// Fails unless `user` goes offline in the lobby within [`OFFLINE_BOUND`].
async fn assert_offline_soon(events: &mut mpsc::Receiver<Event>, user: &str, after: &str) {
    let offline = tokio::time::timeout(OFFLINE_BOUND, async {
        while let Some(event) = events.recv().await {
            if let Event::Presence {
                room,
                user: u,
                online: false,
            } = event
                && room == "lobby"
                && u.username == user
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        offline,
        Ok(true),
        "{user} still online {OFFLINE_BOUND:?} after {after}"
    );
}

#[tokio::test]
async fn a_one_shot_send_goes_offline_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _bob, mut events) = setup(dir.path()).await;
    run_ok(cli(&server).args(["--user", "alice", "send", "lobby", "hi"])).await;
    // Her coming online may never reach bob: a presence change that has not
    // gone out yet is replaced by the user's next one in the same room, and
    // a one-shot run comes and goes within milliseconds. Going is what counts.
    assert_offline_soon(&mut events, "alice", "her send exited").await;
    server.stop().await;
}

#[tokio::test]
async fn a_failed_command_closes_too() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _bob, mut events) = setup(dir.path()).await;
    let out = cli(&server)
        .args(["--user", "alice", "send", "no-such-room", "hi"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_offline_soon(&mut events, "alice", "her failed send exited").await;
    server.stop().await;
}

#[tokio::test]
async fn a_listener_stopped_by_sigterm_closes() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _bob, mut events) = setup(dir.path()).await;
    let mut listener = cli(&server)
        .args(["--user", "alice", "listen", "lobby"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Online means logged in, so the signal handlers (installed on connecting,
    // before the login) are in place.
    presence(&mut events, "lobby", "alice", true).await;
    let pid = listener.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(20), listener.wait())
        .await
        .expect("the listener exits on SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(143), "the shell's status for SIGTERM");
    assert_offline_soon(&mut events, "alice", "her listener got SIGTERM").await;
    server.stop().await;
}
