//! The connection status line: "Connecting…", or "Connection lost" with a
//! countdown to the next attempt and a "Retry now" button. It sits in the
//! message panel's title row, which is always there, so a dropped connection
//! moves nothing on screen.

use std::time::{Duration, Instant};

use egui::{Color32, RichText};

use chatroom_client::chat::ConnStatus;

use super::i18n::{I18n, t};

/// What the status line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    /// The line itself.
    pub text: String,
    /// Why, shown on hover (the reason can be long).
    pub detail: Option<String>,
}

/// The status line for a connection state; `None` when all is well.
/// `retry_in` is the time left until the next attempt.
pub fn banner(i18n: &I18n, status: &ConnStatus, retry_in: Option<Duration>) -> Option<Banner> {
    match status {
        ConnStatus::Online | ConnStatus::Offline => None,
        ConnStatus::Connecting => Some(Banner {
            text: t!(i18n, "banner-connecting"),
            detail: None,
        }),
        ConnStatus::Reconnecting {
            reason, attempt, ..
        } => {
            // Whole seconds, rounded up, so the count never shows 0 early.
            let secs = retry_in.map_or(0, |d| d.as_millis().div_ceil(1000));
            let when = if secs == 0 {
                t!(i18n, "banner-reconnecting-now")
            } else {
                t!(i18n, "banner-reconnecting-in", seconds = secs as u64)
            };
            // The reason is the transport's own English words: a detail.
            Some(Banner {
                text: t!(i18n, "banner-lost", when = when, attempt = *attempt),
                detail: Some(t!(i18n, "banner-why", reason = reason.as_str())),
            })
        }
    }
}

/// Draws the status line, if any, right-aligned in the current row, and asks
/// for a repaint when the countdown next changes. True when "Retry now" was
/// clicked.
pub fn banner_ui(
    ui: &mut egui::Ui,
    i18n: &I18n,
    status: &ConnStatus,
    retry_at: Option<Instant>,
) -> bool {
    let now = Instant::now();
    let left = retry_at.map(|at| at.saturating_duration_since(now));
    let Some(banner) = banner(i18n, status, left) else {
        return false;
    };
    // Right to left: the button sits at the end of the line, and is offered
    // only while there is a wait to skip.
    let waiting = left.is_some_and(|d| !d.is_zero());
    let retry = waiting && ui.button(t!(i18n, "banner-retry-now")).clicked();
    if let Some(left) = left.filter(|d| !d.is_zero()) {
        let to_next_second = Duration::from_millis((left.as_millis() % 1000) as u64);
        ui.ctx()
            .request_repaint_after(to_next_second.max(Duration::from_millis(50)));
    }
    let fill = Color32::from_rgb(0x8a, 0x4b, 0x00);
    let response = egui::Frame::new()
        .fill(fill)
        .corner_radius(4.0)
        .inner_margin(egui::Margin::symmetric(8, 2))
        .show(ui, |ui| {
            ui.add(egui::Label::new(RichText::new(&banner.text).color(Color32::WHITE)).truncate())
        })
        .inner;
    if let Some(detail) = banner.detail {
        response.on_hover_text(detail);
    }
    retry
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theme::{MIN_CONTRAST, contrast};

    #[test]
    fn counts_down_in_whole_seconds() {
        let status = ConnStatus::Reconnecting {
            reason: "the server closed the connection".into(),
            attempt: 2,
            retry_in: Duration::from_secs(4),
        };
        let en = I18n::new(crate::i18n::Language::English);
        let b = banner(&en, &status, Some(Duration::from_millis(3200))).expect("a banner");
        assert_eq!(b.text, "Connection lost. Reconnecting in 4 s (attempt 2).");
        assert!(
            b.detail
                .is_some_and(|d| d.contains("closed the connection"))
        );
        let b = banner(&en, &status, Some(Duration::ZERO));
        assert!(b.is_some_and(|b| b.text.contains("Reconnecting now")));
        assert_eq!(banner(&en, &ConnStatus::Online, None), None);
        assert!(contrast(Color32::WHITE, Color32::from_rgb(0x8a, 0x4b, 0x00)) >= MIN_CONTRAST);
    }
}
