//! The document's worked S/KEY examples, computed step by step exactly as the
//! document describes the algorithm, and checked against RFC 2289's test
//! vectors and against the crate's own `skey::otp`.
//!
//! The steps are written out here with the hash crates directly, rather than
//! through `chatroom_common::skey`, so that a mistake in the prose (a missing
//! first hash, a wrong fold) shows up as a disagreement with the library.

use std::fmt::Write as _;

use chatroom_common::protocol::{OtpAlgorithm, OtpValue};
use chatroom_common::skey;
use md5::{Digest, Md5};
use sha1::Sha1;

/// RFC 2289 appendix C, "This is a test." with seed "TeSt" (common/tests/data/rfc2289-vectors.txt).
const SEED: &str = "TeSt";
/// The pass phrase of that chain.
const PASSPHRASE: &str = "This is a test.";
/// Counts 0, 1 and 99 of that chain, in the RFC's spelling.
const MD5_VECTORS: [(u32, &str); 3] = [
    (0, "9E87 6134 D904 99DD"),
    (1, "7965 E054 36F5 029F"),
    (99, "50FE 1962 C496 5880"),
];
/// The same for SHA-1.
const SHA1_VECTORS: [(u32, &str); 3] = [
    (0, "BB9E 6AE1 979D 8FF4"),
    (1, "63D9 3663 9734 385B"),
    (99, "87FE C776 8B73 CCF9"),
];

/// The worked examples by marker name.
pub fn examples() -> Vec<(String, String)> {
    vec![
        ("S/KEY MD5".to_owned(), worked(OtpAlgorithm::Md5)),
        ("S/KEY SHA-1".to_owned(), worked(OtpAlgorithm::Sha1)),
    ]
}

/// Counts 0, 1 and 99 of the RFC's first chain for `alg`, with each step shown.
fn worked(alg: OtpAlgorithm) -> String {
    let vectors = match alg {
        OtpAlgorithm::Md5 => MD5_VECTORS,
        OtpAlgorithm::Sha1 => SHA1_VECTORS,
        OtpAlgorithm::Md4 => unreachable!("the document works MD5 and SHA-1 only"),
    };
    let mut out = String::new();
    let seed = SEED.to_ascii_lowercase();
    let input = format!("{seed}{PASSPHRASE}");
    let _ = writeln!(
        out,
        "input       {input:?} ({} bytes: seed {SEED:?} lower-cased, then the pass phrase)",
        input.len()
    );
    let mut value = hash_fold(alg, input.as_bytes(), &mut out);
    check(alg, 0, value, vectors[0].1, &mut out);
    let _ = writeln!(out, "input       the 8 bytes of OTP(0)");
    value = hash_fold(alg, &value, &mut out);
    check(alg, 1, value, vectors[1].1, &mut out);
    for _ in 1..99 {
        value = hash_fold(alg, &value, &mut String::new());
    }
    let _ = writeln!(
        out,
        "...         98 more steps, each hashing the previous 8 bytes"
    );
    check(alg, 99, value, vectors[2].1, &mut out);
    out
}

/// Checks the value for `count` against the RFC's `want_hex` and the library, and shows it.
fn check(alg: OtpAlgorithm, count: u32, value: [u8; 8], want_hex: &str, out: &mut String) {
    assert_eq!(
        skey::to_hex(OtpValue(value)),
        want_hex,
        "{alg} count {count}"
    );
    let library = skey::otp(alg, SEED, PASSPHRASE, count).expect("a valid vector");
    assert_eq!(
        library.0, value,
        "the library disagrees: {alg} count {count}"
    );
    let label = format!("OTP({count})");
    let _ = writeln!(
        out,
        "{label:<11} {}  (RFC 2289: {want_hex}, {})",
        hex(&value),
        skey::to_words(OtpValue(value)),
    );
}

/// One step: hash `input`, fold to 8 bytes, and describe both in `out`.
fn hash_fold(alg: OtpAlgorithm, input: &[u8], out: &mut String) -> [u8; 8] {
    let mut folded = [0u8; 8];
    match alg {
        OtpAlgorithm::Sha1 => {
            let digest = Sha1::digest(input);
            let _ = writeln!(out, "SHA-1       {}", hex(&digest));
            let w: Vec<u32> = digest
                .chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let (a, b) = (w[0] ^ w[2] ^ w[4], w[1] ^ w[3]);
            let _ = writeln!(
                out,
                "fold        words (big-endian) {:08x} {:08x} {:08x} {:08x} {:08x}:\n            \
                 w0^w2^w4 = {a:08x}, w1^w3 = {b:08x}, each written little-endian",
                w[0], w[1], w[2], w[3], w[4]
            );
            folded[..4].copy_from_slice(&a.to_le_bytes());
            folded[4..].copy_from_slice(&b.to_le_bytes());
        }
        _ => {
            let digest = Md5::digest(input);
            let _ = writeln!(out, "MD5         {}", hex(&digest));
            for (i, byte) in folded.iter_mut().enumerate() {
                *byte = digest[i] ^ digest[i + 8];
            }
            let _ = writeln!(
                out,
                "fold        {} xor {}",
                hex(&digest[..8]),
                hex(&digest[8..])
            );
        }
    }
    folded
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
