//! The login and registration form's state and its checks. Every problem is
//! tied to the field it concerns and shown under it, all at once and as the
//! user types; what the server refuses (a taken username, a wrong
//! passphrase, an unreachable address) is put under its field too, and goes
//! away when that field changes.

use chatroom_client::chat::LoginProblem;
use chatroom_common::{skey, validate};

use super::i18n::{I18n, t, wording};
use super::settings::Settings;
use chatroom_common::protocol::ErrorCode;

/// The form's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// "Server address".
    Server,
    /// "Username".
    Username,
    /// "E-mail" (registration).
    Email,
    /// "Passphrase".
    Passphrase,
    /// "Passphrase again" (registration).
    Passphrase2,
}

/// A problem the server reported about what was in a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The field.
    pub field: Field,
    /// What it said, as a sentence.
    pub text: String,
    /// The field's value when it was refused: a change clears the refusal.
    pub value: String,
}

/// The form's state. The passphrase stays in memory (never persisted) until
/// the login succeeds, so a refused registration keeps both passphrase fields.
#[derive(Debug, Default)]
pub struct LoginForm {
    /// Creating an account rather than logging in.
    pub register: bool,
    /// The passphrase being typed (memory only; cleared once logged in).
    pub passphrase: String,
    /// The passphrase again, for registration.
    pub passphrase2: String,
    /// Contact address, for registration.
    pub email: String,
    /// A failure that concerns no single field, in plain words.
    pub error: Option<String>,
    /// What the server refused, under the field it concerns.
    pub refusal: Option<Refusal>,
    /// The user tried to submit: empty fields count as problems now.
    pub tried: bool,
    /// Waiting for the worker.
    pub busy: bool,
    /// The server wants the e-mail verification code before the first login.
    pub verifying: bool,
    /// The code being typed.
    pub code: String,
    /// Good news in plain words (a new code was sent).
    pub info: Option<String>,
    /// The keyboard focus was placed since the form was shown.
    pub focused: bool,
    /// A field to give the keyboard focus to at the next frame.
    pub focus_next: Option<Field>,
}

/// The words for the passphrase's length, which double as its problem.
pub fn passphrase_hint(i18n: &I18n, passphrase: &str) -> String {
    let n = passphrase.chars().count();
    match skey::validate_passphrase(passphrase) {
        Err(_) if n < skey::MIN_PASSPHRASE => t!(
            i18n,
            "form-passphrase-short",
            count = n,
            min = skey::MIN_PASSPHRASE
        ),
        Err(_) => t!(
            i18n,
            "form-passphrase-long",
            count = n,
            max = skey::MAX_PASSPHRASE
        ),
        Ok(()) if n < 16 => t!(i18n, "form-passphrase-acceptable", count = n),
        Ok(()) => t!(i18n, "form-passphrase-strong", count = n),
    }
}

/// Whether an address ends with a port: `host:4433`, `[::1]:4433`.
fn has_port(address: &str) -> bool {
    address
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}

impl LoginForm {
    /// The value of a field.
    pub fn value<'a>(&'a self, settings: &'a Settings, field: Field) -> &'a str {
        match field {
            Field::Server => &settings.server,
            Field::Username => &settings.username,
            Field::Email => &self.email,
            Field::Passphrase => &self.passphrase,
            Field::Passphrase2 => &self.passphrase2,
        }
    }

    /// The problem with one field, if any. Empty fields count only after a
    /// submit attempt, so a fresh form is not covered in red.
    pub fn problem(
        &self,
        settings: &Settings,
        i18n: &I18n,
        register: bool,
        field: Field,
    ) -> Option<String> {
        let value = self.value(settings, field);
        if value.trim().is_empty() {
            if !self.tried {
                return None;
            }
            return Some(match field {
                Field::Server => t!(i18n, "form-enter-server"),
                Field::Username => t!(i18n, "form-enter-username"),
                Field::Email if register => t!(i18n, "form-enter-email"),
                Field::Passphrase => t!(i18n, "form-enter-passphrase"),
                Field::Passphrase2 if register => t!(i18n, "form-enter-passphrase-again"),
                Field::Email | Field::Passphrase2 => return None,
            });
        }
        if let Some(refusal) = &self.refusal
            && refusal.field == field
            && refusal.value == value
        {
            return Some(refusal.text.clone());
        }
        match field {
            Field::Server if !has_port(value.trim()) => Some(t!(i18n, "form-add-port")),
            Field::Username if validate::username_key(value.trim()).is_err() => {
                Some(t!(i18n, "form-username-rule"))
            }
            Field::Email if register && validate::email(value.trim()).is_err() => {
                Some(t!(i18n, "form-email-shape"))
            }
            // While logging in a short passphrase is only wrong once submitted.
            Field::Passphrase
                if (register || self.tried) && skey::validate_passphrase(value).is_err() =>
            {
                Some(passphrase_hint(i18n, value))
            }
            Field::Passphrase2 if register && value != self.passphrase => {
                Some(t!(i18n, "form-passphrases-differ"))
            }
            _ => None,
        }
    }

