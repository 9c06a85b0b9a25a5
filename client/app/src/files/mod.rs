//! Pictures and files in the chat: what the composer attaches
//! ([`outgoing`]), what messages carry ([`inline`]: thumbnails and file
//! cards with Save), the full-size picture ([`viewer`]), and the transfers
//! behind them, followed through the worker's events.
//!
//! Nothing here waits: uploads and downloads run in the worker; their
//! progress arrives as events drained each frame, and the commands a frame
//! makes while drawing queue in [`Files`] until it ends
//! ([`Files::take_commands`]).

pub mod inline;
pub mod outgoing;
mod picture;
pub mod viewer;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chatroom_client::chat::{Command, Fetched, Purpose, TransferId, UiEvent};
use chatroom_common::protocol::{Attachment, FileHash};

use super::file_pick::FilePicker;
use super::i18n::{I18n, wording};
pub use outgoing::{Outgoing, UploadState};
use viewer::Viewer;

/// How long a thumbnail that failed waits before it is asked for again
/// (the connection may be back by then).
const THUMBNAIL_RETRY: Duration = Duration::from_secs(10);

/// A picture's thumbnail, as far as it has come.
#[derive(Debug, Clone)]
enum Thumb {
    /// Asked for (the worker keeps each thumbnail once fetched).
    Loading,
    /// Its PNG bytes, drawn through egui's image loaders.
    Ready(Arc<[u8]>),
    /// It could not be had; asked again after [`THUMBNAIL_RETRY`].
    Failed(Instant),
}

/// Saving a file the user asked for, as far as it has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Save {
    /// Coming in: bytes so far of all.
    Saving {
        /// The transfer, to cancel it.
        id: TransferId,
        /// Bytes received.
        received: u64,
        /// Bytes in all.
        total: u64,
    },
    /// Written whole to this path.
    Saved(PathBuf),
    /// Not saved, and why (in the user's language).
    Failed(String),
}

/// What a download the app started is for.
#[derive(Debug, Clone)]
enum Wanted {
    /// A thumbnail (its hash is the download's).
    Thumbnail,
    /// The file the "Save" of this file card asked for.
    Save(FileHash),
    /// The picture the viewer shows.
    Show,
}

/// Everything about pictures and files the app holds (never persisted).
pub struct Files {
    /// The next transfer id to hand out (unique for the app's life).
    next_id: u64,
    /// Commands made while drawing, sent when the frame ends.
    commands: Vec<Command>,
    /// The files attached in the composer, per room, in the order shown.
    pub outgoing: BTreeMap<String, Vec<Outgoing>>,
    /// Thumbnails by their hash.
    thumbs: HashMap<FileHash, Thumb>,
    /// Thumbnails whose texture was ready when last drawn.
    drawn: HashSet<FileHash>,
    /// Saves the user asked for, by the file's hash.
    pub saves: HashMap<FileHash, Save>,
    /// Downloads in flight and what each is for.
    downloads: HashMap<TransferId, Wanted>,
    /// The "Attach" button's chooser.
    pub attach_picker: FilePicker,
    /// The "Save" buttons' chooser, and the file it is open for.
    pub save_picker: FilePicker,
    /// The file the save chooser is open for.
    saving: Option<Attachment>,
    /// Save here without asking (set by the tests; the downloads folder is
    /// where a save goes when the desktop has no chooser).
    save_dir: Option<PathBuf>,
    /// The full-size picture, while shown.
    pub viewer: Option<Viewer>,
    /// Pictures pasted into a room, encoded as PNG off the UI thread.
    pasted: Arc<Mutex<Vec<Pasted>>>,
}

/// A pasted picture for a room: its PNG bytes, or why it could not be made.
type Pasted = (String, Result<Vec<u8>, String>);

