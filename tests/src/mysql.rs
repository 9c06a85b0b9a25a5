//! MariaDB for tests: a fresh database per test (dropped after it), the
//! per-data-directory database of the e2e suite's MariaDB pass, and stopping
//! and starting the server for the restart tests.
//!
//! MariaDB is expected at 127.0.0.1:3306 (root, empty password);
//! `scripts/mariadb.sh` starts it. A developer without MariaDB may set
//! `CHATROOM_SKIP_MYSQL=1` to skip; under `CI=true` that is refused.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use sha2::{Digest, Sha256};

/// Where the tests find MariaDB, as an administrator.
pub const ADMIN_URL: &str = "mysql://root@127.0.0.1:3306";

/// A connection as root, without a default database.
pub async fn admin() -> Result<mysql_async::Conn, String> {
    let opts = mysql_async::Opts::from_url(ADMIN_URL).map_err(|e| e.to_string())?;
    match tokio::time::timeout(Duration::from_secs(10), mysql_async::Conn::new(opts)).await {
        Ok(conn) => conn.map_err(|e| e.to_string()),
        Err(_) => Err("no answer within 10 s".into()),
    }
}

/// A uniquely named database, created for one test and dropped after it.
pub struct MysqlDb {
    /// The database name, `chatroom_test_<random>`.
    pub name: String,
}

impl MysqlDb {
    /// Creates a utf8mb4 database, or returns `None` when `CHATROOM_SKIP_MYSQL=1`.
    /// Panics when MariaDB is unreachable: a missing database is a failure.
    pub async fn create() -> Option<Self> {
        Self::create_with("CHARACTER SET utf8mb4 COLLATE utf8mb4_bin").await
    }

    /// [`MysqlDb::create`] with the given `CREATE DATABASE` options.
    pub async fn create_with(options: &str) -> Option<Self> {
        if skipped() {
            eprintln!("CHATROOM_SKIP_MYSQL=1: skipping a MySQL test");
            return None;
        }
        let mut conn = admin().await.unwrap_or_else(|e| {
            panic!(
                "MariaDB at 127.0.0.1:3306 is unreachable ({e}); start it with scripts/mariadb.sh \
                 (or set CHATROOM_SKIP_MYSQL=1 to skip the MySQL tests)"
            )
        });
        let name = format!("chatroom_test_{:016x}", rand::random::<u64>());
        conn.query_drop(format!("CREATE DATABASE `{name}` {options}"))
            .await
            .expect("create test database");
        conn.disconnect().await.expect("disconnect");
        Some(Self { name })
    }

    /// The URL the server and stores connect with.
    pub fn url(&self) -> String {
        format!("{ADMIN_URL}/{}", self.name)
    }
}

impl Drop for MysqlDb {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on, so the
        // database is dropped from a thread with a runtime of its own.
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = admin().await.ok()?;
                // A transaction left open by a failed test must not block this forever.
                conn.query_drop("SET SESSION lock_wait_timeout = 10")
                    .await
                    .ok()?;
                conn.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
                    .await
                    .ok()?;
                conn.disconnect().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// Whether MySQL tests are skipped (`CHATROOM_SKIP_MYSQL=1`, never under CI).
fn skipped() -> bool {
    let skip = std::env::var("CHATROOM_SKIP_MYSQL").as_deref() == Ok("1");
    assert!(
        !(skip && std::env::var("CI").as_deref() == Ok("true")),
        "CHATROOM_SKIP_MYSQL=1 is not allowed in CI"
    );
    skip
}

/// With `CHATROOM_E2E_STORE=mysql` a test server gets its own database per
/// data directory (the same one again after a restart; `scripts/test.sh` drops
/// them after the pass). Otherwise `None`: SQLite in the data directory.
pub async fn database_for(data_dir: &Path) -> Option<String> {
    if std::env::var("CHATROOM_E2E_STORE").ok().as_deref() != Some("mysql") {
        return None;
    }
    let digest = Sha256::digest(data_dir.to_string_lossy().as_bytes());
    let name = format!("chatroom_e2e_{}", hex::encode(&digest[..8]));
    let base = std::env::var("CHATROOM_E2E_MYSQL").unwrap_or_else(|_| ADMIN_URL.to_owned());
    let mut conn = mysql_async::Conn::from_url(format!("{base}/test"))
        .await
        .expect(
            "MariaDB must be reachable for CHATROOM_E2E_STORE=mysql (scripts/mariadb.sh starts it)",
        );
    conn.query_drop(format!(
        "CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    ))
    .await
    .expect("creating the test database");
    let _ = conn.disconnect().await;
    Some(format!("{base}/{name}"))
}

/// Runs `scripts/mariadb.sh`, which starts MariaDB if it is down and waits for it.
pub fn ensure_mariadb_running() -> bool {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/mariadb.sh");
    Command::new("bash")
        .arg(script)
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether MariaDB answers a ping.
pub fn mariadb_answers() -> bool {
    Command::new("mariadb-admin")
        .args([
            "--host=127.0.0.1",
            "--port=3306",
            "--user=root",
            "--connect-timeout=2",
            "ping",
        ])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Makes sure MariaDB runs again when a restart test ends, however it ends.
pub struct RestartGuard;

impl Drop for RestartGuard {
    fn drop(&mut self) {
        if !ensure_mariadb_running() {
            eprintln!("MariaDB is NOT running after the restart test; run scripts/mariadb.sh");
        }
    }
}

/// Shuts MariaDB down, waits until it is gone, lets clients run into the
/// outage for `outage`, and starts it again.
pub fn restart_mariadb(outage: Duration) {
    let shutdown = Command::new("mariadb-admin")
        .args(["--host=127.0.0.1", "--user=root", "shutdown"])
        .status()
        .expect("run mariadb-admin");
    assert!(shutdown.success(), "mariadb-admin shutdown failed");
    let deadline = Instant::now() + Duration::from_secs(60);
    while mariadb_answers() {
        assert!(Instant::now() < deadline, "MariaDB did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(outage);
    assert!(ensure_mariadb_running(), "MariaDB did not come back");
}
