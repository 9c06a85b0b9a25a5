//! RFC 2289 S/KEY one-time passwords: the hash chain, six-word encoding and response parsing.
//!
//! A user picks a secret pass phrase once. The client hashes the lower-cased
//! seed followed by the pass phrase, folds the digest to 64 bits, then hashes
//! and folds `count` more times; the server stores only that last value. To log
//! in, the client answers a [`Challenge`] for `count - 1` with [`otp`], and the
//! server checks that one [`step`] of the answer gives the stored value, then
//! stores the answer. A stolen answer is useless: the next login needs the
//! value one step earlier in the chain, which only the pass phrase yields.
//!
//! # Layout
//! - `hash`: one hash-and-fold step per algorithm (RFC 2289 section 6 and appendix A).
//! - `words`: the standard dictionary and the six-word encoding with its 2-bit checksum.
//! - `parse`: hex and six-word responses, challenges and RFC 2243 extended responses.
//!
//! Limits this module adds to the RFC: counts above [`MAX_COUNT`] are refused
//! (each step is a hash, so this bounds the CPU a request can ask for), pass
//! phrases longer than [`MAX_PASSPHRASE`] are refused rather than merely
//! warned about, and text longer than [`MAX_INPUT_LEN`] is refused before any
//! parsing (RFC 2243 asks servers to "limit the length of the input reasonably").

mod hash;
mod parse;
mod words;

#[cfg(test)]
mod tests;

use std::str::FromStr;

pub use parse::{ExtendedResponse, parse_challenge, parse_extended_response, parse_response};
pub use words::to_words;

use crate::protocol::{Challenge, OtpAlgorithm, OtpInit, OtpValue};

/// Fewest characters in a pass phrase (RFC 2289 section 6).
pub const MIN_PASSPHRASE: usize = 10;
/// Most characters in a pass phrase (the RFC's recommended maximum, enforced here).
pub const MAX_PASSPHRASE: usize = 63;
/// Most characters in a seed (RFC 2289 section 6).
pub const MAX_SEED: usize = 16;
/// Highest sequence count accepted anywhere. The RFC sets no limit; this one
/// bounds the work a single [`otp`] call does to about a hundred thousand hashes.
pub const MAX_COUNT: u32 = 100_000;
/// Longest text any parser here accepts, in bytes; longer input is refused unread.
pub const MAX_INPUT_LEN: usize = 512;

