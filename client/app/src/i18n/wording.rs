//! The words for what the network side reports: the server's error codes,
//! login problems, failed requests ([`Notice`]) and names or text that fail
//! the shared checks. Each is worded from its code or variant; the English
//! sentence the library made is used only as the detail where a code says
//! too little (which field, what is wrong with an image) or where there is
//! no code at all (an I/O error), so nothing depends on reading English.

use chatroom_client::chat::{About, Cause, LoginProblem, Notice};
use chatroom_common::protocol::ErrorCode;
use chatroom_common::validate::ValidationError;

use super::{I18n, t};

/// What a server error code means, as a sentence.
pub fn error_code(i18n: &I18n, code: ErrorCode) -> String {
    match code {
        ErrorCode::UpgradeRequired => t!(i18n, "error-upgrade-required"),
        ErrorCode::BadRequest => t!(i18n, "error-bad-request"),
        ErrorCode::TooLarge => t!(i18n, "error-too-large"),
        ErrorCode::HelloRequired => t!(i18n, "error-hello-required"),
        ErrorCode::NotLoggedIn => t!(i18n, "error-not-logged-in"),
        ErrorCode::AuthFailed => t!(i18n, "error-auth-failed"),
        ErrorCode::LockedOut => t!(i18n, "error-locked-out"),
        ErrorCode::EmailNotVerified => t!(i18n, "error-email-not-verified"),
        ErrorCode::UsernameTaken => t!(i18n, "error-username-taken"),
        ErrorCode::InvalidInput => t!(i18n, "error-invalid-input"),
        ErrorCode::NoSuchRoom => t!(i18n, "error-no-such-room"),
        ErrorCode::NoSuchUser => t!(i18n, "error-no-such-user"),
        ErrorCode::NotMember => t!(i18n, "error-not-member"),
        ErrorCode::RoomExists => t!(i18n, "error-room-exists"),
        ErrorCode::RateLimited => t!(i18n, "error-rate-limited"),
        ErrorCode::NoSuchAvatar => t!(i18n, "error-no-such-avatar"),
        ErrorCode::InvalidImage => t!(i18n, "error-invalid-image"),
        ErrorCode::NoSuchFile => t!(i18n, "error-no-such-file"),
        ErrorCode::QuotaExceeded => t!(i18n, "error-quota-exceeded"),
        ErrorCode::StorageUnavailable => t!(i18n, "error-storage-unavailable"),
        ErrorCode::Internal => t!(i18n, "error-internal"),
    }
}

/// A refusal in words: the code's sentence, with the server's own message
/// after it for the codes whose message says what the code cannot (which
/// field was refused, what is wrong with an image, how large is allowed).
pub fn refusal(i18n: &I18n, code: ErrorCode, detail: &str) -> String {
    let error = error_code(i18n, code);
    let detail = detail.trim().trim_end_matches('.');
    let tells_more = matches!(
        code,
        ErrorCode::InvalidInput
            | ErrorCode::InvalidImage
            | ErrorCode::TooLarge
            | ErrorCode::QuotaExceeded
    );
    if tells_more && !detail.is_empty() {
        // The message's own full stop goes after the detail.
        let error = error.trim_end_matches(['.', '。']);
        t!(i18n, "error-with-detail", error = error, detail = detail)
    } else {
        error
    }
}

/// Why logging in (or registering, or verifying) failed, as a sentence.
pub fn login_problem(i18n: &I18n, problem: &LoginProblem) -> String {
    match problem {
        LoginProblem::Unreachable { server } => {
            t!(i18n, "problem-unreachable", server = server.as_str())
        }
        LoginProblem::BadAddress(detail) => {
            t!(i18n, "problem-bad-address", detail = detail.as_str())
        }
        LoginProblem::CertificateChanged { .. } => t!(i18n, "problem-certificate-changed"),
        LoginProblem::Untrusted(detail) => t!(i18n, "problem-untrusted", detail = detail.as_str()),
        LoginProblem::WrongPassphrase => t!(i18n, "problem-wrong-passphrase"),
        LoginProblem::EmailNotVerified => t!(i18n, "problem-email-not-verified"),
        LoginProblem::LockedOut {
            retry_in: Some(wait),
        } => t!(
            i18n,
            "problem-locked-out-for",
            seconds = wait.as_secs().max(1)
        ),
        LoginProblem::LockedOut { retry_in: None } => t!(i18n, "problem-locked-out"),
        LoginProblem::Refused { code, message } => refusal(i18n, *code, message),
        // No code: the library's English words are all there are.
        LoginProblem::Other(message) => message.clone(),
    }
}

