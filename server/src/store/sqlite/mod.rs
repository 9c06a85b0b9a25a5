//! The SQLite store: the zero-setup default, one database file beside the server.
//!
//! The file is opened in WAL mode with `synchronous = NORMAL`: a committed message
//! survives the server process being killed (`kill -9`), though not necessarily a
//! power cut, which is the durability the server promises for this backend.
//! The log is copied into the database by a thread of its own (`checkpoint.rs`),
//! never inside a commit.
//! rusqlite is synchronous, so every call runs on tokio's blocking pool with the
//! one connection behind a `std::sync::Mutex`; the async runtime never waits on disk.
//! Writers take SQLite's write lock up front (`BEGIN IMMEDIATE`), so even two
//! processes sharing one file hand out each sequence number exactly once.

mod blobs;
mod checkpoint;
mod files;
mod group_commit;
mod mail;
mod ops;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chatroom_common::protocol::{
    AvatarHash, ChatMessage, FileHash, HistoryQuery, RoomKind, Seq, Timestamp,
};
use rusqlite::{Connection, ErrorCode, TransactionBehavior};

#[cfg(feature = "test-support")]
use super::MailStatus;
use super::{
    Appended, AvatarKind, BlobHash, EmailVerification, Fetchable, FileRecord, MailId, NewFile,
    NewMail, NewMessage, NewUser, OtpState, PoolAvatar, QueuedMail, RoomId, RoomRecord, Store,
    StoreError, StoredCode, UserId, UserRecord,
};

/// Schema versions, oldest first; each is applied once, in one transaction.
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_initial.sql")),
    (2, include_str!("../migrations/sqlite/0002_mail.sql")),
    (3, include_str!("../migrations/sqlite/0003_blobs.sql")),
    (4, include_str!("../migrations/sqlite/0004_files.sql")),
];

/// How long a statement waits for another process's write lock before failing
/// with `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Store`] in one SQLite file.
pub struct SqliteStore {
    /// The one connection; the mutex serialises this process's statements, and
    /// SQLite's own locking serialises writers across processes.
    conn: Arc<Mutex<Connection>>,
    /// Message appends waiting for the next group commit.
    appends: Arc<group_commit::AppendQueue>,
    /// The database file, for error messages.
    path: PathBuf,
    /// Copies the write-ahead log into the database off the append path;
    /// stops when the store is dropped.
    _checkpointer: checkpoint::Checkpointer,
}

impl SqliteStore {
    /// Opens (creating if need be) the database file and applies pending migrations.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let (store, _applied) = Self::open_migrated(path.as_ref().to_path_buf()).await?;
        Ok(store)
    }

    /// Opens the file and returns the store with the migration versions it applied.
    async fn open_migrated(path: PathBuf) -> Result<(Self, Vec<u32>), StoreError> {
        let for_task = path.clone();
        let (conn, checkpointer, applied) = blocking(move || {
            let mut conn = connect(&for_task)?;
            let applied = apply_migrations(&mut conn)?;
            // Checkpoints run on their own thread (checkpoint.rs), never
            // inside a commit of this connection.
            conn.execute_batch("PRAGMA wal_autocheckpoint = 0")
                .map_err(map_err)?;
            let checkpointer = checkpoint::start(&conn, connect(&for_task)?, &for_task)?;
            Ok((conn, checkpointer, applied))
        })
        .await?;
        Ok((
            Self {
                conn: Arc::new(Mutex::new(conn)),
                appends: Arc::default(),
                path,
                _checkpointer: checkpointer,
            },
            applied,
        ))
    }

    /// The database file this store uses.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `op` with the connection on the blocking pool.
    async fn call<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        blocking(move || op(&mut lock(&conn))).await
    }
}

/// Takes the connection. A panic while the lock was held cannot leave a
/// transaction open (rusqlite rolls back on drop), so a poisoned connection is
/// still sound.
fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Applies pending migrations to the SQLite file at `path` and returns their versions.
pub async fn migrate(path: &str) -> Result<Vec<u32>, StoreError> {
    let (_store, applied) = SqliteStore::open_migrated(PathBuf::from(path)).await?;
    Ok(applied)
}

