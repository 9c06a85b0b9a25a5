//! Files posted in messages: what the server makes of an upload before it is
//! stored — its type from its bytes (`sniff.rs`), and for a picture its size,
//! a thumbnail and its bytes without metadata (`picture.rs`, `metadata.rs`).
//! The streams that carry uploads and downloads are `cmd/files.rs`.

pub mod metadata;
pub mod picture;
pub mod sniff;

use chatroom_common::protocol::FileHash;

pub use picture::PictureLimits;

use crate::store::{BlobHash, Picture};

/// An upload as it will be stored.
#[derive(Debug)]
pub struct Prepared {
    /// The bytes to store (a picture's without metadata).
    pub bytes: Vec<u8>,
    /// Their SHA-256.
    pub hash: FileHash,
    /// The type found in them.
    pub mime: String,
    /// Size and thumbnail, for a picture the server could decode.
    pub picture: Option<Picture>,
}

/// Examines an upload's bytes. A picture that cannot be decoded is kept as a
/// plain file under a generic type, so no client tries to show it and any
/// metadata it has is at least never presented as a picture's.
pub fn prepare(bytes: Vec<u8>, limits: PictureLimits) -> Prepared {
    let mime = sniff::media_type(&bytes);
    match picture::examine(mime, &bytes, limits) {
        Some(examined) => Prepared {
            hash: FileHash(BlobHash::of(&examined.bytes).0),
            bytes: examined.bytes,
            mime: mime.to_owned(),
            picture: Some(Picture {
                width: examined.width,
                height: examined.height,
                thumbnail: examined.thumbnail,
            }),
        },
        None => {
            // Only pictures the server decoded (and so cleaned) are served as pictures.
            let mime = if mime.starts_with("image/") {
                "application/octet-stream"
            } else {
                mime
            };
            Prepared {
                hash: FileHash(BlobHash::of(&bytes).0),
                bytes,
                mime: mime.to_owned(),
                picture: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_picture_is_kept_as_a_plain_file_and_text_as_text() {
        let broken = b"\x89PNG\r\n\x1a\nnot a picture".to_vec();
        let prepared = prepare(broken.clone(), PictureLimits::default());
        assert_eq!(prepared.mime, "application/octet-stream");
        assert_eq!(prepared.bytes, broken);
        assert!(prepared.picture.is_none());
        let text = prepare(b"hello\n".to_vec(), PictureLimits::default());
        assert_eq!(text.mime, "text/plain");
        assert_eq!(text.hash, FileHash(BlobHash::of(b"hello\n").0));
    }
}
