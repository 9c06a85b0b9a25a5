//! Files attached in the composer before the message goes. Each starts
//! uploading the moment it is attached (by the "Attach" button's chooser, by
//! dropping it on the window, or by pasting a picture), so sending is quick;
//! while it goes it shows its progress and a cancel button; when it failed,
//! why, with Retry and Remove. The message is sent with the files once all
//! are uploaded ([`Files::ready`]).

use std::path::Path;
use std::sync::PoisonError;

use chatroom_client::chat::{Command, TransferId, UploadSource};
use chatroom_common::protocol::{Attachment, MAX_ATTACHMENTS};
use chatroom_common::validate;
use egui::accesskit::Role;
use egui::{RichText, WidgetInfo};

use super::{Files, human_size, picture};
use crate::ChatApp;
use crate::fonts::GlyphGuard;
use crate::i18n::{I18n, t};
use crate::theme;

/// Widest a file's name is shown in the composer before it is shortened.
const NAME_CHARS: usize = 28;

/// One attached file.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Its upload (a new one on each retry).
    pub id: TransferId,
    /// The name it goes out under.
    pub name: String,
    /// Where its bytes come from, kept for a retry.
    source: UploadSource,
    /// How far it has come.
    pub state: UploadState,
}

/// How far an attached file has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadState {
    /// Going up: bytes so far of all (0 of 0 until the size is known).
    Uploading {
        /// Bytes handed to the connection.
        sent: u64,
        /// The file's size.
        total: u64,
    },
    /// Stored on the server, ready to go with the message.
    Ready(Attachment),
    /// Not uploaded, and why (in the user's language).
    Failed(String),
}

/// Why the files attached in a room cannot go yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    /// Some are still uploading.
    Uploading,
    /// Some failed: retry or remove them first.
    Failed,
}

/// Why a file was not attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachError {
    /// The message already has as many files as one may carry.
    TooMany,
}

impl Files {
    /// Attaches a file to the message being written in `room` and starts
    /// uploading it.
    pub fn attach(
        &mut self,
        room: &str,
        name: &str,
        source: UploadSource,
    ) -> Result<(), AttachError> {
        let list = self.outgoing.entry(room.to_owned()).or_default();
        if list.len() >= MAX_ATTACHMENTS {
            return Err(AttachError::TooMany);
        }
        // Folders are dropped; a name the server would refuse goes as "file".
        let name = validate::file_name(name).unwrap_or_else(|_| "file".to_owned());
        let id = TransferId(self.next_id);
        self.next_id += 1;
        self.commands.push(Command::Upload {
            id,
            name: name.clone(),
            source: source.clone(),
        });
        self.outgoing
            .entry(room.to_owned())
            .or_default()
            .push(Outgoing {
                id,
                name,
                source,
                state: UploadState::Uploading { sent: 0, total: 0 },
            });
        Ok(())
    }

    /// Attaches the file at `path` (read by the worker, off the UI thread).
    pub fn attach_path(&mut self, room: &str, path: &Path) -> Result<(), AttachError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.attach(room, &name, UploadSource::Path(path.to_owned()))
    }

    /// The files attached in `room`, uploaded and ready to send; `Ok` and
    /// empty when there are none.
    pub fn ready(&self, room: &str) -> Result<Vec<Attachment>, NotReady> {
        let Some(list) = self.outgoing.get(room) else {
            return Ok(Vec::new());
        };
        list.iter()
            .map(|file| match &file.state {
                UploadState::Ready(stored) => Ok(Attachment {
                    name: file.name.clone(),
                    ..stored.clone()
                }),
                UploadState::Uploading { .. } => Err(NotReady::Uploading),
                UploadState::Failed(_) => Err(NotReady::Failed),
            })
            .collect()
    }

    /// Whether files are attached in `room`.
    pub fn has_attached(&self, room: &str) -> bool {
        self.outgoing.get(room).is_some_and(|list| !list.is_empty())
    }

    /// The files attached in `room` went with a message: the composer is
    /// empty again.
    pub fn sent(&mut self, room: &str) {
        self.outgoing.remove(room);
    }

    /// Uploads a failed file again, under a new id.
    fn retry(&mut self, room: &str, id: TransferId) {
        let new = TransferId(self.next_id);
        let Some(file) = self
            .outgoing
            .get_mut(room)
            .and_then(|list| list.iter_mut().find(|f| f.id == id))
        else {
            return;
        };
        self.next_id += 1;
        file.id = new;
        file.state = UploadState::Uploading { sent: 0, total: 0 };
        self.commands.push(Command::Upload {
            id: new,
            name: file.name.clone(),
            source: file.source.clone(),
        });
    }

    /// Takes a file off the message, stopping its upload if it is going.
    fn remove(&mut self, room: &str, id: TransferId) {
        let Some(list) = self.outgoing.get_mut(room) else {
            return;
        };
        if let Some(at) = list.iter().position(|f| f.id == id) {
            let file = list.remove(at);
            if matches!(file.state, UploadState::Uploading { .. }) {
                self.commands.push(Command::CancelTransfer(id));
            }
        }
    }

    /// Encodes a pasted picture as PNG on a thread of its own; it is
    /// attached to `room` when done ([`take_pasted`]).
    pub fn paste(&self, ctx: &egui::Context, room: &str, image: std::sync::Arc<egui::ColorImage>) {
        let (out, ctx, room) = (self.pasted.clone(), ctx.clone(), room.to_owned());
        let spawned = std::thread::Builder::new()
            .name("pasted picture".into())
            .spawn(move || {
                let png = picture::encode_png(&image).map_err(|e| e.to_string());
                out.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((room, png));
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            tracing::warn!("pasted picture not attached: no thread to encode it: {e}");
        }
    }
}

