//! One sample value per wire variant, named as docs/protocol.md's example markers name them.
//!
//! The samples tell one small story (alice registers, logs in, chats with bob)
//! so that the examples in the document read as a session rather than as
//! unrelated values. The `*_name` functions match without a wildcard arm: a new
//! variant does not compile until it is named here, and the test then fails
//! until it has a sample and an example in the document.

use chatroom_common::codec;
use chatroom_common::protocol::{
    Attachment, AvatarHash, ChatMessage, ErrorCode, ErrorReply, Event, FileHash, HistoryQuery,
    IdempotencyKey, ImageInfo, OtpAlgorithm, Reply, Request, Response, RoomInfo, RoomKind,
    UserInfo,
};
use chatroom_common::skey;
use sha2::{Digest, Sha256};

/// The pass phrase behind the examples' S/KEY values (RFC 2289's own test phrase).
pub const PASSPHRASE: &str = "This is a test.";
/// 2026-01-01T00:00:00Z in milliseconds: the examples' clock.
const NEW_YEAR_MS: i64 = 1_767_225_600_000;

/// A value the document shows, of whichever wire type it is.
pub enum Sample {
    /// What a client writes on a request stream.
    Request(Request),
    /// What the server writes back: `Ok(reply)` or `Err(error)`.
    Response(Response),
    /// What the server pushes on a unidirectional stream.
    Event(Event),
    /// A `History` query on its own, to show both of its shapes.
    Query(HistoryQuery),
}

impl Sample {
    /// The bytes the real encoder produces.
    pub fn encode(&self) -> Vec<u8> {
        let encoded = match self {
            Sample::Request(v) => codec::encode(v),
            Sample::Response(v) => codec::encode(v),
            Sample::Event(v) => codec::encode(v),
            Sample::Query(v) => codec::encode(v),
        };
        encoded.expect("every sample encodes")
    }

    /// Whether the real decoder turns the encoding back into this very value.
    pub fn round_trips(&self) -> bool {
        let bytes = self.encode();
        let limit = usize::MAX;
        match self {
            Sample::Request(v) => codec::decode::<Request>(&bytes, limit).ok().as_ref() == Some(v),
            Sample::Response(v) => {
                codec::decode::<Response>(&bytes, limit).ok().as_ref() == Some(v)
            }
            Sample::Event(v) => codec::decode::<Event>(&bytes, limit).ok().as_ref() == Some(v),
            Sample::Query(v) => {
                codec::decode::<HistoryQuery>(&bytes, limit).ok().as_ref() == Some(v)
            }
        }
    }

    /// The marker name: `Request::Send`, `Reply::Sent`, `ErrorReply::RateLimited`, ….
    pub fn name(&self) -> String {
        match self {
            Sample::Request(v) => format!("Request::{}", request_name(v)),
            Sample::Response(Ok(v)) => format!("Reply::{}", reply_name(v)),
            Sample::Response(Err(e)) => format!("ErrorReply::{:?}", e.code),
            Sample::Event(v) => format!("Event::{}", event_name(v)),
            Sample::Query(v) => format!("HistoryQuery::{}", query_name(v)),
        }
    }
}

/// Every sample, in the order the document shows them.
pub fn all() -> Vec<Sample> {
    let mut out: Vec<Sample> = requests().into_iter().map(Sample::Request).collect();
    out.extend(
        [
            HistoryQuery::Before {
                before: None,
                limit: 50,
            },
            HistoryQuery::After {
                after: 117,
                limit: 200,
            },
        ]
        .map(Sample::Query),
    );
    out.extend(replies().into_iter().map(|r| Sample::Response(Ok(r))));
    out.extend(errors().into_iter().map(|e| Sample::Response(Err(e))));
    out.extend(events().into_iter().map(Sample::Event));
    out
}

/// The picture bytes of the avatar examples: a PNG signature and the start of
/// its header chunk (a real avatar is a whole 128×128 PNG, too long to show).
fn png() -> Vec<u8> {
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec()
}

/// The examples' avatar: SHA-256 of [`png`], as the server computes it.
fn avatar() -> AvatarHash {
    AvatarHash(Sha256::digest(png()).into())
}

/// A second pool picture.
fn other_avatar() -> AvatarHash {
    AvatarHash(Sha256::digest(b"another picture").into())
}

fn alice() -> UserInfo {
    UserInfo {
        username: "alice".into(),
        avatar: Some(avatar()),
    }
}

/// A user without an avatar, to show `nil`.
/// A public room bob made, as news for others.
fn design() -> RoomInfo {
    RoomInfo {
        name: "design".into(),
        kind: RoomKind::Public,
        latest_seq: 0,
        peer: None,
        member: false,
    }
}

fn bob() -> UserInfo {
    UserInfo {
        username: "bob".into(),
        avatar: None,
    }
}

