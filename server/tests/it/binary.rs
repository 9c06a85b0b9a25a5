//! The `chatroom-server` binary: start-up failures are clear and quick; `gen-certs` works.

use std::process::Command;
use std::time::{Duration, Instant};

fn server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chatroom-server"))
}

#[test]
fn unreachable_database_fails_fast_naming_host_and_database_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = server()
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args([
            "--database",
            "mysql://chatroom:s3cret-pw@127.0.0.1:1/chatroom_db?connect_timeout_ms=2000",
        ])
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("127.0.0.1"), "{stderr}");
    assert!(stderr.contains("chatroom_db"), "{stderr}");
    assert!(!stderr.contains("s3cret-pw"), "password leaked: {stderr}");
}

#[test]
fn gen_certs_writes_a_ca_and_a_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = server()
        .args(["gen-certs", "--out"])
        .arg(dir.path())
        .args(["--name", "chat.example.org"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("CA SHA-256"), "{stdout}");
    for f in ["ca.pem", "server.pem", "server.key"] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("server.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
    }
}

#[test]
fn bad_flags_exit_with_usage() {
    let out = server()
        .args(["--listen", "not-an-address"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
