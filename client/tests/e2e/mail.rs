//! Registration mail against a real SMTP server: Debian's python3-aiosmtpd on
//! a loopback port, storing what it receives in a Maildir, which the tests
//! parse with mail-parser. Also the file transport, e-mail verification and
//! bad addresses.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chatroom_client::ClientError;
use chatroom_common::protocol::{ErrorCode, OtpAlgorithm, Request};
use chatroom_common::skey;
use chatroom_server::MailConfig;
use mail_parser::{MessageParser, MimeHeaders};

use chatroom_testkit::mail::{
    SmtpServer, code_in, free_port, mails_to, raw_mails, smtp_mail, to_address,
};
use chatroom_testkit::{PASS, TestServer, bulk_limits};

fn server_error(e: &ClientError) -> (ErrorCode, String, Option<u64>) {
    match e {
        ClientError::Server(reply) => (reply.code, reply.message.clone(), reply.retry_after_ms),
        other => panic!("expected a server error, got {other}"),
    }
}

#[tokio::test]
async fn registration_mail_arrives_with_the_avatar_inline_and_attached() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("maildir");
    let port = free_port();
    let _smtp = SmtpServer::start(port, &maildir);
    let server = TestServer::start_with_mail(
        &dir.path().join("server"),
        None,
        bulk_limits(),
        smtp_mail(port),
    )
    .await;

    let before = std::time::SystemTime::now();
    let s = server.connect().await;
    let registered = s
        .register("Alice", "alice@example.org", PASS, OtpAlgorithm::Md5)
        .await
        .unwrap();
    assert!(!registered.verification_required);
    let hash = registered.user.avatar.expect("an avatar from the pool");

    let raw = mails_to(&maildir, "alice@example.org", 1).await.remove(0);
    let message = MessageParser::default()
        .parse(&raw)
        .expect("the mail parses");
    // aiosmtpd records the envelope recipient too.
    assert_eq!(
        message.header_raw("X-RcptTo").map(str::trim),
        Some("alice@example.org")
    );
    assert_eq!(message.subject(), Some("Welcome to Chatroom, Alice"));
    let from = message.from().and_then(|a| a.first()).expect("From");
    assert_eq!(from.address(), Some("chat@example.org"));
    assert_eq!(from.name(), Some("Chatroom Test"));
    let to = message.to().and_then(|a| a.first()).expect("To");
    assert_eq!(to.name(), Some("Alice"));

    // Both alternatives, saying what matters.
    let text = message.body_text(0).expect("plain text").into_owned();
    let html = message.body_html(0).expect("HTML").into_owned();
    assert!(
        message
            .text_part(0)
            .is_some_and(|p| p.is_content_type("text", "plain"))
    );
    assert!(
        message
            .html_part(0)
            .is_some_and(|p| p.is_content_type("text", "html"))
    );
    for body in [&text, &html] {
        assert!(body.contains("Hello Alice"), "{body}");
        assert!(body.contains("Chatroom"), "{body}");
        assert!(body.contains("log in as"), "{body}");
        assert!(body.contains(" UTC"), "{body}");
    }
    // The registration time, in UTC, to the minute (the test may straddle one).
    let year = time::OffsetDateTime::from(before).year().to_string();
    assert!(text.contains(&format!("created on {year}-")), "{text}");

    // The inline picture the HTML references by Content-ID, and the attachment.
    let pngs: Vec<_> = message
        .parts
        .iter()
        .filter(|p| p.is_content_type("image", "png"))
        .collect();
    assert_eq!(pngs.len(), 2, "the avatar inline and attached");
    let inline = pngs
        .iter()
        .find(|p| p.content_id().is_some())
        .expect("an inline part with a Content-ID");
    let cid = inline
        .content_id()
        .unwrap()
        .trim_matches(|c| c == '<' || c == '>');
    assert!(html.contains(&format!("cid:{cid}")), "{html}");
    assert!(
        inline
            .content_disposition()
            .is_some_and(|d| d.ctype() == "inline")
    );
    let attached = pngs
        .iter()
        .find(|p| p.attachment_name() == Some("avatar.png"))
        .expect("avatar.png attached");
    assert!(
        attached
            .content_disposition()
            .is_some_and(|d| d.ctype() == "attachment")
    );

    // Both are the user's avatar, byte for byte, and a real 128×128 PNG.
    let alice = server.login("Alice").await;
    let avatar = alice.avatar(hash).await.unwrap();
    assert_eq!(attached.contents(), &avatar[..]);
    assert_eq!(inline.contents(), &avatar[..]);
    let decoded = image::load_from_memory_with_format(attached.contents(), image::ImageFormat::Png)
        .expect("the attachment decodes as PNG");
    assert_eq!((decoded.width(), decoded.height()), (128, 128));
    server.stop().await;
}

