//! `--help` says what the CLI is for and shows how to use it.

use crate::run_ok;

#[tokio::test]
async fn help_describes_the_cli_with_examples() {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatroom-cli"));
    let out = run_ok(cmd.arg("--help").env_remove("CHATROOM_SERVER")).await;
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Chat on a Chatroom server from a terminal or a script",
        "S/KEY",
        "CHATROOM_PASSPHRASE",
        "Exit status:",
        "Examples:",
        "chatroom-cli --user alice send lobby",
        "--json",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
    // `-h` is the short form: the first paragraph and the examples.
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatroom-cli"));
    let out = run_ok(cmd.arg("-h")).await;
    let short = String::from_utf8_lossy(&out.stdout);
    assert!(short.contains("Chat on a Chatroom server"), "{short}");
    assert!(short.contains("Examples:"), "{short}");
    assert!(short.len() < help.len());

    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatroom-cli"));
    let out = run_ok(cmd.args(["send", "--help"]).env_remove("CHATROOM_SERVER")).await;
    let send = String::from_utf8_lossy(&out.stdout);
    assert!(
        send.contains("--no-retry") && send.contains("--stdin"),
        "{send}"
    );
}
