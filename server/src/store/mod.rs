//! Persistence: the [`Store`] trait the server talks to, its records and errors.
//!
//! Two implementations pass the same conformance suite (`server/tests/it/store_conformance.rs`):
//! [`sqlite::SqliteStore`], the zero-setup default, and [`mysql::MysqlStore`] for production.
//!
//! Invariants every implementation keeps:
//! - Usernames are unique case-insensitively (the key is [`chatroom_common::validate::username_key`]).
//! - Per-room sequence numbers start at 1 and are contiguous and unique, even with several
//!   server processes writing to one database.
//! - `append_message` returns only once the message is durable; it checks inside
//!   its transaction that the sender is a member of the room; a repeated
//!   (sender, idempotency key) returns the first message's number and `duplicate = true`.
//! - The S/KEY update is a single compare-and-swap: of two racing logins with the
//!   same response, exactly one sees `true`.
//! - A blob is stored whole or not at all, under the SHA-256 of its bytes
//!   (checked on the way in and on the way out); storing it again changes nothing.
//! - A message and its attachments are stored in one transaction; a user may
//!   fetch a file only if they uploaded it or it was posted in a room they are
//!   a member of (a thumbnail goes with its file).

use async_trait::async_trait;
use chatroom_common::protocol::{
    Attachment, AvatarHash, ChatMessage, FileHash, HistoryQuery, IdempotencyKey, OtpAlgorithm,
    OtpValue, RoomKind, Seq, Timestamp,
};

pub mod blobs;
pub mod files;
pub mod mail;
pub mod mysql;
pub mod sqlite;

pub use blobs::{AvatarKind, BlobHash, PoolAvatar};
pub use files::{Fetchable, FileRecord, NewFile, Picture};
pub use mail::{
    EmailVerification, MailId, MailKind, MailState, MailStatus, NewMail, QueuedMail, StoredCode,
};

/// Database row id of a user.
pub type UserId = i64;
/// Database row id of a room.
pub type RoomId = i64;

/// Why a store operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The username (case-insensitively) is taken.
    #[error("the username is already taken")]
    UsernameTaken,
    /// A room by that name exists.
    #[error("a room by that name exists already")]
    RoomExists,
    /// The referenced user or room does not exist.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// Bytes offered to the blob store do not hash to the name they came with.
    #[error("blob hash mismatch: named {claimed}, but the bytes hash to {actual}")]
    BlobHashMismatch {
        /// The hash the bytes were offered under (hex).
        claimed: String,
        /// The SHA-256 of the bytes (hex).
        actual: String,
    },
    /// The database cannot be reached or failed transiently; retrying later may work.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or corrupt data.
    #[error("storage error: {0}")]
    Other(String),
}

/// The server's half of a user's S/KEY chain: the last accepted one-time password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpState {
    /// Hash algorithm.
    pub algorithm: OtpAlgorithm,
    /// Seed (lower case).
    pub seed: String,
    /// The sequence number of `last`; the next challenge asks for `count - 1`.
    pub count: u32,
    /// The last accepted OTP (or the registration's starting value).
    pub last: OtpValue,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Username as typed (case preserved).
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// The S/KEY chain's starting point.
    pub otp: OtpState,
    /// The assigned avatar, if any.
    pub avatar: Option<AvatarHash>,
    /// Registration time.
    pub created_at: Timestamp,
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Row id.
    pub id: UserId,
    /// Username as registered.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Current S/KEY state.
    pub otp: OtpState,
    /// Current avatar.
    pub avatar: Option<AvatarHash>,
    /// Registration time.
    pub created_at: Timestamp,
    /// Last successful login.
    pub last_login: Option<Timestamp>,
}

/// A stored room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRecord {
    /// Row id.
    pub id: RoomId,
    /// Name (case-folded; direct rooms are `dm:a:b`).
    pub name: String,
    /// Public or direct.
    pub kind: RoomKind,
    /// Highest sequence number stored (0 when empty).
    pub latest_seq: Seq,
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Target room.
    pub room_id: RoomId,
    /// Sender.
    pub sender_id: UserId,
    /// Text, already validated.
    pub text: String,
    /// The sender's idempotency key.
    pub key: IdempotencyKey,
    /// Server time of the send.
    pub sent_at: Timestamp,
    /// Files posted with it (each one the sender's upload), usually none.
    pub attachments: Vec<Attachment>,
}

