//! Fuzz target: `chatroom_server::avatars::validate_avatar` on arbitrary bytes:
//! everything in avatar validation that reads untrusted bytes (length,
//! sniffing, header, decoding under limits, cropping and scaling).
//!
//! Uploaded and crawled images are hostile. Validation must refuse with an
//! `AvatarError` or succeed, never panic; an accepted image must come out as
//! 128×128 pixels. The PNG encoding that `normalize_avatar` adds afterwards
//! sees only those pixels, never input bytes, and cost 90 % of each run
//! (best compression, about 1.5 ms), so it is left to the unit tests; an
//! earlier 54-minute run of the whole `normalize_avatar` (1.57 million
//! inputs, no crash) is recorded in docs/security.md.
//!
//! The limits are the defaults except for the decoded size: at most 1024×1024
//! pixels and 8 MiB of pixel memory instead of 8192×8192 and 64 MiB. A few
//! hundred bytes of PNG or GIF can legally describe a multi-megapixel canvas,
//! and the fuzzer finds such inputs quickly; decoding and scaling those down
//! costs many times a small image's time without reaching any code that the
//! smaller canvases do not. Headers above these limits still take the refusal
//! path (`DecompressionBomb`), and the unit tests in `image_check.rs` cover
//! the default limits themselves.

#![no_main]

use chatroom_server::avatars::{AVATAR_SIZE, AvatarLimits, validate_avatar};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = AvatarLimits {
        max_width: 1024,
        max_height: 1024,
        max_alloc: 8 * 1024 * 1024,
        ..AvatarLimits::default()
    };
    let Ok(square) = validate_avatar(data, &limits) else {
        return;
    };
    assert_eq!(
        square.dimensions(),
        (AVATAR_SIZE, AVATAR_SIZE),
        "the result is not 128×128"
    );
});
