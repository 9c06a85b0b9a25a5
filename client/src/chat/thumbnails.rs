//! The thumbnails the worker has fetched, kept in memory by hash so each
//! crosses the network once however often the UI asks (a room shown again, a
//! list scrolled back). Bounded by bytes: the oldest go first, and are simply
//! fetched again if they are wanted after that.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use chatroom_common::protocol::FileHash;

/// Bytes of thumbnails kept: a few hundred at the server's ≤320 px.
pub(super) const KEEP_BYTES: usize = 64 * 1024 * 1024;

/// Thumbnails by hash, oldest dropped first.
#[derive(Debug)]
pub(super) struct Thumbnails {
    /// The PNG bytes and their type by hash.
    held: HashMap<FileHash, (String, Bytes)>,
    /// Hashes in the order they were kept.
    order: VecDeque<FileHash>,
    /// Bytes held in all.
    bytes: usize,
    /// The most bytes held.
    limit: usize,
}

impl Default for Thumbnails {
    fn default() -> Self {
        Self::with_limit(KEEP_BYTES)
    }
}

impl Thumbnails {
    /// An empty cache holding at most `limit` bytes.
    pub(super) fn with_limit(limit: usize) -> Self {
        Self {
            held: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            limit,
        }
    }

    /// The thumbnail's type and bytes, if held.
    pub(super) fn get(&self, hash: &FileHash) -> Option<(String, Bytes)> {
        self.held.get(hash).cloned()
    }

    /// Keeps a thumbnail, dropping the oldest ones to make room. One larger
    /// than the whole cache is not kept.
    pub(super) fn keep(&mut self, hash: FileHash, mime: String, bytes: Bytes) {
        if bytes.len() > self.limit || self.held.contains_key(&hash) {
            return;
        }
        while self.bytes + bytes.len() > self.limit {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((_, dropped)) = self.held.remove(&oldest) {
                self.bytes -= dropped.len();
            }
        }
        self.bytes += bytes.len();
        self.order.push_back(hash);
        self.held.insert(hash, (mime, bytes));
    }

    /// Forgets everything (logout: the next user may not see these files).
    pub(super) fn clear(&mut self) {
        self.held.clear();
        self.order.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(n: usize) -> (String, Bytes) {
        ("image/png".into(), Bytes::from(vec![0u8; n]))
    }

    #[test]
    fn the_oldest_go_first_and_a_giant_is_not_kept() {
        let mut cache = Thumbnails::with_limit(100);
        let (a, b, c) = (FileHash([1; 32]), FileHash([2; 32]), FileHash([3; 32]));
        let (mime, bytes) = png(40);
        cache.keep(a, mime.clone(), bytes.clone());
        cache.keep(b, mime.clone(), bytes.clone());
        cache.keep(b, mime.clone(), bytes.clone());
        assert_eq!(cache.bytes, 80, "kept once");
        cache.keep(c, mime.clone(), bytes);
        assert!(cache.get(&a).is_none());
        assert!(cache.get(&b).is_some() && cache.get(&c).is_some());
        assert_eq!(cache.bytes, 80);
        let (_, giant) = png(101);
        cache.keep(FileHash([4; 32]), mime, giant);
        assert_eq!(cache.bytes, 80);
        cache.clear();
        assert!(cache.get(&b).is_none());
        assert_eq!(cache.bytes, 0);
    }
}