/// What [`Store::append_message`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The message's sequence number in its room (the first one's, for a repeat).
    pub seq: Seq,
    /// When it was sent (the first one's, for a repeat).
    pub sent_at: Timestamp,
    /// The (sender, idempotency key) was stored before: nothing new was stored.
    pub duplicate: bool,
}

/// What `StoreError::NotFound` names when [`Store::append_message`] is refused
/// because the sender is not (or no longer) a member of the room.
pub const NOT_A_MEMBER: &str = "membership";

/// Persistence of users, rooms, memberships and messages.
///
/// History comes back as [`ChatMessage`] with the room name, sender name and the
/// sender's avatar filled in, ready for the wire.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    #[cfg(feature = "test-support")]
    /// Creates a user; `UsernameTaken` when the case-folded name exists.
    async fn create_user(&self, user: NewUser) -> Result<UserRecord, StoreError>;
    /// Finds a user by name, case-insensitively.
    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Replaces `expected` with `next` only if the stored state still equals
    /// `expected` (count and value); returns whether it did. One atomic statement.
    async fn otp_compare_and_swap(
        &self,
        user: UserId,
        expected: &OtpState,
        next: &OtpState,
    ) -> Result<bool, StoreError>;
    /// Replaces the chain unconditionally (re-initialisation in an authenticated session).
    async fn otp_replace(&self, user: UserId, next: &OtpState) -> Result<(), StoreError>;
    /// Records a successful login time.
    async fn record_login(&self, user: UserId, at: Timestamp) -> Result<(), StoreError>;
    /// Sets or clears a user's avatar.
    async fn set_avatar(&self, user: UserId, avatar: Option<AvatarHash>) -> Result<(), StoreError>;

    /// Creates a room; `RoomExists` if the name is taken.
    async fn create_room(&self, name: &str, kind: RoomKind) -> Result<RoomRecord, StoreError>;
    /// Finds a room by its (case-folded) name.
    async fn room_by_name(&self, name: &str) -> Result<Option<RoomRecord>, StoreError>;
    /// All public rooms, by name.
    async fn public_rooms(&self) -> Result<Vec<RoomRecord>, StoreError>;
    /// Rooms (public and direct) the user is a member of, by name.
    async fn rooms_of_user(&self, user: UserId) -> Result<Vec<RoomRecord>, StoreError>;
    /// Makes the user a member; no error if already one.
    async fn add_member(&self, room: RoomId, user: UserId) -> Result<(), StoreError>;
    /// Removes a membership; no error if there was none.
    async fn remove_member(&self, room: RoomId, user: UserId) -> Result<(), StoreError>;
    /// Whether the user is a member of the room.
    async fn is_member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError>;
    /// Ids of the room's members (for who is online in a cluster).
    async fn member_ids(&self, room: RoomId) -> Result<Vec<UserId>, StoreError>;
    #[cfg(feature = "test-support")]
    /// Usernames of the room's members (for presence and direct rooms).
    async fn member_names(&self, room: RoomId) -> Result<Vec<String>, StoreError>;

    /// Stores a message under the room's next sequence number and returns that
    /// number once durable; with a (sender, key) seen before, stores nothing and
    /// returns the earlier message's number with `duplicate`. The sender's
    /// membership is checked in the same transaction: a non-member gets
    /// `NotFound(NOT_A_MEMBER)` (`NotFound("room")` for a missing room,
    /// `NotFound("user")` for a missing sender) and no number is used up.
    async fn append_message(&self, message: NewMessage) -> Result<Appended, StoreError>;
    /// A page of a room's history, ascending by sequence number.
    async fn history(
        &self,
        room: RoomId,
        query: HistoryQuery,
    ) -> Result<Vec<ChatMessage>, StoreError>;
    /// The highest sequence number stored in each of `rooms` (0 for a room
    /// without messages), in no particular order; ids that name no room are
    /// left out. One statement for up to [`ROOM_HEADS_BATCH`] rooms, so a
    /// cluster node's sweep over every room it watches is one query.
    async fn room_heads(&self, rooms: &[RoomId]) -> Result<Vec<(RoomId, Seq)>, StoreError>;

    /// Creates a user and queues `mail` for them in one transaction, so an
    /// account never exists without its welcome mail; with `verify_email` the
    /// account also starts with a pending e-mail verification (its last request
    /// at `user.created_at`), again atomically: it can never log in unverified.
    /// Fails like [`Store::create_user`].
    async fn create_user_with_mail(
        &self,
        user: NewUser,
        mail: NewMail,
        verify_email: bool,
    ) -> Result<UserRecord, StoreError>;
    #[cfg(feature = "test-support")]
    /// Queues a mail for a user, due at once.
    async fn enqueue_mail(&self, user: UserId, mail: NewMail) -> Result<MailId, StoreError>;
    /// Claims up to `limit` queued mails due at `now`, earliest due first, and
    /// moves their next attempt to `lease_until`, so that another worker (a
    /// second server process on the same database) leaves them alone until this
    /// one reports the outcome; if it never does (it crashed), they come due again then.
    async fn due_mails(
        &self,
        now: Timestamp,
        limit: u32,
        lease_until: Timestamp,
    ) -> Result<Vec<QueuedMail>, StoreError>;
    /// When the next queued mail is due, if any is queued.
    async fn next_mail_due(&self) -> Result<Option<Timestamp>, StoreError>;
    /// The mail was delivered: it leaves the queue.
    async fn mail_sent(&self, id: MailId, at: Timestamp) -> Result<(), StoreError>;
    /// An attempt failed: counts it, keeps `error`, and makes the mail due again
    /// at `next_attempt_at`.
    async fn mail_failed(
        &self,
        id: MailId,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Delivery is given up: the mail leaves the queue, keeping `error`.
    async fn mail_given_up(&self, id: MailId, at: Timestamp, error: &str)
    -> Result<(), StoreError>;
    #[cfg(feature = "test-support")]
    /// A mail's delivery record.
    async fn mail_status(&self, id: MailId) -> Result<Option<MailStatus>, StoreError>;

    /// The user's e-mail verification, if the account has one.
    async fn email_verification(
        &self,
        user: UserId,
    ) -> Result<Option<EmailVerification>, StoreError>;
    /// Replaces a pending verification's code and resets its attempts; `false`
    /// when no verification is pending.
    async fn set_verification_code(
        &self,
        user: UserId,
        code: &StoredCode,
    ) -> Result<bool, StoreError>;
    /// Counts one attempt against the pending code whose hash is `code_hash`,
    /// unless `max_attempts` were made already or the code was replaced; returns
    /// whether it counted. One conditional update, so racing attempts can never
    /// make more than `max_attempts` comparisons against one code.
    async fn count_verification_attempt(
        &self,
        user: UserId,
        code_hash: &[u8; 32],
        max_attempts: u32,
    ) -> Result<bool, StoreError>;
    /// Marks the address verified at `at` if `code_hash` is still the pending
    /// code and has not expired; clears the code. Returns whether it did.
    async fn mark_email_verified(
        &self,
        user: UserId,
        code_hash: &[u8; 32],
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// For a pending verification last requested at or before `previous_by`:
    /// records a request at `mail.queued_at` and queues `mail`, in one
    /// transaction. Returns `false` (and does nothing) otherwise.
    async fn request_verification_mail(
        &self,
        user: UserId,
        previous_by: Timestamp,
        mail: NewMail,
    ) -> Result<bool, StoreError>;

    // Blobs and avatars (`blobs.rs`): content-addressed bytes every node of a
    // cluster shares. Kept together so that other additions merge cleanly.

    /// Stores `bytes` under `hash`: the blob row and all its chunks in one
    /// transaction. `Ok(false)` when it was stored already (nothing is
    /// written); `BlobHashMismatch` when `hash` is not the bytes' SHA-256.
    async fn put_blob(&self, hash: BlobHash, bytes: Vec<u8>) -> Result<bool, StoreError>;
    /// A blob's bytes, or `None` for a hash never stored.
    async fn blob(&self, hash: BlobHash) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `png` as a blob and records it as an avatar of `kind`, in one
    /// transaction. A picture stored before keeps its kind, except that an
    /// upload becomes a pool picture when stored as one. Returns whether the
    /// call changed anything: new to the pool for a pool kind, new at all for
    /// an upload. Checks the hash like [`Store::put_blob`].
    async fn put_avatar(
        &self,
        hash: AvatarHash,
        png: Vec<u8>,
        kind: AvatarKind,
    ) -> Result<bool, StoreError>;
    /// The PNG of the avatar (of any kind) with that hash; `None` if there is
    /// none, also for a blob that is not an avatar.
    async fn avatar_png(&self, hash: AvatarHash) -> Result<Option<Vec<u8>>, StoreError>;
    /// The kind of the avatar with that hash, if there is one.
    async fn avatar_kind(&self, hash: AvatarHash) -> Result<Option<AvatarKind>, StoreError>;
    /// The pool (crawled and generated avatars) in hash order, with their counts.
    async fn pool_avatars(&self) -> Result<Vec<PoolAvatar>, StoreError>;
    /// Chooses a new account's picture (crawled first, the least given, ties
    /// broken by `tiebreak`) and counts it, in one transaction, so that
    /// registrations on every node take turns; `None` when the pool is empty.
    async fn assign_pool_avatar(&self, tiebreak: u64) -> Result<Option<AvatarHash>, StoreError>;
    /// Raises pool pictures' hand-out counts to at least the given ones (for
    /// importing the ledger an install kept on disk, so importing twice counts
    /// nothing twice); hashes not in the pool are skipped.
    async fn raise_avatar_counts(&self, counts: Vec<(AvatarHash, u64)>) -> Result<(), StoreError>;

    // Files posted in messages (`files.rs`).

    /// Stores an upload: its blob, its thumbnail's blob, its `files` row and
    /// the uploader's `uploads` row, in one transaction. A file stored before
    /// keeps its row; an upload the user made before is not counted again.
    /// Checks the hash like [`Store::put_blob`].
    async fn put_file(&self, file: NewFile) -> Result<FileRecord, StoreError>;
    /// Bytes of the files `user` uploaded for the first time at or after `since`.
    async fn uploaded_since(&self, user: UserId, since: Timestamp) -> Result<u64, StoreError>;
    /// The records of those of `hashes` that `user` uploaded (any order).
    async fn uploaded_files(
        &self,
        user: UserId,
        hashes: Vec<FileHash>,
    ) -> Result<Vec<FileRecord>, StoreError>;
    /// The file or thumbnail `hash` if `user` may fetch it (uploaded it, or it
    /// was posted in a room they are a member of); `None` otherwise, the same
    /// for a hash never stored.
    async fn fetchable_file(
        &self,
        user: UserId,
        hash: FileHash,
    ) -> Result<Option<Fetchable>, StoreError>;
}

/// Opens the store a URL names: `sqlite://PATH` (or a bare path) for SQLite,
/// `mysql://USER:PASS@HOST:PORT/DB` for MySQL/MariaDB. Applies migrations.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    open_impl(url).await
}

