//! Wire types exchanged between the Chatroom client and server (see docs/protocol.md).
//!
//! Every request travels on its own bidirectional QUIC stream and every server
//! event on its own unidirectional stream; this module only defines what the
//! bytes on those streams mean. Types derive `Serialize` because they cross the
//! process boundary; nothing else in the workspace should.

use std::fmt;

use serde::{Deserialize, Serialize};

mod byte_fields;
mod otp;

pub use byte_fields::{AvatarHash, FileHash, IdempotencyKey, OtpValue};
pub use otp::{Challenge, OtpAlgorithm, OtpInit};

/// The ALPN token; a peer speaking anything else fails the TLS handshake.
pub const ALPN: &[u8] = b"chatroom/1";
/// Bumped whenever a change is not backwards compatible. `Hello`'s `version`
/// and `client` never change (fields added later are optional), so a client
/// of any version can learn that it must upgrade.
pub const PROTOCOL_VERSION: u32 = 1;
/// Longest chat text, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 4096;
/// Largest request the server reads from one stream.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;
/// Largest avatar upload request (the image is re-encoded to a small PNG on arrival).
pub const MAX_UPLOAD_BYTES: usize = 2 * 1024 * 1024;
/// Largest response the client reads from one stream (history pages are the biggest).
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Largest event the client reads from one unidirectional stream.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Largest file the server takes by default (a server may set its own limit;
/// an upload over it is refused with `TooLarge` before any byte is stored).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 25 * 1024 * 1024;
/// Most attachments on one message.
pub const MAX_ATTACHMENTS: usize = 10;
/// Longest attachment file name, in bytes of UTF-8.
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// Largest header (the `Request::Upload` before the file's bytes, or the
/// `Reply::File` before a download's bytes) either side reads.
pub const MAX_TRANSFER_HEADER_BYTES: usize = 4 * 1024;
/// The QUIC send priority of upload and download streams: below the default
/// (0) of every request and event stream, so text always goes first.
pub const TRANSFER_PRIORITY: i32 = -1;
/// Messages sent back when a client joins a room.
pub const HISTORY_ON_JOIN: u32 = 50;
/// Most messages in one history page.
pub const MAX_HISTORY_PAGE: u32 = 200;

/// Application error codes used when resetting or stopping a stream.
pub mod stream_code {
    /// The stream exceeded the size cap for its kind.
    pub const TOO_LARGE: u32 = 1;
    /// The stream's bytes were not a valid message.
    pub const UNDECODABLE: u32 = 2;
    /// The server is shutting down and will not answer.
    pub const SHUTTING_DOWN: u32 = 3;
    /// The sender gave the stream up (a cancelled upload): drop what came.
    pub const CANCELLED: u32 = 4;
}

/// Application codes used when closing a connection.
pub mod close_code {
    /// A normal close by either side.
    pub const NORMAL: u32 = 0;
    /// The server is shutting down.
    pub const SHUTDOWN: u32 = 1;
    /// The peer broke the protocol beyond recovery.
    pub const PROTOCOL_VIOLATION: u32 = 2;
    /// The client speaks an older protocol version.
    pub const UPGRADE_REQUIRED: u32 = 3;
    /// A limit (connections, per-address connections) was reached.
    pub const LIMIT: u32 = 4;
}

/// How requests and events travel; both ends must use the same mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StreamMode {
    /// One unidirectional stream per event (the protocol).
    #[default]
    PerMessage,
    /// One unidirectional stream per connection carrying length-prefixed
    /// frames (u32 big-endian length, then the encoded `Event`), and one
    /// client-opened bidirectional stream carrying every request, uploads
    /// with all their bytes, as frames answered by id (u32 length, u32 id,
    /// body). For the benchmarks' comparison only: a lost packet stalls every
    /// event behind it, and a request waits behind the uploads written before it.
    Single,
}

impl std::str::FromStr for StreamMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "per-message" => Ok(Self::PerMessage),
            "single" => Ok(Self::Single),
            other => Err(format!(
                "unknown stream mode {other:?} (expected per-message or single)"
            )),
        }
    }
}

/// A per-room sequence number, assigned when the message is stored; starts at 1.
pub type Seq = u64;
/// Milliseconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// A user as others see them.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct UserInfo {
    /// The username as registered (case preserved).
    pub username: String,
    /// The user's avatar, if one is assigned.
    #[serde(default)]
    pub avatar: Option<AvatarHash>,
}

/// Public rooms anyone may join, or a private two-member direct conversation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum RoomKind {
    /// A named room anyone can join.
    Public,
    /// A direct-message room between two users.
    Direct,
}

