//! What the app does in response to worker events and to the user's buttons:
//! every [`Command`] the UI sends is built here, so the screens only draw.

use std::path::Path;

use chatroom_common::protocol::{ErrorCode, RoomKind};

use super::host::HostEvent;
use super::i18n::{t, wording};
use super::settings::account_key;
use super::trust::TrustState;
use super::{AutoLogin, ChatApp, model::ChatModel};
use chatroom_client::Trust;
use chatroom_client::chat::{Command, Credentials, LoginProblem, Secret, UiEvent};

/// The screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Connect, log in, register, host.
    Login,
    /// Rooms, messages, users.
    Chat,
}

impl ChatApp {
    /// Applies one event from the worker.
    pub(super) fn handle(&mut self, event: UiEvent) {
        match event {
            UiEvent::Probed { server, result } => self.probed(server, result),
            UiEvent::LoginFailed(problem) => {
                if let LoginProblem::CertificateChanged {
                    server,
                    new_fingerprint,
                } = &problem
                {
                    // The warning box says it all; no second line below it.
                    self.trust = TrustState::Changed {
                        server: server.clone(),
                        new_fingerprint: new_fingerprint.clone(),
                    };
                    self.form.error = None;
                } else if self.form.verifying
                    && matches!(
                        problem,
                        LoginProblem::Refused {
                            code: ErrorCode::AuthFailed,
                            ..
                        }
                    )
                {
                    // A wrong or expired verification code is refused as
                    // "auth failed": "wrong passphrase" would mislead.
                    self.form.error = Some(t!(self.i18n, "problem-wrong-code"));
                } else {
                    self.form.refused(&self.settings, &self.i18n, &problem);
                }
                if problem == LoginProblem::EmailNotVerified {
                    self.form.verifying = true;
                }
                self.form.info = None;
                self.form.busy = false;
                self.model = ChatModel::default();
            }
            UiEvent::LoggedIn {
                ref server,
                ref user,
                last_count,
                skipped,
                ..
            } => {
                if skipped > 0 {
                    self.model.notice = Some(t!(self.i18n, "login-skipped", count = skipped));
                    self.model.notice_offline = false;
                }
                self.settings
                    .last_counts
                    .insert(account_key(server, &user.username), last_count);
                self.settings.username = user.username.clone();
                self.form.busy = false;
                self.form.error = None;
                self.form.refusal = None;
                self.form.tried = false;
                self.form.info = None;
                self.form.verifying = false;
                self.form.code.clear();
                // In: the passphrase now lives only in the worker.
                self.form.clear_secrets();
                self.model.apply(event);
            }
            UiEvent::Joined { ref room, .. } => {
                if room.kind == RoomKind::Public && room.name != "lobby" {
                    let (server, user) =
                        (self.settings.server.clone(), self.settings.username.clone());
                    self.settings.remember_room(&server, &user, &room.name);
                }
                self.chat_event(&event);
                self.model.apply(event);
            }
            UiEvent::VerificationSent => {
                self.form.busy = false;
                self.form.error = None;
                self.form.info = Some(t!(self.i18n, "login-verify-sent"));
            }
            UiEvent::Notice(notice) if self.screen() == Screen::Login => {
                self.form.busy = false;
                self.form.error = Some(wording::notice(&self.i18n, &notice));
            }
            UiEvent::Notice(notice) => self.route_notice(notice),
            other => {
                self.chat_event(&other);
                self.model.apply(other);
            }
        }
    }

    fn probed(&mut self, server: String, result: Result<[u8; 32], LoginProblem>) {
        let TrustState::Probing {
            server: asked,
            register,
        } = &self.trust
        else {
            return;
        };
        if *asked != server {
            return;
        }
        let register = *register;
        match result {
            Ok(fp) => {
                self.trust = TrustState::Prompt {
                    server,
                    fingerprint: chatroom_client::tls::fingerprint_hex(&fp),
                    register,
                };
            }
            Err(problem) => {
                self.trust = TrustState::None;
                self.form.busy = false;
                self.form.refused(&self.settings, &self.i18n, &problem);
            }
        }
    }

    /// How to check `server`: its pin, else the CA file, else `None` (ask the user).
    fn trust_for(&self, server: &str) -> Result<Option<Trust>, String> {
        if let Some(pin) = self.settings.pin(server) {
            return Trust::parse_pin(pin)
                .map(Some)
                .map_err(|e| t!(self.i18n, "login-pin-unusable", reason = e.to_string()));
        }
        let ca = self.settings.ca_file.trim();
        if ca.is_empty() {
            return Ok(None);
        }
        Trust::ca_file(Path::new(ca))
            .map(Some)
            .map_err(|_| t!(self.i18n, "login-ca-unreadable", path = ca))
    }

