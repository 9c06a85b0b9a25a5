//! Certificate trust on the login screen: the first connection to a server
//! shows its SHA-256 fingerprint and asks before pinning it (trust on first
//! use); a pinned server whose certificate changed is refused with a warning.

use egui::{Color32, RichText};

use super::ChatApp;
use super::i18n::t;

/// Where the trust dialogue stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustState {
    /// Nothing to ask.
    None,
    /// Fetching an unknown server's fingerprint.
    Probing {
        /// The server.
        server: String,
        /// Whether the user was registering (the action to resume).
        register: bool,
    },
    /// Asking the user to confirm a first-seen fingerprint.
    Prompt {
        /// The server.
        server: String,
        /// The fingerprint, hex.
        fingerprint: String,
        /// Whether the user was registering.
        register: bool,
    },
    /// The pinned certificate no longer matches; nothing was sent.
    Changed {
        /// The server.
        server: String,
        /// What it presents now, hex, when it could be read.
        new_fingerprint: Option<String>,
    },
}

/// A fingerprint the way `chatroom-server` prints it at start ("CA SHA-256
/// fingerprint: …"): 64 lower-case hex digits, so the two can be compared
/// character by character.
pub fn shown_fingerprint(hex: &str) -> String {
    hex.chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The fingerprint as selectable monospace text (it wraps in narrow panels).
pub fn fingerprint_label(ui: &mut egui::Ui, hex: &str) {
    ui.add(
        egui::Label::new(RichText::new(shown_fingerprint(hex)).monospace())
            .selectable(true)
            .wrap(),
    );
}

/// Draws the prompt or warning, if any.
pub fn trust_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    match app.trust.clone() {
        TrustState::None => {}
        TrustState::Probing { server, .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(t!(app.i18n, "trust-fetching", server = server));
            });
        }
        TrustState::Prompt {
            server,
            fingerprint,
            ..
        } => {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.label(RichText::new(t!(app.i18n, "trust-first", server = server)).strong());
                ui.label(t!(app.i18n, "trust-fingerprint-is"));
                fingerprint_label(ui, &fingerprint);
                ui.add(egui::Label::new(t!(app.i18n, "trust-check")).wrap());
                ui.horizontal(|ui| {
                    let trust = ui.button(t!(app.i18n, "trust-accept"));
                    // The answer is one key away: Enter trusts, Tab reaches Cancel.
                    let asked = ui.make_persistent_id(("trust prompt", &fingerprint));
                    let focused_before = ui.data(|d| d.get_temp::<bool>(asked).unwrap_or(false));
                    if !focused_before {
                        trust.request_focus();
                        ui.data_mut(|d| d.insert_temp(asked, true));
                    }
                    if trust.clicked() {
                        app.trust_accept();
                    }
                    if ui.button(t!(app.i18n, "trust-cancel")).clicked() {
                        app.trust_cancel();
                    }
                });
            });
        }
        TrustState::Changed {
            server,
            new_fingerprint,
        } => {
            let red = Color32::from_rgb(0xe0, 0x50, 0x50);
            egui::Frame::group(ui.style())
                .stroke(egui::Stroke::new(1.5, red))
                .show(ui, |ui| {
                    ui.colored_label(red, RichText::new(t!(app.i18n, "trust-changed")).strong());
                    ui.label(t!(
                        app.i18n,
                        "trust-not-connected",
                        server = server.as_str()
                    ));
                    if let Some(pinned) = app.settings.pin(&server).map(str::to_owned) {
                        ui.label(t!(app.i18n, "trust-trusted"));
                        fingerprint_label(ui, &pinned);
                    }
                    match &new_fingerprint {
                        Some(fp) => {
                            ui.label(t!(app.i18n, "trust-new"));
                            fingerprint_label(ui, fp);
                        }
                        None => {
                            ui.label(t!(app.i18n, "trust-new-unknown"));
                        }
                    }
                    ui.label(t!(app.i18n, "trust-forget-help"));
                    if ui.button(t!(app.i18n, "trust-forget")).clicked() {
                        app.forget_pin();
                    }
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_show_as_the_server_prints_them() {
        let fp = [0xab; 32];
        let printed = chatroom_client::tls::fingerprint_hex(&fp);
        assert_eq!(shown_fingerprint(&printed), printed);
        assert_eq!(shown_fingerprint(&"AB:".repeat(32)), "ab".repeat(32));
        assert_eq!(
            chatroom_client::tls::parse_fingerprint(&shown_fingerprint(&printed)).ok(),
            Some(fp)
        );
    }
}
