//! The native file chooser behind each "Choose…" button: a button asks for
//! it, the app opens it in front of its window at the end of the frame,
//! rfd's dialog is awaited on a thread of its own and its answer handed back
//! through a mutex and a repaint, so the UI never waits while a person browses.
//!
//! On Linux and the BSDs rfd asks the XDG desktop portal (through the
//! system's libdbus) and falls back to zenity. When neither answers, rfd
//! reports the same "nothing chosen" as a cancelled dialog, so this module
//! looks for them first and says so beside the field instead of doing nothing.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use egui::RichText;

use super::i18n::{I18n, t};
use super::theme;

/// What a chooser is for: its title and the files it offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A picture to upload as the avatar.
    Image,
    /// The server's CA certificate (PEM).
    CaCertificate,
    /// Files of any kind to attach to a message (several at once).
    Attachment,
}

impl FileKind {
    /// The dialog's title.
    fn title(self, i18n: &I18n) -> String {
        match self {
            Self::Image => t!(i18n, "file-title-image"),
            Self::CaCertificate => t!(i18n, "file-title-ca"),
            Self::Attachment => t!(i18n, "file-title-attach"),
        }
    }

    /// The filter's name and the extensions it lets through (the ones the
    /// server, or the certificate loader, actually reads).
    /// `None` offers every file.
    fn filter(self, i18n: &I18n) -> Option<(String, &'static [&'static str])> {
        Some(match self {
            Self::Image => (
                t!(i18n, "file-filter-images"),
                &["png", "jpg", "jpeg", "gif", "webp"],
            ),
            Self::CaCertificate => (t!(i18n, "file-filter-certificates"), &["pem", "crt"]),
            Self::Attachment => return None,
        })
    }

    /// Said on hover over the button.
    fn hover(self, i18n: &I18n) -> String {
        match self {
            Self::Image => t!(i18n, "file-hover-image"),
            Self::CaCertificate => t!(i18n, "file-hover-ca"),
            Self::Attachment => t!(i18n, "attach-hover"),
        }
    }
}

/// How a chooser ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picked {
    /// The person chose this file (or, saving, this place for it).
    Chosen(PathBuf),
    /// The person chose these files (a chooser that takes several).
    Several(Vec<PathBuf>),
    /// The person closed the chooser without choosing.
    Cancelled,
    /// This desktop has no file chooser (no portal, no zenity).
    Unavailable,
}

/// Where this frame's asked-for choosers wait in the context's memory.
const ASKED: &str = "file choosers asked";

/// A chooser asked for, not yet shown.
#[derive(Debug, Clone)]
enum Dialog {
    /// Choose a file (or several) to open.
    Open {
        kind: FileKind,
        title: String,
        filter: Option<(String, &'static [&'static str])>,
    },
    /// Choose where to save a file.
    Save { title: String, file_name: String },
}

/// The choosers asked for during a frame, each with the button it answers.
#[derive(Debug, Clone, Default)]
struct Asked(Vec<(FilePicker, Dialog)>);

/// Opens the choosers asked for this frame in front of the app's window
/// (`window`, eframe's frame, holds its handle): the desktop then keeps the
/// dialog above the window and centred on it instead of somewhere behind.
/// Called once per frame, after the screens are drawn.
pub fn open_asked(ctx: &egui::Context, window: &eframe::Frame) {
    let asked = ctx.data_mut(|data| data.remove_temp::<Asked>(egui::Id::unique(ASKED)));
    for (picker, dialog) in asked.map(|a| a.0).unwrap_or_default() {
        picker.show(ctx, dialog, window);
    }
}

/// The state one "Choose…" button shares with its chooser's thread.
#[derive(Debug, Default)]
struct Slot {
    /// A chooser is open: the button is disabled so only one is.
    open: bool,
    /// The chooser's answer, waiting for the next frame to take it.
    answer: Option<Picked>,
    /// The last try found no chooser; shown until a path comes or is typed.
    unavailable: bool,
}