    /// The fields the form shows, in order.
    pub fn fields(register: bool) -> &'static [Field] {
        if register {
            &[
                Field::Server,
                Field::Username,
                Field::Email,
                Field::Passphrase,
                Field::Passphrase2,
            ]
        } else {
            &[Field::Server, Field::Username, Field::Passphrase]
        }
    }

    /// Checks every field before anything is sent; the first bad field gets
    /// the keyboard focus. True when all is well.
    pub fn check(&mut self, settings: &Settings, i18n: &I18n, register: bool) -> bool {
        self.tried = true;
        let first_bad = Self::fields(register)
            .iter()
            .copied()
            .find(|f| self.problem(settings, i18n, register, *f).is_some());
        self.focus_next = first_bad;
        first_bad.is_none()
    }

    /// Files a login failure under the field it concerns, or as the form's
    /// error when it concerns none. A wrong passphrase is cleared for retyping.
    pub fn refused(&mut self, settings: &Settings, i18n: &I18n, problem: &LoginProblem) {
        let field = match problem {
            LoginProblem::Unreachable { .. } | LoginProblem::BadAddress(_) => Some(Field::Server),
            LoginProblem::WrongPassphrase => Some(Field::Passphrase),
            LoginProblem::Refused {
                code: ErrorCode::UsernameTaken,
                ..
            } => Some(Field::Username),
            // Which field was invalid only the server's English message says.
            LoginProblem::Refused {
                code: ErrorCode::InvalidInput,
                message,
            } => {
                let message = message.to_lowercase();
                if message.contains("username") {
                    Some(Field::Username)
                } else if message.contains("mail") {
                    Some(Field::Email)
                } else {
                    None
                }
            }
            _ => None,
        };
        let text = wording::login_problem(i18n, problem);
        self.refusal = None;
        self.error = None;
        match field {
            Some(Field::Passphrase) => {
                // "Wrong username or passphrase": typed again from scratch.
                self.passphrase.clear();
                self.error = Some(text);
                self.focus_next = Some(Field::Passphrase);
            }
            Some(field) => {
                self.refusal = Some(Refusal {
                    field,
                    text,
                    value: self.value(settings, field).to_owned(),
                });
                self.focus_next = Some(field);
            }
            None => self.error = Some(text),
        }
    }

    /// Forgets the passphrases (logged in, or the form is left).
    pub fn clear_secrets(&mut self) {
        self.passphrase.clear();
        self.passphrase2.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_shows_at_once_and_empty_fields_only_after_a_try() {
        let settings = Settings {
            server: "localhost".into(),
            username: "x".into(),
            ..Settings::default()
        };
        let mut form = LoginForm {
            email: "nope".into(),
            passphrase: "short".into(),
            passphrase2: "other".into(),
            ..LoginForm::default()
        };
        let en = I18n::new(crate::i18n::Language::English);
        let problems: Vec<_> = LoginForm::fields(true)
            .iter()
            .filter_map(|f| form.problem(&settings, &en, true, *f))
            .collect();
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems.iter().all(|p| !p.contains("pass phrase")));
        form.email.clear();
        assert_eq!(form.problem(&settings, &en, true, Field::Email), None);
        assert!(!form.check(&settings, &en, true));
        assert_eq!(form.focus_next, Some(Field::Server));
        assert!(form.problem(&settings, &en, true, Field::Email).is_some());
    }

    #[test]
    fn a_taken_username_stays_under_the_field_until_it_changes() {
        let mut settings = Settings {
            server: "h:1".into(),
            username: "alice".into(),
            ..Settings::default()
        };
        let mut form = LoginForm {
            passphrase: "long enough passphrase".into(),
            passphrase2: "long enough passphrase".into(),
            ..LoginForm::default()
        };
        let en = I18n::new(crate::i18n::Language::English);
        let taken = LoginProblem::Refused {
            code: ErrorCode::UsernameTaken,
            message: "That username is taken".into(),
        };
        form.refused(&settings, &en, &taken);
        assert_eq!(
            form.problem(&settings, &en, true, Field::Username),
            Some(wording::login_problem(&en, &taken))
        );
        assert_eq!(form.passphrase2, "long enough passphrase");
        settings.username = "alice2".into();
        assert_eq!(form.problem(&settings, &en, true, Field::Username), None);
        assert!(has_port("[::1]:4433") && !has_port("example.org") && !has_port(":4433"));
    }
}
