//! Registration, S/KEY login, replay, races, lock-out, re-initialisation, trust.

use chatroom_client::{ClientError, Session, Trust};
use chatroom_common::protocol::{ErrorCode, OtpAlgorithm, PROTOCOL_VERSION, Reply, Request};
use chatroom_common::skey;

use chatroom_testkit::{PASS, TestServer};

fn code(e: &ClientError) -> Option<ErrorCode> {
    e.code()
}

#[tokio::test]
async fn register_then_login_and_wrong_passphrase_fails() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let s = server.connect().await;
    let user = s
        .register("Alice", "alice@example.org", PASS, OtpAlgorithm::Md5)
        .await
        .unwrap()
        .user;
    assert_eq!(user.username, "Alice");
    let again = s
        .register("alice", "a2@example.org", PASS, OtpAlgorithm::Md5)
        .await
        .unwrap_err();
    assert_eq!(code(&again), Some(ErrorCode::UsernameTaken));

    let mut ok = server.connect().await;
    let outcome = ok.login("alice", PASS, None).await.unwrap();
    assert_eq!(outcome.user.username, "Alice");
    assert_eq!(outcome.otp_remaining, 999);

    let mut bad = server.connect().await;
    let err = bad
        .login("alice", "wrong passphrase!", None)
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(ErrorCode::AuthFailed), "{err}");
    // An unknown user gets the same answer as a wrong passphrase.
    let mut ghost = server.connect().await;
    let err = ghost.login("nobody", PASS, None).await.unwrap_err();
    assert_eq!(code(&err), Some(ErrorCode::AuthFailed), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn bad_registration_input_is_refused_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let s = server.connect().await;
    // Caught locally, before anything is sent.
    assert!(matches!(
        s.register("bob", "bob@example.org", "short", OtpAlgorithm::Md5)
            .await,
        Err(ClientError::Skey(_))
    ));
    assert!(matches!(
        s.register("b", "bob@example.org", PASS, OtpAlgorithm::Md5)
            .await,
        Err(ClientError::Invalid(_))
    ));
    // Caught by the server when a client sends it anyway.
    let otp = skey::init(OtpAlgorithm::Md5, "ab12", PASS, 10).unwrap();
    let raw = Request::Register {
        username: "'; DROP TABLE users; --".into(),
        email: "x@example.org".into(),
        otp: otp.clone(),
    };
    let err = s.connection().request(&raw).await.unwrap_err();
    assert_eq!(code(&err), Some(ErrorCode::InvalidInput));
    let mut bad_seed = otp;
    bad_seed.seed = "not a seed!".into();
    let raw = Request::Register {
        username: "bob".into(),
        email: "bob@example.org".into(),
        otp: bad_seed,
    };
    let err = s.connection().request(&raw).await.unwrap_err();
    assert_eq!(code(&err), Some(ErrorCode::InvalidInput));
    server.stop().await;
}

#[tokio::test]
async fn replayed_one_time_password_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    server.user("carol").await;

    let a = server.connect().await;
    let challenge = a.challenge("carol").await.unwrap();
    let response = skey::otp(challenge.algorithm, &challenge.seed, PASS, challenge.count).unwrap();
    let finish = Request::LoginFinish {
        username: "carol".into(),
        response,
    };
    assert!(matches!(
        a.connection().request(&finish).await,
        Ok(Reply::LoggedIn { .. })
    ));
    // Someone who overheard that response tries it on a new connection.
    let b = server.connect().await;
    let next = b.challenge("carol").await.unwrap();
    assert_eq!(next.count, challenge.count - 1);
    let err = b.connection().request(&finish).await.unwrap_err();
    assert_eq!(code(&err), Some(ErrorCode::AuthFailed));
    // A finish without a challenge on this connection is refused too.
    let c = server.connect().await;
    let err = c.connection().request(&finish).await.unwrap_err();
    assert_eq!(code(&err), Some(ErrorCode::AuthFailed));
    server.stop().await;
}

