//! Fonts: a system CJK font appended to egui's fallbacks so Chinese renders,
//! and [`GlyphGuard`], which swaps characters no loaded font has for a
//! replacement before they are shown, so text from the network can never hit
//! egui's missing-glyph panic (the policy kittest tests run with).

use std::borrow::Cow;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::epaint::text::{FontData, FontDefinitions, Fonts, TextOptions};
use egui::{FontFamily, FontId};
use tracing::{info, warn};

/// The name the CJK font is registered under.
const CJK: &str = "system-cjk";
/// A character to prove a font covers Chinese.
const PROBE: char = '中';

/// Candidate CJK fonts: path and the face to use in a collection (`.ttc`).
fn candidates() -> Vec<(PathBuf, u32)> {
    let list: &[(&str, u32)] = if cfg!(target_os = "windows") {
        &[
            ("C:\\Windows\\Fonts\\msyh.ttc", 0),
            ("C:\\Windows\\Fonts\\msyh.ttf", 0),
            ("C:\\Windows\\Fonts\\simhei.ttf", 0),
        ]
    } else if cfg!(target_os = "macos") {
        &[
            ("/System/Library/Fonts/PingFang.ttc", 0),
            ("/System/Library/Fonts/Hiragino Sans GB.ttc", 0),
            ("/System/Library/Fonts/STHeiti Light.ttc", 0),
            ("/Library/Fonts/Arial Unicode.ttf", 0),
        ]
    } else {
        // Noto Sans CJK collections hold JP, KR, SC, TC, HK in that order:
        // face 2 is Simplified Chinese.
        &[
            ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
            ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
            (
                "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
                2,
            ),
            ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
            ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
            (
                "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
                0,
            ),
            (
                "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
                0,
            ),
            ("/usr/share/fonts/google-droid/DroidSansFallbackFull.ttf", 0),
        ]
    };
    list.iter().map(|(p, i)| (PathBuf::from(p), *i)).collect()
}

/// egui's icon and emoji fonts, which close each family's fallback list.
const SYMBOL_FONTS: [&str; 3] = ["egui-icons", "NotoEmoji-Regular", "emoji-icon-font"];

/// egui's default fonts plus `cjk` (if given) as a fallback in both families.
///
/// It goes after egui's text fonts but before the emoji fonts: appended last,
/// full-width CJK punctuation (！？) came out of the emoji font as pictographs.
/// CJK fonts have no emoji, so emoji still come from egui's emoji fonts.
pub fn definitions(cjk: Option<FontData>) -> FontDefinitions {
    let mut defs = FontDefinitions::default();
    if let Some(data) = cjk {
        defs.font_data.insert(CJK.to_owned(), Arc::new(data));
        for family in [FontFamily::Proportional, FontFamily::Monospace] {
            let list = defs.families.entry(family).or_default();
            let at = list
                .iter()
                .position(|name| SYMBOL_FONTS.contains(&name.as_str()))
                .unwrap_or(list.len());
            list.insert(at, CJK.to_owned());
        }
    }
    defs
}

/// Loads a font file and checks, without risking egui's parse panic in the
/// app's own context, that it parses and has Chinese glyphs.
pub fn load_checked(path: &Path, index: u32) -> Option<FontData> {
    let bytes = std::fs::read(path).ok()?;
    let mut data = FontData::from_owned(bytes);
    data.index = index;
    let trial = definitions(Some(data.clone()));
    // epaint panics on a font it cannot parse; a broken system file must only
    // mean "no CJK font", so the check runs on a throwaway `Fonts`.
    let covers = catch_unwind(AssertUnwindSafe(|| {
        let mut fonts = Fonts::new(TextOptions::default(), trial);
        fonts.has_glyph(&FontId::proportional(14.0), PROBE)
    }));
    match covers {
        Ok(true) => Some(data),
        Ok(false) => {
            warn!("{} (face {index}) has no Chinese glyphs", path.display());
            None
        }
        Err(_) => {
            warn!("{} (face {index}) could not be parsed", path.display());
            None
        }
    }
}

/// Finds the first usable system CJK font.
pub fn find_cjk() -> Option<(PathBuf, FontData)> {
    for (path, index) in candidates() {
        if !path.exists() {
            continue;
        }
        // A collection with fewer faces than expected still has face 0.
        for face in [index, 0] {
            if let Some(data) = load_checked(&path, face) {
                return Some((path, data));
            }
        }
    }
    None
}

/// Installs egui's fonts plus a system CJK font when `search` is true and one
/// is found; returns its path and logs which one it was.
pub fn install(ctx: &egui::Context, search: bool) -> Option<PathBuf> {
    let found = if search { find_cjk() } else { None };
    let (path, data) = match found {
        Some((path, data)) => {
            info!("CJK font: {}", path.display());
            (Some(path), Some(data))
        }
        None => {
            if search {
                warn!(
                    "no CJK font found; Chinese text shows replacement boxes \
                     (install fonts-noto-cjk or fonts-wqy-microhei)"
                );
            }
            (None, None)
        }
    };
    ctx.set_fonts(definitions(data));
    path
}

/// Replaces characters that no loaded font can draw. Answers are cached per
/// character; create a new guard whenever the fonts change.
#[derive(Debug, Default)]
pub struct GlyphGuard {
    /// Whether each non-ASCII character seen so far can be drawn.
    known: HashMap<char, bool>,
    /// The stand-in for undrawable characters, chosen on first use.
    replacement: Option<char>,
}

impl GlyphGuard {
    /// `text` with undrawable characters replaced; borrowed when nothing changes.
    /// Must be called while a frame is running (egui's fonts exist then).
    pub fn clean<'a>(&mut self, ctx: &egui::Context, text: &'a str) -> Cow<'a, str> {
        // ASCII is always covered by egui's bundled fonts; control characters
        // never panic (fonts have no glyphs for them by design).
        if text.is_ascii() {
            return Cow::Borrowed(text);
        }
        let font = FontId::proportional(14.0);
        let mut missing = false;
        ctx.fonts_mut(|fonts| {
            for c in text.chars().filter(|c| !c.is_ascii() && !c.is_control()) {
                let ok = *self
                    .known
                    .entry(c)
                    .or_insert_with(|| fonts.has_glyph(&font, c));
                missing |= !ok;
            }
            if missing && self.replacement.is_none() {
                self.replacement = ['\u{FFFD}', '□', '?']
                    .into_iter()
                    .find(|&r| r == '?' || fonts.has_glyph(&font, r));
            }
        });
        if !missing {
            return Cow::Borrowed(text);
        }
        let replacement = self.replacement.unwrap_or('?');
        Cow::Owned(
            text.chars()
                .filter_map(|c| match self.known.get(&c) {
                    // Invisible formatting (variation selectors, joiners) is
                    // dropped rather than shown as a box.
                    Some(false) if is_invisible_format(c) => None,
                    Some(false) => Some(replacement),
                    _ => Some(c),
                })
                .collect(),
        )
    }
}

/// Characters meant to be invisible: zero-width spaces and joiners, direction
/// marks, word joiners, variation selectors, the soft hyphen.
fn is_invisible_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064
        | 0xFE00..=0xFE0F | 0xFEFF | 0xE0100..=0xE01EF)
}
