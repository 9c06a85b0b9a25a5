//! Fuzz target: what the server does with an upload stream's start and an
//! upload's bytes, on arbitrary input.
//!
//! First the header reader, as `connection.rs` runs it: `decode_prefix::<Request>`
//! under `MAX_TRANSFER_HEADER_BYTES`. A header that decodes must have taken no
//! more than the cap and the input, must decode alone to the same value, and
//! the same bytes cut one short must ask for more (`Ok(None)`) rather than
//! fail, since the server reads a header that arrives in pieces that way.
//!
//! Then the upload's bytes (what follows a decoded header, else the whole
//! input) go through everything that reads them: `sniff::media_type`,
//! `metadata::strip` for each picture type, and `files::prepare` (decoding,
//! orientation, the thumbnail, metadata removal). None may panic. Stripping
//! JPEG, PNG and WebP never makes a file longer, and stripping a stripped file
//! changes nothing. A prepared upload's hash is its stored bytes' SHA-256, and
//! only a picture the server decoded keeps an `image/` type.
//!
//! The picture limits are small (512 pixels a side, 4 MiB of pixels) for the
//! reason `avatar_validate` gives: a few bytes of PNG or GIF can describe a
//! huge canvas, and decoding those reaches no code the small ones do not;
//! larger headers still take the refusal path.

#![no_main]

use chatroom_common::codec;
use chatroom_common::protocol::{MAX_TRANSFER_HEADER_BYTES, Request};
use chatroom_server::files::{self, PictureLimits, metadata, sniff};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

/// The picture types `metadata::strip` walks, and whether it rewrites them
/// (GIF is returned as it is).
const PICTURES: [&str; 4] = ["image/jpeg", "image/png", "image/webp", "image/gif"];

fuzz_target!(|data: &[u8]| {
    let body = match header(data) {
        Some(used) => &data[used..],
        None => data,
    };
    let mime = sniff::media_type(body);
    assert!(!mime.is_empty());
    for mime in PICTURES {
        strip(mime, body);
    }
    prepare(body);
});

/// Reads `data` as the start of a transfer stream; gives how many bytes the
/// header took when one decoded.
fn header(data: &[u8]) -> Option<usize> {
    let (request, used) =
        match codec::decode_prefix::<Request>(data, MAX_TRANSFER_HEADER_BYTES) {
            Ok(Some(found)) => found,
            Ok(None) | Err(_) => return None,
        };
    assert!(used <= data.len(), "used {used} of {} bytes", data.len());
    assert!(used <= MAX_TRANSFER_HEADER_BYTES, "used {used} bytes");
    let alone: Request = codec::decode(&data[..used], usize::MAX).expect("the header alone decodes");
    assert_eq!(alone, request, "the header alone decodes differently");
    if used > 0 {
        let short = codec::decode_prefix::<Request>(&data[..used - 1], MAX_TRANSFER_HEADER_BYTES);
        assert!(
            matches!(short, Ok(None)),
            "a header one byte short gave {short:?} instead of asking for more"
        );
    }
    Some(used)
}

/// Strips `body` as a `mime` file and checks the result.
fn strip(mime: &str, body: &[u8]) {
    let Some(stripped) = metadata::strip(mime, body) else {
        return;
    };
    if mime == "image/gif" {
        assert_eq!(stripped, body, "a GIF is kept as it is");
        return;
    }
    assert!(
        stripped.len() <= body.len(),
        "{mime}: stripping made {} bytes of {}",
        stripped.len(),
        body.len()
    );
    let again = metadata::strip(mime, &stripped);
    assert_eq!(
        again.as_deref(),
        Some(stripped.as_slice()),
        "{mime}: stripping a stripped file changed it"
    );
}

/// Prepares `body` for storing under small picture limits.
fn prepare(body: &[u8]) {
    let limits = PictureLimits {
        max_side: 512,
        max_alloc: 4 * 1024 * 1024,
    };
    let prepared = files::prepare(body.to_vec(), limits);
    assert_eq!(
        prepared.hash.0,
        <[u8; 32]>::from(Sha256::digest(&prepared.bytes)),
        "the hash is not the stored bytes' SHA-256"
    );
    match &prepared.picture {
        Some(picture) => {
            assert!(prepared.mime.starts_with("image/"), "{}", prepared.mime);
            assert!(
                picture.width <= limits.max_side && picture.height <= limits.max_side,
                "{}×{} passed the limits",
                picture.width,
                picture.height
            );
            assert!(!picture.thumbnail.is_empty(), "an empty thumbnail");
        }
        None => {
            assert!(
                !prepared.mime.starts_with("image/"),
                "an undecoded file served as {}",
                prepared.mime
            );
            assert_eq!(prepared.bytes, body, "a plain file was changed");
        }
    }
}