/// Runs blocking work on tokio's blocking pool.
async fn blocking<T, F>(work: F) -> Result<T, StoreError>
where
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Other(format!("SQLite task failed: {e}")))?
}

/// Opens the file with the pragmas every connection needs.
fn connect(path: &Path) -> Result<Connection, StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {e}", parent.display()))
        })?;
    }
    let conn = Connection::open(path).map_err(|e| {
        StoreError::Unavailable(format!(
            "cannot open SQLite database {}: {e}",
            path.display()
        ))
    })?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(map_err)?;
    // Room for every statement the store prepares (rusqlite keeps 16 by
    // default, fewer than there are), so none is parsed again per call.
    conn.set_prepared_statement_cache_capacity(64);
    // Switching a new file to WAL needs an exclusive lock, and SQLite fails at once
    // rather than wait when another connection is switching it too (waiting could
    // deadlock), so that race is retried here for as long as the busy timeout.
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        let mode = conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        });
        match mode {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => break,
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(mode) => {
                return Err(StoreError::Other(format!(
                    "SQLite database {} refused WAL mode (journal_mode is {mode})",
                    path.display()
                )));
            }
            Err(e) => return Err(map_err(e)),
        }
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        .map_err(map_err)?;
    Ok(conn)
}

/// Applies pending migrations in one write transaction; returns the versions applied.
fn apply_migrations(conn: &mut Connection) -> Result<Vec<u32>, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             applied_at INTEGER NOT NULL
         )",
    )
    .map_err(map_err)?;
    let done: Vec<i64> = {
        let mut stmt = tx
            .prepare("SELECT version FROM schema_migrations")
            .map_err(map_err)?;
        stmt.query_map([], |row| row.get(0))
            .map_err(map_err)?
            .collect::<Result<_, _>>()
            .map_err(map_err)?
    };
    let mut applied = Vec::new();
    for &(version, sql) in MIGRATIONS {
        if done.contains(&i64::from(version)) {
            continue;
        }
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Other(format!("SQLite migration {version} failed: {e}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            rusqlite::params![version, crate::context::now_ms()],
        )
        .map_err(map_err)?;
        applied.push(version);
    }
    tx.commit().map_err(map_err)?;
    Ok(applied)
}

/// Maps a SQLite error that has no operation-specific meaning.
fn map_err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::OutOfMemory
            | ErrorCode::ReadOnly,
        ) => StoreError::Unavailable(format!("SQLite: {e}")),
        Some(ErrorCode::ConstraintViolation)
            if e.sqlite_error().is_some_and(|f| {
                f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY
            }) =>
        {
            StoreError::NotFound("room or user")
        }
        _ => StoreError::Other(format!("SQLite: {e}")),
    }
}

/// Whether `e` is a UNIQUE or PRIMARY KEY violation.
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    e.sqlite_error().is_some_and(|f| {
        f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    })
}

#[async_trait]
impl Store for SqliteStore {
    #[cfg(feature = "test-support")]
    async fn create_user(&self, user: NewUser) -> Result<UserRecord, StoreError> {
        self.call(move |conn| ops::create_user(conn, &user)).await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let key = super::username_key_lossy(username);
        self.call(move |conn| ops::user_by_key(conn, &key)).await
    }

    async fn otp_compare_and_swap(
        &self,
        user: UserId,
        expected: &OtpState,
        next: &OtpState,
    ) -> Result<bool, StoreError> {
        let (expected, next) = (expected.clone(), next.clone());
        self.call(move |conn| ops::otp_compare_and_swap(conn, user, &expected, &next))
            .await
    }

    async fn otp_replace(&self, user: UserId, next: &OtpState) -> Result<(), StoreError> {
        let next = next.clone();
        self.call(move |conn| ops::otp_replace(conn, user, &next))
            .await
    }

    async fn record_login(&self, user: UserId, at: Timestamp) -> Result<(), StoreError> {
        self.call(move |conn| ops::record_login(conn, user, at))
            .await
    }

