//! The MySQL/MariaDB store, for production: several server processes may share
//! one database.
//!
//! The URL is `mysql://USER:PASS@HOST:PORT/DATABASE?PARAMS`. The database must
//! exist (`CREATE DATABASE chat CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`); the
//! tables are created by the migrations at open. Parameters:
//!
//! - `pool_max` (default 10): most connections open at once.
//! - `pool_min` (default `min(10, pool_max)`): idle connections kept open.
//! - `connect_timeout_ms` (default 5000): bound on getting a connection, pooled or
//!   new; an unreachable database fails `open` with `Unavailable` within it.
//! - `query_timeout_ms` (default 30000): bound on one whole operation, retries included.
//! - `reset_connection` (default false): reset session state whenever a connection
//!   goes back to the pool; we keep none, so it only costs a round trip.
//! - Any other parameter `mysql_async` knows (`require_ssl`, `conn_ttl`,
//!   `inactive_connection_ttl`, `tcp_keepalive`, ...) is passed to it as is.
//!
//! Operations that are safe to repeat (reads, idempotent writes, and appends,
//! which carry an idempotency key) take a pooled connection as it is: a dead one
//! (after a database restart) fails as a lost connection and is retried. Every
//! other operation, and every retry, pings its pooled connection first, so the
//! pool drops its dead connections and dials new ones by itself. Deadlocks and
//! lock wait timeouts are retried a few times; so are lost connections, for
//! operations that are safe to repeat. What still fails is `StoreError::Unavailable`.

mod blobs;
mod config;
mod convert;
mod files;
mod mail;
mod migrate;
mod ops;

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use chatroom_common::protocol::{
    AvatarHash, ChatMessage, FileHash, HistoryQuery, RoomKind, Seq, Timestamp,
};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, DriverError, Pool};

#[cfg(feature = "test-support")]
use super::MailStatus;
use super::{
    Appended, AvatarKind, BlobHash, EmailVerification, Fetchable, FileRecord, MailId, NewFile,
    NewMail, NewMessage, NewUser, OtpState, PoolAvatar, QueuedMail, RoomId, RoomRecord, Store,
    StoreError, StoredCode, UserId, UserRecord,
};

/// How many times a transient failure is retried before giving up.
const MAX_RETRIES: u32 = 3;
/// The first retry's delay; each further retry doubles it.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);

/// A [`Store`] in a MySQL or MariaDB database.
pub struct MysqlStore {
    /// Connection pool; cheap to clone, shared by all operations.
    pool: Pool,
    /// Timeouts and the target's name for messages.
    config: config::Config,
}

/// Why one attempt at an operation failed.
enum Failure {
    /// A database error that may be worth retrying, depending on its kind.
    Db(mysql_async::Error),
    /// No connection could be had; nothing was sent, so a retry is always safe.
    Connect(mysql_async::Error),
    /// A final answer (`NotFound`, `UsernameTaken`, a timeout...): never retried.
    Store(StoreError),
}

