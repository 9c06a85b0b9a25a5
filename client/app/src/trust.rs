//! Certificate trust on the login screen: the first connection to a server
//! shows its SHA-256 fingerprint and asks before pinning it (trust on first
//! use); a pinned server whose certificate changed is refused with a warning.

use egui::{Color32, RichText};

use super::ChatApp;

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

/// `ab:cd:…` in groups of two, the way SSH and browsers show fingerprints.
pub fn pretty_fingerprint(hex: &str) -> String {
    let pairs: Vec<&str> = hex
        .as_bytes()
        .chunks(2)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    // Two lines of 16 pairs fit a narrow panel.
    pairs
        .chunks(16)
        .map(|line| line.join(":"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn fingerprint_label(ui: &mut egui::Ui, hex: &str) {
    ui.add(egui::Label::new(RichText::new(pretty_fingerprint(hex)).monospace()).selectable(true));
}

/// Draws the prompt or warning, if any.
pub fn trust_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    match app.trust.clone() {
        TrustState::None => {}
        TrustState::Probing { server, .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Fetching the certificate of {server}…"));
            });
        }
        TrustState::Prompt {
            server,
            fingerprint,
            ..
        } => {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.label(RichText::new(format!("First connection to {server}")).strong());
                ui.label("Its certificate fingerprint (SHA-256) is:");
                fingerprint_label(ui, &fingerprint);
                ui.label(
                    "Check that it matches the fingerprint the server's operator gave you. \
                     The app will remember it and refuse a different certificate later.",
                );
                ui.horizontal(|ui| {
                    if ui.button("Trust and connect").clicked() {
                        app.trust_accept();
                    }
                    if ui.button("Cancel").clicked() {
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
                    ui.colored_label(
                        red,
                        RichText::new(
                            "Warning: the server's certificate changed; it may not be the server you trusted.",
                        )
                        .strong(),
                    );
                    ui.label(format!("The app did not connect to {server}."));
                    if let Some(pinned) = app.settings.pin(&server).map(str::to_owned) {
                        ui.label("Trusted fingerprint:");
                        fingerprint_label(ui, &pinned);
                    }
                    match &new_fingerprint {
                        Some(fp) => {
                            ui.label("Fingerprint the server shows now:");
                            fingerprint_label(ui, fp);
                        }
                        None => {
                            ui.label("The new fingerprint could not be read.");
                        }
                    }
                    ui.label(
                        "If the operator confirms the new fingerprint, forget the old one and connect again.",
                    );
                    if ui.button("Forget the trusted certificate").clicked() {
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
    fn fingerprints_are_grouped() {
        let hex = "ab".repeat(32);
        let pretty = pretty_fingerprint(&hex);
        assert_eq!(pretty.lines().count(), 2);
        assert!(pretty.starts_with("ab:ab:"));
        assert_eq!(
            chatroom_client::tls::parse_fingerprint(&pretty.replace('\n', ":")).ok(),
            Some([0xab; 32])
        );
    }
}