    async fn set_avatar(&self, user: UserId, avatar: Option<AvatarHash>) -> Result<(), StoreError> {
        self.call(move |conn| ops::set_avatar(conn, user, avatar))
            .await
    }

    async fn create_room(&self, name: &str, kind: RoomKind) -> Result<RoomRecord, StoreError> {
        let name = name.to_owned();
        self.call(move |conn| ops::create_room(conn, &name, kind))
            .await
    }

    async fn room_by_name(&self, name: &str) -> Result<Option<RoomRecord>, StoreError> {
        let name = name.to_owned();
        self.call(move |conn| ops::room_by_name(conn, &name)).await
    }

    async fn public_rooms(&self) -> Result<Vec<RoomRecord>, StoreError> {
        self.call(ops::public_rooms).await
    }

    async fn rooms_of_user(&self, user: UserId) -> Result<Vec<RoomRecord>, StoreError> {
        self.call(move |conn| ops::rooms_of_user(conn, user)).await
    }

    async fn add_member(&self, room: RoomId, user: UserId) -> Result<(), StoreError> {
        self.call(move |conn| ops::add_member(conn, room, user))
            .await
    }

    async fn remove_member(&self, room: RoomId, user: UserId) -> Result<(), StoreError> {
        self.call(move |conn| ops::remove_member(conn, room, user))
            .await
    }