    /// Checks the form and logs in (or registers); asks about an unknown certificate first.
    pub fn submit(&mut self, register: bool) {
        self.form.error = None;
        self.form.info = None;
        self.form.verifying = false;
        if !self.form.check(&self.settings, &self.i18n, register) {
            return;
        }
        let server = self.settings.server.trim().to_owned();
        let trust = match self.trust_for(&server) {
            Ok(Some(trust)) => trust,
            Ok(None) => {
                // Trust on first use: show the fingerprint before any login.
                self.trust = TrustState::Probing {
                    server: server.clone(),
                    register,
                };
                self.form.busy = true;
                self.chat.send(Command::Probe { server });
                return;
            }
            Err(message) => {
                self.form.error = Some(message);
                return;
            }
        };
        let username = self.settings.username.trim().to_owned();
        let key = account_key(&server, &username);
        let credentials = Credentials {
            server,
            trust,
            username,
            // The form keeps its copy until the login succeeds, so a refusal
            // (a taken username) does not make the user type it twice.
            passphrase: Secret::new(self.form.passphrase.clone()),
            last_count: self.settings.last_counts.get(&key).copied(),
            rooms: self.settings.rooms.get(&key).cloned().unwrap_or_default(),
        };
        self.form.busy = true;
        self.chat.send(if register {
            Command::Register {
                credentials,
                email: self.form.email.trim().to_owned(),
            }
        } else {
            Command::Login(credentials)
        });
    }

    /// Sends the e-mail verification code; the worker logs in once it is accepted.
    pub fn verify_code(&mut self) {
        let code = self.form.code.trim().to_owned();
        let digits = code.chars().filter(char::is_ascii_digit).count();
        if digits != 6
            || code
                .chars()
                .any(|c| !(c.is_ascii_digit() || c == ' ' || c == '-'))
        {
            self.form.error = Some(t!(self.i18n, "login-verify-shape"));
            return;
        }
        self.form.error = None;
        self.form.info = None;
        self.form.busy = true;
        self.chat.send(Command::VerifyEmail { code });
    }

    /// Asks for a new verification code.
    pub fn resend_code(&mut self) {
        self.form.error = None;
        self.form.info = None;
        self.form.busy = true;
        self.chat.send(Command::ResendVerification);
    }

    /// The user compared the fingerprint and trusts it: pin it and continue.
    pub fn trust_accept(&mut self) {
        if let TrustState::Prompt {
            server,
            fingerprint,
            register,
        } = std::mem::replace(&mut self.trust, TrustState::None)
        {
            self.settings.set_pin(&server, &fingerprint);
            self.submit(register);
        }
    }

    /// The user declined the fingerprint.
    pub fn trust_cancel(&mut self) {
        self.trust = TrustState::None;
        self.form.busy = false;
    }

    /// After a changed certificate: forget the pin so the next attempt asks again.
    pub fn forget_pin(&mut self) {
        if let TrustState::Changed { server, .. } =
            std::mem::replace(&mut self.trust, TrustState::None)
        {
            self.settings.forget_pin(&server);
            self.form.error = None;
        }
    }

    pub(super) fn auto_login(&mut self, auto: AutoLogin) {
        self.settings.server = auto.server.clone();
        self.settings.username = auto.username;
        self.settings.set_pin(&auto.server, &auto.fingerprint);
        self.form.passphrase = auto.passphrase.expose().to_owned();
        self.submit(false);
    }

    /// Logs out: the worker forgets the passphrase; the screen returns to login.
    pub fn logout(&mut self) {
        self.chat.send(Command::Logout);
        self.model = ChatModel::default();
        self.profile = super::profile::ProfileState::default();
        self.trust = TrustState::None;
        self.form.busy = false;
        // Back to "Log in" (not "Register"), the keyboard in the passphrase.
        self.form.register = false;
        self.form.focused = false;
        self.form.error = None;
        self.form.refusal = None;
        self.form.tried = false;
        self.form.clear_secrets();
        // The next person at this computer starts with nothing of this account's.
        self.drafts.clear();
        self.files.reset();
        for command in self.files.take_commands() {
            self.chat.send(command);
        }
        self.composer_error = None;
        self.room_field.clear();
        self.room_problem = None;
        self.awaiting = None;
        self.switcher = None;
    }

    /// Starts a server in this app ("Host a server on this computer").
    pub fn host_here(&mut self) {
        self.form.busy = true;
        self.form.error = None;
        self.host.start(
            self.options.host_dir.clone(),
            self.options.host_listen.clone(),
        );
    }

    /// What hosting reported: pin and fill in the hosted server, or say why not.
    pub(crate) fn hosted(&mut self, event: HostEvent) {
        match event {
            HostEvent::Hosting(info) => {
                self.settings
                    .set_pin(&info.local_address, &info.fingerprint);
                self.settings.server = info.local_address.clone();
                self.form.busy = false;
                self.form.error = None;
                // A newcomer on a fresh server needs an account first.
                self.form.register = true;
                self.hosting = Some(info);
            }
            HostEvent::Failed(reason) => {
                self.form.busy = false;
                self.form.error = Some(t!(self.i18n, "login-host-failed", reason = reason));
            }
        }
    }
}
