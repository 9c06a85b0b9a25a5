//! The avatar pool: a directory of content-addressed `<sha256-hex>.png` files.
//!
//! A file's name is the SHA-256 of its bytes, so inserting the same picture
//! twice is a no-op and a name from the network can be checked for shape
//! (64 hex digits) before it goes anywhere near a path. Files are written to
//! a temporary name and renamed into place, so a reader never sees half a
//! PNG, even if the server dies mid-write.
//!
//! Which picture a new account gets is the `assign` module's business:
//! crawled pictures first, evenly spread.
//!
//! The methods do blocking file I/O on small files; async callers should run
//! them on `tokio::task::spawn_blocking`.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use super::assign::{Assigner, default_seed};
use super::identicon::identicon;
use super::image_check::NormalizedAvatar;

/// Extension of every pool file.
const EXTENSION: &str = "png";
/// Prefix of in-progress writes; `list` ignores these and `open` clears leftovers.
pub(super) const TEMP_PREFIX: &str = ".tmp-";
/// Age after which a temporary file is taken to be left over from a crash.
const STALE_TEMP_AGE: Duration = Duration::from_secs(60 * 60);

/// Errors from the avatar pool.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The name is not 64 lower-case hex digits, so it cannot be an avatar.
    #[error("invalid avatar id {0:?}: expected 64 lower-case hex digits")]
    InvalidHash(String),
    /// The pool directory could not be created or read.
    #[error("avatar pool directory {path}: {source}")]
    Dir {
        /// The pool directory.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// A single avatar file could not be read or written.
    #[error("avatar file {path}: {source}")]
    File {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
}

/// Handle on the avatar pool directory; cheap to clone.
#[derive(Clone, Debug)]
pub struct AvatarPool {
    /// The directory holding `<sha256-hex>.png` files.
    dir: PathBuf,
    /// Picks new accounts' pictures; shared by clones so that concurrent
    /// registrations take turns with the ledger.
    assigner: Arc<Assigner>,
}

impl AvatarPool {
    /// Opens the pool at `dir`, creating the directory if needed and removing stale temporary files.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, PoolError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|source| PoolError::Dir {
            path: dir.clone(),
            source,
        })?;
        let pool = Self {
            dir,
            assigner: Arc::default(),
        };
        pool.remove_stale_temp_files()?;
        Ok(pool)
    }

    /// The pool's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores `avatar` under its hash; returns the hash and whether it was new to the pool.
    pub fn insert(&self, avatar: &NormalizedAvatar) -> Result<(String, bool), PoolError> {
        let hash = avatar.hash_hex();
        let path = self.path_of(&hash);
        if path.exists() {
            return Ok((hash, false));
        }
        let temp = self.dir.join(format!(
            "{TEMP_PREFIX}{hash}-{:016x}",
            rand::random::<u64>()
        ));
        let file_error = |source| PoolError::File {
            path: temp.clone(),
            source,
        };
        let written = fs::File::create_new(&temp)
            .and_then(|mut file| {
                file.write_all(&avatar.png)?;
                file.sync_all()
            })
            .map_err(file_error);
        if let Err(error) = written {
            // Best effort: the write already failed, and `open` sweeps leftovers anyway.
            let _ = fs::remove_file(&temp);
            return Err(error);
        }
        // Rename replaces atomically; if another writer raced us the content is identical.
        if let Err(source) = fs::rename(&temp, &path) {
            let _ = fs::remove_file(&temp);
            return Err(PoolError::File { path, source });
        }
        Ok((hash, true))
    }

    /// The PNG stored under `hash`, or `None` if there is none; a malformed hash is an error.
    pub fn get(&self, hash: &str) -> Result<Option<Vec<u8>>, PoolError> {
        if !is_valid_hash(hash) {
            return Err(PoolError::InvalidHash(hash.to_owned()));
        }
        let path = self.path_of(hash);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(PoolError::File { path, source }),
        }
    }

    /// Whether an avatar with `hash` is stored; false for a malformed hash.
    pub fn contains(&self, hash: &str) -> bool {
        is_valid_hash(hash) && self.path_of(hash).is_file()
    }

    /// The hashes of all stored avatars, sorted.
    pub fn list(&self) -> Result<Vec<String>, PoolError> {
        let dir_error = |source| PoolError::Dir {
            path: self.dir.clone(),
            source,
        };
        let mut hashes = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(dir_error)? {
            let entry = entry.map_err(dir_error)?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(hash) = name.strip_suffix(&format!(".{EXTENSION}"))
                && is_valid_hash(hash)
            {
                hashes.push(hash.to_owned());
            }
        }
        hashes.sort_unstable();
        Ok(hashes)
    }

    /// Number of stored avatars.
    pub fn len(&self) -> Result<usize, PoolError> {
        self.list().map(|hashes| hashes.len())
    }

    /// Whether the pool holds no avatars.
    pub fn is_empty(&self) -> Result<bool, PoolError> {
        self.len().map(|n| n == 0)
    }

    /// The picture for a new account, or `None` if the pool is empty: the
    /// crawled picture given to the fewest accounts so far (ties broken with
    /// `rng`), or the least-given identicon if nothing was crawled. The choice
    /// is recorded, across restarts too (see the `assign` module).
    pub fn pick_for_new_user(&self, rng: &mut impl Rng) -> Result<Option<String>, PoolError> {
        self.assigner.pick(self, rng)
    }

    /// Adds generated identicons until the pool holds at least `n` avatars; returns how many were added.
    ///
    /// Seeds are `chatroom-default-0`, `-1`, …, so repeated calls (and
    /// separate installs) generate the same set and never duplicate it.
    pub fn ensure_defaults(&self, n: usize) -> Result<usize, PoolError> {
        let mut have = self.len()?;
        let mut added = 0;
        let mut seed = 0usize;
        // Identicons can collide only through a SHA-256 collision of their PNGs,
        // but the bound keeps the loop finite whatever happens.
        let max_seeds = n.saturating_mul(2).saturating_add(16);
        while have < n && seed < max_seeds {
            let (_, newly_added) = self.insert(&identicon(&default_seed(seed)))?;
            if newly_added {
                have += 1;
                added += 1;
            }
            seed += 1;
        }
        Ok(added)
    }

    /// Path of the file for a hash already checked by [`is_valid_hash`].
    fn path_of(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}.{EXTENSION}"))
    }

    /// Deletes temporary files left behind by a write that was interrupted.
    fn remove_stale_temp_files(&self) -> Result<(), PoolError> {
        let entries = fs::read_dir(&self.dir).map_err(|source| PoolError::Dir {
            path: self.dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                continue;
            }
            // Another process (the crawler and the server share a pool) may be
            // writing right now, so only files untouched for a while are stale.
            let stale = entry
                .metadata()
                .and_then(|meta| meta.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age > STALE_TEMP_AGE);
            if stale {
                // A failure here only leaves a stray file that `list` ignores.
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }
}

/// Whether `hash` has the shape of a pool name: exactly 64 lower-case hex digits.
///
/// This is the only gate between a name from the network and a file path, so
/// it admits no separators, dots or other characters at all.
pub fn is_valid_hash(hash: &str) -> bool {
    hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