impl Files {
    /// Nothing attached, nothing fetched; saves go to `save_dir` without a
    /// chooser when it is given.
    pub fn new(save_dir: Option<PathBuf>) -> Self {
        Self {
            next_id: 1,
            commands: Vec::new(),
            outgoing: BTreeMap::new(),
            thumbs: HashMap::new(),
            drawn: HashSet::new(),
            saves: HashMap::new(),
            downloads: HashMap::new(),
            attach_picker: FilePicker::default(),
            save_picker: FilePicker::default(),
            saving: None,
            save_dir,
            viewer: None,
            pasted: Arc::default(),
        }
    }

    /// Forgets everything of the account that logged out (transfers in
    /// flight are cancelled).
    pub fn reset(&mut self) {
        for id in self.downloads.keys().copied().collect::<Vec<_>>() {
            self.commands.push(Command::CancelTransfer(id));
        }
        for list in self.outgoing.values() {
            for file in list {
                if matches!(file.state, UploadState::Uploading { .. }) {
                    self.commands.push(Command::CancelTransfer(file.id));
                }
            }
        }
        let commands = std::mem::take(&mut self.commands);
        let next_id = self.next_id;
        *self = Self::new(self.save_dir.take());
        self.commands = commands;
        self.next_id = next_id;
    }

    /// A transfer id not used before.
    fn new_id(&mut self) -> TransferId {
        let id = TransferId(self.next_id);
        self.next_id += 1;
        id
    }

