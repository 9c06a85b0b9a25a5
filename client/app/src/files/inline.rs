//! What a message carries, under its text: a picture as its thumbnail
//! (drawn by egui_extras' image loaders from the server-made PNG; click for
//! the full size), any other file as a card with its name, size and type and
//! a Save button that shows the download's progress.
//!
//! A thumbnail's place is sized from the picture's dimensions before its
//! bytes arrive, so rows do not jump when they do.

use chatroom_common::protocol::{Attachment, ImageInfo};
use egui::accesskit::Role;
use egui::load::TexturePoll;
use egui::{RichText, Sense, Vec2, WidgetInfo};

use super::{Files, Save, human_size};
use crate::fonts::GlyphGuard;
use crate::i18n::{I18n, t};
use crate::theme;

/// The box a thumbnail is shown in (wide pictures use the width, tall ones
/// the height).
const THUMBNAIL_BOX: Vec2 = Vec2::new(320.0, 240.0);
/// Smallest side a thumbnail is drawn at, so a 1-pixel line stays clickable.
const MIN_SIDE: f32 = 24.0;
/// Width of a file card.
const CARD_WIDTH: f32 = 300.0;

/// The size a picture of `info`'s dimensions is drawn at in the list.
pub fn thumbnail_size(info: &ImageInfo) -> Vec2 {
    let (w, h) = (info.width.max(1) as f32, info.height.max(1) as f32);
    let scale = (THUMBNAIL_BOX.x / w).min(THUMBNAIL_BOX.y / h).min(1.0);
    Vec2::new((w * scale).max(MIN_SIDE), (h * scale).max(MIN_SIDE))
}

/// The height `attachments` take under a message, for the list's estimate
/// before the row is drawn (`line` is a text line's height).
pub fn estimated_height(attachments: &[Attachment], line: f32) -> f32 {
    attachments
        .iter()
        .map(|file| match &file.image {
            Some(info) => thumbnail_size(info).y + 8.0,
            None => 3.0 * line + 16.0,
        })
        .sum()
}

/// Draws the files a message carries.
pub fn attachments_ui(
    ui: &mut egui::Ui,
    attachments: &[Attachment],
    files: &mut Files,
    glyphs: &mut GlyphGuard,
    i18n: &I18n,
) {
    for file in attachments {
        match &file.image {
            Some(info) => picture_ui(ui, file, info, files, glyphs, i18n),
            None => card_ui(ui, file, files, glyphs, i18n),
        }
    }
}

/// A picture: its thumbnail, or a placeholder of the same size until it
/// comes; a click opens the full size.
fn picture_ui(
    ui: &mut egui::Ui,
    file: &Attachment,
    info: &ImageInfo,
    files: &mut Files,
    glyphs: &mut GlyphGuard,
    i18n: &I18n,
) {
    let size = thumbnail_size(info);
    let name = glyphs.clean(ui.ctx(), &file.name).into_owned();
    let label = t!(i18n, "file-picture", name = name.as_str());
    let response = match files.thumbnail(info.thumbnail) {
        Some(bytes) => {
            let image =
                egui::Image::from_bytes(format!("bytes://thumbnail/{}.png", info.thumbnail), bytes)
                    .fit_to_exact_size(size)
                    .corner_radius(4.0)
                    .alt_text(label.clone())
                    .sense(Sense::click());
            let ready = matches!(
                image.load_for_size(ui.ctx(), size),
                Ok(TexturePoll::Ready { .. })
            );
            if ready {
                files.drawn.insert(info.thumbnail);
            }
            ui.add(image)
        }
        None => {
            files.drawn.remove(&info.thumbnail);
            let (rect, response) = ui.allocate_exact_size(size, Sense::click());
            ui.painter()
                .rect_filled(rect, 4.0, ui.visuals().faint_bg_color);
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "🖼",
                egui::FontId::proportional(24.0),
                ui.visuals().weak_text_color(),
            );
            response.widget_info(|| WidgetInfo::labeled(Role::Image, true, &label));
            response
        }
    };
    let response = response
        .on_hover_text(t!(
            i18n,
            "file-picture-hover",
            size = human_size(file.size),
            width = info.width,
            height = info.height
        ))
        .on_hover_cursor(egui::CursorIcon::ZoomIn);
    if response.clicked() {
        files.show(file);
    }
}

