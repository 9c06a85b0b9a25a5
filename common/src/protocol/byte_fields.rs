//! Fixed-length byte fields of the wire types (`OtpValue`, `IdempotencyKey`, `AvatarHash`, `FileHash`)
//! and how they travel: as MessagePack `bin`, read back from `bin` or from an array of integers.
//!
//! serde's derive writes a `[u8; N]` as a tuple, which MessagePack spells as an
//! array of N small integers: up to twice the bytes of `bin`, and awkward for a
//! client in another language, whose MessagePack library hands it a list of
//! numbers instead of a byte string. These types therefore write `bin`. Clients
//! built while the derive was in use still send arrays, so decoding takes either
//! form; a value of the wrong length is a decode error like any other malformed field.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Gives a SHA-256 name type its hex parsing and printing.
macro_rules! sha256_name {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl $name {
            /// Parses 64 hex digits.
            pub fn from_hex(text: &str) -> Option<Self> {
                parse_hex32(text).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for b in self.0 {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    };
}

/// SHA-256 of an avatar's PNG bytes: avatars are content-addressed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AvatarHash(pub [u8; 32]);
sha256_name!(AvatarHash);

/// SHA-256 of a file's bytes (an attachment, or a picture's thumbnail):
/// files are content-addressed like avatars.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileHash(pub [u8; 32]);
sha256_name!(FileHash);

/// 64 hex digits as 32 bytes.
fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    // Every byte is checked here because `from_str_radix` below would also
    // take a sign: "+f" is 15 to it, so "+f+f…" would pass as a hash.
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// A 64-bit one-time password value (RFC 2289's folded hash).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OtpValue(pub [u8; 8]);

impl fmt::Debug for OtpValue {
    // One-time passwords never reach a log, even in debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpValue(..)")
    }
}

/// A client-chosen key that makes a send idempotent: a retry with the same key
/// returns the first send's result instead of posting twice.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct IdempotencyKey(pub [u8; 16]);

/// Gives each byte-field type its serde impls, which differ only in the length.
macro_rules! bin_field {
    ($name:ident, $len:literal) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_bytes(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer
                    .deserialize_bytes(FixedBytes::<$len>)
                    .map($name)
            }
        }
    };
}

bin_field!(AvatarHash, 32);
bin_field!(FileHash, 32);
bin_field!(OtpValue, 8);
bin_field!(IdempotencyKey, 16);

/// Reads exactly `N` bytes from either a byte string or a sequence of integers.
struct FixedBytes<const N: usize>;