    async fn is_member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        self.call(move |conn| ops::is_member(conn, room, user))
            .await
    }

    async fn member_ids(&self, room: RoomId) -> Result<Vec<UserId>, StoreError> {
        self.call(move |conn| ops::member_ids(conn, room)).await
    }

    #[cfg(feature = "test-support")]
    async fn member_names(&self, room: RoomId) -> Result<Vec<String>, StoreError> {
        self.call(move |conn| ops::member_names(conn, room)).await
    }

    async fn append_message(&self, message: NewMessage) -> Result<Appended, StoreError> {
        group_commit::append(&self.appends, &self.conn, message).await
    }

    async fn history(
        &self,
        room: RoomId,
        query: HistoryQuery,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.call(move |conn| ops::history(conn, room, query)).await
    }

    async fn room_heads(&self, rooms: &[RoomId]) -> Result<Vec<(RoomId, Seq)>, StoreError> {
        let rooms = rooms.to_vec();
        self.call(move |conn| ops::room_heads(conn, &rooms)).await
    }

    async fn create_user_with_mail(
        &self,
        user: NewUser,
        mail: NewMail,
        verify_email: bool,
    ) -> Result<UserRecord, StoreError> {
        self.call(move |conn| mail::create_user_with_mail(conn, &user, mail, verify_email))
            .await
    }

    #[cfg(feature = "test-support")]
    async fn enqueue_mail(&self, user: UserId, mail: NewMail) -> Result<MailId, StoreError> {
        self.call(move |conn| mail::enqueue_mail(conn, user, mail))
            .await
    }

    async fn due_mails(
        &self,
        now: Timestamp,
        limit: u32,
        lease_until: Timestamp,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        self.call(move |conn| mail::due_mails(conn, now, limit, lease_until))
            .await
    }

    async fn next_mail_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.call(mail::next_mail_due).await
    }

    async fn mail_sent(&self, id: MailId, at: Timestamp) -> Result<(), StoreError> {
        self.call(move |conn| mail::mail_sent(conn, id, at)).await
    }

    async fn mail_failed(
        &self,
        id: MailId,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        let error = error.to_owned();
        self.call(move |conn| mail::mail_failed(conn, id, next_attempt_at, &error))
            .await
    }

    async fn mail_given_up(
        &self,
        id: MailId,
        at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        let error = error.to_owned();
        self.call(move |conn| mail::mail_given_up(conn, id, at, &error))
            .await
    }

    #[cfg(feature = "test-support")]
    async fn mail_status(&self, id: MailId) -> Result<Option<MailStatus>, StoreError> {
        self.call(move |conn| mail::mail_status(conn, id)).await
    }

    async fn email_verification(
        &self,
        user: UserId,
    ) -> Result<Option<EmailVerification>, StoreError> {
        self.call(move |conn| mail::email_verification(conn, user))
            .await
    }

    async fn set_verification_code(
        &self,
        user: UserId,
        code: &StoredCode,
    ) -> Result<bool, StoreError> {
        let code = code.clone();
        self.call(move |conn| mail::set_verification_code(conn, user, &code))
            .await
    }

    async fn count_verification_attempt(
        &self,
        user: UserId,
        code_hash: &[u8; 32],
        max_attempts: u32,
    ) -> Result<bool, StoreError> {
        let code_hash = *code_hash;
        self.call(move |conn| {
            mail::count_verification_attempt(conn, user, &code_hash, max_attempts)
        })
        .await
    }

    async fn mark_email_verified(
        &self,
        user: UserId,
        code_hash: &[u8; 32],
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let code_hash = *code_hash;
        self.call(move |conn| mail::mark_email_verified(conn, user, &code_hash, at))
            .await
    }

    async fn request_verification_mail(
        &self,
        user: UserId,
        previous_by: Timestamp,
        mail: NewMail,
    ) -> Result<bool, StoreError> {
        self.call(move |conn| mail::request_verification_mail(conn, user, previous_by, mail))
            .await
    }

    async fn put_blob(&self, hash: BlobHash, bytes: Vec<u8>) -> Result<bool, StoreError> {
        super::blobs::verify(&hash, &bytes)?;
        self.call(move |conn| blobs::put_blob(conn, &hash, &bytes))
            .await
    }

    async fn blob(&self, hash: BlobHash) -> Result<Option<Vec<u8>>, StoreError> {
        self.call(move |conn| blobs::blob(conn, &hash)).await
    }

    async fn put_avatar(
        &self,
        hash: AvatarHash,
        png: Vec<u8>,
        kind: AvatarKind,
    ) -> Result<bool, StoreError> {
        super::blobs::verify(&BlobHash::from(hash), &png)?;
        self.call(move |conn| blobs::put_avatar(conn, &hash, &png, kind))
            .await
    }

    async fn avatar_png(&self, hash: AvatarHash) -> Result<Option<Vec<u8>>, StoreError> {
        self.call(move |conn| blobs::avatar_png(conn, &hash)).await
    }

    async fn avatar_kind(&self, hash: AvatarHash) -> Result<Option<AvatarKind>, StoreError> {
        self.call(move |conn| blobs::avatar_kind(conn, &hash)).await
    }

    async fn pool_avatars(&self) -> Result<Vec<PoolAvatar>, StoreError> {
        self.call(|conn| blobs::pool_avatars(conn)).await
    }

    async fn assign_pool_avatar(&self, tiebreak: u64) -> Result<Option<AvatarHash>, StoreError> {
        self.call(move |conn| blobs::assign_pool_avatar(conn, tiebreak))
            .await
    }

    async fn raise_avatar_counts(&self, counts: Vec<(AvatarHash, u64)>) -> Result<(), StoreError> {
        self.call(move |conn| blobs::raise_avatar_counts(conn, &counts))
            .await
    }

    async fn put_file(&self, file: NewFile) -> Result<FileRecord, StoreError> {
        super::blobs::verify(&BlobHash(file.hash.0), &file.bytes)?;
        self.call(move |conn| files::put_file(conn, &file)).await
    }

    async fn uploaded_since(&self, user: UserId, since: Timestamp) -> Result<u64, StoreError> {
        self.call(move |conn| files::uploaded_since(conn, user, since))
            .await
    }

    async fn uploaded_files(
        &self,
        user: UserId,
        hashes: Vec<FileHash>,
    ) -> Result<Vec<FileRecord>, StoreError> {
        self.call(move |conn| files::uploaded_files(conn, user, &hashes))
            .await
    }

    async fn fetchable_file(
        &self,
        user: UserId,
        hash: FileHash,
    ) -> Result<Option<Fetchable>, StoreError> {
        self.call(move |conn| files::fetchable_file(conn, user, &hash))
            .await
    }
}
