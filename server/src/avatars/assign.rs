//! Pictures for new accounts: crawled pictures first, handed out evenly; identicons only without them.
//!
//! The pool holds two kinds of picture: the ones the operator crawled and the
//! identicons [`AvatarPool::ensure_defaults`](super::AvatarPool::ensure_defaults)
//! tops it up with, so the app always has a page of pictures to browse. A new
//! account should get a real picture whenever there is one, so identicons are
//! handed out only while the pool holds no crawled picture at all. Among the
//! candidates the picture given to the fewest accounts so far wins, ties
//! broken at random, so five crawled pictures and a hundred accounts give
//! twenty accounts each.
//!
//! The database records each picture's kind and how often it was given out;
//! the store chooses and counts in one transaction
//! ([`Store::assign_pool_avatar`](crate::store::Store::assign_pool_avatar)),
//! so the spread survives restarts and is shared by every node of a cluster.
//! It counts hand-outs, not current owners: someone who later picks another
//! picture does not free their first one, which only matters for the evenness
//! of new hand-outs.
//!
//! What is left here is naming the default identicons, and recognising them
//! among the files of a pool directory kept before the database held avatars
//! (which did not record what each file was).

use std::collections::HashSet;

use chatroom_common::protocol::AvatarHash;

use super::identicon::identicon;

/// Identicon seeds checked beyond a pool directory's size when telling its
/// identicons from crawled pictures.
///
/// `ensure_defaults` tries seeds in order and keeps every one, so a pool of
/// `n` pictures holds identicons of seeds below `n` only; the slack covers an
/// operator having deleted some of them by hand.
pub(super) const SEED_SLACK: usize = 16;

/// The seed of the `i`-th default identicon; `ensure_defaults` generates them.
pub(super) fn default_seed(i: usize) -> String {
    format!("chatroom-default-{i}")
}

/// The hashes of the default identicons with seeds below `seeds`. Each costs
/// a PNG encode: run it on a blocking thread.
pub(super) fn default_hashes(seeds: usize) -> HashSet<AvatarHash> {
    (0..seeds)
        .map(|i| AvatarHash(identicon(&default_seed(i)).hash))
        .collect()
}