/// The start of a failure notice: what could not be done.
pub fn about(i18n: &I18n, about: &About) -> String {
    match about {
        About::RoomList => t!(i18n, "about-room-list"),
        About::Rejoin => t!(i18n, "about-rejoin"),
        About::Join(room) => t!(i18n, "about-join", room = room.as_str()),
        About::Create(room) => t!(i18n, "about-create", room = room.as_str()),
        About::Leave(room) => t!(i18n, "about-leave", room = room.as_str()),
        About::Direct(user) => t!(i18n, "about-direct", user = user.as_str()),
        About::MissedMessages => t!(i18n, "about-missed"),
        About::OlderMessages => t!(i18n, "about-older"),
        About::PicturePool => t!(i18n, "about-picture-pool"),
        About::ChoosePicture => t!(i18n, "about-choose-picture"),
        About::UploadPicture => t!(i18n, "about-upload-picture"),
        About::ReadPicture(path) => {
            t!(
                i18n,
                "about-read-picture",
                path = path.display().to_string()
            )
        }
        About::NewCode => t!(i18n, "about-new-code"),
        About::Upload(name) => t!(i18n, "about-upload", name = name.as_str()),
        About::ReadFile(path) => t!(i18n, "about-read-file", path = path.display().to_string()),
        About::Download => t!(i18n, "about-download"),
        About::SaveFile(path) => t!(i18n, "about-save-file", path = path.display().to_string()),
    }
}

/// Why a request failed, without what it was.
pub fn cause(i18n: &I18n, notice: &Notice) -> String {
    match notice.cause {
        Cause::Offline => t!(i18n, "notice-offline"),
        Cause::Refused(code) => refusal(i18n, code, &notice.detail),
        Cause::Other => notice.detail.clone(),
    }
}

/// A whole failure notice as a sentence: what failed, and why.
pub fn notice(i18n: &I18n, notice: &Notice) -> String {
    match (&notice.about, notice.cause) {
        (_, Cause::Offline) => t!(i18n, "notice-offline"),
        (Some(what), _) => t!(
            i18n,
            "notice",
            about = about(i18n, what),
            reason = cause(i18n, notice)
        ),
        (None, _) => cause(i18n, notice),
    }
}

/// Why a name or text was refused before it was sent, as a clause (it
/// follows "Not sent:" and the like).
pub fn validation(i18n: &I18n, error: &ValidationError) -> String {
    match error {
        ValidationError::Username => t!(i18n, "validation-username"),
        ValidationError::Email => t!(i18n, "validation-email"),
        ValidationError::RoomName => t!(i18n, "validation-room-name"),
        ValidationError::EmptyText => t!(i18n, "validation-empty-text"),
        ValidationError::TextTooLong { len, limit } => {
            t!(i18n, "validation-text-too-long", len = *len, limit = *limit)
        }
        ValidationError::AvatarHash => t!(i18n, "validation-avatar-hash"),
        ValidationError::ControlCharacters => t!(i18n, "validation-control-characters"),
        ValidationError::FileHash => t!(i18n, "validation-file-hash"),
        ValidationError::FileName => t!(i18n, "validation-file-name"),
        ValidationError::TooManyAttachments(count) => {
            t!(i18n, "validation-too-many-attachments", count = *count)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::i18n::Language;

    #[test]
    fn refusals_are_worded_by_code_with_the_detail_only_where_it_says_more() {
        let en = I18n::new(Language::English);
        let zh = I18n::new(Language::ChineseSimplified);
        let taken = LoginProblem::Refused {
            code: ErrorCode::UsernameTaken,
            message: "That username is taken".into(),
        };
        assert_eq!(
            login_problem(&en, &taken),
            t!(en, "error-username-taken"),
            "the code's words, not the server's"
        );
        assert_ne!(login_problem(&zh, &taken), login_problem(&en, &taken));
        let bad = refusal(&en, ErrorCode::InvalidImage, "not a PNG.");
        assert!(bad.ends_with("accepts (not a PNG)."), "{bad}");
        let locked = LoginProblem::LockedOut {
            retry_in: Some(Duration::from_millis(30_000)),
        };
        assert!(login_problem(&zh, &locked).contains("30"));
        assert!(en.misses().is_empty() && zh.misses().is_empty());
    }

    #[test]
    fn notices_say_what_failed_and_why() {
        let en = I18n::new(Language::English);
        let join = Notice {
            about: Some(About::Join("books".into())),
            cause: Cause::Refused(ErrorCode::NotMember),
            detail: "not a member".into(),
        };
        let text = notice(&en, &join);
        assert!(text.starts_with("Could not join books: "), "{text}");
        assert!(text.ends_with(&error_code(&en, ErrorCode::NotMember)));
        assert_eq!(
            notice(&en, &Notice::offline()),
            Notice::offline().to_string()
        );
        assert!(en.misses().is_empty());
    }

    #[test]
    fn every_validation_error_has_words() {
        let zh = I18n::new(Language::ChineseSimplified);
        let too_long = ValidationError::TextTooLong {
            len: 4200,
            limit: 4096,
        };
        assert!(validation(&zh, &too_long).contains("4200"));
        assert!(zh.misses().is_empty());
    }
}
