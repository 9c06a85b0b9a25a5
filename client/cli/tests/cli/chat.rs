//! Two terminals chatting: a listener prints in order what another CLI sends.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use chatroom_testkit::TestServer;

use crate::cli;

#[tokio::test]
async fn two_cli_processes_chat() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    for (user, email) in [("alice", "alice@example.org"), ("bob", "bob@example.org")] {
        let out = cli(&server)
            .args(["register", user, email])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut listener = cli(&server)
        .args(["--user", "bob", "--json", "listen", "lobby", "--count", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until bob is online in the lobby before alice talks.
    let watcher = server.user("watcher").await;
    for _ in 0..100 {
        if watcher
            .who("lobby")
            .await
            .unwrap()
            .iter()
            .any(|u| u.username == "bob")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for text in ["hello bob", "你好 👋"] {
        let out = cli(&server)
            .args(["--user", "alice", "send", "lobby", text])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let status = tokio::time::timeout(Duration::from_secs(30), listener.wait())
        .await
        .expect("listener exits after two messages")
        .unwrap();
    let mut stdout = String::new();
    listener
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .await
        .unwrap();
    assert!(status.success());
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["text"], "hello bob");
    assert_eq!(lines[1]["text"], "你好 👋");
    assert_eq!(lines[1]["sender"], "alice");

    // Bad input: exit code 2 with a clear message.
    let out = cli(&server)
        .args(["register", "x", "not-an-email"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!out.stderr.is_empty());
    server.stop().await;
}