/// Which backend a store URL names.
enum Backend<'a> {
    /// A SQLite database file at this path.
    Sqlite(&'a str),
    /// A MySQL/MariaDB URL, passed on whole.
    Mysql(&'a str),
}

/// Splits off the scheme: `sqlite://PATH` and bare paths are SQLite, `mysql://` is MySQL.
fn backend_of(url: &str) -> Result<Backend<'_>, StoreError> {
    match url.split_once("://") {
        None => Ok(Backend::Sqlite(url)),
        Some(("sqlite", path)) => Ok(Backend::Sqlite(path)),
        Some(("mysql", _)) => Ok(Backend::Mysql(url)),
        Some((scheme, _)) => Err(StoreError::Other(format!(
            "unsupported store URL scheme `{scheme}://` (use sqlite://PATH or mysql://USER:PASS@HOST:PORT/DB)"
        ))),
    }
}

/// Opens the store, applying any pending migrations first.
async fn open_impl(url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    Ok(match backend_of(url)? {
        Backend::Sqlite(path) => std::sync::Arc::new(sqlite::SqliteStore::open(path).await?),
        Backend::Mysql(url) => std::sync::Arc::new(mysql::MysqlStore::open(url).await?),
    })
}

/// Applies pending schema migrations to the database the URL names (see [`open`])
/// and returns the versions it applied, oldest first; empty when it was up to date.
pub async fn migrate(url: &str) -> Result<Vec<u32>, StoreError> {
    match backend_of(url)? {
        Backend::Sqlite(path) => sqlite::migrate(path).await,
        Backend::Mysql(url) => mysql::migrate(url).await,
    }
}