impl From<mysql_async::Error> for Failure {
    fn from(e: mysql_async::Error) -> Self {
        Failure::Db(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

/// What a database error means for a retry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Deadlock or lock wait timeout: the server undid the work; retry.
    Contention,
    /// The connection is gone or the server is going away.
    Connection,
    /// Anything else: a bug, a constraint, bad data.
    Permanent,
}

/// Classifies a `mysql_async` error.
fn fault_of(e: &mysql_async::Error) -> Fault {
    match e {
        mysql_async::Error::Server(server) => match server.code {
            // ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT.
            1213 | 1205 => Fault::Contention,
            // Too many connections, shutdown in progress, connection or query killed,
            // read-only (a fail-over in progress), client idle timeout.
            1040 | 1053 | 1317 | 1290 | 1836 | 1927 | 4031 => Fault::Connection,
            _ => Fault::Permanent,
        },
        mysql_async::Error::Io(_) => Fault::Connection,
        mysql_async::Error::Driver(
            DriverError::ConnectionClosed
            | DriverError::PoolDisconnected
            | DriverError::PacketOutOfOrder
            | DriverError::UnexpectedPacket { .. },
        ) => Fault::Connection,
        _ => Fault::Permanent,
    }
}

/// Whether `e` is a duplicate-key error (ER_DUP_ENTRY).
fn is_duplicate(e: &mysql_async::Error) -> bool {
    matches!(e, mysql_async::Error::Server(server) if server.code == 1062)
}

/// Whether `e` is a foreign-key violation on insert (ER_NO_REFERENCED_ROW_2).
fn is_missing_parent(e: &mysql_async::Error) -> bool {
    matches!(e, mysql_async::Error::Server(server) if server.code == 1452)
}

impl MysqlStore {
    /// Connects (within `connect_timeout_ms`) and applies pending migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let (store, _applied) = Self::open_migrated(url).await?;
        Ok(store)
    }

    /// Connects, migrates, and returns the store with the versions it applied.
    async fn open_migrated(url: &str) -> Result<(Self, Vec<u32>), StoreError> {
        let config = config::parse(url)?;
        let store = Self {
            pool: Pool::new(config.opts.clone()),
            config,
        };
        match store.run(true, migrate::apply).await {
            Ok(applied) => Ok((store, applied)),
            Err(e) => {
                store.close().await;
                Err(e)
            }
        }
    }

    /// Closes the pool's connections gracefully; dropping the store also closes
    /// them, but without waiting.
    pub async fn close(self) {
        // A failure here means the connections are gone already, which is the goal.
        let _ = self.pool.disconnect().await;
    }

    /// A pooled connection, within the connect timeout; with `ping`, one that
    /// answered a ping. The ping is a round trip, so the hot path (a first
    /// attempt at a repeatable operation) goes without it.
    async fn acquire(&self, ping: bool) -> Result<Conn, Failure> {
        let attempt = async {
            if !ping {
                return self.pool.get_conn().await.map_err(Failure::Connect);
            }
            // Pooled connections may have died with a database restart; each failed
            // ping discards one, so this ends with a fresh dial at the latest.
            let mut last = None;
            for _ in 0..=self.config.opts.pool_opts().constraints().max() {
                let mut conn = self.pool.get_conn().await.map_err(Failure::Connect)?;
                match conn.ping().await {
                    Ok(()) => return Ok(conn),
                    Err(e) => last = Some(e),
                }
            }
            Err(match last {
                Some(e) => Failure::Connect(e),
                None => Failure::Store(StoreError::Other("empty connection pool".into())),
            })
        };
        tokio::time::timeout(self.config.connect_timeout, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(Failure::Store(StoreError::Unavailable(format!(
                    "MySQL at {} is unreachable: no connection within {} ms",
                    self.config.target,
                    self.config.connect_timeout.as_millis()
                ))))
            })
    }

