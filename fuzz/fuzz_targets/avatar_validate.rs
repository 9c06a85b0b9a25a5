//! Fuzz target: `chatroom_server::avatars::normalize_avatar` on arbitrary bytes.
//!
//! Uploaded and crawled images are hostile. Validation must refuse with an
//! `AvatarError` or succeed, never panic; an accepted image must come out as
//! a 128×128 PNG whose hash is the SHA-256 of its bytes, because the pool and
//! clients address avatars by that hash.
//!
//! The limits are the defaults except for the decoded size: at most 1024×1024
//! pixels and 8 MiB of pixel memory instead of 8192×8192 and 64 MiB. A few
//! hundred bytes of PNG or GIF can legally describe a multi-megapixel canvas,
//! and the fuzzer finds such inputs quickly; decoding and scaling those down
//! costs many times a small image's time without reaching any code that the
//! smaller canvases do not. Headers above these limits still take the refusal
//! path (`DecompressionBomb`), and the unit tests in `image_check.rs` cover
//! the default limits themselves.
//!
//! This is still the slowest target (a few hundred runs a second): every
//! accepted image is re-encoded at the best PNG compression, about 1.5 ms
//! even with the encoder left uninstrumented (`fuzz/rustc-wrapper.sh`).

#![no_main]

use chatroom_server::avatars::{AVATAR_SIZE, AvatarLimits, normalize_avatar};
use image::ImageFormat;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let limits = AvatarLimits {
        max_width: 1024,
        max_height: 1024,
        max_alloc: 8 * 1024 * 1024,
        ..AvatarLimits::default()
    };
    let Ok(avatar) = normalize_avatar(data, &limits) else {
        return;
    };
    let hash: [u8; 32] = Sha256::digest(&avatar.png).into();
    assert_eq!(avatar.hash, hash, "the hash is not that of the PNG");
    let decoded = image::load_from_memory_with_format(&avatar.png, ImageFormat::Png)
        .expect("the output is a PNG");
    assert_eq!(
        (decoded.width(), decoded.height()),
        (AVATAR_SIZE, AVATAR_SIZE),
        "the output is not 128×128"
    );
});