/// One "Choose…" button's chooser. Clones share it: the thread that awaits
/// the dialog holds one, the screen another.
#[derive(Debug, Clone, Default)]
pub struct FilePicker {
    /// Shared with the chooser's thread; never held across a frame.
    slot: Arc<Mutex<Slot>>,
}

impl FilePicker {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        // A panic elsewhere while holding it leaves plain data behind; use it.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a chooser is open.
    pub fn is_open(&self) -> bool {
        self.lock().open
    }

    /// Whether the last try found no chooser on this desktop.
    pub fn unavailable(&self) -> bool {
        self.lock().unavailable
    }

    /// Forgets "no chooser" (the person typed a path instead).
    pub fn clear_notice(&self) {
        self.lock().unavailable = false;
    }

    /// Asks for the chooser for `kind` without waiting for it; it opens at
    /// the end of this frame ([`open_asked`]) and its answer is
    /// [`FilePicker::take`]n on a later frame. Does nothing while one is open.
    pub fn open(&self, ctx: &egui::Context, i18n: &I18n, kind: FileKind) {
        self.ask(
            ctx,
            Dialog::Open {
                kind,
                title: kind.title(i18n),
                filter: kind.filter(i18n),
            },
        );
    }

    /// Asks for the "save as" chooser titled `title`, offering `file_name`;
    /// the place chosen is [`FilePicker::take`]n on a later frame.
    pub fn open_save(&self, ctx: &egui::Context, title: &str, file_name: &str) {
        self.ask(
            ctx,
            Dialog::Save {
                title: title.to_owned(),
                file_name: file_name.to_owned(),
            },
        );
    }

    /// Queues `dialog` for [`open_asked`], which has the window to put it on.
    fn ask(&self, ctx: &egui::Context, dialog: Dialog) {
        if !self.begin() {
            return;
        }
        let picker = self.clone();
        ctx.data_mut(|data| {
            data.get_temp_mut_or_default::<Asked>(egui::Id::unique(ASKED))
                .0
                .push((picker, dialog));
        });
    }

    /// Opens `dialog` on `window`'s behalf and awaits it on a thread.
    fn show(&self, ctx: &egui::Context, dialog: Dialog, window: &eframe::Frame) {
        // Made here, on the UI thread (macOS makes its panels on the main
        // thread); nothing shows until the future is first polled.
        let chooser = rfd::AsyncFileDialog::new().set_parent(window);
        match dialog {
            Dialog::Open {
                kind,
                title,
                filter,
            } => {
                let mut chooser = chooser.set_title(title);
                if let Some((name, extensions)) = filter {
                    chooser = chooser.add_filter(name, extensions);
                }
                if kind == FileKind::Attachment {
                    let chosen = chooser.pick_files();
                    self.wait_on(ctx, async move {
                        match chosen.await {
                            Some(files) => Picked::Several(
                                files.iter().map(|f| f.path().to_path_buf()).collect(),
                            ),
                            None => Picked::Cancelled,
                        }
                    });
                } else {
                    self.wait_on_one(ctx, chooser.pick_file());
                }
            }
            Dialog::Save { title, file_name } => {
                let chooser = chooser.set_title(title).set_file_name(file_name);
                self.wait_on_one(ctx, chooser.save_file());
            }
        }
    }

    /// Awaits a chooser that answers with one file (open or save).
    fn wait_on_one(
        &self,
        ctx: &egui::Context,
        chosen: impl std::future::Future<Output = Option<rfd::FileHandle>> + Send + 'static,
    ) {
        self.wait_on(ctx, async move {
            match chosen.await {
                Some(file) => Picked::Chosen(file.path().to_path_buf()),
                None => Picked::Cancelled,
            }
        });
    }

    /// Marks a chooser open; false when one already is.
    fn begin(&self) -> bool {
        let mut slot = self.lock();
        if slot.open {
            return false;
        }
        slot.open = true;
        slot.unavailable = false;
        true
    }