#[tokio::test]
async fn mail_waits_for_a_down_smtp_server_even_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("maildir");
    let data = dir.path().join("server");
    let port = free_port();
    let mail = smtp_mail(port);

    // Nobody listens on the port: registration still succeeds at once.
    let server = TestServer::start_with_mail(&data, None, bulk_limits(), mail.clone()).await;
    let s = server.connect().await;
    let started = Instant::now();
    s.register("alice", "alice@example.org", PASS, OtpAlgorithm::Md5)
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    // A few attempts fail meanwhile; then the SMTP server comes up.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let smtp = SmtpServer::start(port, &maildir);
    mails_to(&maildir, "alice@example.org", 1).await;

    // Down again: bob registers, and the chat server stops before it can send.
    drop(smtp);
    s.register("bob", "bob@example.org", PASS, OtpAlgorithm::Md5)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.close().await;
    server.stop().await;
    assert!(
        raw_mails(&maildir)
            .iter()
            .all(|raw| to_address(raw).as_deref() != Some("bob@example.org"))
    );

    // SMTP back, then the chat server on the same data directory: the queued
    // mail goes out, and alice's is not sent twice.
    let _smtp = SmtpServer::start(port, &maildir);
    let server = TestServer::start_with_mail(&data, None, bulk_limits(), mail).await;
    let bob = mails_to(&maildir, "bob@example.org", 1).await;
    let message = MessageParser::default().parse(&bob[0]).expect("parses");
    assert_eq!(message.subject(), Some("Welcome to Chatroom, bob"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mails_to(&maildir, "alice@example.org", 1).await.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn verification_gates_login_with_limited_tries_and_resends() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("maildir");
    let port = free_port();
    let _smtp = SmtpServer::start(port, &maildir);
    let mail = MailConfig {
        require_verification: true,
        resend_interval: Duration::from_millis(1500),
        ..smtp_mail(port)
    };
    let server =
        TestServer::start_with_mail(&dir.path().join("server"), None, bulk_limits(), mail).await;
    let s = server.connect().await;
    let registered = s
        .register("carol", "carol@example.org", PASS, OtpAlgorithm::Md5)
        .await
        .unwrap();
    assert!(registered.verification_required);

    // No login before verification.
    let mut early = server.connect().await;
    let err = early.login("carol", PASS, None).await.unwrap_err();
    let (code, message, _) = server_error(&err);
    assert_eq!(code, ErrorCode::EmailNotVerified, "{message}");
    assert!(message.contains("code"), "{message}");

    let welcome = mails_to(&maildir, "carol@example.org", 1).await.remove(0);
    let first = code_in(&welcome).expect("a code");
    let wrong = format!("{:06}", (first.parse::<u32>().unwrap() + 1) % 1_000_000);

    // A wrong code, counted.
    let err = s.verify_email("carol", &wrong).await.unwrap_err();
    let (code, message, _) = server_error(&err);
    assert_eq!(code, ErrorCode::AuthFailed);
    assert!(message.contains("4 tries left"), "{message}");
    // Not a code at all: refused without counting.
    let err = s.verify_email("carol", "12345").await.unwrap_err();
    assert_eq!(server_error(&err).0, ErrorCode::InvalidInput);

    // Resending right after registration is too soon.
    let err = s.resend_verification("carol").await.unwrap_err();
    let (code, message, retry) = server_error(&err);
    assert_eq!(code, ErrorCode::RateLimited, "{message}");
    assert!(
        retry.is_some_and(|ms| (1..=1500).contains(&ms)),
        "{retry:?}"
    );

    // Four more wrong codes use the code up; then even the right one is refused.
    for _ in 0..4 {
        s.verify_email("carol", &wrong).await.unwrap_err();
    }
    let err = s.verify_email("carol", &first).await.unwrap_err();
    let (code, message, _) = server_error(&err);
    assert_eq!(code, ErrorCode::AuthFailed);
    assert!(message.contains("void"), "{message}");

    // A new code, once the rate limit allows.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    s.resend_verification("carol").await.unwrap();
    let err = s.resend_verification("carol").await.unwrap_err();
    assert_eq!(server_error(&err).0, ErrorCode::RateLimited);
    let mails = mails_to(&maildir, "carol@example.org", 2).await;
    let second = mails
        .iter()
        .find(|raw| {
            MessageParser::default()
                .parse(raw)
                .is_some_and(|m| m.subject() == Some("Your Chatroom verification code"))
        })
        .expect("the verification mail");
    let second = code_in(second).expect("a code");
    if second != first {
        // The old code no longer works.
        s.verify_email("carol", &first).await.unwrap_err();
    }
    s.verify_email("carol", &format!("{} {}", &second[..3], &second[3..]))
        .await
        .unwrap();

    // Verified: login works, and there is nothing left to verify or resend.
    let mut late = server.connect().await;
    late.login("carol", PASS, None).await.unwrap();
    let err = s.verify_email("carol", &second).await.unwrap_err();
    assert_eq!(server_error(&err).0, ErrorCode::InvalidInput);
    let err = s.resend_verification("carol").await.unwrap_err();
    assert_eq!(server_error(&err).0, ErrorCode::InvalidInput);
    // Unknown users get the same answer as verified ones.
    let err = s.verify_email("nobody", &second).await.unwrap_err();
    assert_eq!(server_error(&err).0, ErrorCode::InvalidInput);
    server.stop().await;
}

#[tokio::test]
async fn expired_codes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("maildir");
    let port = free_port();
    let _smtp = SmtpServer::start(port, &maildir);
    let mail = MailConfig {
        require_verification: true,
        code_ttl: Duration::from_secs(3),
        resend_interval: Duration::from_millis(100),
        ..smtp_mail(port)
    };
    let server =
        TestServer::start_with_mail(&dir.path().join("server"), None, bulk_limits(), mail).await;
    let s = server.connect().await;
    s.register("dave", "dave@example.org", PASS, OtpAlgorithm::Md5)
        .await
        .unwrap();
    let welcome = mails_to(&maildir, "dave@example.org", 1).await.remove(0);
    let expired = code_in(&welcome).expect("a code");
    assert!(
        MessageParser::default()
            .parse(&welcome)
            .and_then(|m| m.body_text(0).map(|t| t.contains("valid for 3 seconds")))
            .unwrap_or(false)
    );
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let err = s.verify_email("dave", &expired).await.unwrap_err();
    let (code, message, _) = server_error(&err);
    assert_eq!(code, ErrorCode::AuthFailed);
    assert!(message.contains("expired"), "{message}");

    // A fresh code works.
    s.resend_verification("dave").await.unwrap();
    let mails = mails_to(&maildir, "dave@example.org", 2).await;
    let fresh = mails
        .iter()
        .filter_map(|raw| code_in(raw))
        .find(|c| *c != expired)
        .unwrap_or(expired.clone());
    s.verify_email("dave", &fresh).await.unwrap();
    server.login("dave").await;
    server.stop().await;
}