/// Why an S/KEY input was refused; the message is shown to users as is.
///
/// No variant repeats a response or pass phrase back: errors end up in logs,
/// and a one-time password or secret must not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkeyError {
    /// The pass phrase has fewer than [`MIN_PASSPHRASE`] characters.
    #[error("the pass phrase must be at least {min} characters long")]
    PassphraseTooShort {
        /// The minimum, [`MIN_PASSPHRASE`].
        min: usize,
    },
    /// The pass phrase has more than [`MAX_PASSPHRASE`] characters.
    #[error("the pass phrase must be at most {max} characters long")]
    PassphraseTooLong {
        /// The maximum, [`MAX_PASSPHRASE`].
        max: usize,
    },
    /// The seed is empty or longer than [`MAX_SEED`] characters.
    #[error("a seed is 1 to {max} characters long")]
    SeedLength {
        /// The maximum, [`MAX_SEED`].
        max: usize,
    },
    /// The seed has a character other than an ASCII letter or digit.
    #[error("a seed may contain only letters A-Z and digits (no spaces or punctuation)")]
    SeedCharacters,
    /// A sequence count is not a plain decimal number.
    #[error("the sequence count must be a whole number, like 499")]
    BadCount,
    /// A sequence count is above [`MAX_COUNT`].
    #[error("the sequence count may be at most {max}")]
    CountTooLarge {
        /// The maximum, [`MAX_COUNT`].
        max: u32,
    },
    /// A new chain was given count 0, which leaves no login to make with it.
    #[error("a new chain's sequence count must be at least 1")]
    CountZero,
    /// The hash algorithm is not one of MD4, MD5 or SHA-1.
    #[error("unknown hash algorithm: expected otp-md5, otp-sha1 or otp-md4")]
    UnknownAlgorithm,
    /// The text is longer than [`MAX_INPUT_LEN`] bytes.
    #[error("the input is too long (at most {max} bytes)")]
    TooLong {
        /// The maximum, [`MAX_INPUT_LEN`].
        max: usize,
    },
    /// A response was empty.
    #[error("the response is empty: enter six words or 16 hex digits")]
    EmptyResponse,
    /// A hex response does not have exactly 16 hex digits.
    #[error("a hex response is 16 hex digits (spaces allowed), but this one has {found}")]
    HexLength {
        /// How many hex digits were found.
        found: usize,
    },
    /// A hex response has a character that is neither a hex digit nor a space.
    #[error("a hex response may contain only the digits 0-9, the letters A-F and spaces")]
    HexCharacters,
    /// A six-word response does not have six words.
    #[error("a response is six words, but this one has {found}")]
    WordCount {
        /// How many words were found.
        found: usize,
    },
    /// A word of a six-word response is not in the dictionary.
    #[error("word {position} of the response is not an S/KEY word; check its spelling")]
    UnknownWord {
        /// Which word, counting from 1.
        position: usize,
    },
    /// The six words fail their 2-bit checksum.
    #[error("the six words do not check out: one of them is probably mistyped")]
    Checksum,
    /// A challenge is not of the form `otp-md5 499 ke1234`.
    #[error("a challenge looks like \"otp-md5 499 ke1234\"")]
    ChallengeFormat,
    /// An RFC 2243 extended response has the wrong number of `:`-separated parts.
    #[error(
        "an extended response looks like \"hex:HEX\", \"word:WORDS\" or \"init-hex:CURRENT:md5 499 seed:NEW\""
    )]
    ExtendedFormat,
    /// An RFC 2243 extended response names a type this implementation lacks.
    #[error("unsupported extended response type: expected hex, word, init-hex or init-word")]
    UnsupportedResponseType,
}

/// Checks that a pass phrase has [`MIN_PASSPHRASE`] to [`MAX_PASSPHRASE`] characters.
///
/// Characters are Unicode scalar values, not bytes; the hash sees the UTF-8 bytes.
pub fn validate_passphrase(passphrase: &str) -> Result<(), SkeyError> {
    let len = passphrase.chars().count();
    if len < MIN_PASSPHRASE {
        Err(SkeyError::PassphraseTooShort {
            min: MIN_PASSPHRASE,
        })
    } else if len > MAX_PASSPHRASE {
        Err(SkeyError::PassphraseTooLong {
            max: MAX_PASSPHRASE,
        })
    } else {
        Ok(())
    }
}

/// Checks a seed (1 to [`MAX_SEED`] ASCII letters and digits) and lower-cases it,
/// because seeds are case-insensitive and the hash must see one spelling.
pub fn normalize_seed(seed: &str) -> Result<String, SkeyError> {
    // Characters are checked before the length so that "ab cd" is reported as
    // a bad character, and a multi-byte character cannot skew the count.
    if !seed.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(SkeyError::SeedCharacters);
    }
    if seed.is_empty() || seed.len() > MAX_SEED {
        return Err(SkeyError::SeedLength { max: MAX_SEED });
    }
    Ok(seed.to_ascii_lowercase())
}

/// Parses a hash algorithm name, with or without the `otp-` prefix, in any case:
/// `otp-md5`, `md5`, `OTP-SHA1`, `md4`.
pub fn parse_algorithm(name: &str) -> Result<OtpAlgorithm, SkeyError> {
    let name = name.trim();
    let bare = match name.get(..4) {
        Some(prefix) if prefix.eq_ignore_ascii_case("otp-") => &name[4..],
        _ => name,
    };
    if bare.eq_ignore_ascii_case("md5") {
        Ok(OtpAlgorithm::Md5)
    } else if bare.eq_ignore_ascii_case("sha1") {
        Ok(OtpAlgorithm::Sha1)
    } else if bare.eq_ignore_ascii_case("md4") {
        Ok(OtpAlgorithm::Md4)
    } else {
        Err(SkeyError::UnknownAlgorithm)
    }
}