    /// Awaits `dialog` on a thread of its own and delivers its answer.
    fn wait_on(
        &self,
        ctx: &egui::Context,
        dialog: impl std::future::Future<Output = Picked> + Send + 'static,
    ) {
        let picker = self.clone();
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("file chooser".into())
            .spawn(move || {
                let picked = if chooser_available() {
                    match tokio::runtime::Builder::new_current_thread().build() {
                        Ok(rt) => rt.block_on(dialog),
                        Err(e) => {
                            tracing::warn!("file chooser: no runtime to wait on: {e}");
                            Picked::Unavailable
                        }
                    }
                } else {
                    Picked::Unavailable
                };
                picker.deliver(picked);
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            tracing::warn!("file chooser: no thread for it: {e}");
            self.deliver(Picked::Unavailable);
        }
    }

    /// Hands a chooser's answer to the screen: what the chooser's thread
    /// calls when the dialog closes (and what tests call in its place).
    pub fn deliver(&self, picked: Picked) {
        let mut slot = self.lock();
        slot.open = false;
        slot.answer = Some(picked);
    }

    /// The file chosen since the last frame, if one was; polled each frame.
    /// A chooser found missing is remembered for [`notice_ui`].
    pub fn take(&self) -> Option<PathBuf> {
        let mut slot = self.lock();
        match slot.answer.take()? {
            Picked::Chosen(path) => {
                slot.unavailable = false;
                Some(path)
            }
            Picked::Several(paths) => {
                slot.unavailable = false;
                paths.into_iter().next()
            }
            Picked::Cancelled => None,
            Picked::Unavailable => {
                slot.unavailable = true;
                None
            }
        }
    }

    /// Every file chosen since the last frame (several for a chooser that
    /// takes several); empty when none was.
    pub fn take_all(&self) -> Vec<PathBuf> {
        let mut slot = self.lock();
        match slot.answer.take() {
            Some(Picked::Several(paths)) => {
                slot.unavailable = false;
                paths
            }
            Some(Picked::Chosen(path)) => {
                slot.unavailable = false;
                vec![path]
            }
            Some(Picked::Unavailable) => {
                slot.unavailable = true;
                Vec::new()
            }
            Some(Picked::Cancelled) | None => Vec::new(),
        }
    }

    /// Whether the last answer was "no chooser here" and has not been
    /// taken: the caller takes another way (a save goes to the downloads folder).
    pub fn take_unavailable(&self) -> bool {
        let mut slot = self.lock();
        if slot.answer == Some(Picked::Unavailable) {
            slot.answer = None;
            return true;
        }
        false
    }

    /// Drops an answer that arrived while its screen was away.
    pub fn discard(&self) {
        self.lock().answer = None;
    }
}

/// A path field with its "Choose…" button on the right, tied to `label` for
/// screen readers; returns the field's response.
pub fn path_field_ui(
    ui: &mut egui::Ui,
    i18n: &I18n,
    text: &mut String,
    hint: &str,
    label: egui::Id,
    picker: &FilePicker,
    kind: FileKind,
) -> egui::Response {
    ui.horizontal(|ui| {
        // Room for the button, so the field never pushes it out of view.
        let button = ui.spacing().interact_size.x + 40.0;
        let field = ui
            .add(
                egui::TextEdit::singleline(text)
                    .hint_text(hint)
                    .desired_width((ui.available_width() - button).max(80.0)),
            )
            .labelled_by(label);
        if field.changed() {
            picker.clear_notice();
        }
        let choose = ui
            .add_enabled(
                !picker.is_open(),
                egui::Button::new(t!(i18n, "file-choose")),
            )
            .on_hover_text(kind.hover(i18n));
        if choose.clicked() {
            picker.open(ui.ctx(), i18n, kind);
        }
        field
    })
    .inner
}

/// Says under the field that there is no chooser, when that is what the
/// last "Choose…" found.
pub fn notice_ui(ui: &mut egui::Ui, i18n: &I18n, picker: &FilePicker) {
    if picker.unavailable() {
        let text = t!(i18n, "file-unavailable");
        ui.add(egui::Label::new(RichText::new(text).color(theme::error(ui.visuals()))).wrap());
    }
}

/// Whether rfd will find a chooser: the portal's FileChooser answers on the
/// session bus (asking starts it if it is only activatable), or zenity is
/// installed for rfd to fall back on.
#[cfg(all(unix, not(target_os = "macos")))]
fn chooser_available() -> bool {
    portal_answers() || zenity_installed()
}

/// Windows and macOS always have their own dialogs.
#[cfg(not(all(unix, not(target_os = "macos"))))]
fn chooser_available() -> bool {
    true
}

#[cfg(all(unix, not(target_os = "macos")))]
fn portal_answers() -> bool {
    let Ok(bus) = zbus::blocking::Connection::session() else {
        return false;
    };
    bus.call_method(
        Some("org.freedesktop.portal.Desktop"),
        "/org/freedesktop/portal/desktop",
        Some("org.freedesktop.DBus.Properties"),
        "Get",
        &("org.freedesktop.portal.FileChooser", "version"),
    )
    .is_ok()
}

#[cfg(all(unix, not(target_os = "macos")))]
fn zenity_installed() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("zenity").is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_taken_once_and_reopens_the_button() {
        let picker = FilePicker::default();
        picker.lock().open = true;
        let thread_end = picker.clone();
        thread_end.deliver(Picked::Chosen(PathBuf::from("/tmp/me.png")));
        assert!(!picker.is_open());
        assert_eq!(picker.take(), Some(PathBuf::from("/tmp/me.png")));
        assert_eq!(picker.take(), None);
    }