    /// Runs `op` on a fresh connection, retrying transient failures: contention
    /// always, lost connections only when `repeatable` (the operation is safe to
    /// run twice), and failures to connect always (nothing was sent).
    async fn run<T, F, Fut>(&self, repeatable: bool, mut op: F) -> Result<T, StoreError>
    where
        F: FnMut(Conn) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let deadline = tokio::time::Instant::now() + self.config.query_timeout;
        let mut retries = 0;
        loop {
            let attempt = async {
                // A repeatable operation's first attempt skips the ping: if the
                // connection turns out dead, that is a lost connection, retried
                // (with pings) like any other.
                let conn = self.acquire(!repeatable || retries > 0).await?;
                op(conn).await
            };
            let outcome = tokio::time::timeout_at(deadline, attempt)
                .await
                .unwrap_or_else(|_| {
                    Err(Failure::Store(StoreError::Unavailable(format!(
                        "MySQL at {} did not answer within {} ms",
                        self.config.target,
                        self.config.query_timeout.as_millis()
                    ))))
                });
            let (error, retry) = match outcome {
                Ok(value) => return Ok(value),
                Err(Failure::Store(e)) => return Err(e),
                Err(Failure::Connect(e)) => (e, true),
                Err(Failure::Db(e)) => {
                    let fault = fault_of(&e);
                    let retry =
                        fault == Fault::Contention || (repeatable && fault == Fault::Connection);
                    (e, retry)
                }
            };
            if !retry || retries >= MAX_RETRIES {
                return Err(self.final_error(&error, retries));
            }
            retries += 1;
            let jitter = Duration::from_millis(rand::random_range(0..25));
            tokio::time::sleep(FIRST_BACKOFF * 2u32.pow(retries - 1) + jitter).await;
        }
    }

    /// The error a caller sees once retrying is over.
    fn final_error(&self, e: &mysql_async::Error, retries: u32) -> StoreError {
        let target = &self.config.target;
        let tries = if retries == 0 {
            String::new()
        } else {
            format!(" (tried {} times)", retries + 1)
        };
        match fault_of(e) {
            Fault::Connection => {
                StoreError::Unavailable(format!("MySQL at {target} is unreachable{tries}: {e}"))
            }
            Fault::Contention => {
                StoreError::Unavailable(format!("MySQL at {target} is overloaded{tries}: {e}"))
            }
            Fault::Permanent => StoreError::Other(format!("MySQL at {target}: {e}")),
        }
    }
}

/// Applies pending migrations to the database a `mysql://` URL names and returns
/// the versions applied.
pub async fn migrate(url: &str) -> Result<Vec<u32>, StoreError> {
    let (store, applied) = MysqlStore::open_migrated(url).await?;
    store.close().await;
    Ok(applied)
}

#[async_trait]
impl Store for MysqlStore {
    #[cfg(feature = "test-support")]
    async fn create_user(&self, user: NewUser) -> Result<UserRecord, StoreError> {
        // Not repeatable: a lost acknowledgement would turn into `UsernameTaken`.
        self.run(false, |conn| ops::create_user(conn, user.clone()))
            .await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let key = super::username_key_lossy(username);
        self.run(true, |conn| ops::user_by_key(conn, key.clone()))
            .await
    }

    async fn otp_compare_and_swap(
        &self,
        user: UserId,
        expected: &OtpState,
        next: &OtpState,
    ) -> Result<bool, StoreError> {
        // Not repeatable: a swap whose acknowledgement was lost would report `false`.
        self.run(false, |conn| {
            ops::otp_compare_and_swap(conn, user, expected.clone(), next.clone())
        })
        .await
    }

    async fn otp_replace(&self, user: UserId, next: &OtpState) -> Result<(), StoreError> {
        self.run(true, |conn| ops::otp_replace(conn, user, next.clone()))
            .await
    }

    async fn record_login(&self, user: UserId, at: Timestamp) -> Result<(), StoreError> {
        self.run(true, |conn| ops::record_login(conn, user, at))
            .await
    }

    async fn set_avatar(&self, user: UserId, avatar: Option<AvatarHash>) -> Result<(), StoreError> {
        self.run(true, |conn| ops::set_avatar(conn, user, avatar))
            .await
    }

    async fn create_room(&self, name: &str, kind: RoomKind) -> Result<RoomRecord, StoreError> {
        self.run(false, |conn| ops::create_room(conn, name.to_owned(), kind))
            .await
    }

    async fn room_by_name(&self, name: &str) -> Result<Option<RoomRecord>, StoreError> {
        self.run(true, |conn| ops::room_by_name(conn, name.to_owned()))
            .await
    }

    async fn public_rooms(&self) -> Result<Vec<RoomRecord>, StoreError> {
        self.run(true, ops::public_rooms).await
    }

    async fn rooms_of_user(&self, user: UserId) -> Result<Vec<RoomRecord>, StoreError> {
        self.run(true, |conn| ops::rooms_of_user(conn, user)).await
    }