/// A room as listed to clients.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RoomInfo {
    /// The room's name; direct rooms are named `dm:<user>:<user>` (sorted, case-folded).
    pub name: String,
    /// Public or direct.
    pub kind: RoomKind,
    /// The highest sequence number stored in the room (0 when empty).
    pub latest_seq: Seq,
    /// For a direct room, the other participant; `None` for public rooms.
    #[serde(default)]
    pub peer: Option<String>,
    /// Whether the user asking is a member (joined it on any device); a client
    /// logging in rejoins every room where this is true.
    #[serde(default)]
    pub member: bool,
}

/// A stored chat message.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The room it was posted in.
    pub room: String,
    /// Its per-room sequence number.
    pub seq: Seq,
    /// Who posted it.
    pub sender: String,
    /// The sender's avatar when the message was stored.
    #[serde(default)]
    pub sender_avatar: Option<AvatarHash>,
    /// The text (any Unicode, at most [`MAX_TEXT_BYTES`]).
    pub text: String,
    /// When the server stored it.
    pub sent_at: Timestamp,
    /// Files posted with the text, in the order the sender gave them (absent
    /// on the wire when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// A file posted in a message. Everything but `name` is the server's: the
/// size and type come from the bytes it stored, never from the sender.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Attachment {
    /// The stored bytes' SHA-256 (for a picture, after its metadata was removed).
    pub hash: FileHash,
    /// The file name the sender gave (no folders).
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// The media type the server found in the bytes (`image/png`,
    /// `application/pdf`, `application/octet-stream` when unknown, …).
    pub mime: String,
    /// Set for pictures the server could decode.
    #[serde(default)]
    pub image: Option<ImageInfo>,
}

/// What the server found in an attached picture.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ImageInfo {
    /// Width in pixels, as displayed (after the camera's orientation).
    pub width: u32,
    /// Height in pixels, as displayed.
    pub height: u32,
    /// A PNG at most 320 pixels on its longer side, made by the server;
    /// fetched with `Download` like the file.
    pub thumbnail: FileHash,
}

/// An uploaded file to attach to a `Send`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct FileRef {
    /// The hash `Reply::Uploaded` gave (the file must be the sender's upload).
    pub hash: FileHash,
    /// The name to show (at most [`MAX_FILE_NAME_BYTES`]; folders are dropped).
    pub name: String,
}

/// Which slice of a room's history to fetch; results are in ascending `seq` order.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum HistoryQuery {
    /// Up to `limit` messages with `seq < before` (the newest ones when `before` is `None`).
    Before {
        /// Exclusive upper bound.
        before: Option<Seq>,
        /// Page size, at most [`MAX_HISTORY_PAGE`].
        limit: u32,
    },
    /// Up to `limit` messages with `seq > after`, oldest first: how a client fills a gap.
    After {
        /// Exclusive lower bound.
        after: Seq,
        /// Page size, at most [`MAX_HISTORY_PAGE`].
        limit: u32,
    },
}

