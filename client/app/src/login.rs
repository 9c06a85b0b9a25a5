//! The first screen: connect and log in, or create an account, or host a
//! server on this computer. Errors show inline, in plain words.

use chatroom_common::{skey, validate};
use egui::{Color32, Key, RichText, TextEdit};

use super::settings::Settings;
use super::{ChatApp, trust};

/// The form's state; the passphrase fields are cleared as soon as they are used.
#[derive(Debug, Default)]
pub struct LoginForm {
    /// Creating an account rather than logging in.
    pub register: bool,
    /// The passphrase being typed (memory only; moved out on submit).
    pub passphrase: String,
    /// The passphrase again, for registration.
    pub passphrase2: String,
    /// Contact address, for registration.
    pub email: String,
    /// The last failure, in plain words.
    pub error: Option<String>,
    /// Waiting for the worker.
    pub busy: bool,
    /// The server wants the e-mail verification code before the first login.
    pub verifying: bool,
    /// The code being typed.
    pub code: String,
    /// Good news in plain words (a new code was sent).
    pub info: Option<String>,
}

impl LoginForm {
    /// Checks the fields before anything is sent.
    pub fn check(&self, settings: &Settings, register: bool) -> Result<(), String> {
        if settings.server.trim().is_empty() {
            return Err("Enter the server's address, like chat.example.org:4433.".into());
        }
        if validate::username_key(settings.username.trim()).is_err() {
            return Err(
                "A username has 2 to 32 letters, digits, '_', '-' or '.', starting with a letter or digit."
                    .into(),
            );
        }
        if let Err(e) = skey::validate_passphrase(&self.passphrase) {
            return Err(format!("Passphrase: {e}."));
        }
        if register {
            if validate::email(self.email.trim()).is_err() {
                return Err("Enter an e-mail address, like you@example.org.".into());
            }
            if self.passphrase != self.passphrase2 {
                return Err("The two passphrases differ.".into());
            }
        }
        Ok(())
    }
}

/// A label and a single-line field tied together for screen readers (and tests).
fn field(
    ui: &mut egui::Ui,
    label: &str,
    text: &mut String,
    password: bool,
    hint: &str,
) -> egui::Response {
    let label = ui.label(label);
    ui.add(
        TextEdit::singleline(text)
            .password(password)
            .hint_text(hint)
            .desired_width(f32::INFINITY),
    )
    .labelled_by(label.id)
}

/// Draws the login screen.
pub fn login_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.vertical_centered(|ui| {
                ui.set_max_width(440.0);
                ui.add_space(24.0);
                ui.heading("Chatroom");
                ui.add_space(12.0);
                form_ui(ui, app);
                ui.add_space(16.0);
                ui.separator();
                host_ui(ui, app);
            });
        });
    });
}

fn form_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    ui.horizontal(|ui| {
        if ui.selectable_label(!app.form.register, "Log in").clicked() {
            app.form.register = false;
        }
        if ui.selectable_label(app.form.register, "Register").clicked() {
            app.form.register = true;
        }
    });
    ui.add_space(8.0);
    let register = app.form.register;
    ui.with_layout(egui::Layout::top_down(egui::Align::LEFT), |ui| {
        field(ui, "Server address", &mut app.settings.server, false, "host:4433");
        field(ui, "Username", &mut app.settings.username, false, "");
        if register {
            field(ui, "E-mail", &mut app.form.email, false, "you@example.org");
        }
        let pass = field(ui, "Passphrase", &mut app.form.passphrase, true, "");
        let mut submitted = pass.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        if register {
            let again = field(ui, "Passphrase again", &mut app.form.passphrase2, true, "");
            submitted = again.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            ui.label(RichText::new(ChatApp::passphrase_hint(&app.form.passphrase)).small());
            ui.label(
                RichText::new(
                    "Your passphrase never leaves this computer: the app computes a one-time password from it for each login.",
                )
                .small()
                .weak(),
            );
        }
        egui::CollapsingHeader::new("Certificate (optional)").show(ui, |ui| {
            field(
                ui,
                "CA file",
                &mut app.settings.ca_file,
                false,
                "path to the server's ca.pem",
            );
            ui.label(
                RichText::new(
                    "Without a CA file, the first connection shows the server's fingerprint for you to confirm.",
                )
                .small()
                .weak(),
            );
        });
        ui.add_space(8.0);
        if app.form.verifying {
            verify_ui(ui, app);
            ui.add_space(8.0);
        }
        let busy = app.form.busy;
        let label = if register { "Create the account" } else { "Connect and log in" };
        ui.horizontal(|ui| {
            if ui.add_enabled(!busy, egui::Button::new(label)).clicked() {
                submitted = true;
            }
            if busy {
                ui.spinner();
            }
        });
        if submitted && !busy {
            app.submit(register);
        }
        trust::trust_ui(ui, app);
        if let Some(info) = &app.form.info {
            ui.colored_label(Color32::from_rgb(0x40, 0xa0, 0x60), info);
        }
        if let Some(error) = app.form.error.clone() {
            let error = app.glyphs.clean(ui.ctx(), &error).into_owned();
            ui.colored_label(Color32::from_rgb(0xe0, 0x50, 0x50), error);
        }
    });
}

/// The code from the registration mail, for servers that ask to confirm the address.
fn verify_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.label(RichText::new("Confirm your e-mail address").strong());
        ui.label(
            RichText::new("The server mailed you a 6-digit code; it is valid for 15 minutes.")
                .small(),
        );
        let code = field(ui, "Verification code", &mut app.form.code, false, "123456");
        let entered = code.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        let busy = app.form.busy;
        ui.horizontal(|ui| {
            let confirm = ui
                .add_enabled(!busy, egui::Button::new("Confirm the code"))
                .clicked();
            if (confirm || entered) && !busy {
                app.verify_code();
            }
            if ui
                .add_enabled(!busy, egui::Button::new("Send a new code"))
                .clicked()
            {
                app.resend_code();
            }
        });
    });
}

fn host_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    match &app.hosting {
        Some(info) => host_info_ui(ui, info),
        None => {
            ui.label("No server yet? Run one here; others on your network can join it.");
            let busy = app.form.busy;
            if ui
                .add_enabled(!busy, egui::Button::new("Host a server on this computer"))
                .clicked()
            {
                app.host_here();
            }
        }
    }
}

/// What others need to join the server this app hosts.
pub fn host_info_ui(ui: &mut egui::Ui, info: &crate::host::HostInfo) {
    ui.label(RichText::new(format!("Hosting a server on port {}", info.port)).strong());
    if info.addresses.is_empty() {
        ui.label(format!(
            "Others join at this computer's address, port {}.",
            info.port
        ));
    } else {
        ui.label("Others join at:");
        for address in &info.addresses {
            ui.add(egui::Label::new(RichText::new(address).monospace()).selectable(true));
        }
    }
    ui.label("and check this certificate fingerprint:");
    ui.add(
        egui::Label::new(RichText::new(trust::pretty_fingerprint(&info.fingerprint)).monospace())
            .selectable(true),
    );
}