    #[test]
    fn no_chooser_is_remembered_until_a_path_comes() {
        let picker = FilePicker::default();
        picker.deliver(Picked::Unavailable);
        assert_eq!(picker.take(), None);
        assert!(picker.unavailable());
        picker.deliver(Picked::Cancelled);
        assert_eq!(picker.take(), None);
        assert!(picker.unavailable());
        picker.deliver(Picked::Chosen(PathBuf::from("ca.pem")));
        assert_eq!(picker.take(), Some(PathBuf::from("ca.pem")));
        assert!(!picker.unavailable());
    }

    #[test]
    fn a_chooser_asked_for_waits_for_the_window_and_is_asked_once() {
        let ctx = egui::Context::default();
        let i18n = I18n::new(crate::i18n::Language::English);
        let picker = FilePicker::default();
        picker.open(&ctx, &i18n, FileKind::Image);
        // A second click while it is open asks for nothing more.
        picker.open(&ctx, &i18n, FileKind::Image);
        assert!(picker.is_open());
        let asked = ctx
            .data_mut(|d| d.remove_temp::<Asked>(egui::Id::unique(ASKED)))
            .expect("the chooser waits for the window");
        assert_eq!(asked.0.len(), 1);
        match &asked.0[0].1 {
            Dialog::Open {
                kind: FileKind::Image,
                filter: Some((_, extensions)),
                ..
            } => assert!(extensions.contains(&"png")),
            other => panic!("expected the picture chooser, got {other:?}"),
        }

        let save = FilePicker::default();
        save.open_save(&ctx, "Save", "notes.txt");
        let asked = ctx
            .data_mut(|d| d.remove_temp::<Asked>(egui::Id::unique(ASKED)))
            .expect("the save chooser waits too");
        assert!(matches!(
            &asked.0[..],
            [(_, Dialog::Save { file_name, .. })] if file_name == "notes.txt"
        ));
    }

    #[test]
    fn a_stale_answer_is_discarded() {
        let picker = FilePicker::default();
        picker.deliver(Picked::Chosen(PathBuf::from("old.png")));
        picker.discard();
        assert_eq!(picker.take(), None);
    }
}