/// One request; each is sent on a fresh bidirectional stream, then the stream is finished.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Request {
    /// Must be the first request on a connection.
    Hello {
        /// The client's [`PROTOCOL_VERSION`].
        version: u32,
        /// Free-form client name and version, for logs.
        client: String,
        /// The client reads [`Event::Batch`]: the server may then put several
        /// presence changes and room news on one stream. Absent means false,
        /// so a client that predates it gets one event per stream as before.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        batches: bool,
    },
    /// Create an account.
    Register {
        /// Wanted username.
        username: String,
        /// Contact address.
        email: String,
        /// The S/KEY chain's starting point.
        otp: OtpInit,
    },
    /// Ask for the user's current challenge.
    LoginStart {
        /// Who is logging in.
        username: String,
    },
    /// Answer the challenge issued on this connection.
    LoginFinish {
        /// Who is logging in (must match `LoginStart`).
        username: String,
        /// The one-time password for the challenge's count.
        response: OtpValue,
    },
    /// Replace the logged-in user's S/KEY chain (when it runs low).
    ReinitOtp {
        /// The new chain.
        otp: OtpInit,
    },
    /// List public rooms and the user's direct rooms.
    ListRooms,
    /// Create a public room (the creator joins it).
    CreateRoom {
        /// The room's name.
        name: String,
    },
    /// Join a room and receive its recent history and who is online.
    JoinRoom {
        /// The room's name.
        room: String,
    },
    /// Leave a room: no more events from it.
    LeaveRoom {
        /// The room's name.
        room: String,
    },
    /// Open (or reopen) the direct room with another user.
    OpenDirect {
        /// The other user.
        user: String,
    },
    /// Post a message.
    Send {
        /// The room's name.
        room: String,
        /// The text.
        text: String,
        /// Makes retries safe.
        key: IdempotencyKey,
        /// Uploaded files to post with the text (at most [`MAX_ATTACHMENTS`];
        /// the text may then be empty). Absent on the wire when there are none.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<FileRef>,
    },
    /// Fetch a page of history.
    History {
        /// The room's name.
        room: String,
        /// Which page.
        query: HistoryQuery,
    },
    /// Who is online in a room.
    Who {
        /// The room's name.
        room: String,
    },
    /// Fetch an avatar's PNG bytes by hash (each avatar crosses the network once;
    /// clients cache by hash).
    AvatarGet {
        /// The avatar.
        hash: AvatarHash,
    },
    /// List the server's avatar pool (crawled and generated pictures to pick from).
    AvatarPool,
    /// Use a picture from the pool as the user's avatar.
    AvatarChoose {
        /// A hash from `AvatarPool`.
        hash: AvatarHash,
    },
    /// Upload an image (PNG, JPEG, GIF or WebP, at most [`MAX_UPLOAD_BYTES`]) as
    /// the user's avatar; the server validates and re-encodes it to 128×128 PNG.
    AvatarUpload {
        /// The image file's bytes.
        #[serde(with = "serde_bytes")]
        image: Vec<u8>,
    },
    /// Upload a file: this request, then on the same stream the file's `size`
    /// bytes, then the end of the stream. It travels on a stream of its own at
    /// [`TRANSFER_PRIORITY`]. The server checks the bytes against `sha256`
    /// and answers `Uploaded`; nothing is stored from an upload that fails or
    /// is never finished.
    Upload {
        /// The file name (for display only; the type is found from the bytes).
        name: String,
        /// How many bytes follow.
        size: u64,
        /// SHA-256 of the bytes that follow.
        sha256: FileHash,
    },
    /// Download a file (or a picture's thumbnail) posted in a room the user is
    /// a member of, or uploaded by the user. Answered with `File` and then, on
    /// the same stream, the bytes from `offset` to the end.
    Download {
        /// The file.
        hash: FileHash,
        /// Where to start (to resume); 0 for the whole file.
        #[serde(default)]
        offset: u64,
    },
    /// Confirm the account's e-mail address with the 6-digit code the server
    /// mailed (needed before the first login when the server requires it).
    VerifyEmail {
        /// The account.
        username: String,
        /// The code from the mail.
        code: String,
    },
    /// Ask for a new verification code by mail (rate-limited per account).
    ResendVerification {
        /// The account.
        username: String,
    },
}

/// A successful answer to a [`Request`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Reply {
    /// Answer to `Hello`.
    Hello {
        /// The server's name, for display.
        server: String,
        /// The server's [`PROTOCOL_VERSION`].
        version: u32,
        /// Longest text the server accepts.
        max_text_bytes: u32,
    },
    /// Answer to `Register`.
    Registered {
        /// The new account.
        user: UserInfo,
        /// True when the account cannot log in before its e-mail address is
        /// verified with the code the server mailed (`VerifyEmail`).
        #[serde(default)]
        verification_required: bool,
    },
    /// Answer to `LoginStart`.
    Challenge(Challenge),
    /// Answer to `LoginFinish` when the OTP was right.
    LoggedIn {
        /// The account.
        user: UserInfo,
        /// How many more logins the chain allows: the chain's stored count,
        /// one above the count the next challenge will ask for.
        otp_remaining: u32,
    },
    /// Answer to `ReinitOtp`.
    OtpReinitialised {
        /// Logins the new chain allows.
        otp_remaining: u32,
    },
    /// Answer to `ListRooms`.
    Rooms(Vec<RoomInfo>),
    /// Answer to `CreateRoom` and `OpenDirect`.
    Room(RoomInfo),
    /// Answer to `JoinRoom`.
    Joined {
        /// The room.
        room: RoomInfo,
        /// The last [`HISTORY_ON_JOIN`] messages, ascending.
        history: Vec<ChatMessage>,
        /// Members online now.
        online: Vec<UserInfo>,
    },
    /// Answer to `LeaveRoom`.
    Left,
    /// Answer to `Send`: the message is stored.
    Sent {
        /// The message's sequence number.
        seq: Seq,
        /// When it was stored.
        sent_at: Timestamp,
        /// True when this key was already used: nothing new was posted.
        duplicate: bool,
    },
    /// Answer to `History`.
    History {
        /// The page, ascending by `seq`.
        messages: Vec<ChatMessage>,
        /// The room's highest sequence number now.
        latest_seq: Seq,
    },
    /// Answer to `Who`.
    Online(Vec<UserInfo>),
    /// Answer to `AvatarGet`.
    Avatar {
        /// The avatar.
        hash: AvatarHash,
        /// 128×128 PNG bytes; SHA-256 of these is `hash`.
        #[serde(with = "serde_bytes")]
        png: Vec<u8>,
    },
    /// Answer to `AvatarPool` (at most 500 entries).
    AvatarPool(Vec<AvatarHash>),
    /// Answer to `AvatarChoose` and `AvatarUpload`.
    AvatarChanged {
        /// The user's new avatar.
        avatar: AvatarHash,
    },
    /// Answer to `Upload`: the file is stored and can be attached to a `Send`.
    Uploaded(Attachment),
    /// Answer to `Download`, followed on the stream by the file's bytes from
    /// `offset` to `size`.
    File {
        /// The file.
        hash: FileHash,
        /// The whole file's size in bytes.
        size: u64,
        /// Where the bytes that follow start.
        offset: u64,
        /// The media type the server found in the bytes.
        mime: String,
    },
    /// Answer to `VerifyEmail`: the address is confirmed; the account can log in.
    EmailVerified,
    /// Answer to `ResendVerification`: a new code is on its way (older ones are void).
    VerificationSent,
}