impl FromStr for OtpAlgorithm {
    type Err = SkeyError;

    /// Same as [`parse_algorithm`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_algorithm(s)
    }
}

/// Computes the one-time password for `count`: hash the lower-cased seed
/// followed by the pass phrase, fold, then apply `count` more hash-and-fold
/// steps (count 0 is the first value of the chain).
///
/// The seed and pass phrase are validated first; `count` may be 0 to [`MAX_COUNT`].
pub fn otp(
    alg: OtpAlgorithm,
    seed: &str,
    passphrase: &str,
    count: u32,
) -> Result<OtpValue, SkeyError> {
    validate_passphrase(passphrase)?;
    let seed = normalize_seed(seed)?;
    check_count(count)?;
    let mut value = OtpValue(hash::hash_fold(
        alg,
        &[seed.as_bytes(), passphrase.as_bytes()],
    ));
    for _ in 0..count {
        value = step(alg, value);
    }
    Ok(value)
}

/// Applies one hash-and-fold step. The server verifies a response `r` to a
/// challenge for `n - 1` by checking `step(alg, r)` against the stored value for `n`
/// (with [`constant_time_eq`]).
pub fn step(alg: OtpAlgorithm, value: OtpValue) -> OtpValue {
    OtpValue(hash::hash_fold(alg, &[&value.0]))
}

/// Builds the validated set-up a client sends at registration or
/// re-initialisation: the chain's value for `count` (1 to [`MAX_COUNT`]), so
/// the first challenge will be for `count - 1`.
pub fn init(
    alg: OtpAlgorithm,
    seed: &str,
    passphrase: &str,
    count: u32,
) -> Result<OtpInit, SkeyError> {
    if count == 0 {
        return Err(SkeyError::CountZero);
    }
    let otp = otp(alg, seed, passphrase, count)?;
    Ok(OtpInit {
        algorithm: alg,
        seed: normalize_seed(seed)?,
        count,
        otp,
    })
}

/// Formats a value as RFC 2289 hex: four groups of four upper-case digits,
/// like `D185 4218 EBBB 0B51`.
pub fn to_hex(value: OtpValue) -> String {
    let mut out = String::with_capacity(19);
    for (i, pair) in value.0.chunks_exact(2).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        for byte in pair {
            out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            out.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
        }
    }
    out
}

/// Upper-case hex digits, indexed by value.
const HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";

/// Compares two values in time that does not depend on where they differ, so
/// a server's answer time does not leak how close a guess was.
pub fn constant_time_eq(a: &OtpValue, b: &OtpValue) -> bool {
    let diff =
        a.0.iter()
            .zip(b.0.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the optimiser from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

/// Refuses counts above [`MAX_COUNT`].
fn check_count(count: u32) -> Result<(), SkeyError> {
    if count > MAX_COUNT {
        Err(SkeyError::CountTooLarge { max: MAX_COUNT })
    } else {
        Ok(())
    }
}

/// Parses a decimal sequence count (digits only; no sign, no spaces) up to [`MAX_COUNT`].
pub fn parse_count(text: &str) -> Result<u32, SkeyError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SkeyError::BadCount);
    }
    // Digits only, so the one way to fail is overflow: far above the cap anyway.
    let count = text
        .parse::<u32>()
        .map_err(|_| SkeyError::CountTooLarge { max: MAX_COUNT })?;
    check_count(count)?;
    Ok(count)
}

/// Builds a challenge from its parts, validating the seed and count.
fn challenge(algorithm: OtpAlgorithm, count: &str, seed: &str) -> Result<Challenge, SkeyError> {
    Ok(Challenge {
        algorithm,
        count: parse_count(count)?,
        seed: normalize_seed(seed)?,
    })
}
