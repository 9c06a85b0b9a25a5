//! Fonts: a system CJK font appended to egui's fallbacks so Chinese renders,
//! monochrome system emoji fonts after everything so emoji newer than egui's
//! own emoji font render too, and [`GlyphGuard`], which swaps characters no
//! loaded font has for a replacement before they are shown, so text from the
//! network can never hit egui's missing-glyph panic (the policy kittest tests
//! run with).

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
/// The prefix of the names emoji fonts are registered under.
const EMOJI: &str = "system-emoji";
/// A character to prove a font covers emoji (U+1F600, in every emoji font).
const EMOJI_PROBE: char = '😀';

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

/// Candidate monochrome emoji fonts, all used when present, in this order.
///
/// egui rasterises outlines only: colour bitmap fonts (Noto Color Emoji,
/// Apple Color Emoji) would pass a character-map check yet draw nothing, so
/// only outline fonts are listed. egui's bundled emoji font stops at about
/// Unicode 9; Symbola draws emoji up to Unicode 9 in a better shape for
/// what egui's font lacks, and GNU Unifont's plane-1 file (pixel outlines)
/// covers the emoji of later versions (🦖, 🥳, 🫠).
fn emoji_candidates() -> Vec<PathBuf> {
    let list: &[&str] = if cfg!(target_os = "windows") {
        // Segoe UI Symbol: monochrome; Segoe UI Emoji is a colour font.
        &["C:\\Windows\\Fonts\\seguisym.ttf"]
    } else if cfg!(target_os = "macos") {
        // macOS ships only a colour (sbix) emoji font; a user-installed
        // Symbola is used.
        &["/Library/Fonts/Symbola.ttf"]
    } else {
        &[
            // The monochrome Noto Emoji, where a distribution packages it.
            "/usr/share/fonts/truetype/noto/NotoEmoji-Regular.ttf",
            "/usr/share/fonts/noto/NotoEmoji-Regular.ttf",
            // Debian and Ubuntu: fonts-symbola; Arch, Fedora.
            "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf",
            "/usr/share/fonts/TTF/Symbola.ttf",
            "/usr/share/fonts/gdouros-symbola/Symbola.ttf",
            // Debian and Ubuntu: fonts-unifont; Arch.
            "/usr/share/fonts/opentype/unifont/unifont_upper.otf",
            "/usr/share/fonts/unifont/unifont_upper.otf",
        ]
    };
    list.iter().map(PathBuf::from).collect()
}

/// egui's icon and emoji fonts, which close each family's fallback list.
const SYMBOL_FONTS: [&str; 3] = ["egui-icons", "NotoEmoji-Regular", "emoji-icon-font"];

/// egui's default fonts plus `cjk` (if given) and the `emoji` fonts as
/// fallbacks in both families.
///
/// The CJK font goes after egui's text fonts but before the emoji fonts:
/// appended last, full-width CJK punctuation (！？) came out of the emoji font
/// as pictographs. CJK fonts have no emoji, so emoji still come from egui's
/// emoji fonts, and what those lack from the system emoji fonts at the very
/// end (so egui's own emoji keep their look).
pub fn definitions(cjk: Option<FontData>, emoji: Vec<FontData>) -> FontDefinitions {
    let mut defs = FontDefinitions::default();
    let emoji_names: Vec<String> = (0..emoji.len()).map(|i| format!("{EMOJI}-{i}")).collect();
    if let Some(data) = cjk {
        defs.font_data.insert(CJK.to_owned(), Arc::new(data));
    }
    for (name, data) in emoji_names.iter().zip(emoji) {
        defs.font_data.insert(name.clone(), Arc::new(data));
    }
    for family in [FontFamily::Proportional, FontFamily::Monospace] {
        let list = defs.families.entry(family).or_default();
        if defs.font_data.contains_key(CJK) {
            let at = list
                .iter()
                .position(|name| SYMBOL_FONTS.contains(&name.as_str()))
                .unwrap_or(list.len());
            list.insert(at, CJK.to_owned());
        }
        list.extend(emoji_names.iter().cloned());
    }
    defs
}

/// Loads a font file and checks, without risking egui's parse panic in the
/// app's own context, that it parses and has Chinese glyphs.
pub fn load_checked(path: &Path, index: u32) -> Option<FontData> {
    load_covering(path, index, PROBE)
}

