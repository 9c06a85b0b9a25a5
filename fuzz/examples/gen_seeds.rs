//! Writes the generated seed corpora: encoded wire messages for `protocol_decode`,
//! tiny images for `avatar_validate`, and for `upload_examine` pictures with
//! metadata to strip and an upload header followed by its bytes. The `skey_parse` seeds (from the
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
    AvatarHash, Challenge, ChatMessage, ErrorCode, ErrorReply, Event, FileHash, HistoryQuery,
    IdempotencyKey, OtpAlgorithm, OtpInit, OtpValue, Reply, Request, Response, RoomInfo, RoomKind,
    UserInfo,
};
use sha2::{Digest, Sha256};
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
    let upload = root.join("upload_examine");
    std::fs::create_dir_all(&upload)?;
    for (name, bytes) in upload_seeds()? {
        std::fs::write(upload.join(name), bytes)?;
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
                batches: true,
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

/// Pictures carrying the metadata `metadata::strip` removes (a JPEG with EXIF
/// that includes an orientation, so the upright re-encoding runs too; a PNG
/// with a `tEXt` chunk; a WebP with an `EXIF` chunk behind its `VP8X`
/// header), and an upload header followed by the bytes it announces, as the
/// stream carries them.
fn upload_seeds() -> Result<Vec<(&'static str, Vec<u8>)>, Box<dyn std::error::Error>> {
    let picture = gradient(24, 16, u8::MAX);
    let encode = |format: ImageFormat| -> Result<Vec<u8>, image::ImageError> {
        let image = DynamicImage::ImageRgba8(picture.clone());
        // JPEG has no alpha channel: the encoder refuses RGBA.
        let image = if format == ImageFormat::Jpeg {
            DynamicImage::ImageRgb8(image.into_rgb8())
        } else {
            image
        };
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format)?;
        Ok(out.into_inner())
    };

    // EXIF, big-endian, one entry: orientation 6 (turn 90° clockwise).
    let exif: &[u8] = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";
    let plain = encode(ImageFormat::Jpeg)?;
    let mut jpeg = plain[..2].to_vec();
    jpeg.extend_from_slice(&[0xff, 0xe1]);
    jpeg.extend_from_slice(&u16::try_from(exif.len() + 2)?.to_be_bytes());
    jpeg.extend_from_slice(exif);
    jpeg.extend_from_slice(&plain[2..]);

    // The tEXt chunk goes right after IHDR (8 bytes of signature, 25 of IHDR).
    let plain = encode(ImageFormat::Png)?;
    let text = b"Comment\0taken at home";
    let mut chunk = u32::try_from(text.len())?.to_be_bytes().to_vec();
    chunk.extend_from_slice(b"tEXt");
    chunk.extend_from_slice(text);
    let crc = crc32(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    let mut png = plain[..33].to_vec();
    png.extend_from_slice(&chunk);
    png.extend_from_slice(&plain[33..]);

    // A lossless WebP wrapped in an extended (VP8X) file with EXIF.
    let plain = encode(ImageFormat::WebP)?;
    let body = plain.get(12..).ok_or("a WebP shorter than its header")?;
    let mut webp = b"RIFF\0\0\0\0WEBP".to_vec();
    webp.extend_from_slice(b"VP8X\x0a\0\0\0");
    // Flags: EXIF present; then width − 1 and height − 1, 24 bits each.
    webp.extend_from_slice(&[0b0000_1000, 0, 0, 0]);
    webp.extend_from_slice(&(24u32 - 1).to_le_bytes()[..3]);
    webp.extend_from_slice(&(16u32 - 1).to_le_bytes()[..3]);
    webp.extend_from_slice(body);
    let tiff = &exif[6..];
    webp.extend_from_slice(b"EXIF");
    webp.extend_from_slice(&u32::try_from(tiff.len())?.to_le_bytes());
    webp.extend_from_slice(tiff);
    if tiff.len() % 2 == 1 {
        webp.push(0);
    }
    let riff_size = u32::try_from(webp.len() - 8)?;
    webp[4..8].copy_from_slice(&riff_size.to_le_bytes());

    // An upload of the PNG as it arrives: the header, then the bytes.
    let mut upload = codec::encode(&Request::Upload {
        name: "holiday.png".into(),
        size: u64::try_from(png.len())?,
        sha256: FileHash(Sha256::digest(&png).into()),
    })?;
    upload.extend_from_slice(&png);

    Ok(vec![
        ("exif-turned.jpg", jpeg),
        ("text-chunk.png", png),
        ("exif.webp", webp),
        ("upload-png", upload),
        ("text", b"meeting notes\n".to_vec()),
    ])
}

/// The CRC-32 a PNG chunk ends with (ISO 3309, over its type and data).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}
