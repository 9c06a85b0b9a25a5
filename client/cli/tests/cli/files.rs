//! `send-file` and `get-file`: files round-trip byte for byte, only members
//! can fetch them, downloads never clobber a file unasked, and messages show
//! their files in words and JSON.

use serde_json::Value;

use chatroom_testkit::TestServer;

use crate::{cli, run_ok};

async fn register(server: &TestServer, user: &str) {
    run_ok(cli(server).args(["register", user, &format!("{user}@example.org")])).await;
}

#[tokio::test]
async fn a_file_sent_by_one_user_is_fetched_byte_for_byte_by_another() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    for user in ["alice", "bob", "carol"] {
        register(&server, user).await;
    }
    run_ok(cli(&server).args(["--user", "alice", "create", "den"])).await;
    // Reading a public room's history needs no membership; downloading does.
    let every_byte: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let path = dir.path().join("all bytes.bin");
    std::fs::write(&path, &every_byte).unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "line one\n第二行\n").unwrap();

    let out = run_ok(
        cli(&server)
            .args(["--user", "alice", "--json", "send-file", "den"])
            .arg(&path)
            .arg(&notes)
            .args(["--text", "two files"]),
    )
    .await;
    let sent: Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = sent["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["name"], "all bytes.bin");
    assert_eq!(files[0]["size"], 70_000);
    assert_eq!(files[0]["mime"], "application/octet-stream");
    assert_eq!(files[1]["mime"], "text/plain");
    let hash = files[0]["hash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);

    // History shows the files, in words and in JSON.
    let words = run_ok(cli(&server).args(["--user", "bob", "history", "den"])).await;
    let words = String::from_utf8_lossy(&words.stdout);
    assert!(words.contains("two files"), "{words}");
    assert!(
        words.contains(&format!(
            "file: all bytes.bin (68.4 KiB, application/octet-stream) {hash}"
        )),
        "{words}"
    );
    let json = run_ok(cli(&server).args(["--user", "bob", "--json", "history", "den"])).await;
    let message: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(message["attachments"][1]["name"], "notes.txt");

    // Carol is not in the room: the file is not hers to fetch.
    let out_path = dir.path().join("copy.bin");
    let refused = cli(&server)
        .args(["--user", "carol", "get-file", &hash, "--out"])
        .arg(&out_path)
        .output()
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no such file"));
    assert!(!out_path.exists(), "nothing written on failure");

    // Alice (the uploader) fetches it; an existing file is kept unless --force.
    run_ok(
        cli(&server)
            .args(["--user", "alice", "get-file", &hash, "--out"])
            .arg(&out_path),
    )
    .await;
    assert_eq!(std::fs::read(&out_path).unwrap(), every_byte);
    std::fs::write(&out_path, b"mine").unwrap();
    let kept = cli(&server)
        .args(["--user", "alice", "get-file", &hash, "--out"])
        .arg(&out_path)
        .output()
        .await
        .unwrap();
    assert_eq!(kept.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&kept.stderr).contains("--force"));
    assert_eq!(std::fs::read(&out_path).unwrap(), b"mine");
    let saved = run_ok(
        cli(&server)
            .args([
                "--user", "alice", "--json", "get-file", &hash, "--force", "--out",
            ])
            .arg(&out_path),
    )
    .await;
    let saved: Value = serde_json::from_slice(&saved.stdout).unwrap();
    assert_eq!(saved["bytes"], 70_000);
    assert_eq!(std::fs::read(&out_path).unwrap(), every_byte);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".part-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // To standard output.
    let piped =
        run_ok(cli(&server).args(["--user", "alice", "get-file", &hash, "--out", "-"])).await;
    assert_eq!(piped.stdout, every_byte);
    server.stop().await;
}

#[tokio::test]
async fn bad_paths_and_hashes_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    register(&server, "alice").await;
    let missing = cli(&server)
        .args(["--user", "alice", "send-file", "lobby"])
        .arg(dir.path().join("nope.txt"))
        .output()
        .await
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.txt"));
    let folder = cli(&server)
        .args(["--user", "alice", "send-file", "lobby"])
        .arg(dir.path())
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&folder.stderr).contains("is a folder"));
    let bad_hash = cli(&server)
        .args(["--user", "alice", "get-file", "xyz", "--out", "-"])
        .output()
        .await
        .unwrap();
    assert_eq!(bad_hash.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_hash.stderr).contains("64 hexadecimal digits"));
    server.stop().await;
}
