//! Records of the content-addressed blob store and of the avatars kept in it,
//! as the [`Store`](super::Store) trait takes and returns them, and the pure
//! parts both back ends share (chunking, checking what comes back).
//!
//! A blob is a byte string named by its SHA-256. It is stored as one `blobs`
//! row (hash, size, chunk count, time) and `blob_chunks` rows of at most
//! [`CHUNK_BYTES`] each, all written in one transaction: a statement never
//! carries more than one chunk, so MySQL's `max_allowed_packet` bounds the
//! chunk size, not the blob size, and a reader never sees half a blob.
//! Avatars are blobs with an `avatars` row saying what kind of picture they are.

use std::fmt;

use chatroom_common::protocol::AvatarHash;
use sha2::{Digest, Sha256};

use super::StoreError;

/// Most bytes in one `blob_chunks` row (64 KiB): small enough for any MySQL
/// `max_allowed_packet` (at least 1 MiB), large enough that an avatar (about
/// 20 KB) is one row.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// The SHA-256 of a blob's bytes: its name in the store.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobHash(pub [u8; 32]);

impl BlobHash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }
}

impl fmt::Display for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobHash({self})")
    }
}

impl From<AvatarHash> for BlobHash {
    fn from(hash: AvatarHash) -> Self {
        Self(hash.0)
    }
}

impl From<BlobHash> for AvatarHash {
    fn from(hash: BlobHash) -> Self {
        Self(hash.0)
    }
}

/// What an avatar blob is, which decides where it is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvatarKind {
    /// Crawled by the operator (`chatroom-server avatars scrape`): in the
    /// pool, and what new accounts get first.
    Crawled,
    /// A generated identicon: in the pool, handed to new accounts only while
    /// nothing was crawled.
    Generated,
    /// A user's upload: served by hash, never offered to others.
    Upload,
}

impl AvatarKind {
    /// How the kind is spelled in the database.
    pub(super) fn name(self) -> &'static str {
        match self {
            AvatarKind::Crawled => "crawled",
            AvatarKind::Generated => "generated",
            AvatarKind::Upload => "upload",
        }
    }

    /// Reads back what [`AvatarKind::name`] wrote.
    pub(super) fn from_name(name: &str) -> Result<Self, StoreError> {
        match name {
            "crawled" => Ok(AvatarKind::Crawled),
            "generated" => Ok(AvatarKind::Generated),
            "upload" => Ok(AvatarKind::Upload),
            other => Err(StoreError::Other(format!(
                "unknown avatar kind `{other}` in the database"
            ))),
        }
    }

    /// Whether pictures of this kind are offered in the pool.
    pub fn in_pool(self) -> bool {
        !matches!(self, AvatarKind::Upload)
    }

    /// The kind an avatar stored as `old` has after it is stored again as
    /// `new`: a pool kind wins over an upload (a picture the crawler found
    /// after someone uploaded it joins the pool), otherwise the first stays.
    pub(super) fn merged(old: Self, new: Self) -> Self {
        if !old.in_pool() && new.in_pool() {
            new
        } else {
            old
        }
    }
}

/// A picture of the pool, with how many new accounts were given it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolAvatar {
    /// The picture's hash.
    pub hash: AvatarHash,
    /// Crawled or generated.
    pub kind: AvatarKind,
    /// How many new accounts were given this picture (hand-outs, not current
    /// owners: someone picking another picture later does not free it).
    pub assigned: u64,
}

/// Refuses `bytes` unless their SHA-256 is `hash`.
pub(super) fn verify(hash: &BlobHash, bytes: &[u8]) -> Result<(), StoreError> {
    let actual = BlobHash::of(bytes);
    if actual == *hash {
        Ok(())
    } else {
        Err(StoreError::BlobHashMismatch {
            claimed: hash.to_string(),
            actual: actual.to_string(),
        })
    }
}

/// The chunks `bytes` is stored in, in order; none for an empty blob.
pub(super) fn chunks(bytes: &[u8]) -> std::slice::Chunks<'_, u8> {
    bytes.chunks(CHUNK_BYTES)
}

