//! `send-file` and `get-file`: files posted in rooms, with a progress bar on
//! a terminal, and downloads written whole or not at all.

use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use chatroom_client::session::new_key;
use chatroom_client::{ClientError, Session};
use chatroom_common::protocol::{FileHash, FileRef, MAX_ATTACHMENTS};
use chatroom_common::validate::ValidationError;
use indicatif::{ProgressBar, ProgressStyle};

use crate::output::Output;
use crate::send::{Retry, send_one};

/// Uploads `paths` in order and posts them as one message with `text`.
pub async fn send_files(
    session: &Session,
    out: Output,
    room: &str,
    paths: &[PathBuf],
    text: Option<&str>,
) -> anyhow::Result<()> {
    if paths.len() > MAX_ATTACHMENTS {
        return Err(ClientError::Invalid(ValidationError::TooManyAttachments(paths.len())).into());
    }
    // Every file is read before anything is sent, so a typo in the last
    // path does not leave the first ones uploaded for nothing.
    let mut contents = Vec::with_capacity(paths.len());
    for path in paths {
        contents.push((path, read_file(path)?));
    }
    let mut files = Vec::with_capacity(paths.len());
    for (path, bytes) in contents {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let bar = progress_bar(out, bytes.len() as u64, &name);
        let uploaded = session
            .upload(&name, &bytes, |sent| bar.set_position(sent))
            .await
            .with_context(|| format!("uploading {}", path.display()));
        bar.finish_and_clear();
        files.push(uploaded?);
    }
    let refs = files
        .iter()
        .map(|f| FileRef {
            hash: f.hash,
            name: f.name.clone(),
        })
        .collect();
    let sent = send_one(
        session,
        room,
        text.unwrap_or_default(),
        refs,
        new_key(),
        Retry::WithinBudget,
    )
    .await?;
    out.files_sent(room, &sent, &files)
}

/// A file to upload, with a clear error for what is not one.
fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path.is_dir() {
        bail!("{} is a folder, not a file", path.display());
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Downloads `hash` to `dest` (`-`: standard output). A file is written under
/// a temporary name beside `dest` and renamed when whole, so `dest` never
/// holds half a download; an existing `dest` is kept unless `force`.
pub async fn get_file(
    session: &Session,
    out: Output,
    hash: &str,
    dest: &Path,
    force: bool,
) -> anyhow::Result<()> {
    let hash = FileHash::from_hex(hash).ok_or(ClientError::Invalid(ValidationError::FileHash))?;
    let to_stdout = dest.as_os_str() == "-";
    if !to_stdout && !force && dest.exists() {
        bail!("{} exists already; --force replaces it", dest.display());
    }
    let bar = progress_bar(out, 0, &hash.to_string()[..12]);
    let downloaded = session
        .download(hash, |got, total| {
            bar.set_length(total);
            bar.set_position(got);
        })
        .await;
    bar.finish_and_clear();
    let file = downloaded?;
    if to_stdout {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(&file.bytes)
            .context("writing to standard output")?;
        stdout.flush().context("writing to standard output")?;
        return Ok(());
    }
    write_whole(dest, &file.bytes)?;
    out.file_saved(hash, dest, file.bytes.len(), &file.mime)
}

/// Writes `bytes` to a temporary file in `dest`'s folder, then renames it
/// over `dest`: a reader sees the old file or the whole new one.
fn write_whole(dest: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let folder = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = folder.join(format!(".{name}.part-{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written.and_then(|()| std::fs::rename(&temp, dest)) {
        let _ = std::fs::remove_file(&temp);
        return Err(e).with_context(|| format!("writing {}", dest.display()));
    }
    Ok(())
}

/// A progress bar on stderr when it is a terminal and the output is words;
/// hidden otherwise (scripts and `--json` get no escape codes).
fn progress_bar(out: Output, total: u64, label: &str) -> ProgressBar {
    if out.json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_owned());
    bar
}
