//! The `chatroom-cli` binary against a real server, as a person or a script
//! would run it. One test binary with a module per topic (ripgrep's layout).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod chat;
mod files;
mod help;
mod json;
mod presence;
mod send;

use std::process::{Output, Stdio};

use tokio::process::Command;

use chatroom_testkit::{PASS, TestServer};

/// The CLI pointed at `server` (pinned), with the test passphrase in the environment.
pub fn cli(server: &TestServer) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chatroom-cli"));
    cmd.arg("--server")
        .arg(&server.addr)
        .arg("--pin")
        .arg(&server.fingerprint)
        .env("CHATROOM_PASSPHRASE", PASS)
        .env_remove("CHATROOM_USER")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Runs the command to the end and fails the test, with its stderr, unless it succeeded.
pub async fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().await.unwrap();
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd.as_std(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
