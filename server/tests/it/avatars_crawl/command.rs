//! `chatroom-server avatars scrape`, the binary itself, against a real site: the pictures land in the server's database.

use std::time::Duration;

use chatroom_server::avatars::{AvatarKind, AvatarPool};

use super::gallery;

#[tokio::test]
async fn the_scrape_command_fills_the_database_the_server_uses() {
    let site = gallery(3, Duration::ZERO).await;
    let data = tempfile::tempdir().expect("temp dir");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_chatroom-server"));
    command
        .arg("--data-dir")
        .arg(data.path())
        .args(["avatars", "scrape", &site.url("/"), "--limit", "2"])
        .env("RUST_LOG", "warn");
    // The site answers on this runtime, so the child is waited for on another thread.
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("task")
        .expect("run chatroom-server");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 accepted"), "{stdout}");
    // Without --database the pictures are in the data directory's SQLite
    // database, where the server (every node, with MySQL) finds them.
    let url = format!(
        "sqlite://{}",
        data.path().join("chatroom.sqlite3").display()
    );
    let pool = AvatarPool::new(chatroom_server::store::open(&url).await.expect("open"));
    let stored = pool.list().await.expect("list");
    assert_eq!(stored.len(), 2);
    for hash in stored {
        assert_eq!(
            pool.kind(hash).await.expect("kind"),
            Some(AvatarKind::Crawled)
        );
    }
    assert!(!data.path().join("avatars").exists(), "no files on disk");
}
