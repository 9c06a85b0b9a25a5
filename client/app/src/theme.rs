//! Colours and text sizes that stay readable: helper text, timestamps and
//! "sending…" meet the WCAG 4.5:1 contrast ratio on the panels they sit on,
//! in the dark and the light theme alike.

use egui::{Color32, FontId, TextStyle, Theme, Visuals};

/// The least contrast ratio for text (WCAG 2 level AA, normal text).
pub const MIN_CONTRAST: f32 = 4.5;

/// Relative luminance of an sRGB colour (WCAG 2 definition).
pub fn luminance(c: Color32) -> f32 {
    let channel = |v: u8| {
        let v = f32::from(v) / 255.0;
        if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(c.r()) + 0.7152 * channel(c.g()) + 0.0722 * channel(c.b())
}

/// The WCAG contrast ratio of two opaque colours, 1 to 21.
pub fn contrast(a: Color32, b: Color32) -> f32 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// Text colours per theme: body, weak (helper text, times), and the three signals.
struct Palette {
    text: Color32,
    weak: Color32,
    error: Color32,
    warning: Color32,
    ok: Color32,
}

fn palette(dark: bool) -> Palette {
    if dark {
        Palette {
            text: Color32::from_gray(205),
            weak: Color32::from_gray(158),
            error: Color32::from_rgb(0xff, 0x7a, 0x7a),
            warning: Color32::from_rgb(0xf0, 0xb0, 0x40),
            ok: Color32::from_rgb(0x6c, 0xd0, 0x8c),
        }
    } else {
        Palette {
            text: Color32::from_gray(40),
            weak: Color32::from_gray(92),
            error: Color32::from_rgb(0xb0, 0x1e, 0x1e),
            warning: Color32::from_rgb(0x8a, 0x50, 0x00),
            ok: Color32::from_rgb(0x1d, 0x6e, 0x36),
        }
    }
}

/// The colour for a problem the user has to fix.
pub fn error(visuals: &Visuals) -> Color32 {
    palette(visuals.dark_mode).error
}

/// The colour for "wait" and "careful".
pub fn warning(visuals: &Visuals) -> Color32 {
    palette(visuals.dark_mode).warning
}

/// The colour for good news.
pub fn ok(visuals: &Visuals) -> Color32 {
    palette(visuals.dark_mode).ok
}

/// Background and text of an unread badge.
pub fn badge(visuals: &Visuals) -> (Color32, Color32) {
    if visuals.dark_mode {
        (Color32::from_rgb(0x1f, 0x66, 0xc4), Color32::WHITE)
    } else {
        (Color32::from_rgb(0x1a, 0x5a, 0xb0), Color32::WHITE)
    }
}

/// A muted room's unread badge: grey, so a room the user silenced does not
/// call for attention like the others, with its count still readable.
pub fn badge_muted(visuals: &Visuals) -> (Color32, Color32) {
    if visuals.dark_mode {
        (Color32::from_gray(0x5a), Color32::WHITE)
    } else {
        (Color32::from_gray(0x6b), Color32::WHITE)
    }
}

/// Installs the readable colours and a larger small-text size in both themes.
pub fn install(ctx: &egui::Context) {
    for theme in [Theme::Dark, Theme::Light] {
        ctx.style_mut_of(theme, |style| {
            let p = palette(theme == Theme::Dark);
            style.visuals.override_text_color = None;
            style.visuals.widgets.noninteractive.fg_stroke.color = p.text;
            style.visuals.weak_text_color = Some(p.weak);
            // egui's small text is 9 points, too small for helper text and times.
            style
                .text_styles
                .insert(TextStyle::Small, FontId::proportional(11.5));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_text_and_signals_are_readable_on_every_background() {
        for dark in [true, false] {
            let visuals = if dark {
                Visuals::dark()
            } else {
                Visuals::light()
            };
            let p = palette(dark);
            // Panels, windows and text fields (hint text sits on the latter).
            for bg in [
                visuals.panel_fill,
                visuals.window_fill,
                visuals.extreme_bg_color,
            ] {
                for (what, fg) in [
                    ("text", p.text),
                    ("weak", p.weak),
                    ("error", p.error),
                    ("warning", p.warning),
                    ("ok", p.ok),
                ] {
                    let ratio = contrast(fg, bg);
                    assert!(
                        ratio >= MIN_CONTRAST,
                        "{what} on {bg:?} (dark {dark}): {ratio:.2}"
                    );
                }
            }
            for (fill, text) in [badge(&visuals), badge_muted(&visuals)] {
                assert!(contrast(text, fill) >= MIN_CONTRAST, "{text:?} on {fill:?}");
            }
            // A muted badge must not look like an unmuted one.
            assert_ne!(badge(&visuals).0, badge_muted(&visuals).0);
        }
        // The formula: black on white is 21:1.
        assert!((contrast(Color32::BLACK, Color32::WHITE) - 21.0).abs() < 0.01);
    }
}