    /// The commands made since the last call, to send to the worker.
    pub fn take_commands(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.commands)
    }

    /// Whether the thumbnail `hash` was drawn from its picture (not a
    /// placeholder) in the last frame that showed it.
    pub fn shows_thumbnail(&self, hash: &FileHash) -> bool {
        self.drawn.contains(hash)
    }

    /// The thumbnail's bytes when held; asks for it the first time (and
    /// again a while after a failure).
    fn thumbnail(&mut self, hash: FileHash) -> Option<Arc<[u8]>> {
        match self.thumbs.get(&hash) {
            Some(Thumb::Ready(bytes)) => return Some(bytes.clone()),
            Some(Thumb::Loading) => return None,
            Some(Thumb::Failed(at)) if at.elapsed() < THUMBNAIL_RETRY => return None,
            Some(Thumb::Failed(_)) | None => {}
        }
        let id = self.new_id();
        self.thumbs.insert(hash, Thumb::Loading);
        self.downloads.insert(id, Wanted::Thumbnail);
        self.commands.push(Command::Download {
            id,
            hash,
            purpose: Purpose::Thumbnail,
        });
        None
    }

    /// Starts saving `file`: into the folder set for saves, or where the
    /// person chooses in the save dialog.
    pub fn save(&mut self, ctx: &egui::Context, i18n: &I18n, file: &Attachment) {
        match &self.save_dir {
            Some(dir) => {
                let path = free_path(dir, &file.name);
                self.save_to(file.hash, path);
            }
            None => {
                self.saving = Some(file.clone());
                let title = super::i18n::t!(i18n, "file-title-save");
                self.save_picker.open_save(ctx, &title, &file.name);
            }
        }
    }

    /// Downloads `hash` into `path`.
    fn save_to(&mut self, hash: FileHash, path: PathBuf) {
        if let Some(Save::Saving { id, .. }) = self.saves.get(&hash) {
            // Saved again elsewhere: the first one stops.
            self.commands.push(Command::CancelTransfer(*id));
        }
        let id = self.new_id();
        self.downloads.insert(id, Wanted::Save(hash));
        self.saves.insert(
            hash,
            Save::Saving {
                id,
                received: 0,
                total: 0,
            },
        );
        self.commands.push(Command::Download {
            id,
            hash,
            purpose: Purpose::SaveTo(path),
        });
    }

    /// Stops saving `hash`.
    pub fn cancel_save(&mut self, hash: &FileHash) {
        if let Some(Save::Saving { id, .. }) = self.saves.remove(hash) {
            self.downloads.remove(&id);
            self.commands.push(Command::CancelTransfer(id));
        }
    }

    /// Takes the save chooser's answer: the place chosen, or, on a desktop
    /// without a chooser, the downloads folder. Called each frame.
    pub fn poll_save_picker(&mut self) {
        if self.save_picker.take_unavailable() {
            if let Some(file) = self.saving.take() {
                let dir = downloads_dir();
                let path = free_path(&dir, &file.name);
                self.save_to(file.hash, path);
            }
            return;
        }
        if let Some(path) = self.save_picker.take()
            && let Some(file) = self.saving.take()
        {
            self.save_to(file.hash, path);
        }
    }

    /// Opens the full-size viewer on `file` (a picture) and fetches it.
    pub fn show(&mut self, file: &Attachment) {
        self.close_viewer();
        let id = self.new_id();
        self.downloads.insert(id, Wanted::Show);
        self.commands.push(Command::Download {
            id,
            hash: file.hash,
            purpose: Purpose::Show,
        });
        self.viewer = Some(Viewer::new(file.clone(), id));
    }

    /// Closes the viewer, stopping its download if it is still coming.
    pub fn close_viewer(&mut self) {
        if let Some(viewer) = self.viewer.take()
            && let Some(id) = viewer.loading()
        {
            self.downloads.remove(&id);
            self.commands.push(Command::CancelTransfer(id));
        }
    }

    /// Follows a transfer event; false for events about something else.
    pub fn event(&mut self, ctx: &egui::Context, i18n: &I18n, event: &UiEvent) -> bool {
        match event {
            UiEvent::UploadProgress { id, sent, total } => {
                self.upload_state(
                    *id,
                    UploadState::Uploading {
                        sent: *sent,
                        total: *total,
                    },
                );
            }
            UiEvent::Uploaded { id, file } => {
                self.upload_state(*id, UploadState::Ready(file.clone()));
            }
            UiEvent::UploadFailed { id, notice } => {
                let reason = wording::cause(i18n, notice);
                self.upload_state(*id, UploadState::Failed(reason));
            }
            UiEvent::DownloadProgress {
                id,
                received,
                total,
            } => match self.downloads.get(id) {
                Some(Wanted::Save(hash)) => {
                    if let Some(save) = self.saves.get_mut(hash) {
                        *save = Save::Saving {
                            id: *id,
                            received: *received,
                            total: *total,
                        };
                    }
                }
                Some(Wanted::Show) => {
                    if let Some(viewer) = self.viewer.as_mut() {
                        viewer.progress(*id, *received, *total);
                    }
                }
                Some(Wanted::Thumbnail) | None => {}
            },
            UiEvent::Downloaded { id, hash, fetched } => {
                match (self.downloads.remove(id), fetched) {
                    (Some(Wanted::Thumbnail), Fetched::Bytes { bytes, .. }) => {
                        let thumb = if picture::fits_thumbnail(bytes) {
                            Thumb::Ready(Arc::from(&bytes[..]))
                        } else {
                            tracing::warn!("thumbnail {hash} is not a small picture; not shown");
                            Thumb::Failed(Instant::now())
                        };
                        self.thumbs.insert(*hash, thumb);
                    }
                    (Some(Wanted::Save(_)), Fetched::Saved(path)) => {
                        self.saves.insert(*hash, Save::Saved(path.clone()));
                    }
                    (Some(Wanted::Show), Fetched::Bytes { bytes, .. }) => {
                        if let Some(viewer) = self.viewer.as_mut() {
                            viewer.arrived(ctx, *id, bytes.clone());
                        }
                    }
                    (wanted, fetched) => {
                        tracing::debug!("download {id} ({wanted:?}) ended with {fetched:?}")
                    }
                }
            }
            UiEvent::DownloadFailed { id, hash, notice } => match self.downloads.remove(id) {
                Some(Wanted::Thumbnail) => {
                    self.thumbs.insert(*hash, Thumb::Failed(Instant::now()));
                }
                Some(Wanted::Save(_)) => {
                    self.saves
                        .insert(*hash, Save::Failed(wording::cause(i18n, notice)));
                }
                Some(Wanted::Show) => {
                    if let Some(viewer) = self.viewer.as_mut() {
                        viewer.failed(*id, wording::cause(i18n, notice));
                    }
                }
                None => {}
            },
            _ => return false,
        }
        true
    }

    /// Sets the state of the upload `id`, wherever it is attached.
    fn upload_state(&mut self, id: TransferId, state: UploadState) {
        let file = self
            .outgoing
            .values_mut()
            .flat_map(|list| list.iter_mut())
            .find(|file| file.id == id);
        if let Some(file) = file {
            file.state = state;
        }
    }
}

