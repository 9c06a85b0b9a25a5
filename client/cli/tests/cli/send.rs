//! `send` under the server's default flood control (bursts of 10, then 5 a
//! second per user): a burst is waited out and every message stored once;
//! with `--no-retry` the first refusal ends the run with a clear message.

use std::collections::BTreeMap;
use std::process::{Output, Stdio};

use chatroom_common::protocol::HistoryQuery;
use chatroom_server::Limits;
use chatroom_testkit::{PASS, TestServer};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::{cli, run_ok};

/// More than the default burst of 10, so the flood control must bite.
const BURST: usize = 25;

/// Runs `--user alice --json send lobby --stdin [extra]` with `lines` piped in.
async fn send_lines(server: &TestServer, lines: &[String], extra: &[&str]) -> Output {
    let mut cmd = cli(server);
    cmd.args(["--user", "alice", "--json", "send", "lobby", "--stdin"])
        .args(extra);
    pipe(&mut cmd, &format!("{}\n", lines.join("\n"))).await
}

/// Runs `cmd` with `input` on its standard input.
async fn pipe(cmd: &mut Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    child.wait_with_output().await.unwrap()
}

/// The `seq` of each JSON acknowledgement printed.
fn acknowledged(out: &Output) -> Vec<u64> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["room"], "lobby");
            v["seq"].as_u64().unwrap()
        })
        .collect()
}

#[tokio::test]
async fn a_burst_is_waited_out_and_each_message_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), None, Limits::default()).await;
    run_ok(cli(&server).args(["register", "alice", "alice@example.org"])).await;

    // Without retries the burst runs into the flood control and stops there.
    let first: Vec<String> = (1..=BURST).map(|i| format!("no-retry {i}")).collect();
    let out = send_lines(&server, &first, &["--no-retry"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("was not sent") && stderr.contains("slow down"),
        "{stderr}"
    );
    let refused_at = acknowledged(&out).len();
    assert!(
        (10..BURST).contains(&refused_at),
        "the default burst is 10; {refused_at} were sent"
    );

    // With retries (the default) every line is sent, in order.
    let second: Vec<String> = (1..=BURST).map(|i| format!("burst {i}")).collect();
    let out = send_lines(&server, &second, &[]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seqs = acknowledged(&out);
    assert_eq!(seqs.len(), BURST);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    // One message per run, as a shell loop sends them, right after the burst
    // emptied the bucket.
    for i in 1..=5 {
        run_ok(cli(&server).args(["--user", "alice", "send", "lobby", &format!("loop {i}")])).await;
    }

    // Without CHATROOM_PASSPHRASE the first line is the passphrase and the
    // rest are messages.
    let out = pipe(
        cli(&server)
            .env_remove("CHATROOM_PASSPHRASE")
            .args(["--user", "alice", "send", "lobby", "--stdin"]),
        &format!("{PASS}\npiped 1\n\npiped 2\n"),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let alice = server.login("alice").await;
    let (history, _) = alice
        .history(
            "lobby",
            HistoryQuery::After {
                after: 0,
                limit: 200,
            },
        )
        .await
        .unwrap();
    let mut stored: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &history {
        *stored.entry(m.text.as_str()).or_default() += 1;
    }
    let expected: Vec<String> = first[..refused_at]
        .iter()
        .chain(&second)
        .cloned()
        .chain((1..=5).map(|i| format!("loop {i}")))
        .chain(["piped 1".to_owned(), "piped 2".to_owned()])
        .collect();
    for text in &expected {
        assert_eq!(
            stored.get(text.as_str()),
            Some(&1),
            "{text:?} in {stored:?}"
        );
    }
    assert_eq!(
        history.len(),
        expected.len(),
        "nothing else stored: {stored:?}"
    );
    alice.close().await;
    server.stop().await;
}
