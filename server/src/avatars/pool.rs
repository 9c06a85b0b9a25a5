//! The avatar pool, kept in the database: every node of a cluster offers the
//! same pictures and serves every upload, whichever node received it.
//!
//! Pictures are blobs in the store's content-addressed blob store (named by
//! the SHA-256 of their PNG, so inserting the same picture twice is a no-op),
//! each with an avatar record saying what it is (see [`AvatarKind`]): crawled
//! and generated pictures make up the pool offered to everyone; uploads are
//! only served by hash. The store writes a picture in one transaction, so no
//! node ever serves half a PNG.
//!
//! Which picture a new account gets is decided in the store, in one
//! transaction with counting it (crawled pictures first, evenly spread; see
//! `assign`), so registrations on all nodes share one spread.

use std::sync::Arc;

use chatroom_common::protocol::AvatarHash;

use super::assign::default_seed;
use super::identicon::identicon;
use super::image_check::NormalizedAvatar;
use crate::store::{AvatarKind, Store, StoreError};

/// Errors from the avatar pool.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking task (image work, file reads) failed to run to its end.
    #[error("an avatar task failed: {0}")]
    Task(String),
    /// A directory of avatar files (an install's pool from before the
    /// database kept them) could not be read or moved aside.
    #[error("avatar directory {path}: {source}")]
    Dir {
        /// The directory.
        path: std::path::PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// Handle on the avatars in the database; cheap to clone.
#[derive(Clone)]
pub struct AvatarPool {
    /// The database every node shares, which holds the pictures.
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for AvatarPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AvatarPool")
    }
}

impl AvatarPool {
    /// The pool kept in `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Stores `avatar` as a picture of `kind`; returns whether that changed
    /// anything (new to the pool for a pool kind, new at all for an upload).
    pub async fn insert(
        &self,
        avatar: &NormalizedAvatar,
        kind: AvatarKind,
    ) -> Result<bool, PoolError> {
        Ok(self
            .store
            .put_avatar(AvatarHash(avatar.hash), avatar.png.clone(), kind)
            .await?)
    }

    /// The PNG of any avatar (pool picture or upload) with `hash`, or `None`.
    pub async fn get(&self, hash: AvatarHash) -> Result<Option<Vec<u8>>, PoolError> {
        Ok(self.store.avatar_png(hash).await?)
    }

    /// What the avatar with `hash` is, if there is one.
    pub async fn kind(&self, hash: AvatarHash) -> Result<Option<AvatarKind>, PoolError> {
        Ok(self.store.avatar_kind(hash).await?)
    }

    /// Whether `hash` is a pool picture (crawled or generated, not an upload).
    pub async fn contains(&self, hash: AvatarHash) -> Result<bool, PoolError> {
        Ok(self.kind(hash).await?.is_some_and(AvatarKind::in_pool))
    }

    /// The hashes of the pool's pictures, in hash order.
    pub async fn list(&self) -> Result<Vec<AvatarHash>, PoolError> {
        let pool = self.store.pool_avatars().await?;
        Ok(pool.into_iter().map(|entry| entry.hash).collect())
    }

    /// Number of pictures in the pool.
    pub async fn len(&self) -> Result<usize, PoolError> {
        Ok(self.store.pool_avatars().await?.len())
    }

    /// Whether the pool holds no pictures.
    pub async fn is_empty(&self) -> Result<bool, PoolError> {
        Ok(self.len().await? == 0)
    }

    /// The picture for a new account, or `None` if the pool is empty: the
    /// crawled picture given to the fewest accounts so far (ties broken by
    /// `tiebreak`, a random number in production), or the least-given
    /// identicon if nothing was crawled. The hand-out is counted in the
    /// database, so the spread holds across restarts and nodes.
    pub async fn pick_for_new_user(&self, tiebreak: u64) -> Result<Option<AvatarHash>, PoolError> {
        Ok(self.store.assign_pool_avatar(tiebreak).await?)
    }

    /// Adds generated identicons until the pool holds at least `n` pictures;
    /// returns how many were added.
    ///
    /// Seeds are `chatroom-default-0`, `-1`, …, so repeated calls, separate
    /// installs and the nodes of a cluster starting at once all generate the
    /// same set, and the blob store keeps each picture once.
    pub async fn ensure_defaults(&self, n: usize) -> Result<usize, PoolError> {
        let mut have = self.len().await?;
        let mut added = 0;
        let mut seed = 0usize;
        // Identicons can collide only through a SHA-256 collision of their PNGs,
        // but the bound keeps the loop finite whatever happens.
        let max_seeds = n.saturating_mul(2).saturating_add(16);
        while have < n && seed < max_seeds {
            let name = default_seed(seed);
            // Rendering and encoding a PNG is CPU work; keep it off the runtime's threads.
            let avatar = tokio::task::spawn_blocking(move || identicon(&name))
                .await
                .map_err(|e| PoolError::Task(e.to_string()))?;
            if self.insert(&avatar, AvatarKind::Generated).await? {
                have += 1;
                added += 1;
            }
            seed += 1;
        }
        Ok(added)
    }

    /// The store the pictures are kept in.
    pub(super) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

/// Whether `hash` has the shape of an avatar's name: exactly 64 lower-case hex digits.
///
/// Used on file names (the pool directories an install kept before the
/// database held avatars), so it admits no separators, dots or other
/// characters at all.
pub fn is_valid_hash(hash: &str) -> bool {
    hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
