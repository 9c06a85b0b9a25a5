//! No passphrase, one-time password or chain start value in any log: the
//! server binary runs with `RUST_LOG=trace` through registration, login,
//! re-initialisation and a failed login, and the client library logs at trace
//! level into a buffer; both logs are searched for every form a secret could
//! take (hex with and without spaces, six words, decimal, byte lists).

use std::io::Write;
use std::sync::{Arc, Mutex};

use chatroom_client::Session;
use chatroom_common::protocol::{ErrorCode, OtpAlgorithm, OtpValue, Reply, Request};
use chatroom_common::skey;

use super::raw::RawClient;
use chatroom_testkit::process::{ServerProcess, strip_ansi};

/// This test's passphrase: distinctive, so any appearance is a leak.
const SECRET_PASS: &str = "sphinx of black quartz 42";
/// A wrong guess: a failed login must not log what was tried either.
const WRONG_PASS: &str = "not the right passphrase 7";

/// Every way a one-time password might be written into a log.
fn forms(value: OtpValue) -> Vec<String> {
    let hex = skey::to_hex(value);
    let words = skey::to_words(value);
    vec![
        hex.clone(),
        hex.replace(' ', ""),
        hex.to_lowercase(),
        hex.replace(' ', "").to_lowercase(),
        words.clone(),
        words.to_lowercase(),
        u64::from_be_bytes(value.0).to_string(),
        u64::from_le_bytes(value.0).to_string(),
        format!("{:?}", value.0),
        format!("{:02x?}", value.0),
    ]
}

/// The secrets (by name, for the failure message) found in `log`.
fn leaks(log: &str, secrets: &[(String, OtpValue)], phrases: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for phrase in phrases {
        if log.contains(phrase) {
            found.push(format!("passphrase {phrase:?}"));
        }
    }
    for (name, value) in secrets {
        for form in forms(*value) {
            if log.contains(&form) {
                found.push(format!("{name} as {form:?}"));
            }
        }
    }
    found
}

/// A `MakeWriter` that appends to a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Asks for a challenge and returns (algorithm, seed, count).
async fn challenge(client: &RawClient, user: &str) -> (OtpAlgorithm, String, u32) {
    match client
        .request(&Request::LoginStart {
            username: user.into(),
        })
        .await
    {
        Ok(Reply::Challenge(c)) => (c.algorithm, c.seed, c.count),
        other => panic!("expected a challenge, got {other:?}"),
    }
}

// current_thread: every client task runs on this thread, so the thread-local
// subscriber below sees all of the client library's events.
#[tokio::test]
#[ignore = "runs the server binary with trace logging; scripts/test.sh runs it serially"]
async fn no_passphrase_or_one_time_password_reaches_a_log() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _client_logs = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), "trace", &[]).await;
    let mut secrets: Vec<(String, OtpValue)> = Vec::new();

    // Registration, by hand, so the chain's start value is known.
    let raw = RawClient::connect(&server.addr, &server.pin, 16).await;
    let init = skey::init(OtpAlgorithm::Md5, "se1234", SECRET_PASS, 500).unwrap();
    secrets.push(("registration start value".into(), init.otp));
    let register = Request::Register {
        username: "vera".into(),
        email: "vera@example.org".into(),
        otp: init,
    };
    assert!(matches!(
        raw.request(&register).await,
        Ok(Reply::Registered { .. })
    ));

    // A login.
    let (alg, seed, count) = challenge(&raw, "vera").await;
    let response = skey::otp(alg, &seed, SECRET_PASS, count).unwrap();
    secrets.push((format!("login OTP {count}"), response));
    let finish = Request::LoginFinish {
        username: "vera".into(),
        response,
    };
    assert!(matches!(
        raw.request(&finish).await,
        Ok(Reply::LoggedIn { .. })
    ));

    // Re-initialisation with a new seed and algorithm.
    let reinit = skey::init(OtpAlgorithm::Sha1, "re5678", SECRET_PASS, 300).unwrap();
    secrets.push(("re-initialisation start value".into(), reinit.otp));
    let reply = raw.request(&Request::ReinitOtp { otp: reinit }).await;
    assert!(
        matches!(reply, Ok(Reply::OtpReinitialised { .. })),
        "{reply:?}"
    );
    raw.close().await;

    // A failed login with a wrong passphrase, on a fresh connection.
    let raw = RawClient::connect(&server.addr, &server.pin, 16).await;
    let (alg, seed, count) = challenge(&raw, "vera").await;
    let wrong = skey::otp(alg, &seed, WRONG_PASS, count).unwrap();
    secrets.push(("wrong-passphrase OTP".into(), wrong));
    // The right answer to this challenge was never sent, but is a secret too.
    let right = skey::otp(alg, &seed, SECRET_PASS, count).unwrap();
    secrets.push((format!("unused OTP {count}"), right));
    let finish = Request::LoginFinish {
        username: "vera".into(),
        response: wrong,
    };
    let err = raw.request(&finish).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::AuthFailed, "{err:?}");
    raw.close().await;

    // The library's own path: register, log in, re-initialise.
    let mut session = Session::connect(&server.addr, &server.pin).await.unwrap();
    session
        .register("wendy", "wendy@example.org", SECRET_PASS, OtpAlgorithm::Md4)
        .await
        .unwrap();
    let peek = session.challenge("wendy").await.unwrap();
    let library_otp = skey::otp(peek.algorithm, &peek.seed, SECRET_PASS, peek.count).unwrap();
    secrets.push(("library login OTP".into(), library_otp));
    let outcome = session.login("wendy", SECRET_PASS, None).await.unwrap();
    assert_eq!(outcome.answered_count, peek.count);
    session
        .reinit(SECRET_PASS, OtpAlgorithm::Md5)
        .await
        .unwrap();
    session.close().await;

    let log_path = server.log.clone();
    server.stop().await;
    let server_log = strip_ansi(&std::fs::read_to_string(&log_path).unwrap());
    let client_log = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();

    // The logs are real: every step left its line, so an empty or truncated
    // log cannot pass.
    for needle in [
        "registered",
        "user=vera",
        "user=wendy",
        "logged in",
        "one-time password chain re-initialised",
        "failed login",
        "hello",
        "TRACE",
    ] {
        assert!(
            server_log.contains(needle),
            "the server log has no {needle:?}"
        );
    }
    assert!(
        client_log.contains("TRACE") || client_log.contains("DEBUG"),
        "the client log is empty"
    );
    // And the search finds a secret where there is one.
    let planted = format!("x {} y", skey::to_words(secrets[0].1).to_lowercase());
    assert!(!leaks(&planted, &secrets, &[]).is_empty());

    let phrases = [SECRET_PASS, WRONG_PASS];
    let server_leaks = leaks(&server_log, &secrets, &phrases);
    assert!(
        server_leaks.is_empty(),
        "the server log holds {server_leaks:?}"
    );
    let client_leaks = leaks(&client_log, &secrets, &phrases);
    assert!(
        client_leaks.is_empty(),
        "the client log holds {client_leaks:?}"
    );
    eprintln!(
        "secrets in logs: {} secrets in 10 forms each plus 2 passphrases; server log {} lines, client log {} lines; none found",
        secrets.len(),
        server_log.lines().count(),
        client_log.lines().count()
    );
}