fn lobby() -> RoomInfo {
    RoomInfo {
        name: "lobby".into(),
        kind: RoomKind::Public,
        latest_seq: 121,
        peer: None,
        member: true,
    }
}

fn direct() -> RoomInfo {
    RoomInfo {
        name: "dm:alice:bob".into(),
        kind: RoomKind::Direct,
        latest_seq: 0,
        peer: Some("bob".into()),
        member: true,
    }
}

/// The examples' photo as the server stored it (the hash of [`png`] again,
/// so that a reader can check it: the bytes are short enough to show).
fn photo() -> Attachment {
    Attachment {
        hash: FileHash(Sha256::digest(png()).into()),
        name: "cat.png".into(),
        size: png().len() as u64,
        mime: "image/png".into(),
        image: Some(ImageInfo {
            width: 1024,
            height: 768,
            thumbnail: FileHash(Sha256::digest(b"the thumbnail").into()),
        }),
    }
}

fn message(seq: u64, sender: &UserInfo, text: &str) -> ChatMessage {
    ChatMessage {
        room: "lobby".into(),
        seq,
        sender: sender.username.clone(),
        sender_avatar: sender.avatar,
        text: text.into(),
        sent_at: NEW_YEAR_MS + i64::try_from(seq).expect("small") * 1000,
        attachments: Vec::new(),
    }
}

fn requests() -> Vec<Request> {
    let register = skey::init(OtpAlgorithm::Md5, "ke1234", PASSPHRASE, 500).expect("valid");
    let response = skey::otp(OtpAlgorithm::Md5, "ke1234", PASSPHRASE, 499).expect("valid");
    let reinit = skey::init(OtpAlgorithm::Sha1, "kf5678", PASSPHRASE, 1000).expect("valid");
    let room = |r: &str| r.to_owned();
    vec![
        Request::Hello {
            version: 1,
            client: "mychat 0.1".into(),
            batches: true,
        },
        Request::Register {
            username: "alice".into(),
            email: "alice@example.org".into(),
            otp: register,
        },
        Request::VerifyEmail {
            username: "alice".into(),
            code: "042917".into(),
        },
        Request::ResendVerification {
            username: "alice".into(),
        },
        Request::LoginStart {
            username: "alice".into(),
        },
        Request::LoginFinish {
            username: "alice".into(),
            response,
        },
        Request::ReinitOtp { otp: reinit },
        Request::ListRooms,
        Request::CreateRoom { name: room("rust") },
        Request::JoinRoom {
            room: room("lobby"),
        },
        Request::LeaveRoom { room: room("rust") },
        Request::OpenDirect { user: room("bob") },
        Request::Send {
            room: room("lobby"),
            text: "Hello, world!".into(),
            key: IdempotencyKey([
                0x3c, 0x9a, 0x51, 0x07, 0xe2, 0x4b, 0x8d, 0xf0, 0x16, 0xa5, 0x7e, 0x29, 0xc4, 0x0b,
                0x93, 0x68,
            ]),
            attachments: Vec::new(),
        },
        Request::History {
            room: room("lobby"),
            query: HistoryQuery::Before {
                before: Some(120),
                limit: 2,
            },
        },
        Request::Who {
            room: room("lobby"),
        },
        Request::AvatarGet { hash: avatar() },
        Request::AvatarPool,
        Request::AvatarChoose {
            hash: other_avatar(),
        },
        Request::AvatarUpload { image: png() },
        Request::Upload {
            name: "cat.png".into(),
            size: png().len() as u64,
            sha256: FileHash(Sha256::digest(png()).into()),
        },
        Request::Download {
            hash: photo().hash,
            offset: 0,
        },
    ]
}

fn replies() -> Vec<Reply> {
    let rust = RoomInfo {
        name: "rust".into(),
        latest_seq: 0,
        member: true,
        ..lobby()
    };
    vec![
        Reply::Hello {
            server: "chat.example.org".into(),
            version: 1,
            max_text_bytes: 4096,
        },
        Reply::Registered {
            user: alice(),
            verification_required: true,
        },
        Reply::EmailVerified,
        Reply::VerificationSent,
        Reply::Challenge(chatroom_common::protocol::Challenge {
            algorithm: OtpAlgorithm::Md5,
            count: 499,
            seed: "ke1234".into(),
        }),
        Reply::LoggedIn {
            user: alice(),
            otp_remaining: 499,
        },
        Reply::OtpReinitialised {
            otp_remaining: 1000,
        },
        Reply::Rooms(vec![
            lobby(),
            RoomInfo {
                member: false,
                ..rust.clone()
            },
            direct(),
        ]),
        Reply::Room(rust),
        Reply::Joined {
            room: lobby(),
            history: vec![
                message(120, &bob(), "hi all"),
                message(121, &alice(), "hello bob"),
            ],
            online: vec![alice(), bob()],
        },
        Reply::Left,
        Reply::Sent {
            seq: 122,
            sent_at: NEW_YEAR_MS + 122_000,
            duplicate: false,
        },
        Reply::History {
            messages: vec![
                message(118, &alice(), "anyone here?"),
                message(119, &bob(), "yes"),
            ],
            latest_seq: 122,
        },
        Reply::Online(vec![alice(), bob()]),
        Reply::Avatar {
            hash: avatar(),
            png: png(),
        },
        Reply::AvatarPool(vec![avatar(), other_avatar()]),
        Reply::AvatarChanged {
            avatar: other_avatar(),
        },
        Reply::Uploaded(photo()),
        Reply::File {
            hash: photo().hash,
            size: photo().size,
            offset: 0,
            mime: photo().mime,
        },
    ]
}