/// Why a request failed. Clients branch on the code and show the message.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The client's protocol version is too old or too new.
    UpgradeRequired,
    /// The request could not be decoded.
    BadRequest,
    /// The request was larger than allowed.
    TooLarge,
    /// `Hello` must come first.
    HelloRequired,
    /// The request needs a logged-in session.
    NotLoggedIn,
    /// Wrong, replayed or out-of-order one-time password, or unknown user.
    AuthFailed,
    /// Too many failed logins; try again after `retry_after_ms`.
    LockedOut,
    /// The account's e-mail address is not verified yet: enter the mailed code
    /// (`VerifyEmail`) or ask for a new one (`ResendVerification`).
    EmailNotVerified,
    /// The username is already registered.
    UsernameTaken,
    /// A field failed validation; the message says which.
    InvalidInput,
    /// No room by that name.
    NoSuchRoom,
    /// No user by that name.
    NoSuchUser,
    /// The user is not a member of the room.
    NotMember,
    /// A room by that name exists already.
    RoomExists,
    /// Too many requests; retry after `retry_after_ms`.
    RateLimited,
    /// No avatar with that hash.
    NoSuchAvatar,
    /// An uploaded avatar is not an acceptable image; the message says why.
    InvalidImage,
    /// No such file, or none this user may fetch (the two are not told apart).
    NoSuchFile,
    /// The user's uploads today reached the server's daily quota; retry
    /// after `retry_after_ms`.
    QuotaExceeded,
    /// The database is unreachable; retry later.
    StorageUnavailable,
    /// A server bug; the server logged it.
    Internal,
}

/// A failed request.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ErrorReply {
    /// What kind of failure.
    pub code: ErrorCode,
    /// Plain words for the user.
    pub message: String,
    /// When set, retrying before this many milliseconds is pointless.
    #[serde(default)]
    pub retry_after_ms: Option<u64>,
}

impl ErrorReply {
    /// An error with no retry hint.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }
}

impl fmt::Display for ErrorReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(ms) = self.retry_after_ms {
            write!(f, " (retry in {ms} ms)")?;
        }
        Ok(())
    }
}

impl std::error::Error for ErrorReply {}

/// What a bidirectional stream carries back.
pub type Response = Result<Reply, ErrorReply>;

/// A server push; each travels on its own unidirectional stream.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Event {
    /// A new message in a room the user has joined.
    Message(ChatMessage),
    /// Someone came online in a room, or went away.
    Presence {
        /// The room.
        room: String,
        /// Who.
        user: UserInfo,
        /// True when they joined or connected (or changed their avatar), false when they left.
        online: bool,
    },
    /// The server dropped events for this connection (it read too slowly);
    /// fetch the room's history after `after_seq` to catch up.
    Resync {
        /// The room.
        room: String,
        /// The last sequence number the server is sure was queued to this client.
        after_seq: Seq,
    },
    /// The user was added to a room (someone opened a direct conversation,
    /// or the user joined or created a room on another device).
    RoomAdded(RoomInfo),
    /// Someone else created a public room: it can be joined now (`member` is
    /// false). Sent to every logged-in connection but the creator's.
    RoomCreated(RoomInfo),
    /// The user left this public room on another device: it is no longer
    /// theirs, and its events stop.
    RoomLeft {
        /// The room.
        room: String,
    },
    /// Several events on one stream, each meaning what it would alone:
    /// presence changes, news of public rooms and rooms joined or left on
    /// another device that waited while the connection's earlier events were
    /// going out (a crowd logging in or making rooms at once). Never
    /// nested, never a `Message`. Sent only to a client whose `Hello` set
    /// `batches`.
    Batch {
        /// The events, in no particular order.
        events: Vec<Event>,
    },
}
