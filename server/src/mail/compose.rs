//! The mails' content, built with lettre's `MessageBuilder`, `MultiPart`,
//! `SinglePart` and `Attachment`: lettre encodes every header, so a username or
//! server name can never add a header of its own.
//!
//! The welcome mail is `multipart/mixed`: a `multipart/alternative` (plain text,
//! then `multipart/related` with the HTML and the avatar it shows by `cid:`),
//! and the avatar again as a PNG attachment.

use std::time::Duration;

use chatroom_common::protocol::Timestamp;
use lettre::Message;
use lettre::message::header::{ContentType, ContentTypeErr};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

/// The attachment's file name.
pub const AVATAR_FILE_NAME: &str = "avatar.png";

/// Why a mail could not be composed; retrying does not help.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// The recipient address does not parse (it passed at registration, so the
    /// parser changed or the database was edited).
    #[error("recipient: {0}")]
    Recipient(#[from] super::BadAddress),
    /// lettre refused the message.
    #[error("building the message: {0}")]
    Build(#[from] lettre::error::Error),
    /// A content type did not parse.
    #[error("content type: {0}")]
    ContentType(#[from] ContentTypeErr),
}

/// A verification code to put in a mail.
#[derive(Debug, Clone, Copy)]
pub struct CodeNotice<'a> {
    /// The six digits.
    pub code: &'a str,
    /// How long it stays valid.
    pub valid_for: Duration,
}

/// What the welcome mail says.
#[derive(Debug, Clone, Copy)]
pub struct Welcome<'a> {
    /// The server's name.
    pub server_name: &'a str,
    /// The username as registered.
    pub username: &'a str,
    /// When the account was created.
    pub registered_at: Timestamp,
    /// The user's avatar (PNG), shown inline and attached.
    pub avatar_png: Option<&'a [u8]>,
    /// The verification code, while the account waits for one.
    pub code: Option<CodeNotice<'a>>,
}

/// The recipient: the username as display name (lettre encodes it), the address
/// as lettre parses it.
pub fn recipient(username: &str, email: &str) -> Result<Mailbox, ComposeError> {
    let address = super::parse_address(email).map_err(ComposeError::from)?;
    Ok(Mailbox::new(Some(header_text(username)), address))
}

/// The welcome mail's subject.
pub fn welcome_subject(server_name: &str, username: &str) -> String {
    header_text(&format!("Welcome to {server_name}, {username}"))
}

/// The verification mail's subject.
pub fn verification_subject(server_name: &str) -> String {
    header_text(&format!("Your {server_name} verification code"))
}

/// Text for a header value with control characters (CR, LF, ...) made spaces.
/// lettre encodes them so they could not start a header anyway, but formatting
/// a display name that holds one fails inside lettre, and usernames never hold
/// them; the operator's server name might.
fn header_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// "Registration succeeded": greeting, registration time (UTC), server, how to
/// log in, the avatar, and the code while verification is pending.
pub fn welcome(from: &Mailbox, to: Mailbox, mail: &Welcome<'_>) -> Result<Message, ComposeError> {
    let when = format_utc(mail.registered_at);
    let cid = format!("avatar.{:016x}@chatroom", rand::random::<u64>());
    let plain = welcome_plain(mail, &when);
    let html = welcome_html(mail, &when, mail.avatar_png.map(|_| cid.as_str()));
    let png = ContentType::parse("image/png")?;
    let body = match mail.avatar_png {
        Some(avatar) => MultiPart::mixed()
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::plain(plain))
                    .multipart(
                        MultiPart::related()
                            .singlepart(SinglePart::html(html))
                            .singlepart(
                                Attachment::new_inline(cid).body(avatar.to_vec(), png.clone()),
                            ),
                    ),
            )
            .singlepart(Attachment::new(AVATAR_FILE_NAME.to_owned()).body(avatar.to_vec(), png)),
        None => MultiPart::alternative_plain_html(plain, html),
    };
    Ok(Message::builder()
        .from(from.clone())
        .to(to)
        .subject(welcome_subject(mail.server_name, mail.username))
        .multipart(body)?)
}