/// The name a pasted picture goes out under.
fn pasted_name() -> String {
    format!(
        "pasted-{}.png",
        chrono::Local::now().format("%Y-%m-%d-%H%M%S")
    )
}

/// Attaches what came in since the last frame for the room shown: files
/// dropped on the window, files chosen with "Attach", pictures pasted
/// (encoded by then). A problem is said above the composer.
pub fn take_incoming(ctx: &egui::Context, app: &mut ChatApp, room: &str) {
    // While "Your picture" is open, a dropped file is its picture instead.
    let mut paths: Vec<std::path::PathBuf> = if app.profile.open {
        Vec::new()
    } else {
        ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|file| file.path().to_owned())
                .collect()
        })
    };
    paths.extend(app.files.attach_picker.take_all());
    if !paths.is_empty() {
        app.files.attach_picker.clear_notice();
    }
    let mut too_many = false;
    for path in paths {
        too_many |= app.files.attach_path(room, &path).is_err();
    }
    let pasted = std::mem::take(
        &mut *app
            .files
            .pasted
            .lock()
            .unwrap_or_else(PoisonError::into_inner),
    );
    for (for_room, png) in pasted {
        match png {
            Ok(png) => {
                let source = UploadSource::Bytes(png.into());
                too_many |= app.files.attach(&for_room, &pasted_name(), source).is_err();
            }
            Err(e) => {
                let text = t!(app.i18n, "attach-paste-failed", reason = e.as_str());
                app.composer_error = Some((for_room, text));
            }
        }
    }
    if too_many {
        let text = t!(app.i18n, "attach-too-many", count = MAX_ATTACHMENTS);
        app.composer_error = Some((room.to_owned(), text));
    }
}

/// The pictures pasted this frame (when the clipboard held a picture and no
/// text), if the composer (or nothing else) has the keyboard.
pub fn pasted_images(ui: &egui::Ui, composer: egui::Id) -> Vec<std::sync::Arc<egui::ColorImage>> {
    let ours = ui.memory(|m| m.focused().is_none_or(|id| id == composer));
    if !ours {
        return Vec::new();
    }
    ui.input(|i| {
        i.events
            .iter()
            .filter_map(|event| match event {
                egui::Event::PasteImage(image) => Some(image.clone()),
                _ => None,
            })
            .collect()
    })
}

/// "Drop files to attach them", over the window while files are dragged
/// over it.
pub fn drop_hint_ui(ctx: &egui::Context, app: &ChatApp) {
    let nothing_dragged = ctx.input(|i| i.raw.hovered_files.is_empty());
    if nothing_dragged || app.profile.open || app.model.selected.is_none() {
        return;
    }
    egui::Area::new(egui::Id::unique("drop files here"))
        .order(egui::Order::Foreground)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.label(RichText::new(t!(app.i18n, "attach-drop-here")).heading());
            });
        });
}

/// What a click in the row of attached files asked for.
enum Action {
    Retry(TransferId),
    Remove(TransferId),
}

/// The files attached to the message being written in `room`, one chip
/// each, above the text box.
pub fn attached_ui(ui: &mut egui::Ui, app: &mut ChatApp, room: &str) {
    let ChatApp {
        files,
        glyphs,
        i18n,
        ..
    } = app;
    let Some(list) = files.outgoing.get(room).filter(|l| !l.is_empty()) else {
        return;
    };
    let mut action = None;
    ui.horizontal_wrapped(|ui| {
        for file in list {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.horizontal(|ui| {
                    chip_ui(ui, i18n, glyphs, file, &mut action);
                });
            });
        }
    });
    match action {
        Some(Action::Retry(id)) => app.files.retry(room, id),
        Some(Action::Remove(id)) => app.files.remove(room, id),
        None => {}
    }
}

