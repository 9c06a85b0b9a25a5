//! The first screen: connect and log in, or create an account, or host a
//! server on this computer. Each field's problem shows right under it as the
//! user types; Enter in any field submits.

use egui::{Key, RichText, TextEdit};

use super::form::{Field, LoginForm, passphrase_hint};
use super::trust::{self, TrustState};
use super::{ChatApp, theme};

/// The label each field is shown (and found) by.
fn label_of(field: Field) -> &'static str {
    match field {
        Field::Server => "Server address",
        Field::Username => "Username",
        Field::Email => "E-mail",
        Field::Passphrase => "Passphrase",
        Field::Passphrase2 => "Passphrase again",
    }
}

/// A label and a single-line field tied together for screen readers (and
/// tests), the field's problem under it; true when Enter was pressed in it.
fn field_ui(ui: &mut egui::Ui, app: &mut ChatApp, field: Field, register: bool) -> bool {
    let label = ui.label(label_of(field));
    let hint = match field {
        Field::Server => "host:4433",
        Field::Email => "you@example.org",
        _ => "",
    };
    let password = matches!(field, Field::Passphrase | Field::Passphrase2);
    let ChatApp { settings, form, .. } = app;
    let text = match field {
        Field::Server => &mut settings.server,
        Field::Username => &mut settings.username,
        Field::Email => &mut form.email,
        Field::Passphrase => &mut form.passphrase,
        Field::Passphrase2 => &mut form.passphrase2,
    };
    let response = ui
        .add(
            TextEdit::singleline(text)
                .password(password)
                .hint_text(hint)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    if app.form.focus_next == Some(field) {
        response.request_focus();
        app.form.focus_next = None;
    }
    match app.form.problem(&app.settings, register, field) {
        Some(problem) => {
            let problem = app.glyphs.clean(ui.ctx(), &problem).into_owned();
            ui.add(
                egui::Label::new(RichText::new(problem).color(theme::error(ui.visuals()))).wrap(),
            );
        }
        None if field == Field::Passphrase && register => {
            let hint = passphrase_hint(&app.form.passphrase);
            ui.label(RichText::new(hint).small().weak());
        }
        None => {}
    }
    response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter))
}

/// Draws the login screen.
pub fn login_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.vertical_centered(|ui| {
                // Wide enough for a fingerprint on one line.
                ui.set_max_width(500.0);
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

/// Where the keyboard goes when the form appears: the passphrase when the
/// server and username are remembered, else the first empty field.
fn initial_focus(app: &mut ChatApp, register: bool) {
    if app.form.focused || app.trust != TrustState::None {
        return;
    }
    app.form.focused = true;
    app.form.focus_next = LoginForm::fields(register)
        .iter()
        .copied()
        .find(|f| app.form.value(&app.settings, *f).trim().is_empty());
}

fn form_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    ui.horizontal(|ui| {
        if ui.selectable_label(!app.form.register, "Log in").clicked() {
            app.form.register = false;
            app.form.error = None;
        }
        if ui.selectable_label(app.form.register, "Register").clicked() {
            app.form.register = true;
            app.form.error = None;
        }
    });
    ui.add_space(8.0);
    let register = app.form.register;
    initial_focus(app, register);
    ui.with_layout(egui::Layout::top_down(egui::Align::LEFT), |ui| {
        let mut submitted = false;
        for &field in LoginForm::fields(register) {
            submitted |= field_ui(ui, app, field, register);
        }
        if register {
            ui.label(
                RichText::new(
                    "Your passphrase never leaves this computer: the app computes a one-time password from it for each login.",
                )
                .small()
                .weak(),
            );
        }
        egui::CollapsingHeader::new("Certificate (optional)").show(ui, |ui| {
            let label = ui.label("CA file");
            ui.add(
                TextEdit::singleline(&mut app.settings.ca_file)
                    .hint_text("path to the server's ca.pem")
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label.id);
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
        // Waiting for the user's answer to the trust prompt is not "busy".
        let working = busy && !matches!(app.trust, TrustState::Prompt { .. });
        let label = if register { "Create the account" } else { "Connect and log in" };
        ui.horizontal(|ui| {
            if ui.add_enabled(!busy, egui::Button::new(label)).clicked() {
                submitted = true;
            }
            if working && !matches!(app.trust, TrustState::Probing { .. }) {
                ui.spinner();
            }
        });
        if submitted && !busy {
            app.submit(register);
        }
        trust::trust_ui(ui, app);
        if let Some(info) = &app.form.info {
            ui.colored_label(theme::ok(ui.visuals()), info);
        }
        if let Some(error) = app.form.error.clone() {
            let error = app.glyphs.clean(ui.ctx(), &error).into_owned();
            ui.add(egui::Label::new(RichText::new(error).color(theme::error(ui.visuals()))).wrap());
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
        let label = ui.label("Verification code");
        let code = ui
            .add(
                TextEdit::singleline(&mut app.form.code)
                    .hint_text("123456")
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label.id);
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
    ui.label("and check this CA SHA-256 fingerprint:");
    trust::fingerprint_label(ui, &info.fingerprint);
}