/// Puts a blob read back from its chunks together and checks it: indices
/// 0, 1, 2… without gaps, the recorded size and the hash. Damaged data is an
/// error naming the blob, never a panic or wrong bytes handed out.
pub(super) fn assemble(
    hash: &BlobHash,
    size: u64,
    chunks: impl IntoIterator<Item = (u64, Vec<u8>)>,
) -> Result<Vec<u8>, StoreError> {
    let damaged = |why: String| StoreError::Other(format!("blob {hash} is damaged: {why}"));
    let capacity = usize::try_from(size).map_err(|_| damaged(format!("size {size}")))?;
    let mut bytes = Vec::with_capacity(capacity);
    for (expected, (idx, chunk)) in (0u64..).zip(chunks) {
        if idx != expected {
            return Err(damaged(format!("chunk {expected} missing")));
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.len() as u64 != size {
        return Err(damaged(format!(
            "{} bytes in its chunks, {size} recorded",
            bytes.len()
        )));
    }
    verify(hash, &bytes).map_err(|_| damaged("its bytes do not match its hash".into()))?;
    Ok(bytes)
}

/// Picks the picture for a new account from the pool: crawled pictures if
/// there are any, else the generated ones; among those the ones given out
/// least; among those the `tiebreak`-th (modulo their number) in hash order,
/// so a random `tiebreak` breaks ties at random and a fixed one is repeatable.
pub(super) fn choose_for_new_user(pool: &[PoolAvatar], tiebreak: u64) -> Option<AvatarHash> {
    let crawled = pool.iter().any(|a| a.kind == AvatarKind::Crawled);
    let mut candidates: Vec<&PoolAvatar> = pool
        .iter()
        .filter(|a| !crawled || a.kind == AvatarKind::Crawled)
        .collect();
    let fewest = candidates.iter().map(|a| a.assigned).min()?;
    candidates.retain(|a| a.assigned == fewest);
    candidates.sort_unstable_by_key(|a| a.hash.0);
    let index = usize::try_from(tiebreak % candidates.len() as u64).ok()?;
    candidates.get(index).map(|a| a.hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(byte: u8, kind: AvatarKind, assigned: u64) -> PoolAvatar {
        PoolAvatar {
            hash: AvatarHash([byte; 32]),
            kind,
            assigned,
        }
    }

    #[test]
    fn blobs_split_at_chunk_boundaries_and_come_back_whole() {
        for len in [0, 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES - 1] {
            let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let hash = BlobHash::of(&bytes);
            let stored: Vec<(u64, Vec<u8>)> =
                (0u64..).zip(chunks(&bytes).map(<[u8]>::to_vec)).collect();
            assert_eq!(stored.len(), len.div_ceil(CHUNK_BYTES), "{len}");
            assert!(stored.iter().all(|(_, c)| c.len() <= CHUNK_BYTES));
            assert_eq!(assemble(&hash, len as u64, stored).ok(), Some(bytes));
        }
    }

    #[test]
    fn damaged_blobs_are_errors() {
        let bytes = vec![7u8; CHUNK_BYTES + 10];
        let hash = BlobHash::of(&bytes);
        let good: Vec<(u64, Vec<u8>)> = (0u64..).zip(chunks(&bytes).map(<[u8]>::to_vec)).collect();
        let gap = vec![good[1].clone()];
        let short = vec![good[0].clone()];
        let mut flipped = good.clone();
        flipped[1].1[0] ^= 1;
        for damaged in [gap, short, flipped] {
            let error = assemble(&hash, bytes.len() as u64, damaged).expect_err("damaged");
            assert!(error.to_string().contains(&hash.to_string()), "{error}");
        }
    }

    #[test]
    fn a_mismatched_hash_is_refused_with_both_hashes() {
        let claimed = BlobHash::of(b"one");
        match verify(&claimed, b"two") {
            Err(StoreError::BlobHashMismatch { claimed: c, actual }) => {
                assert_eq!(c, claimed.to_string());
                assert_eq!(actual, BlobHash::of(b"two").to_string());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn new_users_get_the_least_given_crawled_picture() {
        let pool = [
            entry(1, AvatarKind::Generated, 0),
            entry(2, AvatarKind::Crawled, 3),
            entry(3, AvatarKind::Crawled, 2),
            entry(4, AvatarKind::Crawled, 2),
        ];
        assert_eq!(choose_for_new_user(&pool, 0), Some(AvatarHash([3; 32])));
        assert_eq!(choose_for_new_user(&pool, 1), Some(AvatarHash([4; 32])));
        assert_eq!(choose_for_new_user(&pool, 2), Some(AvatarHash([3; 32])));
        let generated = [
            entry(5, AvatarKind::Generated, 1),
            entry(6, AvatarKind::Generated, 0),
        ];
        assert_eq!(
            choose_for_new_user(&generated, 9),
            Some(AvatarHash([6; 32]))
        );
        assert_eq!(choose_for_new_user(&[], 0), None);
    }

    #[test]
    fn a_pool_kind_wins_over_an_upload() {
        use AvatarKind::*;
        assert_eq!(AvatarKind::merged(Upload, Crawled), Crawled);
        assert_eq!(AvatarKind::merged(Crawled, Upload), Crawled);
        assert_eq!(AvatarKind::merged(Generated, Crawled), Generated);
        for kind in [Crawled, Generated, Upload] {
            assert_eq!(AvatarKind::from_name(kind.name()).ok(), Some(kind));
        }
    }
}