/// Loads a font file and checks on a throw-away `Fonts` holding it alone
/// that it parses and has a glyph for `probe`.
fn load_covering(path: &Path, index: u32, probe: char) -> Option<FontData> {
    let bytes = std::fs::read(path).ok()?;
    let mut data = FontData::from_owned(bytes);
    data.index = index;
    let mut trial = FontDefinitions::empty();
    trial
        .font_data
        .insert("trial".to_owned(), Arc::new(data.clone()));
    trial
        .families
        .insert(FontFamily::Proportional, vec!["trial".to_owned()]);
    // epaint panics on a font it cannot parse; a broken system file must only
    // mean "no such font", so the check runs on a throwaway `Fonts`.
    let covers = catch_unwind(AssertUnwindSafe(|| {
        let mut fonts = Fonts::new(TextOptions::default(), trial);
        fonts.has_glyph(&FontId::proportional(14.0), probe)
    }));
    match covers {
        Ok(true) => Some(data),
        Ok(false) => {
            warn!("{} (face {index}) has no glyph for {probe}", path.display());
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

/// Finds every usable monochrome system emoji font, in fallback order.
pub fn find_emoji() -> Vec<(PathBuf, FontData)> {
    emoji_candidates()
        .into_iter()
        .filter(|path| path.exists())
        .filter_map(|path| load_covering(&path, 0, EMOJI_PROBE).map(|data| (path, data)))
        .collect()
}

/// Which system fonts [`install_with`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemFonts {
    /// The CJK font, if one was looked for and found.
    pub cjk: Option<PathBuf>,
    /// The emoji fonts, in fallback order.
    pub emoji: Vec<PathBuf>,
}

/// Installs egui's fonts plus a system CJK font and system emoji fonts when
/// `search` is true; returns the CJK font's path and logs what it found.
pub fn install(ctx: &egui::Context, search: bool) -> Option<PathBuf> {
    install_with(ctx, search, search).cjk
}

/// Installs egui's fonts plus, when asked and found, a system CJK font and
/// the system emoji fonts; logs which were found.
pub fn install_with(ctx: &egui::Context, search_cjk: bool, search_emoji: bool) -> SystemFonts {
    let found = if search_cjk { find_cjk() } else { None };
    let (cjk, cjk_data) = match found {
        Some((path, data)) => {
            info!("CJK font: {}", path.display());
            (Some(path), Some(data))
        }
        None => {
            if search_cjk {
                warn!(
                    "no CJK font found; Chinese text shows replacement boxes \
                     (install fonts-noto-cjk or fonts-wqy-microhei)"
                );
            }
            (None, None)
        }
    };
    let emoji_found = if search_emoji {
        find_emoji()
    } else {
        Vec::new()
    };
    if search_emoji && emoji_found.is_empty() {
        warn!(
            "no emoji font found; recent emoji show replacement boxes \
             (install fonts-symbola and fonts-unifont)"
        );
    }
    let (emoji, emoji_data): (Vec<PathBuf>, Vec<FontData>) = emoji_found.into_iter().unzip();
    for path in &emoji {
        info!("emoji font: {}", path.display());
    }
    ctx.set_fonts(definitions(cjk_data, emoji_data));
    SystemFonts { cjk, emoji }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Emoji from Unicode 10 to 14, which egui's own emoji font lacks.
    const NEW_EMOJI: &str = "🦖🥳🫠🧋🦩🪐";

    /// Runs one frame (fonts exist only after one) without a renderer.
    fn frame(ctx: &egui::Context, ui: impl FnMut(&mut egui::Ui)) {
        let mut out = ctx.run_ui(egui::RawInput::default(), ui);
        // No renderer takes the font atlas here.
        out.textures_delta.clear();
    }

    #[test]
    fn recent_emoji_have_a_glyph_once_the_system_emoji_fonts_are_installed() {
        let ctx = egui::Context::default();
        let found = install_with(&ctx, false, true);
        if found.emoji.is_empty() {
            // CI installs scripts/apt-packages.txt, so there it must be found.
            assert!(
                std::env::var_os("CI").is_none(),
                "no emoji font (scripts/apt-packages.txt lists fonts-symbola and fonts-unifont)"
            );
            eprintln!("no emoji font installed; skipping");
            return;
        }
        // The fonts exist once a frame has run.
        frame(&ctx, |_| {});
        let missing: Vec<char> = ctx.fonts_mut(|fonts| {
            NEW_EMOJI
                .chars()
                .filter(|&c| !fonts.has_glyph(&FontId::proportional(14.0), c))
                .collect()
        });
        assert!(missing.is_empty(), "no glyph for {missing:?} in {found:?}");
        // And egui's fonts alone lack them: the test proves what the system
        // fonts add (if egui's font ever covers them, pick newer emoji).
        let plain = egui::Context::default();
        plain.set_fonts(definitions(None, Vec::new()));
        frame(&plain, |_| {});
        let bare = plain.fonts_mut(|fonts| {
            NEW_EMOJI
                .chars()
                .filter(|&c| !fonts.has_glyph(&FontId::proportional(14.0), c))
                .count()
        });
        assert_eq!(bare, NEW_EMOJI.chars().count());
    }

    #[test]
    fn the_guard_keeps_recent_emoji_when_an_emoji_font_is_installed() {
        let ctx = egui::Context::default();
        let found = install_with(&ctx, false, true);
        let mut guard = GlyphGuard::default();
        let mut cleaned = String::new();
        frame(&ctx, |ui| {
            cleaned = guard.clean(ui.ctx(), NEW_EMOJI).into_owned();
        });
        if found.emoji.is_empty() {
            assert!(!cleaned.contains('🦖'));
        } else {
            assert_eq!(cleaned, NEW_EMOJI);
        }
    }
}
