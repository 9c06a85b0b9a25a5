//! MySQL schema migrations: each version's SQL file is applied once and recorded
//! in `schema_migrations`, under a named lock so that two servers starting at
//! once do not both apply it.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use super::Failure;
use super::convert::col;
use crate::store::StoreError;

/// Schema versions, oldest first.
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../migrations/mysql/0001_initial.sql")),
    (2, include_str!("../migrations/mysql/0002_mail.sql")),
    (3, include_str!("../migrations/mysql/0003_blobs.sql")),
    (4, include_str!("../migrations/mysql/0004_files.sql")),
];

/// The advisory lock's name: per database, as `GET_LOCK` names are server-wide.
const LOCK_NAME: &str = "LEFT(CONCAT('chatroom_migrate:', DATABASE()), 64)";

/// Seconds to wait for another process's migration to finish.
const LOCK_WAIT_SECONDS: u32 = 60;

/// Applies pending migrations; returns the versions applied.
pub(super) async fn apply(mut conn: Conn) -> Result<Vec<u32>, Failure> {
    let row: Option<Row> = conn
        .exec_first(
            format!("SELECT GET_LOCK({LOCK_NAME}, ?)"),
            (LOCK_WAIT_SECONDS,),
        )
        .await?;
    let locked = match row {
        Some(mut row) => col::<Option<i64>>(&mut row, 0)? == Some(1),
        None => false,
    };
    if !locked {
        return Err(StoreError::Unavailable(format!(
            "another process held the migration lock for over {LOCK_WAIT_SECONDS} s"
        ))
        .into());
    }
    let applied = apply_locked(&mut conn).await;
    // The lock also ends with the session; releasing it explicitly lets a waiting
    // process go on at once.
    let released = conn
        .query_drop(format!("DO RELEASE_LOCK({LOCK_NAME})"))
        .await;
    let applied = applied?;
    released?;
    Ok(applied)
}

/// The migrations proper, with the lock held.
async fn apply_locked(conn: &mut Conn) -> Result<Vec<u32>, Failure> {
    conn.query_drop(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INT UNSIGNED NOT NULL,
             applied_at DATETIME(6)  NOT NULL,
             PRIMARY KEY (version)
         ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin",
    )
    .await?;
    let rows: Vec<Row> = conn
        .exec("SELECT version FROM schema_migrations", ())
        .await?;
    let mut done = Vec::with_capacity(rows.len());
    for mut row in rows {
        done.push(col::<u32>(&mut row, 0)?);
    }
    let mut applied = Vec::new();
    for &(version, sql) in MIGRATIONS {
        if done.contains(&version) {
            continue;
        }
        for statement in statements(sql) {
            conn.query_drop(statement)
                .await
                .map_err(|e| StoreError::Other(format!("MySQL migration {version} failed: {e}")))?;
        }
        conn.exec_drop(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?, UTC_TIMESTAMP(6))",
            (version,),
        )
        .await?;
        applied.push(version);
    }
    Ok(applied)
}

/// Splits a migration file into statements: each ends with `;` at the end of a
/// line, and lines starting with `--` are comments.
fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("--") {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            out.push(current.trim().trim_end_matches(';').to_owned());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_migration_is_four_create_tables() {
        let split = statements(MIGRATIONS[0].1);
        assert_eq!(split.len(), 4);
        assert!(
            split
                .iter()
                .all(|s| s.starts_with("CREATE TABLE IF NOT EXISTS"))
        );
        assert!(split.iter().all(|s| s.ends_with("COLLATE = utf8mb4_bin")));
    }

    #[test]
    fn the_second_migration_is_the_outbox_and_verifications() {
        let split = statements(MIGRATIONS[1].1);
        assert_eq!(split.len(), 2);
        assert!(split[0].starts_with("CREATE TABLE IF NOT EXISTS mail_outbox"));
        assert!(split[1].starts_with("CREATE TABLE IF NOT EXISTS email_verifications"));
        assert!(split.iter().all(|s| s.ends_with("COLLATE = utf8mb4_bin")));
    }

    #[test]
    fn the_third_migration_is_the_blob_store_and_the_avatars() {
        let split = statements(MIGRATIONS[2].1);
        assert_eq!(split.len(), 3);
        assert!(split[0].starts_with("CREATE TABLE IF NOT EXISTS blobs"));
        assert!(split[1].starts_with("CREATE TABLE IF NOT EXISTS blob_chunks"));
        assert!(split[2].starts_with("CREATE TABLE IF NOT EXISTS avatars"));
        assert!(split.iter().all(|s| s.ends_with("COLLATE = utf8mb4_bin")));
    }
}
