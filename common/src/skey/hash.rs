//! One S/KEY step: hash the input, then fold the digest to 64 bits (RFC 2289 section 6, appendix A).

use md4::Md4;
use md5::digest::Output;
use md5::{Digest, Md5};
use sha1::Sha1;

use crate::protocol::OtpAlgorithm;

/// Hashes the concatenation of `parts` with `alg` and folds the digest to 8 bytes.
///
/// Taking the input in parts lets the first step hash seed and pass phrase
/// without copying the pass phrase into a buffer of its own.
pub(super) fn hash_fold(alg: OtpAlgorithm, parts: &[&[u8]]) -> [u8; 8] {
    match alg {
        OtpAlgorithm::Md4 => fold_halves(&digest::<Md4>(parts)),
        OtpAlgorithm::Md5 => fold_halves(&digest::<Md5>(parts)),
        OtpAlgorithm::Sha1 => fold_sha1(&digest::<Sha1>(parts)),
    }
}

/// Hashes the concatenation of `parts`.
fn digest<D: Digest>(parts: &[&[u8]]) -> Output<D> {
    let mut hasher = D::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize()
}

/// MD4 and MD5 fold: XOR the first eight bytes of the digest with the last
/// eight, keeping digest byte order.
fn fold_halves(digest: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    for (i, (a, b)) in digest.iter().zip(digest.iter().skip(8)).take(8).enumerate() {
        out[i] = a ^ b;
    }
    out
}

/// SHA-1 fold, as the RFC's appendix A code does it: view the digest as five
/// 32-bit words (SHA-1 defines them big-endian), fold words 0 ^ 2 ^ 4 and
/// 1 ^ 3, and lay each result out little-endian. The byte swap is an artefact
/// of the reference code copying its word array on a little-endian machine;
/// the RFC's test vectors depend on it, so every implementation must copy it.
fn fold_sha1(digest: &[u8]) -> [u8; 8] {
    let mut words = [0u32; 5];
    for (word, bytes) in words.iter_mut().zip(digest.chunks_exact(4)) {
        *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    let first = words[0] ^ words[2] ^ words[4];
    let second = words[1] ^ words[3];
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&first.to_le_bytes());
    out[4..].copy_from_slice(&second.to_le_bytes());
    out
}
