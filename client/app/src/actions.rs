//! What the app does in response to worker events and to the user's buttons:
//! every [`Command`] the UI sends is built here, so the screens only draw.

use std::path::Path;

use chatroom_common::protocol::RoomKind;
use chatroom_common::{skey, validate};

use super::host::HostEvent;
use super::settings::account_key;
use super::trust::TrustState;
use super::{AutoLogin, ChatApp, model::ChatModel};
use chatroom_client::Trust;
use chatroom_client::chat::{Command, Credentials, LoginProblem, Secret, UiEvent};
use chatroom_client::session::new_key;

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
                } else {
                    self.form.error = Some(problem.to_string());
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
                ..
            } => {
                self.settings
                    .last_counts
                    .insert(account_key(server, &user.username), last_count);
                self.settings.username = user.username.clone();
                self.form.busy = false;
                self.form.error = None;
                self.form.info = None;
                self.form.verifying = false;
                self.form.code.clear();
                self.model.apply(event);
            }
            UiEvent::Joined { ref room, .. } => {
                if room.kind == RoomKind::Public && room.name != "lobby" {
                    let (server, user) =
                        (self.settings.server.clone(), self.settings.username.clone());
                    self.settings.remember_room(&server, &user, &room.name);
                }
                self.model.apply(event);
            }
            UiEvent::VerificationSent => {
                self.form.busy = false;
                self.form.error = None;
                self.form.info = Some("A new code is on its way; check your mail.".into());
            }
            UiEvent::Notice(text) if self.screen() == Screen::Login => {
                self.form.busy = false;
                self.form.error = Some(text);
            }
            other => {
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
                self.form.error = Some(problem.to_string());
            }
        }
    }

    /// How to check `server`: its pin, else the CA file, else `None` (ask the user).
    fn trust_for(&self, server: &str) -> Result<Option<Trust>, String> {
        if let Some(pin) = self.settings.pin(server) {
            return Trust::parse_pin(pin).map(Some).map_err(|e| e.to_string());
        }
        let ca = self.settings.ca_file.trim();
        if ca.is_empty() {
            return Ok(None);
        }
        Trust::ca_file(Path::new(ca))
            .map(Some)
            .map_err(|_| format!("Cannot read the CA file {ca}."))
    }

    /// Checks the form and logs in (or registers); asks about an unknown certificate first.
    pub fn submit(&mut self, register: bool) {
        self.form.error = None;
        self.form.info = None;
        self.form.verifying = false;
        if let Err(message) = self.form.check(&self.settings, register) {
            self.form.error = Some(message);
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
            // Moved out of the form: from here on it lives only in the worker.
            passphrase: Secret::new(std::mem::take(&mut self.form.passphrase)),
            last_count: self.settings.last_counts.get(&key).copied(),
            rooms: self.settings.rooms.get(&key).cloned().unwrap_or_default(),
        };
        self.form.passphrase2.clear();
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
            self.form.error = Some("The code is the 6 digits from the mail.".into());
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

    /// Sends what is in the composer to the room shown.
    pub fn send_message(&mut self) {
        let text = self.composer.trim_end().to_owned();
        if text.trim().is_empty() {
            return;
        }
        if let Err(e) = validate::text(&text) {
            self.model.notice = Some(format!("Not sent: {e}."));
            return;
        }
        let Some(room) = self.model.selected.clone() else {
            return;
        };
        let key = new_key();
        self.model.add_pending(&room, key, text.clone());
        self.chat.send(Command::Send { room, text, key });
        self.composer.clear();
    }

    /// Joins (or, with `create`, creates) the public room typed in the field.
    pub fn join_typed_room(&mut self, create: bool) {
        let name = match validate::room_name(self.room_field.trim()) {
            Ok(name) => name,
            Err(e) => {
                self.model.notice = Some(format!("{e}."));
                return;
            }
        };
        self.room_field.clear();
        self.join_room(&name, create);
    }

    /// Joins (or creates) a public room and shows it.
    pub fn join_room(&mut self, name: &str, create: bool) {
        if self.model.rooms.contains_key(name) {
            self.model.select(name);
            return;
        }
        self.model.open_next = Some(name.to_owned());
        self.chat.send(if create {
            Command::CreateRoom {
                name: name.to_owned(),
            }
        } else {
            Command::Join {
                room: name.to_owned(),
            }
        });
    }

    /// Opens the direct conversation with `user` and shows it.
    pub fn open_direct(&mut self, user: &str) {
        let Some(me) = &self.model.me else { return };
        let room = validate::direct_room_name(&me.username, user);
        if self.model.rooms.contains_key(&room) {
            self.model.select(&room);
            return;
        }
        self.model.open_next = Some(room);
        self.chat.send(Command::OpenDirect {
            user: user.to_owned(),
        });
    }

    /// Asks for the page before the oldest message held in the room shown.
    pub fn load_older(&mut self) {
        let Some(view) = self.model.current_mut() else {
            return;
        };
        let Some(first) = view.store.first_seq() else {
            return;
        };
        if first <= 1 || view.loading_older {
            return;
        }
        view.loading_older = true;
        let room = view.info.name.clone();
        self.chat.send(Command::LoadOlder {
            room,
            before: first,
        });
    }

    /// Logs out: the worker forgets the passphrase; the screen returns to login.
    pub fn logout(&mut self) {
        self.chat.send(Command::Logout);
        self.model = ChatModel::default();
        self.profile = super::profile::ProfileState::default();
        self.trust = TrustState::None;
        self.form.busy = false;
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
                self.form.error = Some(format!("Could not start a server here: {reason}"));
            }
        }
    }

    /// Asks for the room list again (to offer rooms to join).
    pub fn refresh_rooms(&mut self) {
        self.chat.send(Command::RefreshRooms);
    }

    /// A passphrase hint for the registration form.
    pub fn passphrase_hint(passphrase: &str) -> String {
        let n = passphrase.chars().count();
        match skey::validate_passphrase(passphrase) {
            Err(_) if n < skey::MIN_PASSPHRASE => {
                format!("{n} characters: at least {} needed.", skey::MIN_PASSPHRASE)
            }
            Err(_) => format!("{n} characters: at most {} allowed.", skey::MAX_PASSPHRASE),
            Ok(()) if n < 16 => {
                format!("{n} characters: acceptable; a few words are stronger.")
            }
            Ok(()) => format!("{n} characters: strong."),
        }
    }
}