/// A new verification code, asked for after registration.
pub fn verification(
    from: &Mailbox,
    to: Mailbox,
    server_name: &str,
    username: &str,
    code: CodeNotice<'_>,
) -> Result<Message, ComposeError> {
    let valid_for = spoken_duration(code.valid_for);
    let plain = format!(
        "Hello {username},\n\n\
         here is a new code to confirm your e-mail address on {server_name}:\n\n    {}\n\n\
         It is valid for {valid_for}; earlier codes no longer work. Enter it in the Chatroom app,\n\
         or run: chatroom-cli verify {username} {}\n\n\
         If you did not ask for it, you can ignore this mail.\n\n-- \n{server_name}\n",
        code.code, code.code
    );
    let html = format!(
        "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n\
         <p>Hello {user},</p>\n\
         <p>here is a new code to confirm your e-mail address on {server}:</p>\n\
         <p style=\"font-size: 2em; letter-spacing: 0.2em\"><b>{code}</b></p>\n\
         <p>It is valid for {valid_for}; earlier codes no longer work. Enter it in the Chatroom app,\n\
         or run <code>chatroom-cli verify {user} {code}</code>.</p>\n\
         <p>If you did not ask for it, you can ignore this mail.</p>\n\
         <p>&mdash; {server}</p>\n</body></html>\n",
        user = escape_html(username),
        server = escape_html(server_name),
        code = escape_html(code.code),
    );
    Ok(Message::builder()
        .from(from.clone())
        .to(to)
        .subject(verification_subject(server_name))
        .multipart(MultiPart::alternative_plain_html(plain, html))?)
}

fn welcome_plain(mail: &Welcome<'_>, when: &str) -> String {
    let (user, server) = (mail.username, mail.server_name);
    let mut text =
        format!("Hello {user},\n\nyour account \"{user}\" on {server} was created on {when}.\n\n");
    if let Some(code) = mail.code {
        text.push_str(&format!(
            "Before your first login, confirm this e-mail address with the code\n\n    {}\n\n\
             It is valid for {}. Enter it in the Chatroom app when it asks, or run:\n    \
             chatroom-cli verify {user} {}\n\
             No code in time? Ask for a new one in the app, or: chatroom-cli resend-verification {user}\n\n",
            code.code,
            spoken_duration(code.valid_for),
            code.code
        ));
    }
    text.push_str(&format!(
        "How to log in: open the Chatroom app (or chatroom-cli), connect to {server} and log in as\n\
         \"{user}\" with the passphrase you chose. The passphrase never leaves your computer: the\n\
         app logs in with one-time passwords (S/KEY) computed from it, so nobody, not even the\n\
         server, learns it. Nobody will ever ask you for it.\n\n"
    ));
    if mail.avatar_png.is_some() {
        text.push_str(
            "Your avatar is attached (avatar.png); you can pick another one in the app at any time.\n\n",
        );
    }
    text.push_str(&format!(
        "If you did not register, you can ignore this mail.\n\n-- \n{server}\n"
    ));
    text
}

fn welcome_html(mail: &Welcome<'_>, when: &str, avatar_cid: Option<&str>) -> String {
    let user = escape_html(mail.username);
    let server = escape_html(mail.server_name);
    let mut html =
        String::from("<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n");
    if let Some(cid) = avatar_cid {
        html.push_str(&format!(
            "<p><img src=\"cid:{}\" alt=\"Your avatar\" width=\"128\" height=\"128\"></p>\n",
            escape_html(cid)
        ));
    }
    html.push_str(&format!(
        "<p>Hello {user},</p>\n\
         <p>your account <b>{user}</b> on <b>{server}</b> was created on {when}.</p>\n"
    ));
    if let Some(code) = mail.code {
        html.push_str(&format!(
            "<p>Before your first login, confirm this e-mail address with the code</p>\n\
             <p style=\"font-size: 2em; letter-spacing: 0.2em\"><b>{code}</b></p>\n\
             <p>It is valid for {valid_for}. Enter it in the Chatroom app when it asks, or run\n\
             <code>chatroom-cli verify {user} {code}</code>. No code in time? Ask for a new one in\n\
             the app, or run <code>chatroom-cli resend-verification {user}</code>.</p>\n",
            code = escape_html(code.code),
            valid_for = spoken_duration(code.valid_for),
        ));
    }
    html.push_str(&format!(
        "<p><b>How to log in:</b> open the Chatroom app (or <code>chatroom-cli</code>), connect to\n\
         {server} and log in as <b>{user}</b> with the passphrase you chose. The passphrase never\n\
         leaves your computer: the app logs in with one-time passwords (S/KEY) computed from it,\n\
         so nobody, not even the server, learns it. Nobody will ever ask you for it.</p>\n"
    ));
    if avatar_cid.is_some() {
        html.push_str(
            "<p>Your avatar is attached too; you can pick another one in the app at any time.</p>\n",
        );
    }
    html.push_str(&format!(
        "<p>If you did not register, you can ignore this mail.</p>\n<p>&mdash; {server}</p>\n\
         </body></html>\n"
    ));
    html
}

/// A duration in words: "15 minutes", "1 minute", "30 seconds".
fn spoken_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 && secs.is_multiple_of(60) {
        let m = secs / 60;
        format!("{m} minute{}", if m == 1 { "" } else { "s" })
    } else {
        let s = secs.max(1);
        format!("{s} second{}", if s == 1 { "" } else { "s" })
    }
}