/// Any other file: a card with its name, size and type, and Save.
fn card_ui(
    ui: &mut egui::Ui,
    file: &Attachment,
    files: &mut Files,
    glyphs: &mut GlyphGuard,
    i18n: &I18n,
) {
    let name = glyphs.clean(ui.ctx(), &file.name).into_owned();
    let mime = glyphs.clean(ui.ctx(), &file.mime).into_owned();
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_max_width(CARD_WIDTH);
        ui.horizontal(|ui| {
            ui.label(RichText::new("📄").size(24.0));
            ui.vertical(|ui| {
                ui.add(egui::Label::new(RichText::new(&name).strong()).truncate());
                let details = format!("{} · {}", human_size(file.size), mime);
                ui.label(RichText::new(details).small().weak());
                save_row_ui(ui, file, &name, files, glyphs, i18n);
            });
        });
    });
}

/// Save, or how far the save has come, or where it went, or why it failed.
fn save_row_ui(
    ui: &mut egui::Ui,
    file: &Attachment,
    name: &str,
    files: &mut Files,
    glyphs: &mut GlyphGuard,
    i18n: &I18n,
) {
    let state = files.saves.get(&file.hash).cloned();
    ui.horizontal(|ui| {
        match &state {
            Some(Save::Saving {
                received, total, ..
            }) => {
                let fraction = if *total > 0 {
                    *received as f32 / *total as f32
                } else {
                    0.0
                };
                let label = t!(i18n, "file-saving", name = name);
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .desired_width(140.0)
                        .show_percentage(),
                )
                .widget_info(|| WidgetInfo::labeled(Role::ProgressIndicator, true, &label));
                let cancel =
                    ui.small_button("✖")
                        .accessible_name(t!(i18n, "file-save-cancel", name = name));
                if cancel.clicked() {
                    files.cancel_save(&file.hash);
                }
                return;
            }
            Some(Save::Saved(path)) => {
                let shown = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let shown = glyphs.clean(ui.ctx(), &shown).into_owned();
                let full = glyphs
                    .clean(ui.ctx(), &path.display().to_string())
                    .into_owned();
                ui.label(
                    RichText::new(t!(i18n, "file-saved", file = shown.as_str()))
                        .small()
                        .color(theme::ok(ui.visuals())),
                )
                .on_hover_text(full);
            }
            Some(Save::Failed(why)) => {
                let why = glyphs.clean(ui.ctx(), why).into_owned();
                ui.colored_label(
                    theme::error(ui.visuals()),
                    t!(i18n, "file-save-failed", reason = why.as_str()),
                );
            }
            None => {}
        }
        let save = ui
            .button(t!(i18n, "file-save"))
            .accessible_name(t!(i18n, "file-save-named", name = name))
            .on_hover_text(t!(i18n, "file-save-hover"));
        if save.clicked() {
            files.save(ui.ctx(), i18n, file);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatroom_common::protocol::FileHash;

    fn info(width: u32, height: u32) -> ImageInfo {
        ImageInfo {
            width,
            height,
            thumbnail: FileHash([0; 32]),
        }
    }

    #[test]
    fn thumbnails_fit_their_box_and_keep_their_shape() {
        assert_eq!(thumbnail_size(&info(4000, 3000)), Vec2::new(320.0, 240.0));
        assert_eq!(thumbnail_size(&info(1000, 4000)), Vec2::new(60.0, 240.0));
        assert_eq!(thumbnail_size(&info(100, 50)), Vec2::new(100.0, 50.0));
        assert_eq!(thumbnail_size(&info(2000, 1)), Vec2::new(320.0, MIN_SIDE));
        assert_eq!(thumbnail_size(&info(0, 0)), Vec2::new(MIN_SIDE, MIN_SIDE));
    }
}
