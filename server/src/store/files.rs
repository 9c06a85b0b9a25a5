//! Records of the files posted in messages (attachments), as the
//! [`Store`](super::Store) trait takes and returns them.
//!
//! A file's bytes are a blob (`blobs.rs`); the `files` row says what the
//! server found in them (type, picture size, thumbnail), `uploads` who sent
//! them (what they may attach, what counts against their quota) and
//! `message_files` where they were posted (who may fetch them).

use chatroom_common::codec;
use chatroom_common::protocol::{Attachment, FileHash, ImageInfo, Timestamp};

use super::{StoreError, UserId};

/// An upload to store, already checked and examined by the server.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// Who uploaded it.
    pub uploader: UserId,
    /// The SHA-256 of `bytes`.
    pub hash: FileHash,
    /// The file as it is to be served (a picture's metadata already removed).
    pub bytes: Vec<u8>,
    /// The media type found in the bytes.
    pub mime: String,
    /// Set for a picture the server decoded.
    pub picture: Option<Picture>,
    /// When it arrived.
    pub at: Timestamp,
}

/// What the server made of an uploaded picture.
#[derive(Debug, Clone)]
pub struct Picture {
    /// Width as displayed.
    pub width: u32,
    /// Height as displayed.
    pub height: u32,
    /// The thumbnail's PNG bytes (stored as a blob of its own).
    pub thumbnail: Vec<u8>,
}

/// A stored file as [`Store::uploaded_files`](super::Store::uploaded_files)
/// and [`Store::put_file`](super::Store::put_file) give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// The bytes' SHA-256.
    pub hash: FileHash,
    /// Bytes.
    pub size: u64,
    /// The media type found in the bytes.
    pub mime: String,
    /// For pictures: size and thumbnail.
    pub image: Option<ImageInfo>,
}

impl FileRecord {
    /// The file as a message shows it, under `name`.
    pub fn attachment(&self, name: String) -> Attachment {
        Attachment {
            hash: self.hash,
            name,
            size: self.size,
            mime: self.mime.clone(),
            image: self.image,
        }
    }

    /// Builds a record from its columns (width, height and thumbnail are all
    /// set for a picture and all NULL otherwise).
    pub(super) fn from_columns(
        hash: Vec<u8>,
        size: u64,
        mime: String,
        width: Option<u32>,
        height: Option<u32>,
        thumbnail: Option<Vec<u8>>,
    ) -> Result<Self, StoreError> {
        let image = match (width, height, thumbnail) {
            (Some(width), Some(height), Some(thumb)) => Some(ImageInfo {
                width,
                height,
                thumbnail: FileHash(super::fixed_bytes(thumb, "files.thumbnail")?),
            }),
            _ => None,
        };
        Ok(Self {
            hash: FileHash(super::fixed_bytes(hash, "files.hash")?),
            size,
            mime,
            image,
        })
    }
}

/// A file a user may fetch: enough to answer `Download` before the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetchable {
    /// Bytes.
    pub size: u64,
    /// Its media type (`image/png` for a thumbnail).
    pub mime: String,
}

/// The media type of every thumbnail.
pub const THUMBNAIL_MIME: &str = "image/png";

/// A message's attachments as stored in `message_attachments`: the wire's
/// MessagePack, so history hands them back exactly as they were sent.
pub(super) fn encode_attachments(list: &[Attachment]) -> Result<Vec<u8>, StoreError> {
    codec::encode(&list).map_err(|e| StoreError::Other(format!("encoding attachments: {e}")))
}

/// Reads back what [`encode_attachments`] wrote; damage is an error, not a panic.
pub(super) fn decode_attachments(bytes: Option<Vec<u8>>) -> Result<Vec<Attachment>, StoreError> {
    match bytes {
        None => Ok(Vec::new()),
        Some(bytes) => codec::decode(&bytes, bytes.len())
            .map_err(|e| StoreError::Other(format!("stored attachments are damaged: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_come_back_as_stored_and_damage_is_an_error() {
        let list = vec![Attachment {
            hash: FileHash([1; 32]),
            name: "照片.jpg".into(),
            size: 10,
            mime: "image/jpeg".into(),
            image: Some(ImageInfo {
                width: 4,
                height: 3,
                thumbnail: FileHash([2; 32]),
            }),
        }];
        let bytes = encode_attachments(&list).unwrap();
        assert_eq!(decode_attachments(Some(bytes.clone())).unwrap(), list);
        assert!(decode_attachments(None).unwrap().is_empty());
        assert!(decode_attachments(Some(bytes[..bytes.len() - 1].to_vec())).is_err());
    }

    #[test]
    fn a_record_is_a_picture_only_with_all_three_columns() {
        let record =
            FileRecord::from_columns(vec![1; 32], 5, "image/png".into(), Some(2), None, None)
                .unwrap();
        assert_eq!(record.image, None);
        assert!(FileRecord::from_columns(vec![1; 31], 5, "x".into(), None, None, None).is_err());
    }
}