/// The URL with its password, if any, replaced by `***`: safe to log or show.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Fails only for URLs that cannot carry a password, which this one does.
            if parsed.set_password(Some("***")).is_ok() {
                parsed.to_string()
            } else {
                "<unprintable store URL>".to_owned()
            }
        }
        Ok(_) => url.to_owned(),
        // Not a URL (a bare SQLite path, say): nothing to hide unless it looks like
        // `scheme://user:pass@...` that failed to parse, which we refuse to echo.
        Err(_) if url.contains('@') => "<unparsable store URL>".to_owned(),
        Err(_) => url.to_owned(),
    }
}

/// The unique key of a username. The server validates names before storing them,
/// so this is [`chatroom_common::validate::username_key`]; a name that fails
/// validation (the store is not the validator) gets the same case folding.
fn username_key_lossy(name: &str) -> String {
    chatroom_common::validate::username_key(name).unwrap_or_else(|_| name.to_lowercase())
}

/// How an [`OtpAlgorithm`] is spelled in the database (as in RFC 2289's `otp-md5`).
fn algorithm_name(algorithm: OtpAlgorithm) -> &'static str {
    match algorithm {
        OtpAlgorithm::Md4 => "md4",
        OtpAlgorithm::Md5 => "md5",
        OtpAlgorithm::Sha1 => "sha1",
    }
}

