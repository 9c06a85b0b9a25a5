//! A disk cache of avatar PNGs keyed by hash, so each avatar crosses the network once.

use std::path::{Path, PathBuf};

use chatroom_common::protocol::AvatarHash;
use sha2::{Digest, Sha256};

use crate::{ClientError, Session};

/// Avatar files `<hash>.png` in one directory. Content-addressed: a file whose
/// bytes do not hash to its name is ignored and fetched again.
#[derive(Debug, Clone)]
pub struct AvatarCache {
    /// The cache directory.
    dir: PathBuf,
}

impl AvatarCache {
    /// A cache in `dir` (created on first store).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, hash: AvatarHash) -> PathBuf {
        self.dir.join(format!("{hash}.png"))
    }

    /// The cached bytes, if present and intact.
    pub fn cached(&self, hash: AvatarHash) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.path(hash)).ok()?;
        (Sha256::digest(&bytes).as_slice() == hash.0).then_some(bytes)
    }

    /// Stores bytes under their hash (atomically: a temp file, then rename).
    pub fn store(&self, hash: AvatarHash, png: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!("{hash}.tmp{}", std::process::id()));
        std::fs::write(&tmp, png)?;
        std::fs::rename(&tmp, self.path(hash))
    }

    /// The avatar's bytes: from disk, or fetched once from the server and kept.
    pub async fn get(&self, session: &Session, hash: AvatarHash) -> Result<Vec<u8>, ClientError> {
        if let Some(bytes) = self.cached(hash) {
            return Ok(bytes);
        }
        let png = session.avatar(hash).await?;
        self.store(hash, &png)?;
        Ok(png)
    }
}
