//! `--json` everywhere: one object per line, avatar hashes as 64 hex digits
//! (never the array of 32 numbers serde would make of the bytes).

use chatroom_testkit::TestServer;
use serde_json::Value;

use crate::{cli, run_ok};

/// Runs `--json ARGS` as alice and parses every line of stdout.
async fn json_lines(server: &TestServer, args: &[&str]) -> Vec<Value> {
    let out = run_ok(cli(server).args(["--user", "alice", "--json"]).args(args)).await;
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    for line in &lines {
        assert!(line.is_object(), "{args:?}: {line}");
        check_no_byte_arrays(line, args);
    }
    lines
}

/// Fails on any array that looks like serialised bytes.
fn check_no_byte_arrays(value: &Value, args: &[&str]) {
    match value {
        Value::Array(items) => {
            assert!(
                !(items.len() >= 16 && items.iter().all(Value::is_u64)),
                "{args:?}: bytes as an array of numbers: {value}"
            );
            items.iter().for_each(|v| check_no_byte_arrays(v, args));
        }
        Value::Object(map) => map.values().for_each(|v| check_no_byte_arrays(v, args)),
        _ => {}
    }
}

/// The hash as a string of 64 lower-case hex digits.
fn hex(value: &Value) -> String {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"));
    assert!(
        text.len() == 64
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "not 64 hex digits: {text}"
    );
    text.to_owned()
}

#[tokio::test]
async fn avatar_hashes_are_hex_strings_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let registered = json_lines(&server, &["register", "alice", "alice@example.org"]).await;
    assert_eq!(registered[0]["username"], "alice");
    assert_eq!(registered[0]["verification_required"], false);
    // Registration assigns a picture from the pool.
    let first = hex(&registered[0]["avatar"]);

    let pool = json_lines(&server, &["avatar", "pool"]).await;
    assert!(!pool.is_empty());
    let hashes: Vec<String> = pool.iter().map(|p| hex(&p["hash"])).collect();
    let other = hashes
        .iter()
        .find(|h| **h != first)
        .expect("a second picture");

    let picked = json_lines(&server, &["avatar", "pick", other]).await;
    assert_eq!(hex(&picked[0]["avatar"]), *other);

    let file = dir.path().join("avatar.png");
    let saved = json_lines(
        &server,
        &["avatar", "get", other, "--out", file.to_str().unwrap()],
    )
    .await;
    assert_eq!(hex(&saved[0]["hash"]), *other);
    assert_eq!(
        saved[0]["bytes"].as_u64(),
        Some(std::fs::metadata(&file).unwrap().len())
    );

    let sent = json_lines(&server, &["send", "lobby", "hello"]).await;
    let seq = sent[0]["seq"].as_u64().unwrap();
    let history = json_lines(&server, &["history", "lobby"]).await;
    let message = history.iter().find(|m| m["seq"] == seq).unwrap();
    assert_eq!(message["text"], "hello");
    assert_eq!(hex(&message["sender_avatar"]), *other);

    // Alice is online in the lobby while `who` runs.
    let who = json_lines(&server, &["who", "lobby"]).await;
    let me = who.iter().find(|u| u["username"] == "alice").unwrap();
    assert_eq!(hex(&me["avatar"]), *other);

    let created = json_lines(&server, &["create", "scripts"]).await;
    assert_eq!(created[0]["name"], "scripts");
    let rooms = json_lines(&server, &["rooms"]).await;
    assert!(
        rooms
            .iter()
            .any(|r| r["name"] == "scripts" && r["member"] == true)
    );
    server.stop().await;
}
