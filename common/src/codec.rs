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

/// Decodes the wire value at the start of `bytes`, which may be followed by
/// anything (a file's bytes follow the header of an upload or a download).
/// Gives the value and how many bytes it took, or `Ok(None)` when `bytes`
/// ends inside the value: read more and call again. A value not complete
/// within `limit` bytes is `TooLarge`.
pub fn decode_prefix<T: DeserializeOwned>(
    bytes: &[u8],
    limit: usize,
) -> Result<Option<(T, usize)>, CodecError> {
    let window = &bytes[..bytes.len().min(limit)];
    let mut deserializer = rmp_serde::Deserializer::new(std::io::Cursor::new(window));
    match T::deserialize(&mut deserializer) {
        Ok(value) => {
            let used = usize::try_from(deserializer.get_ref().position()).unwrap_or(usize::MAX);
            Ok(Some((value, used)))
        }
        Err(e) if ends_early(&e) => {
            if window.len() < limit {
                Ok(None)
            } else {
                Err(CodecError::TooLarge {
                    len: bytes.len(),
                    limit,
                })
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether decoding failed only because the input stopped.
fn ends_early(error: &rmp_serde::decode::Error) -> bool {
    use rmp_serde::decode::Error;
    match error {
        Error::InvalidMarkerRead(e) | Error::InvalidDataRead(e) => {
            e.kind() == std::io::ErrorKind::UnexpectedEof
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{FileHash, Request};

    #[test]
    fn a_value_followed_by_bytes_is_found_at_every_cut() {
        let request = Request::Upload {
            name: "photo 照片.jpg".into(),
            size: 3,
            sha256: FileHash([9; 32]),
        };
        let header = encode(&request).unwrap();
        let mut stream = header.clone();
        stream.extend_from_slice(b"\x00\x01\x02");
        for cut in 0..header.len() {
            assert!(
                decode_prefix::<Request>(&stream[..cut], 4096)
                    .unwrap()
                    .is_none(),
                "cut at {cut}"
            );
        }
        for cut in header.len()..=stream.len() {
            let (value, used) = decode_prefix::<Request>(&stream[..cut], 4096)
                .unwrap()
                .expect("complete");
            assert_eq!((value, used), (request.clone(), header.len()));
        }
    }

    #[test]
    fn a_header_that_never_ends_is_too_large_and_garbage_is_undecodable() {
        // A `bin 32` whose length says 4 GiB: never complete.
        let endless = [0xc6, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0];
        assert!(matches!(
            decode_prefix::<Vec<u8>>(&endless, 8),
            Err(CodecError::TooLarge { .. })
        ));
        assert!(decode_prefix::<Vec<u8>>(&endless, 64).unwrap().is_none());
        assert!(matches!(
            decode_prefix::<Request>(&[0xc1, 0, 0], 64),
            Err(CodecError::Undecodable(_))
        ));
    }
}
