//! The first screen: connect and log in, or create an account, or host a
//! server on this computer. Each field's problem shows right under it as the
//! user types; Enter in any field submits. The language can be picked here,
//! before logging in.

use egui::{Key, RichText, TextEdit};

use super::file_pick::{self, FileKind, FilePicker};
use super::form::{Field, LoginForm, passphrase_hint};
use super::i18n::{I18n, t};
use super::language_picker::language_picker_ui;
use super::trust::{self, TrustState};
use super::{ChatApp, theme};

/// The label each field is shown (and found) by.
fn label_of(i18n: &I18n, field: Field) -> String {
    match field {
        Field::Server => t!(i18n, "login-server"),
        Field::Username => t!(i18n, "login-username"),
        Field::Email => t!(i18n, "login-email"),
        Field::Passphrase => t!(i18n, "login-passphrase"),
        Field::Passphrase2 => t!(i18n, "login-passphrase-again"),
    }
}

/// A label and a single-line field tied together for screen readers (and
/// tests), the field's problem under it; true when Enter was pressed in it.
fn field_ui(ui: &mut egui::Ui, app: &mut ChatApp, field: Field, register: bool) -> bool {
    let label = ui.label(label_of(&app.i18n, field));
    // Examples of the shape, the same in every language.
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
    match app.form.problem(&app.settings, &app.i18n, register, field) {
        Some(problem) => {
            let problem = app.glyphs.clean(ui.ctx(), &problem).into_owned();
            ui.add(
                egui::Label::new(RichText::new(problem).color(theme::error(ui.visuals()))).wrap(),
            );
        }
        None if field == Field::Passphrase && register => {
            let hint = passphrase_hint(&app.i18n, &app.form.passphrase);
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
                ui.heading(t!(app.i18n, "app-name"));
                ui.add_space(12.0);
                form_ui(ui, app);
                ui.add_space(16.0);
                ui.separator();
                host_ui(ui, app);
                ui.add_space(16.0);
                language_picker_ui(ui, app);
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
        let (log_in, register) = (
            t!(app.i18n, "login-tab-login"),
            t!(app.i18n, "login-tab-register"),
        );
        if ui.selectable_label(!app.form.register, log_in).clicked() {
            app.form.register = false;
            app.form.error = None;
        }
        if ui.selectable_label(app.form.register, register).clicked() {
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
                RichText::new(t!(app.i18n, "login-passphrase-help"))
                    .small()
                    .weak(),
            );
        }
        let picker = ca_file_picker(ui.ctx());
        // Taken even while the section is folded, so a choice is never lost.
        if let Some(path) = picker.take() {
            app.settings.ca_file = path.to_string_lossy().into_owned();
        }
        // The same id in every language, so switching keeps it open or shut.
        egui::CollapsingHeader::new(t!(app.i18n, "login-certificate"))
            .id_salt("certificate")
            .show(ui, |ui| {
                let label = ui.label(t!(app.i18n, "login-ca-file"));
                file_pick::path_field_ui(
                    ui,
                    &app.i18n,
                    &mut app.settings.ca_file,
                    &t!(app.i18n, "login-ca-hint"),
                    label.id,
                    &picker,
                    FileKind::CaCertificate,
                );
                file_pick::notice_ui(ui, &app.i18n, &picker);
                ui.label(RichText::new(t!(app.i18n, "login-ca-help")).small().weak());
            });
        ui.add_space(8.0);
        if app.form.verifying {
            verify_ui(ui, app);
            ui.add_space(8.0);
        }
        let busy = app.form.busy;
        // Waiting for the user's answer to the trust prompt is not "busy".
        let working = busy && !matches!(app.trust, TrustState::Prompt { .. });
        let label = if register {
            t!(app.i18n, "login-create-account")
        } else {
            t!(app.i18n, "login-connect")
        };
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

/// The CA file's chooser. It lives in egui's memory rather than in the form,
/// which is all persisted or reset state; tests hand it answers.
pub fn ca_file_picker(ctx: &egui::Context) -> FilePicker {
    ctx.data_mut(|d| {
        d.get_temp_mut_or_default::<FilePicker>(egui::Id::unique("CA file chooser"))
            .clone()
    })
}

/// The code from the registration mail, for servers that ask to confirm the address.
fn verify_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.label(RichText::new(t!(app.i18n, "login-verify-heading")).strong());
        ui.label(RichText::new(t!(app.i18n, "login-verify-help")).small());
        let label = ui.label(t!(app.i18n, "login-verify-code"));
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
                .add_enabled(
                    !busy,
                    egui::Button::new(t!(app.i18n, "login-verify-confirm")),
                )
                .clicked();
            if (confirm || entered) && !busy {
                app.verify_code();
            }
            if ui
                .add_enabled(
                    !busy,
                    egui::Button::new(t!(app.i18n, "login-verify-resend")),
                )
                .clicked()
            {
                app.resend_code();
            }
        });
    });
}

fn host_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    match &app.hosting {
        Some(info) => host_info_ui(ui, &app.i18n, info),
        None => {
            ui.label(t!(app.i18n, "login-host-help"));
            let busy = app.form.busy;
            if ui
                .add_enabled(!busy, egui::Button::new(t!(app.i18n, "login-host")))
                .clicked()
            {
                app.host_here();
            }
        }
    }
}

/// What others need to join the server this app hosts.
pub fn host_info_ui(ui: &mut egui::Ui, i18n: &I18n, info: &crate::host::HostInfo) {
    ui.label(RichText::new(t!(i18n, "host-port", port = info.port)).strong());
    if info.addresses.is_empty() {
        ui.label(t!(i18n, "host-join-at-port", port = info.port));
    } else {
        ui.label(t!(i18n, "host-join-at"));
        for address in &info.addresses {
            ui.add(egui::Label::new(RichText::new(address).monospace()).selectable(true));
        }
    }
    ui.label(t!(i18n, "host-fingerprint"));
    trust::fingerprint_label(ui, &info.fingerprint);
}