    async fn add_member(&self, room: RoomId, user: UserId) -> Result<(), StoreError> {
        self.run(true, |conn| ops::add_member(conn, room, user))
            .await
    }

    async fn remove_member(&self, room: RoomId, user: UserId) -> Result<(), StoreError> {
        self.run(true, |conn| ops::remove_member(conn, room, user))
            .await
    }

    async fn is_member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        self.run(true, |conn| ops::is_member(conn, room, user))
            .await
    }

    async fn member_ids(&self, room: RoomId) -> Result<Vec<UserId>, StoreError> {
        self.run(true, |conn| ops::member_ids(conn, room)).await
    }

    #[cfg(feature = "test-support")]
    async fn member_names(&self, room: RoomId) -> Result<Vec<String>, StoreError> {
        self.run(true, |conn| ops::member_names(conn, room)).await
    }

    async fn append_message(&self, message: NewMessage) -> Result<Appended, StoreError> {
        // Repeatable thanks to the idempotency key: a retry after a lost commit
        // acknowledgement finds the stored message and returns its number.
        self.run(true, |conn| ops::append_message(conn, message.clone()))
            .await
    }

    async fn history(
        &self,
        room: RoomId,
        query: HistoryQuery,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.run(true, |conn| ops::history(conn, room, query)).await
    }

    async fn room_heads(&self, rooms: &[RoomId]) -> Result<Vec<(RoomId, Seq)>, StoreError> {
        self.run(true, |conn| ops::room_heads(conn, rooms.to_vec()))
            .await
    }

    async fn create_user_with_mail(
        &self,
        user: NewUser,
        mail: NewMail,
        verify_email: bool,
    ) -> Result<UserRecord, StoreError> {
        // Not repeatable, like `create_user`.
        self.run(false, |conn| {
            mail::create_user_with_mail(conn, user.clone(), mail, verify_email)
        })
        .await
    }

    #[cfg(feature = "test-support")]
    async fn enqueue_mail(&self, user: UserId, mail: NewMail) -> Result<MailId, StoreError> {
        // Not repeatable: a lost acknowledgement would queue the mail twice.
        self.run(false, |conn| mail::enqueue_mail(conn, user, mail))
            .await
    }

    async fn due_mails(
        &self,
        now: Timestamp,
        limit: u32,
        lease_until: Timestamp,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        // Claiming twice only moves the lease again.
        self.run(true, |conn| mail::due_mails(conn, now, limit, lease_until))
            .await
    }

    async fn next_mail_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.run(true, mail::next_mail_due).await
    }

    async fn mail_sent(&self, id: MailId, at: Timestamp) -> Result<(), StoreError> {
        self.run(true, |conn| mail::mail_sent(conn, id, at)).await
    }

    async fn mail_failed(
        &self,
        id: MailId,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        // Not repeatable: the attempt would be counted twice.
        self.run(false, |conn| {
            mail::mail_failed(conn, id, next_attempt_at, error.to_owned())
        })
        .await
    }

    async fn mail_given_up(
        &self,
        id: MailId,
        at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        self.run(true, |conn| {
            mail::mail_given_up(conn, id, at, error.to_owned())
        })
        .await
    }

    #[cfg(feature = "test-support")]
    async fn mail_status(&self, id: MailId) -> Result<Option<MailStatus>, StoreError> {
        self.run(true, |conn| mail::mail_status(conn, id)).await
    }

    async fn email_verification(
        &self,
        user: UserId,
    ) -> Result<Option<EmailVerification>, StoreError> {
        self.run(true, |conn| mail::email_verification(conn, user))
            .await
    }

    async fn set_verification_code(
        &self,
        user: UserId,
        code: &StoredCode,
    ) -> Result<bool, StoreError> {
        self.run(true, |conn| {
            mail::set_verification_code(conn, user, code.clone())
        })
        .await
    }

    async fn count_verification_attempt(
        &self,
        user: UserId,
        code_hash: &[u8; 32],
        max_attempts: u32,
    ) -> Result<bool, StoreError> {
        // Not repeatable: a lost acknowledgement would count the attempt twice.
        self.run(false, |conn| {
            mail::count_verification_attempt(conn, user, *code_hash, max_attempts)
        })
        .await
    }

    async fn mark_email_verified(
        &self,
        user: UserId,
        code_hash: &[u8; 32],
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        // Not repeatable: a second run after a lost acknowledgement says `false`.
        self.run(false, |conn| {
            mail::mark_email_verified(conn, user, *code_hash, at)
        })
        .await
    }

    async fn request_verification_mail(
        &self,
        user: UserId,
        previous_by: Timestamp,
        mail: NewMail,
    ) -> Result<bool, StoreError> {
        self.run(false, |conn| {
            mail::request_verification_mail(conn, user, previous_by, mail)
        })
        .await
    }

    async fn put_blob(&self, hash: BlobHash, bytes: Vec<u8>) -> Result<bool, StoreError> {
        super::blobs::verify(&hash, &bytes)?;
        // Repeatable: a retry after a lost commit acknowledgement finds the
        // blob stored and writes nothing (it only reports `false`).
        self.run(true, |conn| blobs::put_blob(conn, hash, &bytes))
            .await
    }

    async fn blob(&self, hash: BlobHash) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(true, |conn| blobs::blob(conn, hash)).await
    }

    async fn put_avatar(
        &self,
        hash: AvatarHash,
        png: Vec<u8>,
        kind: AvatarKind,
    ) -> Result<bool, StoreError> {
        super::blobs::verify(&BlobHash::from(hash), &png)?;
        // Repeatable like `put_blob`.
        self.run(true, |conn| blobs::put_avatar(conn, hash, &png, kind))
            .await
    }

    async fn avatar_png(&self, hash: AvatarHash) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(true, |conn| blobs::avatar_png(conn, hash)).await
    }

    async fn avatar_kind(&self, hash: AvatarHash) -> Result<Option<AvatarKind>, StoreError> {
        self.run(true, |conn| blobs::avatar_kind(conn, hash)).await
    }

    async fn pool_avatars(&self) -> Result<Vec<PoolAvatar>, StoreError> {
        self.run(true, blobs::pool_avatars).await
    }

    async fn assign_pool_avatar(&self, tiebreak: u64) -> Result<Option<AvatarHash>, StoreError> {
        // Not repeatable: a lost acknowledgement would count a second hand-out.
        self.run(false, |conn| blobs::assign_pool_avatar(conn, tiebreak))
            .await
    }

    async fn raise_avatar_counts(&self, counts: Vec<(AvatarHash, u64)>) -> Result<(), StoreError> {
        // Repeatable: raising to a count twice is raising to it once.
        self.run(true, |conn| blobs::raise_avatar_counts(conn, &counts))
            .await
    }

    async fn put_file(&self, file: NewFile) -> Result<FileRecord, StoreError> {
        super::blobs::verify(&BlobHash(file.hash.0), &file.bytes)?;
        // Repeatable: every insert is ignored when its row exists.
        self.run(true, |conn| files::put_file(conn, &file)).await
    }

    async fn uploaded_since(&self, user: UserId, since: Timestamp) -> Result<u64, StoreError> {
        self.run(true, |conn| files::uploaded_since(conn, user, since))
            .await
    }

    async fn uploaded_files(
        &self,
        user: UserId,
        hashes: Vec<FileHash>,
    ) -> Result<Vec<FileRecord>, StoreError> {
        self.run(true, |conn| files::uploaded_files(conn, user, &hashes))
            .await
    }

    async fn fetchable_file(
        &self,
        user: UserId,
        hash: FileHash,
    ) -> Result<Option<Fetchable>, StoreError> {
        self.run(true, |conn| files::fetchable_file(conn, user, hash))
            .await
    }
}
