//! Avatars beside messages and in the user list. [`AvatarCache`] keeps one
//! texture per [`AvatarHash`]: PNG bytes from the worker are checked against
//! the hash, decoded once and uploaded once. Hashes drawn but not held are
//! collected each frame for the worker to fetch (each is asked for once);
//! until a picture arrives, and for users without one, a placeholder is drawn:
//! a circle in a colour derived from the name, with the name's initial.

use std::collections::{BTreeSet, HashMap};
use std::io::Cursor;

use chatroom_common::protocol::AvatarHash;
use egui::{Align2, Color32, FontId, Sense, TextureHandle, TextureOptions, Vec2};
use image::{ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

use super::fonts::GlyphGuard;

/// Largest avatar accepted, in pixels per side.
pub const MAX_SIDE: u32 = 512;

/// Why avatar bytes were not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AvatarError {
    /// The bytes do not hash to the avatar's hash (avatars are content-addressed).
    #[error("the image does not match its hash")]
    HashMismatch,
    /// Not a PNG this decoder accepts, or larger than [`MAX_SIDE`].
    #[error("not a usable PNG image: {0}")]
    Decode(String),
}

/// Decoded avatar textures by hash.
#[derive(Default)]
pub struct AvatarCache {
    /// Textures decoded so far.
    textures: HashMap<AvatarHash, TextureHandle>,
    /// Hashes drawn and not held nor asked for yet: what to fetch next.
    wanted: BTreeSet<AvatarHash>,
    /// Hashes handed to the fetcher and not arrived yet.
    requested: BTreeSet<AvatarHash>,
    /// Hashes whose bytes were refused, so they are not fetched again and again.
    refused: BTreeSet<AvatarHash>,
}

impl AvatarCache {
    /// The texture for `hash`, if its bytes arrived; otherwise notes it as wanted.
    pub fn get(&mut self, hash: &AvatarHash) -> Option<&TextureHandle> {
        if !self.textures.contains_key(hash)
            && !self.refused.contains(hash)
            && !self.requested.contains(hash)
        {
            self.wanted.insert(*hash);
        }
        self.textures.get(hash)
    }

    /// Whether the picture for `hash` is held (and so drawn instead of the placeholder).
    pub fn holds(&self, hash: &AvatarHash) -> bool {
        self.textures.contains_key(hash)
    }

    /// Number of textures held.
    pub fn len(&self) -> usize {
        self.textures.len()
    }

    /// True when no texture is held.
    pub fn is_empty(&self) -> bool {
        self.textures.is_empty()
    }

    /// Takes the hashes to fetch; they are not offered again until
    /// [`AvatarCache::missing`] or bytes settle them.
    pub fn take_wanted(&mut self) -> Vec<AvatarHash> {
        let wanted = std::mem::take(&mut self.wanted);
        self.requested.extend(wanted.iter().copied());
        wanted.into_iter().collect()
    }

    /// The server has no picture for `hash`: keep the placeholder, stop asking.
    pub fn missing(&mut self, hash: AvatarHash) {
        self.requested.remove(&hash);
        self.wanted.remove(&hash);
        self.refused.insert(hash);
    }

    /// Checks, decodes and uploads an avatar; bytes for a held hash are ignored.
    pub fn insert_png(
        &mut self,
        ctx: &egui::Context,
        hash: AvatarHash,
        bytes: &[u8],
    ) -> Result<(), AvatarError> {
        if self.textures.contains_key(&hash) {
            return Ok(());
        }
        self.wanted.remove(&hash);
        self.requested.remove(&hash);
        let result = decode(hash, bytes);
        let image = match result {
            Ok(image) => image,
            Err(e) => {
                self.refused.insert(hash);
                return Err(e);
            }
        };
        let texture = ctx.load_texture(format!("avatar-{hash}"), image, TextureOptions::LINEAR);
        self.textures.insert(hash, texture);
        Ok(())
    }
}

/// Verifies the hash and decodes PNG only, within size limits.
fn decode(hash: AvatarHash, bytes: &[u8]) -> Result<egui::ColorImage, AvatarError> {
    let digest: [u8; 32] = Sha256::digest(bytes).into();
    if digest != hash.0 {
        return Err(AvatarError::HashMismatch);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), ImageFormat::Png);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(u64::from(MAX_SIDE) * u64::from(MAX_SIDE) * 8);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| AvatarError::Decode(e.to_string()))?
        .to_rgba8();
    let size = [image.width() as usize, image.height() as usize];
    Ok(egui::ColorImage::from_rgba_unmultiplied(
        size,
        image.as_raw(),
    ))
}

