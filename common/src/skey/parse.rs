//! Parsing what people and peers type: responses in hex or six words,
//! challenges, and RFC 2243 extended responses.

use super::words::parse_words;
use super::{MAX_INPUT_LEN, SkeyError, challenge, parse_algorithm};
use crate::protocol::{Challenge, OtpInit, OtpValue};

/// An RFC 2243 extended response (or a plain RFC 2289 one).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ExtendedResponse {
    /// A one-time password: a plain response, or `hex:` / `word:` with its encoding stated.
    Plain(OtpValue),
    /// `init-hex:` / `init-word:`: log in with `current`, then replace the chain with `new`.
    Reinit {
        /// The one-time password answering the current challenge.
        current: OtpValue,
        /// The new chain's parameters and its value for `new.count`.
        new: OtpInit,
    },
}

/// Parses a response in either RFC 2289 form: six dictionary words (any case,
/// extra whitespace tolerated, checksum verified) or 16 hex digits (any case,
/// spaces allowed anywhere).
///
/// Text made only of hex digits and spaces is read as hex, unless it is six
/// dictionary words whose checksum holds (`BEEF FACE ...` could be either;
/// like the RFC's reference server, words win when they check out).
pub fn parse_response(text: &str) -> Result<OtpValue, SkeyError> {
    check_len(text)?;
    if text.trim().is_empty() {
        return Err(SkeyError::EmptyResponse);
    }
    let hex_shaped = text
        .chars()
        .all(|c| c.is_ascii_hexdigit() || c.is_whitespace());
    if hex_shaped {
        match parse_words(text) {
            Ok(value) => Ok(value),
            // Six real words with a bad checksum are most likely a typo in
            // words, so that is the error to report if hex fails too.
            Err(SkeyError::Checksum) => parse_hex(text).map_err(|_| SkeyError::Checksum),
            Err(_) => parse_hex(text),
        }
    } else {
        parse_words(text)
    }
}

/// Parses an RFC 2289 challenge such as `otp-md5 499 ke1234`, tolerating
/// extra whitespace and the RFC 2243 capability token that may follow it
/// (`ext` or `ext,...`). The seed comes back lower-cased.
pub fn parse_challenge(text: &str) -> Result<Challenge, SkeyError> {
    check_len(text)?;
    let tokens: Vec<&str> = text.split_whitespace().collect();
    match tokens.as_slice() {
        [alg, count, seed] => challenge(parse_algorithm(alg)?, count, seed),
        [alg, count, seed, ext] if is_capability_list(ext) => {
            challenge(parse_algorithm(alg)?, count, seed)
        }
        _ => Err(SkeyError::ChallengeFormat),
    }
}

/// Parses a response that may be an RFC 2243 extended response:
///
/// - `hex:5bf0 75d9 959d 036f` and `word:BOND FOGY DRAB NE RISE MART` give
///   [`ExtendedResponse::Plain`];
/// - `init-hex:CURRENT:md5 499 ke1235:NEW` and `init-word:...` (both values
///   in the stated encoding) give [`ExtendedResponse::Reinit`];
/// - anything without a `:` is a plain response, read by [`parse_response`].
///
/// The type is case-insensitive and whitespace around each part is ignored.
/// Whether the new seed differs from the old one is for the server to check.
pub fn parse_extended_response(text: &str) -> Result<ExtendedResponse, SkeyError> {
    check_len(text)?;
    if !text.contains(':') {
        return parse_response(text).map(ExtendedResponse::Plain);
    }
    let parts: Vec<&str> = text.split(':').map(str::trim).collect();
    let (kind, args) = match parts.split_first() {
        Some((kind, args)) => (kind.to_ascii_lowercase(), args),
        None => return Err(SkeyError::ExtendedFormat),
    };
    let decode: fn(&str) -> Result<OtpValue, SkeyError> = match kind.as_str() {
        "hex" | "init-hex" => parse_hex,
        "word" | "init-word" => parse_words,
        _ => return Err(SkeyError::UnsupportedResponseType),
    };
    match (kind.starts_with("init-"), args) {
        (false, [value]) => Ok(ExtendedResponse::Plain(decode(value)?)),
        (true, [current, params, new]) => {
            let current = decode(current)?;
            let params = parse_new_params(params)?;
            if params.count == 0 {
                return Err(SkeyError::CountZero);
            }
            Ok(ExtendedResponse::Reinit {
                current,
                new: OtpInit {
                    algorithm: params.algorithm,
                    seed: params.seed,
                    count: params.count,
                    otp: decode(new)?,
                },
            })
        }
        _ => Err(SkeyError::ExtendedFormat),
    }
}

/// Parses 16 hex digits, in any case, with any whitespace between them.
pub(super) fn parse_hex(text: &str) -> Result<OtpValue, SkeyError> {
    let mut out = [0u8; 8];
    let mut found = 0usize;
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        let digit = c.to_digit(16).ok_or(SkeyError::HexCharacters)?;
        if let Some(byte) = out.get_mut(found / 2) {
            // `to_digit(16)` is below 16, so the cast cannot truncate.
            *byte = (*byte << 4) | digit as u8;
        }
        found += 1;
    }
    if found != 16 {
        return Err(SkeyError::HexLength { found });
    }
    Ok(OtpValue(out))
}

/// Parses the new chain's parameters in an `init-*` response: `md5 499 ke1235`.
/// The algorithm may also carry the `otp-` prefix.
fn parse_new_params(text: &str) -> Result<Challenge, SkeyError> {
    match text.split_whitespace().collect::<Vec<_>>().as_slice() {
        [alg, count, seed] => challenge(parse_algorithm(alg)?, count, seed),
        _ => Err(SkeyError::ExtendedFormat),
    }
}

/// Whether a token is an RFC 2243 capability list: `ext`, optionally followed
/// by `,`-separated extension set names.
fn is_capability_list(token: &str) -> bool {
    let head = token.split(',').next().unwrap_or_default();
    head.eq_ignore_ascii_case("ext")
}

/// Refuses input longer than [`MAX_INPUT_LEN`] before looking at it.
fn check_len(text: &str) -> Result<(), SkeyError> {
    if text.len() > MAX_INPUT_LEN {
        Err(SkeyError::TooLong { max: MAX_INPUT_LEN })
    } else {
        Ok(())
    }
}
