//! The full-size picture, over the chat: opened by clicking a thumbnail,
//! fetched whole (with its progress), decoded on a thread of its own under
//! limits and scaled to what a texture can hold, then shown fitted to the
//! window. Esc, a click outside or "Close" closes it; "Save" saves it.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use chatroom_client::chat::TransferId;
use chatroom_common::protocol::Attachment;
use egui::{ColorImage, RichText, TextureHandle, TextureOptions, Vec2};

use super::picture;
use crate::ChatApp;
use crate::i18n::t;
use crate::theme;

/// The largest texture side the viewer makes, whatever the GPU allows: a
/// screen shows no more, and a 16k picture would take a gigabyte of memory.
const MAX_SHOWN_SIDE: usize = 4096;

/// How far the picture has come.
enum Shown {
    /// Coming in over this transfer.
    Loading {
        /// The download.
        id: TransferId,
        /// Bytes so far.
        received: u64,
        /// Bytes in all.
        total: u64,
    },
    /// Being decoded; the thread leaves its result here.
    Decoding(Arc<Mutex<Option<Result<ColorImage, String>>>>),
    /// On screen.
    Ready(TextureHandle),
    /// It could not be shown, and why.
    Failed(String),
}

/// The viewer, while open.
pub struct Viewer {
    /// The picture shown.
    pub file: Attachment,
    /// How far it has come.
    shown: Shown,
}

impl Viewer {
    /// A viewer waiting for `file` over the download `id`.
    pub(super) fn new(file: Attachment, id: TransferId) -> Self {
        let total = file.size;
        Self {
            file,
            shown: Shown::Loading {
                id,
                received: 0,
                total,
            },
        }
    }

    /// The download still in flight, if there is one.
    pub(super) fn loading(&self) -> Option<TransferId> {
        match self.shown {
            Shown::Loading { id, .. } => Some(id),
            _ => None,
        }
    }

    /// Whether the picture is on screen.
    pub fn is_ready(&self) -> bool {
        matches!(self.shown, Shown::Ready(_))
    }

    /// Why the picture is not shown, if it failed.
    pub fn failure(&self) -> Option<&str> {
        match &self.shown {
            Shown::Failed(why) => Some(why),
            _ => None,
        }
    }

    pub(super) fn progress(&mut self, id: TransferId, received: u64, total: u64) {
        if self.loading() == Some(id) {
            self.shown = Shown::Loading {
                id,
                received,
                total,
            };
        }
    }

    pub(super) fn failed(&mut self, id: TransferId, why: String) {
        if self.loading() == Some(id) {
            self.shown = Shown::Failed(why);
        }
    }

    /// The whole picture came: decoded off the UI thread, which is woken
    /// when it is done.
    pub(super) fn arrived(&mut self, ctx: &egui::Context, id: TransferId, bytes: Bytes) {
        if self.loading() != Some(id) {
            return;
        }
        let slot = Arc::new(Mutex::new(None));
        let max_side = ctx
            .input(|i| i.max_texture_side)
            .clamp(1, MAX_SHOWN_SIDE)
            .try_into()
            .unwrap_or(1024);
        let (out, ctx) = (slot.clone(), ctx.clone());
        let spawned = std::thread::Builder::new()
            .name("picture decoder".into())
            .spawn(move || {
                let decoded = picture::decode_fitted(&bytes, max_side).map_err(|e| e.to_string());
                *out.lock().unwrap_or_else(PoisonError::into_inner) = Some(decoded);
                ctx.request_repaint();
            });
        self.shown = match spawned {
            Ok(_) => Shown::Decoding(slot),
            Err(e) => Shown::Failed(e.to_string()),
        };
    }

    /// Makes the texture once the decoder is done.
    fn poll(&mut self, ctx: &egui::Context) {
        let Shown::Decoding(slot) = &self.shown else {
            return;
        };
        let done = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        match done {
            Some(Ok(image)) => {
                let name = format!("picture-{}", self.file.hash);
                self.shown = Shown::Ready(ctx.load_texture(name, image, TextureOptions::LINEAR));
            }
            Some(Err(why)) => self.shown = Shown::Failed(why),
            None => {}
        }
    }
}

/// Draws the viewer when it is open.
pub fn viewer_ui(ctx: &egui::Context, app: &mut ChatApp) {
    let Some(viewer) = app.files.viewer.as_mut() else {
        return;
    };
    viewer.poll(ctx);
    let screen = ctx.content_rect();
    let room = Vec2::new(screen.width() * 0.9, screen.height() * 0.8);
    let mut close = false;
    let mut save = false;
    let name = app.glyphs.clean(ctx, &viewer.file.name).into_owned();
    let response = egui::Modal::new(egui::Id::unique("picture viewer")).show(ctx, |ui| {
        ui.horizontal(|ui| {
            ui.label(RichText::new(&name).strong());
            ui.label(
                RichText::new(super::human_size(viewer.file.size))
                    .small()
                    .weak(),
            );
        });
        match &viewer.shown {
            Shown::Loading {
                received, total, ..
            } => {
                let fraction = if *total > 0 {
                    *received as f32 / *total as f32
                } else {
                    0.0
                };
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .desired_width(room.x.min(400.0))
                        .show_percentage(),
                )
                .widget_info(|| {
                    egui::WidgetInfo::labeled(
                        egui::accesskit::Role::ProgressIndicator,
                        true,
                        t!(app.i18n, "viewer-loading", name = name.as_str()),
                    )
                });
            }
            Shown::Decoding(_) => {
                ui.spinner();
            }
            Shown::Ready(texture) => {
                let size = fit(texture.size_vec2(), room);
                ui.add(egui::Image::new((texture.id(), size)).alt_text(t!(
                    app.i18n,
                    "file-picture",
                    name = name.as_str()
                )));
            }
            Shown::Failed(why) => {
                let why = t!(app.i18n, "viewer-failed", reason = why.as_str());
                ui.colored_label(theme::error(ui.visuals()), why);
            }
        }
        ui.horizontal(|ui| {
            save = ui.button(t!(app.i18n, "file-save")).clicked();
            close = ui
                .button(t!(app.i18n, "viewer-close"))
                .accessible_name(t!(app.i18n, "viewer-close-named"))
                .clicked();
        });
    });
    if save {
        let file = viewer.file.clone();
        app.files.save(ctx, &app.i18n, &file);
    }
    if close || response.should_close() {
        app.files.close_viewer();
    }
}

/// `size` scaled down (never up) to fit inside `room`.
fn fit(size: Vec2, room: Vec2) -> Vec2 {
    if size.x <= 0.0 || size.y <= 0.0 {
        return Vec2::ZERO;
    }
    let scale = (room.x / size.x).min(room.y / size.y).min(1.0);
    size * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_shrink_to_fit_and_never_grow() {
        assert_eq!(
            fit(Vec2::new(4000.0, 3000.0), Vec2::new(800.0, 800.0)),
            Vec2::new(800.0, 600.0)
        );
        assert_eq!(
            fit(Vec2::new(100.0, 50.0), Vec2::new(800.0, 800.0)),
            Vec2::new(100.0, 50.0)
        );
        assert_eq!(fit(Vec2::ZERO, Vec2::new(8.0, 8.0)), Vec2::ZERO);
    }
}
