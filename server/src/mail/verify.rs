//! E-mail verification codes: six random digits, stored only as
//! SHA-256(salt ‖ digits) with a random 16-byte salt per code, and compared in
//! constant time. The request handlers are in `crate::cmd::email`.

use std::time::Duration;

use chatroom_common::protocol::Timestamp;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::StoredCode;

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;

/// A fresh code, valid from `now` for `ttl`: the digits to mail, and what to store.
pub fn new_code(now: Timestamp, ttl: Duration) -> (String, StoredCode) {
    let code = format!("{:06}", rand::random_range(0..1_000_000u32));
    let salt: [u8; 16] = rand::random();
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let stored = StoredCode {
        hash: hash(&salt, &code),
        salt,
        expires_at: now.saturating_add(ttl_ms),
    };
    (code, stored)
}

/// SHA-256 of the salt followed by the code's digits.
pub fn hash(salt: &[u8; 16], code: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(salt)
        .chain_update(code.as_bytes())
        .finalize()
        .into()
}

/// The code as typed, without spaces or dashes; `None` unless it is six ASCII digits.
pub fn normalize(typed: &str) -> Option<String> {
    let digits: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (digits.len() == CODE_DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// Whether `code` is the stored one; the comparison takes the same time
/// whichever byte differs.
pub fn matches(stored: &StoredCode, code: &str) -> bool {
    hash(&stored.salt, code).ct_eq(&stored.hash).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_only_itself() {
        let (code, stored) = new_code(1_000, Duration::from_secs(900));
        assert_eq!(code.len(), CODE_DIGITS);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(stored.expires_at, 1_000 + 900_000);
        assert!(matches(&stored, &code));
        let other = format!(
            "{:06}",
            (code.parse::<u32>().expect("digits") + 1) % 1_000_000
        );
        assert!(!matches(&stored, &other));
    }

    #[test]
    fn the_store_never_sees_the_digits() {
        let (code, stored) = new_code(0, Duration::from_secs(60));
        let (_, again) = new_code(0, Duration::from_secs(60));
        // Salted: the same digits hash differently under another salt.
        assert_ne!(hash(&stored.salt, &code), hash(&again.salt, &code));
        assert!(
            !stored
                .hash
                .windows(CODE_DIGITS)
                .any(|w| w == code.as_bytes())
        );
    }

    #[test]
    fn typed_codes_are_normalized() {
        assert_eq!(normalize(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(normalize("123-456").as_deref(), Some("123456"));
        assert_eq!(normalize("12345"), None);
        assert_eq!(normalize("1234567"), None);
        assert_eq!(normalize("12345a"), None);
        assert_eq!(normalize("１２３４５６"), None);
    }
}