impl<'de, const N: usize> Visitor<'de> for FixedBytes<N> {
    type Value = [u8; N];

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{N} bytes, as bin or as an array of {N} integers 0-255")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Self::Value, E> {
        <[u8; N]>::try_from(bytes).map_err(|_| E::invalid_length(bytes.len(), &self))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = [0u8; N];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(i, &self))?;
        }
        // A longer array is as wrong as a shorter one. The error is raised at
        // the first extra element rather than after reading them all, so a
        // huge array costs no more than a short one.
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            let len = N + 1 + seq.size_hint().unwrap_or(0);
            return Err(de::Error::invalid_length(len, &self));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::{AvatarHash, IdempotencyKey, OtpValue};
    use crate::codec::{self, CodecError};

    /// Found by the `protocol_decode` fuzz target: a `+` before a digit pair
    /// was accepted, so the hash did not print back as the text it came from.
    #[test]
    fn avatar_hash_from_hex_takes_only_hex_digits() {
        let hex = "2ff9a5a534b17b827e86b2776e76faf03a57ecbc98fe1638d5ac9164c4925d0b";
        let hash = AvatarHash::from_hex(hex).expect("64 hex digits");
        assert_eq!(hash.to_string(), hex);
        assert_eq!(AvatarHash::from_hex(&hex.replace("d5", "+d")), None);
        assert_eq!(AvatarHash::from_hex(&"+f".repeat(32)), None);
        assert_eq!(AvatarHash::from_hex(&hex[..62]), None);
    }

    /// MessagePack `bin 8` of `bytes` (every field here is under 256 bytes).
    fn bin(bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![0xc4, u8::try_from(bytes.len()).expect("short")];
        out.extend_from_slice(bytes);
        out
    }

    /// A MessagePack array of positive fixints, as serde's derive wrote these
    /// fields before (every byte here is below 128, so each is one byte).
    fn int_array(bytes: &[u8]) -> Vec<u8> {
        assert!(bytes.len() < 16 && bytes.iter().all(|&b| b < 0x80));
        let mut out = vec![0x90 | u8::try_from(bytes.len()).expect("short")];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn byte_fields_encode_as_bin() {
        let otp = OtpValue([1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(codec::encode(&otp).unwrap(), bin(&otp.0));
        let key = IdempotencyKey([0xab; 16]);
        assert_eq!(codec::encode(&key).unwrap(), bin(&key.0));
        let hash = AvatarHash([0xff; 32]);
        assert_eq!(codec::encode(&hash).unwrap(), bin(&hash.0));
    }

    #[test]
    fn byte_fields_decode_from_bin_and_from_integer_arrays() {
        let otp = OtpValue([1, 2, 3, 4, 5, 6, 7, 0x7f]);
        assert_eq!(codec::decode::<OtpValue>(&bin(&otp.0), 64).unwrap(), otp);
        assert_eq!(
            codec::decode::<OtpValue>(&int_array(&otp.0), 64).unwrap(),
            otp
        );

        // Integers above 127 take two bytes (uint 8); the old encoder wrote them so.
        let mut key_bytes = [0u8; 16];
        key_bytes[15] = 200;
        let mut array = vec![0xdc, 0x00, 0x10];
        for b in &key_bytes[..15] {
            array.push(*b);
        }
        array.extend_from_slice(&[0xcc, 200]);
        let key = IdempotencyKey(key_bytes);
        assert_eq!(codec::decode::<IdempotencyKey>(&array, 64).unwrap(), key);
        assert_eq!(
            codec::decode::<IdempotencyKey>(&bin(&key.0), 64).unwrap(),
            key
        );

        let hash = AvatarHash([7; 32]);
        assert_eq!(
            codec::decode::<AvatarHash>(&bin(&hash.0), 64).unwrap(),
            hash
        );
    }

    #[test]
    fn what_the_old_derive_wrote_still_decodes() {
        /// The field as it was declared before: serde's derive for `[u8; 8]`.
        #[derive(serde::Serialize)]
        struct Old([u8; 8]);
        let old = codec::encode(&Old([9, 8, 7, 6, 5, 4, 3, 200])).unwrap();
        assert_eq!(old[0], 0x98, "the old form is an array of 8");
        let new = codec::decode::<OtpValue>(&old, 64).unwrap();
        assert_eq!(new, OtpValue([9, 8, 7, 6, 5, 4, 3, 200]));
    }

    /// Whether decoding failed as malformed input (rather than panicking or succeeding).
    fn undecodable<T>(result: Result<T, CodecError>) -> bool {
        matches!(result, Err(CodecError::Undecodable(_)))
    }

    #[test]
    fn wrong_lengths_are_decode_errors() {
        assert!(undecodable(codec::decode::<OtpValue>(&bin(&[1; 7]), 64)));
        assert!(undecodable(codec::decode::<OtpValue>(&bin(&[1; 9]), 64)));
        assert!(undecodable(codec::decode::<OtpValue>(&bin(&[]), 64)));
        assert!(undecodable(codec::decode::<OtpValue>(
            &int_array(&[1; 7]),
            64
        )));
        assert!(undecodable(codec::decode::<OtpValue>(
            &int_array(&[1; 9]),
            64
        )));
        assert!(undecodable(codec::decode::<IdempotencyKey>(
            &bin(&[1; 15]),
            64
        )));
        assert!(undecodable(codec::decode::<AvatarHash>(&bin(&[1; 31]), 64)));
        assert!(undecodable(codec::decode::<AvatarHash>(&bin(&[1; 33]), 64)));
        // Not bytes at all: a string, an integer, an array holding a non-byte.
        assert!(undecodable(codec::decode::<OtpValue>(b"\xa8abcdefgh", 64)));
        assert!(undecodable(codec::decode::<OtpValue>(b"\x07", 64)));
        let mut big = int_array(&[1; 7]);
        big[0] = 0x98;
        big.extend_from_slice(&[0xcd, 0x01, 0x00]);
        assert!(undecodable(codec::decode::<OtpValue>(&big, 64)));
    }

    #[test]
    fn byte_fields_round_trip_inside_requests() {
        use crate::protocol::Request;
        let request = Request::Send {
            room: "lobby".into(),
            text: "hi".into(),
            key: IdempotencyKey([0xfe; 16]),
            attachments: Vec::new(),
        };
        let bytes = codec::encode(&request).unwrap();
        let mut needle = vec![0xa3];
        needle.extend_from_slice(b"key");
        needle.extend_from_slice(&bin(&[0xfe; 16]));
        assert!(bytes.windows(needle.len()).any(|w| w == needle.as_slice()));
        assert_eq!(codec::decode::<Request>(&bytes, 1024).unwrap(), request);
    }
}