/// Where a save goes when the desktop offers no chooser: the user's
/// downloads folder, else their home, else the working directory.
fn downloads_dir() -> PathBuf {
    directories::UserDirs::new()
        .and_then(|dirs| {
            dirs.download_dir()
                .map(Path::to_path_buf)
                .or_else(|| Some(dirs.home_dir().to_path_buf()))
        })
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `dir/name`, or `dir/name (2).ext` and so on when that is taken, so a
/// save never overwrites a file the user did not choose to replace.
pub fn free_path(dir: &Path, name: &str) -> PathBuf {
    // The name comes from another user: only its last part, never "..".
    let name = chatroom_common::validate::file_name(name).unwrap_or_else(|_| "file".to_owned());
    let first = dir.join(&name);
    if !first.exists() {
        return first;
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem.to_owned(), format!(".{ext}")),
        _ => (name.clone(), String::new()),
    };
    (2..)
        .map(|n| dir.join(format!("{stem} ({n}){ext}")))
        .find(|path| !path.exists())
        .unwrap_or(first)
}

/// `1536` as "1.5 KB", `3_500_000` as "3.5 MB" (powers of 1,000, as file
/// managers show sizes).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(25 * 1024 * 1024), "26 MB");
        assert_eq!(human_size(999_999), "1.0 MB");
        assert_eq!(human_size(3_500_000_000), "3.5 GB");
    }

    #[test]
    fn a_save_never_overwrites_and_never_leaves_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(free_path(dir.path(), "a.txt"), dir.path().join("a.txt"));
        std::fs::write(dir.path().join("a.txt"), "x").unwrap();
        assert_eq!(free_path(dir.path(), "a.txt"), dir.path().join("a (2).txt"));
        std::fs::write(dir.path().join("a (2).txt"), "x").unwrap();
        assert_eq!(free_path(dir.path(), "a.txt"), dir.path().join("a (3).txt"));
        assert_eq!(
            free_path(dir.path(), "../../etc/passwd"),
            dir.path().join("passwd")
        );
        assert_eq!(free_path(dir.path(), ".."), dir.path().join("file"));
        std::fs::write(dir.path().join("README"), "x").unwrap();
        assert_eq!(
            free_path(dir.path(), "README"),
            dir.path().join("README (2)")
        );
    }

    #[test]
    fn a_failed_thumbnail_is_asked_for_again_only_after_a_while() {
        let mut files = Files::new(None);
        let hash = FileHash([7; 32]);
        assert!(files.thumbnail(hash).is_none());
        assert!(files.thumbnail(hash).is_none());
        let asked = files.take_commands();
        assert_eq!(asked.len(), 1, "asked once while loading: {asked:?}");
        files.thumbs.insert(hash, Thumb::Failed(Instant::now()));
        assert!(files.thumbnail(hash).is_none());
        assert!(files.take_commands().is_empty());
        files.thumbs.insert(
            hash,
            Thumb::Failed(Instant::now() - THUMBNAIL_RETRY - Duration::from_secs(1)),
        );
        assert!(files.thumbnail(hash).is_none());
        assert_eq!(files.take_commands().len(), 1);
    }
}
