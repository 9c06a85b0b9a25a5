//! What the UI and the worker say to each other about files: which transfer
//! (an id the UI chose), where an upload's bytes come from, what a download
//! is for, and what it delivered.

use std::fmt;
use std::path::PathBuf;

use bytes::Bytes;

/// One upload or download, named by the UI so it can follow its progress
/// and cancel it; the worker never reuses or invents one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransferId(pub u64);

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where an upload's bytes come from.
#[derive(Clone, PartialEq, Eq)]
pub enum UploadSource {
    /// A file, read by the worker off the UI thread (refused before reading
    /// when larger than [`MAX_READ_BYTES`]).
    Path(PathBuf),
    /// Bytes the UI already holds (a picture pasted from the clipboard).
    Bytes(Bytes),
}

impl fmt::Debug for UploadSource {
    /// The path, or only the length of the bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UploadSource::Path(path) => f.debug_tuple("Path").field(path).finish(),
            UploadSource::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
        }
    }
}

/// The largest file the worker reads into memory to upload. A server's own
/// limit (25 MiB unless its operator changed it) is usually far lower and
/// refuses sooner; this one only keeps a mistaken pick (a disk image) from
/// filling the memory before the server can say no.
pub const MAX_READ_BYTES: u64 = 256 * 1024 * 1024;

/// What a download is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// A picture's thumbnail to draw in the message list: its bytes are
    /// delivered, and kept by the worker so each is fetched once.
    Thumbnail,
    /// A whole file to show (the full-size picture): its bytes are delivered.
    Show,
    /// A whole file to write to this path (the user chose it).
    SaveTo(PathBuf),
}

/// What a finished download delivered.
#[derive(Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The bytes, checked against their hash (for [`Purpose::Thumbnail`] and
    /// [`Purpose::Show`]).
    Bytes {
        /// The type the server found in them.
        mime: String,
        /// The file.
        bytes: Bytes,
    },
    /// The file was written whole to this path ([`Purpose::SaveTo`]).
    Saved(PathBuf),
}

impl fmt::Debug for Fetched {
    /// The type and length, not the bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fetched::Bytes { mime, bytes } => write!(f, "Bytes({mime}, {} bytes)", bytes.len()),
            Fetched::Saved(path) => f.debug_tuple("Saved").field(path).finish(),
        }
    }
}