#[tokio::test]
async fn without_smtp_the_mail_is_an_eml_file_in_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let s = server.connect().await;
    s.register("erin", "erin@example.org", PASS, OtpAlgorithm::Md5)
        .await
        .unwrap();
    let outbox = dir.path().join("outbox");
    let raw = mails_to(&outbox, "erin@example.org", 1).await.remove(0);
    let message = MessageParser::default().parse(&raw).expect("parses");
    assert_eq!(message.subject(), Some("Welcome to Chatroom, erin"));
    assert!(
        message
            .body_text(0)
            .is_some_and(|t| t.contains("Hello erin"))
    );
    assert!(message.body_html(0).is_some());
    assert!(
        message
            .attachments()
            .any(|p| p.attachment_name() == Some("avatar.png"))
    );
    let files: Vec<PathBuf> = std::fs::read_dir(&outbox)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        files
            .iter()
            .all(|p| p.extension().is_some_and(|e| e == "eml")),
        "{files:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn unusable_addresses_are_refused_before_any_account_exists() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let s = server.connect().await;
    let otp = skey::init(OtpAlgorithm::Md5, "ab12", PASS, 10).unwrap();
    for email in [
        "a@b@c",
        "\"x\"@",
        "x@example.org\r\nBcc: victim@example.org",
        "x\n@example.org",
        "a<b>@example.org",
        "frank@exa(mple.org",
    ] {
        let raw = Request::Register {
            username: "frank".into(),
            email: email.into(),
            otp: otp.clone(),
        };
        let err = s.connection().request(&raw).await.unwrap_err();
        let (code, message, _) = server_error(&err);
        assert_eq!(code, ErrorCode::InvalidInput, "{email:?}: {message}");
        assert!(
            message.contains("e-mail") || message.contains("mail"),
            "{email:?}: {message}"
        );
    }
    // No account was created: the name is free, and no mail was queued for it.
    let outbox = dir.path().join("outbox");
    assert!(raw_mails(&outbox).is_empty());
    let mut probe = server.connect().await;
    let err = probe.login("frank", PASS, None).await.unwrap_err();
    assert_eq!(server_error(&err).0, ErrorCode::AuthFailed);
    s.register("frank", "frank@example.org", PASS, OtpAlgorithm::Md5)
        .await
        .unwrap();
    assert_eq!(mails_to(&outbox, "frank@example.org", 1).await.len(), 1);
    server.stop().await;
}
