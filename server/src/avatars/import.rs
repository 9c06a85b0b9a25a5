//! Moving an install's avatar files into the database, once: the pool and
//! upload directories the server kept in its data directory before the
//! database held avatars.
//!
//! Each `<sha256>.png` whose bytes match its name goes into the blob store
//! (pool files as crawled pictures or, when they are the default identicons,
//! as generated ones; upload files as uploads), and the hand-out counts of
//! the pool's `assigned.txt` are raised into the database. Only when every
//! file could be read is the directory renamed to `<name>.imported`, so the
//! next start does not read it again; the files stay there for the operator
//! to delete. An import cut short by a crash simply runs again: storing a
//! picture twice changes nothing, and counts are raised, never added.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use chatroom_common::protocol::AvatarHash;
use tracing::warn;

use super::assign::{SEED_SLACK, default_hashes};
use super::image_check::NormalizedAvatar;
use super::pool::{AvatarPool, PoolError, is_valid_hash};
use crate::store::AvatarKind;

/// What an imported directory is renamed to: its name plus this.
pub const IMPORTED_SUFFIX: &str = ".imported";
/// The pool directory's ledger of hand-outs: `<hash> <count>` per line.
const LEDGER: &str = "assigned.txt";

/// What [`import_dirs`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Pool pictures stored (including ones the database had already).
    pub pool: usize,
    /// Uploads stored (including ones the database had already).
    pub uploads: usize,
    /// `.png` files left out because their bytes are not a PNG whose SHA-256
    /// is their name (they stay in the renamed directory).
    pub skipped: Vec<PathBuf>,
    /// Files that could not be read; their directory is not renamed, so the
    /// next start tries again.
    pub unreadable: Vec<PathBuf>,
    /// Where each fully imported directory now is.
    pub moved: Vec<PathBuf>,
}

/// Which of the two directories is being imported.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Crawled and generated pictures, with the ledger.
    Pool,
    /// Users' uploads.
    Uploads,
}

/// Imports `pool_dir` and `upload_dir` into `pool`'s database, when they exist.
/// Only a database failure is an error; file trouble is reported and logged.
pub async fn import_dirs(
    pool: &AvatarPool,
    pool_dir: &Path,
    upload_dir: &Path,
) -> Result<ImportReport, PoolError> {
    let mut report = ImportReport::default();
    import_dir(pool, pool_dir, Source::Pool, &mut report).await?;
    import_dir(pool, upload_dir, Source::Uploads, &mut report).await?;
    Ok(report)
}

/// Imports one directory and renames it if every file was read.
async fn import_dir(
    pool: &AvatarPool,
    dir: &Path,
    source: Source,
    report: &mut ImportReport,
) -> Result<(), PoolError> {
    let listed = {
        let dir = dir.to_path_buf();
        blocking(move || list_pictures(&dir)).await?
    };
    let files = match listed {
        Ok(Some(files)) => files,
        Ok(None) => return Ok(()),
        Err(error) => {
            warn!("avatar directory {}: {error}; not imported", dir.display());
            report.unreadable.push(dir.to_path_buf());
            return Ok(());
        }
    };
    let generated = if source == Source::Pool {
        let seeds = files.len() + SEED_SLACK;
        blocking(move || default_hashes(seeds)).await?
    } else {
        HashSet::new()
    };
    let mut complete = true;
    for (hash, path) in files {
        let read = {
            let path = path.clone();
            blocking(move || std::fs::read(path)).await?
        };
        let png = match read {
            Ok(png) => png,
            Err(error) => {
                warn!("avatar file {}: {error}; not imported", path.display());
                report.unreadable.push(path);
                complete = false;
                continue;
            }
        };
        let avatar = NormalizedAvatar::from_png(png);
        let is_png = image::guess_format(&avatar.png).ok() == Some(image::ImageFormat::Png);
        if AvatarHash(avatar.hash) != hash || !is_png {
            warn!(
                "avatar file {} is not the PNG its name says; left out",
                path.display()
            );
            report.skipped.push(path);
            continue;
        }
        let kind = match source {
            Source::Uploads => AvatarKind::Upload,
            Source::Pool if generated.contains(&hash) => AvatarKind::Generated,
            Source::Pool => AvatarKind::Crawled,
        };
        pool.insert(&avatar, kind).await?;
        match source {
            Source::Pool => report.pool += 1,
            Source::Uploads => report.uploads += 1,
        }
    }
    if source == Source::Pool {
        let ledger = dir.join(LEDGER);
        let counts = blocking(move || read_ledger(&ledger)).await?;
        pool.store().raise_avatar_counts(counts).await?;
    }
    if complete {
        let to_move = dir.to_path_buf();
        match blocking(move || move_aside(&to_move)).await? {
            Ok(moved) => report.moved.push(moved),
            // Not fatal: the next start imports the directory again, which changes nothing.
            Err(error) => warn!("avatar directory {}: {error}", dir.display()),
        }
    }
    Ok(())
}

/// The `<hash>.png` files of `dir` with their hashes, in name order; `None`
/// when the directory does not exist.
fn list_pictures(dir: &Path) -> io::Result<Option<Vec<(AvatarHash, PathBuf)>>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(hash) = name.to_str().and_then(|n| n.strip_suffix(".png")) else {
            continue;
        };
        if !is_valid_hash(hash) {
            continue;
        }
        if let Some(hash) = AvatarHash::from_hex(hash) {
            files.push((hash, entry.path()));
        }
    }
    files.sort_unstable_by_key(|(hash, _)| hash.0);
    Ok(Some(files))
}

/// Reads the ledger: `<hash> <count>` per line. A missing file is an empty
/// ledger, and lines that do not parse are skipped: the counts only steer
/// the spread, so a damaged ledger must never stop a start.
fn read_ledger(path: &Path) -> Vec<(AvatarHash, u64)> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            if error.kind() != io::ErrorKind::NotFound {
                warn!(
                    "avatar ledger {}: {error}; counts not imported",
                    path.display()
                );
            }
            return Vec::new();
        }
    };
    text.lines()
        .filter_map(|line| {
            let (hash, count) = line.trim().split_once(' ')?;
            let count = count.trim().parse::<u64>().ok()?;
            if !is_valid_hash(hash) {
                return None;
            }
            Some((AvatarHash::from_hex(hash)?, count))
        })
        .collect()
}

/// Renames `dir` to `<dir>.imported` (or `.imported.2`, … when that exists
/// from an earlier import); returns the new path.
fn move_aside(dir: &Path) -> io::Result<PathBuf> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for attempt in 1..=100 {
        let new_name = if attempt == 1 {
            format!("{name}{IMPORTED_SUFFIX}")
        } else {
            format!("{name}{IMPORTED_SUFFIX}.{attempt}")
        };
        let target = dir.with_file_name(new_name);
        if target.exists() {
            continue;
        }
        std::fs::rename(dir, &target)?;
        return Ok(target);
    }
    Err(io::Error::other("no free name to move it aside to"))
}

/// Runs blocking file or image work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PoolError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| PoolError::Task(e.to_string()))
}
