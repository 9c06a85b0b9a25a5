//! Validation of user-supplied names and text, shared by client (early, friendly
//! errors) and server (the authority).

use crate::protocol::{MAX_ATTACHMENTS, MAX_FILE_NAME_BYTES, MAX_TEXT_BYTES};

/// Why a name or text was refused; the message is shown to users as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// Username length or characters.
    #[error(
        "a username is 2 to 32 letters, digits, '_', '-' or '.', starting with a letter or digit"
    )]
    Username,
    /// E-mail shape.
    #[error("that does not look like an e-mail address")]
    Email,
    /// Room name length or characters.
    #[error("a room name is 1 to 32 letters, digits, '_' or '-'")]
    RoomName,
    /// Empty text.
    #[error("the message is empty")]
    EmptyText,
    /// Text over the size limit.
    #[error("the message is {len} bytes; the limit is {limit}")]
    TextTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// An avatar hash that is not 64 hex digits.
    #[error("an avatar hash is 64 hexadecimal digits")]
    AvatarHash,
    /// A file hash that is not 64 hex digits.
    #[error("a file hash is 64 hexadecimal digits")]
    FileHash,
    /// Control characters other than newline and tab.
    #[error("the message contains control characters")]
    ControlCharacters,
    /// A file name that is empty, too long or has control characters.
    #[error("a file name is 1 to {MAX_FILE_NAME_BYTES} bytes without control characters")]
    FileName,
    /// More attachments than one message may carry.
    #[error("a message carries at most {MAX_ATTACHMENTS} files; this one has {0}")]
    TooManyAttachments(usize),
}

/// Checks a username and returns its case-folded key, which is what makes
/// usernames unique case-insensitively. Letters of any script are allowed, so
/// `张伟` is a valid name.
pub fn username_key(name: &str) -> Result<String, ValidationError> {
    let count = name.chars().count();
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(char::is_alphanumeric);
    let rest_ok = name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !(2..=32).contains(&count) || !first_ok || !rest_ok {
        return Err(ValidationError::Username);
    }
    Ok(name.to_lowercase())
}

/// A light shape check: the server parses addresses fully before sending mail.
pub fn email(address: &str) -> Result<(), ValidationError> {
    let ok = address.len() <= 254
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
        && address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    if ok {
        Ok(())
    } else {
        Err(ValidationError::Email)
    }
}

/// Checks a public room name and returns it case-folded (room names are keys).
pub fn room_name(name: &str) -> Result<String, ValidationError> {
    let count = name.chars().count();
    let ok = (1..=32).contains(&count)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-'));
    if ok {
        Ok(name.to_lowercase())
    } else {
        Err(ValidationError::RoomName)
    }
}

/// The name of the direct room between two users: the same whoever opens it.
pub fn direct_room_name(a: &str, b: &str) -> String {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    if a <= b {
        format!("dm:{a}:{b}")
    } else {
        format!("dm:{b}:{a}")
    }
}

/// Checks chat text: non-empty, within [`MAX_TEXT_BYTES`], no control characters
/// but newline and tab (they would garble other users' screens).
pub fn text(text: &str) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        return Err(ValidationError::EmptyText);
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(ValidationError::TextTooLong {
            len: text.len(),
            limit: MAX_TEXT_BYTES,
        });
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ValidationError::ControlCharacters);
    }
    Ok(())
}

/// Checks the text of a message with `attachments` files: it may be empty
/// (only whitespace) when files come with it, and is otherwise [`text`].
pub fn message(text: &str, attachments: usize) -> Result<(), ValidationError> {
    if attachments > MAX_ATTACHMENTS {
        return Err(ValidationError::TooManyAttachments(attachments));
    }
    if attachments > 0 && text.is_empty() {
        return Ok(());
    }
    self::text(text)
}

/// The name to show for a file: the last part of `name` after any `/` or `\`
/// (a sender's folders are not the room's business), trimmed; refused when
/// that is empty, over [`MAX_FILE_NAME_BYTES`] or holds control characters.
pub fn file_name(name: &str) -> Result<String, ValidationError> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if base.is_empty()
        || base == "."
        || base == ".."
        || base.len() > MAX_FILE_NAME_BYTES
        || base.chars().any(char::is_control)
    {
        return Err(ValidationError::FileName);
    }
    Ok(base.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_folders_and_bad_ones_are_refused() {
        assert_eq!(file_name("photo.jpg").as_deref(), Ok("photo.jpg"));
        assert_eq!(file_name("/home/a/照片 1.png").as_deref(), Ok("照片 1.png"));
        assert_eq!(file_name("C:\\Users\\a\\x.pdf").as_deref(), Ok("x.pdf"));
        assert_eq!(file_name(" report.txt ").as_deref(), Ok("report.txt"));
        for bad in ["", "dir/", "..", "a\nb", &"x".repeat(256)] {
            assert_eq!(file_name(bad), Err(ValidationError::FileName), "{bad:?}");
        }
    }

    #[test]
    fn a_message_with_files_may_have_no_text() {
        assert_eq!(message("", 1), Ok(()));
        assert_eq!(message("", 0), Err(ValidationError::EmptyText));
        assert_eq!(message("hi", 0), Ok(()));
        assert_eq!(
            message("a\u{7}", 2),
            Err(ValidationError::ControlCharacters)
        );
        assert_eq!(
            message("hi", MAX_ATTACHMENTS + 1),
            Err(ValidationError::TooManyAttachments(MAX_ATTACHMENTS + 1))
        );
    }

    #[test]
    fn usernames() {
        assert_eq!(username_key("Alice").as_deref(), Ok("alice"));
        assert_eq!(username_key("张伟").as_deref(), Ok("张伟"));
        assert!(username_key("a").is_err());
        assert!(username_key("_alice").is_err());
        assert!(username_key("'; DROP TABLE users; --").is_err());
        assert!(username_key(&"a".repeat(33)).is_err());
        assert!(username_key("al ice").is_err());
    }

    #[test]
    fn emails() {
        assert!(email("a@example.org").is_ok());
        assert!(email("a@localhost").is_err());
        assert!(email("a b@example.org").is_err());
        assert!(email("a@example.org\r\nBcc: x@y.z").is_err());
        assert!(email("@example.org").is_err());
    }

    #[test]
    fn rooms() {
        assert_eq!(room_name("Lobby").as_deref(), Ok("lobby"));
        assert_eq!(room_name("闲聊").as_deref(), Ok("闲聊"));
        assert!(room_name("").is_err());
        assert!(room_name("dm:a:b").is_err());
        assert_eq!(direct_room_name("Bob", "alice"), "dm:alice:bob");
        assert_eq!(direct_room_name("alice", "Bob"), "dm:alice:bob");
    }

    #[test]
    fn texts() {
        assert!(text("你好，世界 👋").is_ok());
        assert!(text("two\nlines").is_ok());
        assert_eq!(text("  "), Err(ValidationError::EmptyText));
        assert!(matches!(
            text(&"x".repeat(MAX_TEXT_BYTES + 1)),
            Err(ValidationError::TextTooLong { .. })
        ));
        assert_eq!(text("bell\u{7}"), Err(ValidationError::ControlCharacters));
    }
}
