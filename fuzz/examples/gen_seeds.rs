//! Writes the generated seed corpora: encoded wire messages for `protocol_decode`
//! and tiny images for `avatar_validate`. The `skey_parse` seeds (from the
//! RFC 2289 and RFC 2243 examples) and `protocol_decode/avatar-hash-hex` are
//! plain text, written by hand.
//!
//! Run from `fuzz/` with `cargo run --example gen_seeds`; it overwrites the
//! files it owns in `corpus/` and leaves every other file there alone. Seeds
//! only give the fuzzer a valid starting point for each shape, so they stay
//! few and small.

use std::io::Cursor;
use std::path::Path;

use chatroom_common::codec;
use chatroom_common::protocol::{
    AvatarHash, Challenge, ChatMessage, ErrorCode, ErrorReply, Event, HistoryQuery, IdempotencyKey,
    OtpAlgorithm, OtpInit, OtpValue, Reply, Request, Response, RoomInfo, RoomKind, UserInfo,
};
use image::{DynamicImage, ImageFormat, Rgba, RgbaImage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let protocol = root.join("protocol_decode");
    std::fs::create_dir_all(&protocol)?;
    for (name, bytes) in protocol_seeds()? {
        std::fs::write(protocol.join(name), bytes)?;
    }
    let avatar = root.join("avatar_validate");
    std::fs::create_dir_all(&avatar)?;
    for (name, bytes) in avatar_seeds()? {
        std::fs::write(avatar.join(name), bytes)?;
    }
    Ok(())
}

/// One encoded value of each broad shape: requests with strings, nested
/// structs, byte arrays and enums; successful and failed responses; events;
/// and a two-frame single-stream event sequence.
fn protocol_seeds() -> Result<Vec<(&'static str, Vec<u8>)>, codec::CodecError> {
    let user = UserInfo {
        username: "alice".into(),
        avatar: Some(AvatarHash([7; 32])),
    };
    let room = RoomInfo {
        name: "lobby".into(),
        kind: RoomKind::Public,
        latest_seq: 42,
        peer: None,
        member: true,
    };
    let message = ChatMessage {
        room: "lobby".into(),
        seq: 42,
        sender: "alice".into(),
        sender_avatar: None,
        text: "héllo, 世界".into(),
        sent_at: 1_790_000_000_000,
        attachments: Vec::new(),
    };
    let otp = OtpInit {
        algorithm: OtpAlgorithm::Md5,
        seed: "ke1234".into(),
        count: 499,
        otp: OtpValue([0x9e, 0x87, 0x61, 0x34, 0xd9, 0x04, 0x99, 0xdd]),
    };
    let requests = [
        (
            "request-hello",
            Request::Hello {
                version: 1,
                client: "chatroom-cli 0.1".into(),
            },
        ),
        (
            "request-register",
            Request::Register {
                username: "alice".into(),
                email: "alice@example.org".into(),
                otp,
            },
        ),
        (
            "request-send",
            Request::Send {
                room: "lobby".into(),
                text: "hi".into(),
                key: IdempotencyKey([1; 16]),
                attachments: Vec::new(),
            },
        ),
        (
            "request-history",
            Request::History {
                room: "lobby".into(),
                query: HistoryQuery::Before {
                    before: Some(40),
                    limit: 50,
                },
            },
        ),
        ("request-list-rooms", Request::ListRooms),
        (
            "request-avatar-upload",
            Request::AvatarUpload {
                image: b"\x89PNG\r\n\x1a\n".to_vec(),
            },
        ),
    ];
    let responses: [(&str, Response); 4] = [
        (
            "response-challenge",
            Ok(Reply::Challenge(Challenge {
                algorithm: OtpAlgorithm::Sha1,
                count: 498,
                seed: "ke1234".into(),
            })),
        ),
        (
            "response-joined",
            Ok(Reply::Joined {
                room: room.clone(),
                history: vec![message.clone()],
                online: vec![user.clone()],
            }),
        ),
        (
            "response-sent",
            Ok(Reply::Sent {
                seq: 43,
                sent_at: -1,
                duplicate: true,
            }),
        ),
        (
            "response-error",
            Err(ErrorReply {
                code: ErrorCode::RateLimited,
                message: "slow down".into(),
                retry_after_ms: Some(1000),
            }),
        ),
    ];
    let events = [
        ("event-message", Event::Message(message)),
        (
            "event-presence",
            Event::Presence {
                room: "lobby".into(),
                user,
                online: true,
            },
        ),
        ("event-room-added", Event::RoomAdded(room)),
    ];

    let mut seeds = Vec::new();
    for (name, request) in &requests {
        seeds.push((*name, codec::encode(request)?));
    }
    for (name, response) in &responses {
        seeds.push((*name, codec::encode(response)?));
    }
    let mut framed = Vec::new();
    for (name, event) in &events {
        let bytes = codec::encode(event)?;
        if framed.is_empty() || *name == "event-room-added" {
            // Frame lengths are u32 big-endian, as in `--stream-mode single`.
            framed.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            framed.extend_from_slice(&bytes);
        }
        seeds.push((*name, bytes));
    }
    seeds.push(("event-frames", framed));
    Ok(seeds)
}

/// Tiny images in each accepted format, at and below the minimum size, and
/// with and without transparency, so each decoder and both PNG output paths
/// (RGB and RGBA) have a starting point.
fn avatar_seeds() -> Result<Vec<(&'static str, Vec<u8>)>, image::ImageError> {
    let opaque = gradient(40, 33, u8::MAX);
    let translucent = gradient(32, 48, 128);
    let mut seeds = Vec::new();
    for (name, image, format) in [
        ("opaque.png", &opaque, ImageFormat::Png),
        ("translucent.png", &translucent, ImageFormat::Png),
        ("tiny.png", &gradient(8, 8, u8::MAX), ImageFormat::Png),
        ("opaque.jpg", &opaque, ImageFormat::Jpeg),
        ("translucent.gif", &translucent, ImageFormat::Gif),
        ("opaque.webp", &opaque, ImageFormat::WebP),
    ] {
        // JPEG has no alpha channel: the encoder refuses RGBA.
        let image = if format == ImageFormat::Jpeg {
            DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(image.clone()).into_rgb8())
        } else {
            DynamicImage::ImageRgba8(image.clone())
        };
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format)?;
        seeds.push((name, out.into_inner()));
    }
    Ok(seeds)
}

/// A `w`×`h` colour gradient with the given alpha: a few colours, so the
/// encoders produce small files.
fn gradient(w: u32, h: u32, alpha: u8) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, y| {
        Rgba([
            (x * 255 / w) as u8 & 0xe0,
            (y * 255 / h) as u8 & 0xe0,
            90,
            alpha,
        ])
    })
}