/// A timestamp as `2026-11-29 17:11:28 UTC`.
pub fn format_utc(at: Timestamp) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => format!("{at} ms after 1970-01-01 UTC"),
    }
}

/// Text safe inside HTML elements and attribute values.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from() -> Mailbox {
        "Chatroom <chat@example.org>".parse().expect("mailbox")
    }

    fn text(message: &Message) -> String {
        String::from_utf8_lossy(&message.formatted()).into_owned()
    }

    #[test]
    fn utc_times_are_formatted() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_795_000_000_999), "2026-11-18 11:06:40 UTC");
    }

    #[test]
    fn the_welcome_mail_has_both_alternatives_and_the_avatar_twice() {
        let png = b"\x89PNG\r\n\x1a\nnot really";
        let to = recipient("Alice", "alice@example.org").expect("recipient");
        let message = welcome(
            &from(),
            to,
            &Welcome {
                server_name: "Test <server>",
                username: "Alice",
                registered_at: 0,
                avatar_png: Some(png),
                code: Some(CodeNotice {
                    code: "012345",
                    valid_for: Duration::from_secs(900),
                }),
            },
        )
        .expect("compose");
        let raw = text(&message);
        assert!(
            raw.contains("Subject: Welcome to Test <server>, Alice"),
            "{raw}"
        );
        assert!(raw.contains("To: Alice <alice@example.org>"), "{raw}");
        assert!(raw.contains("multipart/mixed"));
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("multipart/related"));
        assert!(raw.contains("Content-Type: text/plain"));
        assert!(raw.contains("Content-Type: text/html"));
        assert!(raw.contains("Content-Disposition: inline"));
        assert!(raw.contains("Content-Disposition: attachment; filename=\"avatar.png\""));
        assert!(raw.contains("Content-ID: <avatar."));
    }

    #[test]
    fn the_texts_say_what_matters() {
        let mail = Welcome {
            server_name: "Test <server>",
            username: "Alice",
            registered_at: 0,
            avatar_png: Some(b"png"),
            code: Some(CodeNotice {
                code: "012345",
                valid_for: Duration::from_secs(900),
            }),
        };
        let when = format_utc(0);
        let plain = welcome_plain(&mail, &when);
        let html = welcome_html(&mail, &when, Some("avatar.1@chatroom"));
        for text in [&plain, &html] {
            assert!(text.contains("Hello Alice"), "{text}");
            assert!(text.contains("1970-01-01 00:00:00 UTC"), "{text}");
            assert!(text.contains("012345"), "{text}");
            assert!(text.contains("15 minutes"), "{text}");
            assert!(text.contains("log in as"), "{text}");
        }
        assert!(plain.contains("Test <server>"));
        // The server name is escaped in the HTML, and the picture comes by cid.
        assert!(html.contains("Test &lt;server&gt;"));
        assert!(!html.contains("Test <server>"));
        assert!(html.contains("src=\"cid:avatar.1@chatroom\""));
    }

    #[test]
    fn without_an_avatar_it_is_just_the_alternatives() {
        let to = recipient("bob", "bob@example.org").expect("recipient");
        let message = welcome(
            &from(),
            to,
            &Welcome {
                server_name: "Chatroom",
                username: "bob",
                registered_at: 0,
                avatar_png: None,
                code: None,
            },
        )
        .expect("compose");
        let raw = text(&message);
        assert!(raw.contains("multipart/alternative"));
        assert!(!raw.contains("multipart/mixed"));
        assert!(!raw.contains("cid:"));
        assert!(!raw.contains("verify"));
    }

    #[test]
    fn names_cannot_inject_headers() {
        let to = recipient("x\r\nBcc: victim@example.org", "x@example.org").expect("recipient");
        let message = verification(
            &from(),
            to,
            "Evil\r\nBcc: victim@example.org",
            "x",
            CodeNotice {
                code: "000000",
                valid_for: Duration::from_secs(60),
            },
        )
        .expect("compose");
        let raw = text(&message);
        let headers = raw.split("\r\n\r\n").next().unwrap_or_default();
        assert!(
            !headers.lines().any(|line| line.starts_with("Bcc:")),
            "a header was injected:\n{raw}"
        );
        assert!(
            message
                .envelope()
                .to()
                .iter()
                .all(|a| a.to_string() == "x@example.org")
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(spoken_duration(Duration::from_secs(900)), "15 minutes");
        assert_eq!(spoken_duration(Duration::from_secs(60)), "1 minute");
        assert_eq!(spoken_duration(Duration::from_millis(1500)), "1 second");
        assert_eq!(spoken_duration(Duration::from_secs(90)), "90 seconds");
    }
}