fn errors() -> Vec<ErrorReply> {
    vec![
        ErrorReply::new(ErrorCode::NotLoggedIn, "log in first"),
        ErrorReply::new(ErrorCode::NoSuchFile, "no such file"),
        ErrorReply {
            code: ErrorCode::RateLimited,
            message: "slow down: you can send again in 180 ms".into(),
            retry_after_ms: Some(180),
        },
    ]
}

fn events() -> Vec<Event> {
    vec![
        Event::Message(ChatMessage {
            attachments: vec![photo()],
            ..message(123, &bob(), "welcome back")
        }),
        Event::Presence {
            room: "lobby".into(),
            user: bob(),
            online: true,
        },
        Event::Resync {
            room: "lobby".into(),
            after_seq: 123,
        },
        Event::RoomAdded(direct()),
        Event::RoomCreated(design()),
        Event::RoomLeft {
            room: "design".into(),
        },
        Event::Batch {
            events: vec![
                Event::Presence {
                    room: "lobby".into(),
                    user: bob(),
                    online: true,
                },
                Event::RoomCreated(design()),
            ],
        },
    ]
}

fn request_name(request: &Request) -> &'static str {
    match request {
        Request::Hello { .. } => "Hello",
        Request::Register { .. } => "Register",
        Request::LoginStart { .. } => "LoginStart",
        Request::LoginFinish { .. } => "LoginFinish",
        Request::ReinitOtp { .. } => "ReinitOtp",
        Request::ListRooms => "ListRooms",
        Request::CreateRoom { .. } => "CreateRoom",
        Request::JoinRoom { .. } => "JoinRoom",
        Request::LeaveRoom { .. } => "LeaveRoom",
        Request::OpenDirect { .. } => "OpenDirect",
        Request::Send { .. } => "Send",
        Request::History { .. } => "History",
        Request::Who { .. } => "Who",
        Request::AvatarGet { .. } => "AvatarGet",
        Request::AvatarPool => "AvatarPool",
        Request::AvatarChoose { .. } => "AvatarChoose",
        Request::AvatarUpload { .. } => "AvatarUpload",
        Request::Upload { .. } => "Upload",
        Request::Download { .. } => "Download",
        Request::VerifyEmail { .. } => "VerifyEmail",
        Request::ResendVerification { .. } => "ResendVerification",
    }
}

fn reply_name(reply: &Reply) -> &'static str {
    match reply {
        Reply::Hello { .. } => "Hello",
        Reply::Registered { .. } => "Registered",
        Reply::Challenge(_) => "Challenge",
        Reply::LoggedIn { .. } => "LoggedIn",
        Reply::OtpReinitialised { .. } => "OtpReinitialised",
        Reply::Rooms(_) => "Rooms",
        Reply::Room(_) => "Room",
        Reply::Joined { .. } => "Joined",
        Reply::Left => "Left",
        Reply::Sent { .. } => "Sent",
        Reply::History { .. } => "History",
        Reply::Online(_) => "Online",
        Reply::Avatar { .. } => "Avatar",
        Reply::AvatarPool(_) => "AvatarPool",
        Reply::AvatarChanged { .. } => "AvatarChanged",
        Reply::Uploaded(_) => "Uploaded",
        Reply::File { .. } => "File",
        Reply::EmailVerified => "EmailVerified",
        Reply::VerificationSent => "VerificationSent",
    }
}

fn event_name(event: &Event) -> &'static str {
    match event {
        Event::Message(_) => "Message",
        Event::Presence { .. } => "Presence",
        Event::Resync { .. } => "Resync",
        Event::RoomAdded(_) => "RoomAdded",
        Event::RoomCreated(_) => "RoomCreated",
        Event::RoomLeft { .. } => "RoomLeft",
        Event::Batch { .. } => "Batch",
    }
}

fn query_name(query: &HistoryQuery) -> &'static str {
    match query {
        HistoryQuery::Before { .. } => "Before",
        HistoryQuery::After { .. } => "After",
    }
}
