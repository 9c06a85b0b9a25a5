//! Encoding and decoding of wire types with MessagePack (rmp-serde), with size caps.

use serde::{Serialize, de::DeserializeOwned};

/// Why bytes could not become a wire type.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The input exceeded the cap for its kind.
    #[error("message of {len} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// The input's length.
        len: usize,
        /// The cap.
        limit: usize,
    },
    /// The bytes are not a valid MessagePack encoding of the expected type.
    #[error("undecodable message: {0}")]
    Undecodable(#[from] rmp_serde::decode::Error),
    /// Encoding failed (only possible for types serde cannot represent).
    #[error("unencodable message: {0}")]
    Unencodable(#[from] rmp_serde::encode::Error),
}

/// Encodes a wire value. Structs are written as maps with field names, so a
/// field added later with `#[serde(default)]` stays compatible both ways.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    Ok(rmp_serde::to_vec_named(value)?)
}

/// Decodes a wire value, refusing inputs over `limit` bytes before parsing.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, CodecError> {
    if bytes.len() > limit {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    Ok(rmp_serde::from_slice(bytes)?)
}