/// Reads back what [`algorithm_name`] wrote.
fn algorithm_from_name(name: &str) -> Result<OtpAlgorithm, StoreError> {
    match name {
        "md4" => Ok(OtpAlgorithm::Md4),
        "md5" => Ok(OtpAlgorithm::Md5),
        "sha1" => Ok(OtpAlgorithm::Sha1),
        other => Err(StoreError::Other(format!(
            "unknown OTP algorithm `{other}` in the database"
        ))),
    }
}

/// How a [`RoomKind`] is spelled in the database.
fn kind_name(kind: RoomKind) -> &'static str {
    match kind {
        RoomKind::Public => "public",
        RoomKind::Direct => "direct",
    }
}

/// Reads back what [`kind_name`] wrote.
fn kind_from_name(name: &str) -> Result<RoomKind, StoreError> {
    match name {
        "public" => Ok(RoomKind::Public),
        "direct" => Ok(RoomKind::Direct),
        other => Err(StoreError::Other(format!(
            "unknown room kind `{other}` in the database"
        ))),
    }
}

/// A fixed-size binary column (OTP value, avatar hash, idempotency key) read back.
fn fixed_bytes<const N: usize>(bytes: Vec<u8>, column: &str) -> Result<[u8; N], StoreError> {
    let len = bytes.len();
    bytes
        .try_into()
        .map_err(|_| StoreError::Other(format!("{column} holds {len} bytes, expected {N}")))
}

/// The most rooms [`Store::room_heads`] asks for in one statement (more are
/// asked in batches of this size); far below both back ends' limits on bound
/// parameters.
pub const ROOM_HEADS_BATCH: usize = 4096;

/// `rooms` de-duplicated and cut into batches of at most [`ROOM_HEADS_BATCH`],
/// each padded (by repeating its last id) to a power of two of at least 8, so
/// the `IN (…)` lists come in a handful of shapes and their prepared
/// statements are reused rather than one made per length.
fn room_head_batches(rooms: &[RoomId]) -> Vec<Vec<RoomId>> {
    let mut ids = rooms.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids.chunks(ROOM_HEADS_BATCH)
        .map(|chunk| {
            let mut batch = chunk.to_vec();
            let padded = chunk.len().next_power_of_two().max(8);
            if let Some(&last) = chunk.last() {
                batch.resize(padded, last);
            }
            batch
        })
        .collect()
}

/// The `IN (…)` list of `n` placeholders: `?, ?, …`.
fn placeholders(n: usize) -> String {
    let mut list = "?, ".repeat(n);
    list.truncate(list.len().saturating_sub(2));
    list
}

/// A history page size: at most [`chatroom_common::protocol::MAX_HISTORY_PAGE`].
fn page_limit(limit: u32) -> u32 {
    limit.min(chatroom_common::protocol::MAX_HISTORY_PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_head_batches_are_deduplicated_padded_and_capped() {
        assert!(room_head_batches(&[]).is_empty());
        assert_eq!(
            room_head_batches(&[3, 1, 3]),
            vec![vec![1, 3, 3, 3, 3, 3, 3, 3]]
        );
        let many: Vec<RoomId> = (0..9000).collect();
        let batches = room_head_batches(&many);
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [ROOM_HEADS_BATCH, ROOM_HEADS_BATCH, 1024]);
        assert_eq!(batches[2][..808].last(), Some(&8999));
        assert_eq!(placeholders(3), "?, ?, ?");
    }
}
