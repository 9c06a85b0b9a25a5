//! Pictures for new accounts: crawled pictures first, handed out evenly; identicons only without them.
//!
//! The pool holds two kinds of picture: the ones the operator crawled and the
//! identicons [`AvatarPool::ensure_defaults`] tops it up with, so the app
//! always has a page of pictures to browse. A new account should get a real
//! picture whenever there is one, so identicons are handed out only while the
//! pool holds no crawled picture at all. Among the candidates the picture
//! given to the fewest accounts so far wins, ties broken at random, so five
//! crawled pictures and a hundred accounts give twenty accounts each.
//!
//! How often each picture was given out is kept in a small ledger file in the
//! pool directory, so the spread survives restarts. It counts hand-outs, not
//! current owners: someone who later picks another picture does not free
//! their first one, which only matters for the evenness of new hand-outs.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rand::Rng;
use rand::seq::IndexedRandom;
use tracing::warn;

use super::identicon::identicon;
use super::pool::{AvatarPool, PoolError, TEMP_PREFIX, is_valid_hash};

/// The ledger's file name in the pool directory; `list` ignores it (no `.png`).
pub(super) const LEDGER: &str = "assigned.txt";

/// Identicon seeds checked beyond the pool's size.
///
/// [`AvatarPool::ensure_defaults`] tries seeds in order and keeps every one,
/// so a pool of `n` pictures holds identicons of seeds below `n` only; the
/// slack covers an operator having deleted some of them by hand.
const SEED_SLACK: usize = 16;

/// The seed of the `i`-th default identicon; [`AvatarPool::ensure_defaults`] generates them.
pub(super) fn default_seed(i: usize) -> String {
    format!("chatroom-default-{i}")
}

/// State shared by all clones of one [`AvatarPool`] handle for picking new accounts' pictures.
#[derive(Debug, Default)]
pub(super) struct Assigner {
    /// Held while one pick reads and rewrites the ledger, so two registrations
    /// at once cannot both take the same least-used picture.
    ledger_lock: Mutex<()>,
    /// Hashes of the default identicons by seed number, rendered once per
    /// process: telling generated pictures from crawled ones needs them, and
    /// each costs a PNG encode.
    default_hashes: Mutex<Vec<String>>,
}

impl Assigner {
    /// Picks the picture for a new account from `pool` and records it in the ledger.
    pub(super) fn pick(
        &self,
        pool: &AvatarPool,
        rng: &mut impl Rng,
    ) -> Result<Option<String>, PoolError> {
        let _ledger = self
            .ledger_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let all = pool.list()?;
        if all.is_empty() {
            return Ok(None);
        }
        let generated = self.default_hashes(all.len() + SEED_SLACK);
        let crawled: Vec<&String> = all.iter().filter(|h| !generated.contains(*h)).collect();
        let candidates: Vec<&String> = if crawled.is_empty() {
            all.iter().collect()
        } else {
            crawled
        };
        let ledger_path = pool.dir().join(LEDGER);
        let mut counts = read_ledger(&ledger_path);
        let count = |hash: &String| counts.get(hash.as_str()).copied().unwrap_or(0);
        let fewest = candidates.iter().map(|h| count(h)).min().unwrap_or(0);
        let least_used: Vec<&String> = candidates
            .iter()
            .copied()
            .filter(|h| count(h) == fewest)
            .collect();
        let Some(&chosen) = least_used.choose(rng) else {
            return Ok(None);
        };
        *counts.entry(chosen.clone()).or_insert(0) += 1;
        // Pictures removed from the pool drop out of the ledger, so it stays as small as the pool.
        counts.retain(|hash, _| all.binary_search(hash).is_ok());
        if let Err(error) = write_ledger(pool.dir(), &ledger_path, &counts) {
            // The picture is still good; a lost count only makes the next picks a little less even.
            warn!(
                "avatar ledger {}: {error}; new accounts' pictures may be spread less evenly",
                ledger_path.display()
            );
        }
        Ok(Some(chosen.clone()))
    }

    /// The hashes of the default identicons with seeds below `seeds`.
    fn default_hashes(&self, seeds: usize) -> HashSet<String> {
        let mut known = self
            .default_hashes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while known.len() < seeds {
            let next = identicon(&default_seed(known.len())).hash_hex();
            known.push(next);
        }
        known.iter().take(seeds).cloned().collect()
    }
}

/// Reads the ledger: `<hash> <count>` per line. A missing file is an empty
/// ledger, and lines that do not parse are skipped: the ledger only steers
/// the spread, so a damaged one must never stop a registration.
fn read_ledger(path: &Path) -> HashMap<String, u64> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            if error.kind() != io::ErrorKind::NotFound {
                warn!("avatar ledger {}: {error}; starting afresh", path.display());
            }
            return HashMap::new();
        }
    };
    text.lines()
        .filter_map(|line| {
            let (hash, count) = line.trim().split_once(' ')?;
            let count = count.trim().parse::<u64>().ok()?;
            is_valid_hash(hash).then(|| (hash.to_owned(), count))
        })
        .collect()
}

/// Replaces the ledger atomically (a temporary file renamed into place), so a
/// crash leaves the old ledger or the new one, never half of one.
fn write_ledger(dir: &Path, path: &Path, counts: &HashMap<String, u64>) -> io::Result<()> {
    let mut entries: Vec<(&String, &u64)> = counts.iter().collect();
    entries.sort_unstable();
    let mut text = String::new();
    for (hash, count) in entries {
        text.push_str(&format!("{hash} {count}\n"));
    }
    // The temporary name carries the pool's prefix, so `open` sweeps one left by a crash.
    let temp = dir.join(format!(
        "{TEMP_PREFIX}{LEDGER}-{:016x}",
        rand::random::<u64>()
    ));
    let written = fs::File::create_new(&temp)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        // Best effort: the write already failed, and `open` sweeps leftovers anyway.
        let _ = fs::remove_file(&temp);
    }
    written
}