#[tokio::test]
async fn fifty_racing_logins_with_one_response_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    server.user("dave").await;
    let mut sessions = Vec::new();
    let mut challenge = None;
    for _ in 0..50 {
        let s = server.connect().await;
        challenge = Some(s.challenge("dave").await.unwrap());
        sessions.push(s);
    }
    let challenge = challenge.unwrap();
    let response = skey::otp(challenge.algorithm, &challenge.seed, PASS, challenge.count).unwrap();
    let mut tasks = Vec::new();
    for s in sessions {
        tasks.push(tokio::spawn(async move {
            let r = s
                .connection()
                .request(&Request::LoginFinish {
                    username: "dave".into(),
                    response,
                })
                .await;
            (r, s)
        }));
    }
    let mut wins = 0;
    for t in tasks {
        let (r, _s) = t.await.unwrap();
        match r {
            Ok(Reply::LoggedIn { .. }) => wins += 1,
            Err(e) => assert!(
                matches!(code(&e), Some(ErrorCode::AuthFailed | ErrorCode::LockedOut)),
                "{e}"
            ),
            Ok(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wins, 1);
    server.stop().await;
}

#[tokio::test]
async fn repeated_failures_lock_the_account_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    server.user("erin").await;
    let mut last = None;
    for _ in 0..6 {
        let mut s = server.connect().await;
        last = Some(
            s.login("erin", "not the passphrase", None)
                .await
                .unwrap_err(),
        );
    }
    let err = last.unwrap();
    assert_eq!(code(&err), Some(ErrorCode::LockedOut), "{err}");
    match err {
        ClientError::Server(reply) => assert!(reply.retry_after_ms.is_some()),
        other => panic!("{other}"),
    }
    // Even the right passphrase waits until the lock-out ends.
    let mut s = server.connect().await;
    let err = s.login("erin", PASS, None).await.unwrap_err();
    assert_eq!(code(&err), Some(ErrorCode::LockedOut));
    server.stop().await;
}

#[tokio::test]
async fn chain_is_reinitialised_when_it_runs_low() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let s = server.connect().await;
    // A chain of 10: the first login leaves 9, below the threshold.
    let otp = skey::init(OtpAlgorithm::Sha1, "zz0001", PASS, 10).unwrap();
    s.connection()
        .request(&Request::Register {
            username: "frank".into(),
            email: "frank@example.org".into(),
            otp,
        })
        .await
        .unwrap();
    let mut first = server.connect().await;
    let outcome = first.login("frank", PASS, None).await.unwrap();
    assert!(outcome.reinitialised);
    assert_eq!(
        outcome.otp_remaining,
        chatroom_client::session::DEFAULT_CHAIN
    );
    // The new chain works, with a new seed.
    let mut second = server.connect().await;
    let challenge = second.challenge("frank").await.unwrap();
    assert_ne!(challenge.seed, "zz0001");
    let outcome = second.login("frank", PASS, None).await.unwrap();
    assert!(!outcome.reinitialised);
    server.stop().await;
}

#[tokio::test]
async fn a_reused_challenge_count_is_refused_by_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    server.user("gina").await;
    let mut s = server.connect().await;
    let challenge = s.challenge("gina").await.unwrap();
    // Pretend we answered this count before: a server asking again is suspicious.
    let err = s
        .login("gina", PASS, Some(challenge.count))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Protocol(_)), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn old_protocol_version_is_told_to_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let s = server.connect().await;
    let err = s
        .connection()
        .request(&Request::Hello {
            version: PROTOCOL_VERSION + 1,
            client: "future".into(),
            batches: false,
        })
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(ErrorCode::UpgradeRequired));
    assert!(err.to_string().contains("upgrade"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn certificates_are_verified_by_ca_or_pin_and_never_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    Session::connect(&server.addr, &server.ca).await.unwrap();
    Session::connect(&server.addr, &server.pin).await.unwrap();
    let wrong = Trust::Pin([7; 32]);
    assert!(matches!(
        Session::connect(&server.addr, &wrong).await,
        Err(ClientError::Tls(_))
    ));
    // Another server's CA is not this server's.
    let other_dir = tempfile::tempdir().unwrap();
    let other = TestServer::start(other_dir.path()).await;
    assert!(matches!(
        Session::connect(&server.addr, &other.ca).await,
        Err(ClientError::Tls(_))
    ));
    // The probe reports the fingerprint the server prints.
    let seen = chatroom_client::connection::probe_fingerprint(&server.addr)
        .await
        .unwrap();
    assert_eq!(Trust::Pin(seen), server.pin);
    other.stop().await;
    server.stop().await;
}