/// One attached file: its name, then its progress and Cancel, or its size
/// and Remove, or why it failed with Retry and Remove.
fn chip_ui(
    ui: &mut egui::Ui,
    i18n: &I18n,
    glyphs: &mut GlyphGuard,
    file: &Outgoing,
    action: &mut Option<Action>,
) {
    let shown: String = if file.name.chars().count() > NAME_CHARS {
        let head: String = file.name.chars().take(NAME_CHARS - 1).collect();
        format!("{head}…")
    } else {
        file.name.clone()
    };
    let name = glyphs.clean(ui.ctx(), &file.name).into_owned();
    let shown = glyphs.clean(ui.ctx(), &shown).into_owned();
    ui.label(shown).on_hover_text(&name);
    let name = name.as_str();
    match &file.state {
        UploadState::Uploading { sent, total } => {
            let fraction = if *total > 0 {
                *sent as f32 / *total as f32
            } else {
                0.0
            };
            let label = t!(i18n, "attach-uploading", name = name);
            ui.add(
                egui::ProgressBar::new(fraction)
                    .desired_width(90.0)
                    .show_percentage(),
            )
            .widget_info(|| WidgetInfo::labeled(Role::ProgressIndicator, true, &label));
            let cancel = ui
                .small_button("✖")
                .accessible_name(t!(i18n, "attach-cancel", name = name))
                .on_hover_text(t!(i18n, "attach-cancel-hover"));
            if cancel.clicked() {
                *action = Some(Action::Remove(file.id));
            }
        }
        UploadState::Ready(stored) => {
            ui.label(RichText::new(human_size(stored.size)).small().weak());
            let remove = ui
                .small_button("✖")
                .accessible_name(t!(i18n, "attach-remove", name = name))
                .on_hover_text(t!(i18n, "attach-remove-hover"));
            if remove.clicked() {
                *action = Some(Action::Remove(file.id));
            }
        }
        UploadState::Failed(why) => {
            let why = glyphs.clean(ui.ctx(), why).into_owned();
            ui.colored_label(theme::error(ui.visuals()), why);
            let retry = ui
                .small_button(t!(i18n, "attach-retry"))
                .accessible_name(t!(i18n, "attach-retry-named", name = name));
            if retry.clicked() {
                *action = Some(Action::Retry(file.id));
            }
            let remove = ui
                .small_button("✖")
                .accessible_name(t!(i18n, "attach-remove", name = name))
                .on_hover_text(t!(i18n, "attach-remove-hover"));
            if remove.clicked() {
                *action = Some(Action::Remove(file.id));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(name: &str) -> Attachment {
        Attachment {
            hash: chatroom_common::protocol::FileHash([1; 32]),
            name: name.into(),
            size: 3,
            mime: "text/plain".into(),
            image: None,
        }
    }

    #[test]
    fn files_go_when_all_are_uploaded_and_under_the_names_shown() {
        let mut files = Files::new(None);
        files
            .attach("lobby", "/home/me/a.txt", UploadSource::Bytes("abc".into()))
            .unwrap();
        files
            .attach("lobby", "b.txt", UploadSource::Bytes("abc".into()))
            .unwrap();
        let uploads = files.take_commands();
        assert_eq!(uploads.len(), 2);
        assert!(matches!(&uploads[0], Command::Upload { name, .. } if name == "a.txt"));
        assert_eq!(files.ready("lobby"), Err(NotReady::Uploading));
        let ids: Vec<TransferId> = files.outgoing["lobby"].iter().map(|f| f.id).collect();
        // The same bytes uploaded twice are one stored file with its first name.
        files.upload_state(ids[0], UploadState::Ready(stored("a.txt")));
        files.upload_state(ids[1], UploadState::Failed("no".into()));
        assert_eq!(files.ready("lobby"), Err(NotReady::Failed));
        files.retry("lobby", ids[1]);
        let retried = files.take_commands();
        assert!(matches!(&retried[..], [Command::Upload { id, .. }] if *id != ids[1]));
        let new_id = files.outgoing["lobby"][1].id;
        files.upload_state(new_id, UploadState::Ready(stored("a.txt")));
        let ready = files.ready("lobby").unwrap();
        assert_eq!(
            ready.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            ["a.txt", "b.txt"]
        );
        assert_eq!(files.ready("elsewhere"), Ok(Vec::new()));
        files.sent("lobby");
        assert!(!files.has_attached("lobby"));
    }

    #[test]
    fn removing_an_upload_cancels_it_and_a_message_takes_ten_files_at_most() {
        let mut files = Files::new(None);
        for i in 0..MAX_ATTACHMENTS {
            files
                .attach(
                    "lobby",
                    &format!("{i}.bin"),
                    UploadSource::Bytes("x".into()),
                )
                .unwrap();
        }
        assert_eq!(
            files.attach("lobby", "one-too-many.bin", UploadSource::Bytes("x".into())),
            Err(AttachError::TooMany)
        );
        files.take_commands();
        let first = files.outgoing["lobby"][0].id;
        files.remove("lobby", first);
        assert!(
            matches!(&files.take_commands()[..], [Command::CancelTransfer(id)] if *id == first)
        );
        // A stored file is only taken off the message: nothing to cancel.
        let second = files.outgoing["lobby"][0].id;
        files.upload_state(second, UploadState::Ready(stored("1.bin")));
        files.remove("lobby", second);
        assert!(files.take_commands().is_empty());
        assert_eq!(files.outgoing["lobby"].len(), MAX_ATTACHMENTS - 2);
    }
}