/// A stable colour for a name (FNV-1a of its lower-case form → hue).
pub fn name_colour(name: &str) -> Color32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in name.to_lowercase().bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let hue = (hash % 360) as f32 / 360.0;
    egui::ecolor::Hsva::new(hue, 0.55, 0.72, 1.0).into()
}

/// Draws `name`'s avatar: the image when the cache has it, else the placeholder.
pub fn avatar_ui(
    ui: &mut egui::Ui,
    cache: &mut AvatarCache,
    glyphs: &mut GlyphGuard,
    name: &str,
    hash: Option<AvatarHash>,
    size: f32,
) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(size), Sense::hover());
    if !ui.is_rect_visible(rect) {
        return response;
    }
    if let Some(texture) = hash.as_ref().and_then(|h| cache.get(h)) {
        egui::Image::new(texture)
            .corner_radius(size / 2.0)
            .paint_at(ui, rect);
        return response;
    }
    let painter = ui.painter();
    painter.circle_filled(rect.center(), size / 2.0, name_colour(name));
    let initial: String = name.chars().take(1).flat_map(char::to_uppercase).collect();
    let initial = glyphs.clean(ui.ctx(), &initial).into_owned();
    painter.text(
        rect.center(),
        Align2::CENTER_CENTER,
        initial,
        FontId::proportional(size * 0.5),
        Color32::WHITE,
    );
    response
}

#[cfg(test)]
mod tests {
    use image::{ImageEncoder, Rgba, RgbaImage};

    use super::*;

    fn png(side: u32) -> Vec<u8> {
        let img = RgbaImage::from_fn(side, side, |x, y| Rgba([x as u8, y as u8, 128, 255]));
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(img.as_raw(), side, side, image::ExtendedColorType::Rgba8)
            .map(|()| out)
            .unwrap_or_default()
    }

    fn hash_of(bytes: &[u8]) -> AvatarHash {
        AvatarHash(Sha256::digest(bytes).into())
    }

    #[test]
    fn decodes_once_checks_the_hash_and_reports_wanted() {
        let ctx = egui::Context::default();
        let mut cache = AvatarCache::default();
        let bytes = png(16);
        let hash = hash_of(&bytes);
        assert!(cache.get(&hash).is_none());
        assert_eq!(cache.take_wanted(), vec![hash]);
        // Asked for once: drawing it again while it is on its way asks for nothing.
        assert!(cache.get(&hash).is_none());
        assert!(cache.take_wanted().is_empty());
        assert_eq!(cache.insert_png(&ctx, hash, &bytes), Ok(()));
        assert_eq!(cache.get(&hash).map(|t| t.size()), Some([16, 16]));
        // Inserting again does not decode again.
        assert_eq!(cache.insert_png(&ctx, hash, b"ignored"), Ok(()));
        assert_eq!(cache.len(), 1);
        assert!(cache.take_wanted().is_empty());

        let other = png(8);
        assert_eq!(
            cache.insert_png(&ctx, hash_of(b"something else"), &other),
            Err(AvatarError::HashMismatch)
        );
        let garbage = b"\x89PNG not really".to_vec();
        assert!(matches!(
            cache.insert_png(&ctx, hash_of(&garbage), &garbage),
            Err(AvatarError::Decode(_))
        ));
        let huge = png(MAX_SIDE + 1);
        assert!(matches!(
            cache.insert_png(&ctx, hash_of(&huge), &huge),
            Err(AvatarError::Decode(_))
        ));
        // Refused hashes are not asked for again.
        assert!(cache.get(&hash_of(&garbage)).is_none());
        assert!(cache.take_wanted().is_empty());

        // Nor are hashes the server does not have.
        let gone = hash_of(b"gone");
        assert!(cache.get(&gone).is_none());
        assert_eq!(cache.take_wanted(), vec![gone]);
        cache.missing(gone);
        assert!(cache.get(&gone).is_none());
        assert!(cache.take_wanted().is_empty());
    }

    #[test]
    fn colours_are_stable_and_case_blind() {
        assert_eq!(name_colour("Alice"), name_colour("alice"));
        assert_ne!(name_colour("alice"), name_colour("bob"));
    }
}
