//! Bad input and faults: oversized and garbage streams, dropped clients, shutdown.

use std::time::Duration;

use chatroom_client::ClientError;
use chatroom_common::codec;
use chatroom_common::protocol::{ErrorCode, Event, MAX_REQUEST_BYTES, MAX_TEXT_BYTES, Response};

use chatroom_testkit::{TestServer, next_event};

/// Sends raw bytes on a new request stream and decodes the answer.
async fn raw_request(conn: &quinn::Connection, bytes: &[u8]) -> Option<Response> {
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    // The server may stop reading an oversized stream; that is an answer too.
    let _ = send.write_all(bytes).await;
    let _ = send.finish();
    let reply = recv.read_to_end(1 << 20).await.ok()?;
    codec::decode(&reply, 1 << 20).ok()
}

#[tokio::test]
async fn oversize_and_garbage_streams_get_errors_and_the_connection_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice = server.user("alice").await;
    let conn = alice.connection().quic().clone();

    let huge = vec![0x91u8; MAX_REQUEST_BYTES * 4];
    match raw_request(&conn, &huge).await {
        Some(Err(e)) => assert_eq!(e.code, ErrorCode::TooLarge),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    match raw_request(&conn, b"\xc1\xff garbage \x00").await {
        Some(Err(e)) => assert_eq!(e.code, ErrorCode::BadRequest),
        other => panic!("expected BadRequest, got {other:?}"),
    }
    // Truncated msgpack: a valid prefix of a real request.
    let real = codec::encode(&chatroom_common::protocol::Request::ListRooms).unwrap();
    match raw_request(&conn, &real[..real.len() - 1]).await {
        Some(Err(e)) => assert_eq!(e.code, ErrorCode::BadRequest),
        other => panic!("expected BadRequest, got {other:?}"),
    }
    // Too long a message is a typed error, not a dropped stream.
    let long = "长".repeat(MAX_TEXT_BYTES);
    let raw = chatroom_common::protocol::Request::Send {
        room: "lobby".into(),
        text: long,
        key: chatroom_client::session::new_key(),
        attachments: Vec::new(),
    };
    match alice.connection().request(&raw).await {
        Err(ClientError::Server(e)) => {
            assert!(
                matches!(e.code, ErrorCode::InvalidInput | ErrorCode::TooLarge),
                "{e:?}"
            )
        }
        other => panic!("expected an error, got {other:?}"),
    }
    // The same connection still works, and so does everyone else's.
    alice.send("lobby", "still here").await.unwrap();
    let bob = server.user("bob").await;
    bob.send("lobby", "me too").await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_stream_never_finished_times_out_without_harm() {
    let dir = tempfile::tempdir().unwrap();
    let limits = chatroom_server::Limits {
        request_timeout: Duration::from_millis(300),
        ..chatroom_testkit::bulk_limits()
    };
    let server = TestServer::start_with(dir.path(), None, limits).await;
    let alice = server.user("alice").await;
    let conn = alice.connection().quic().clone();
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    send.write_all(b"\x81").await.unwrap(); // never finished
    let reply = tokio::time::timeout(Duration::from_secs(5), recv.read_to_end(1 << 16))
        .await
        .expect("server answers an unfinished request")
        .unwrap();
    let response: Response = codec::decode(&reply, 1 << 16).unwrap();
    assert_eq!(response.unwrap_err().code, ErrorCode::BadRequest);
    alice.send("lobby", "fine").await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn requests_before_hello_or_login_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let s = server.connect().await;
    let err = s.rooms().await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotLoggedIn));
    let err = s.send("lobby", "hi").await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotLoggedIn));
    server.stop().await;
}

#[tokio::test]
async fn a_client_dropped_mid_chat_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut alice = server.user("alice").await;
    let mut a_events = alice.take_events().unwrap();
    alice.join("lobby").await.unwrap();
    {
        let bob = server.user("bob").await;
        bob.join("lobby").await.unwrap();
        bob.send("lobby", "bye").await.unwrap();
        // Bob's connection is dropped without a close: every handle goes away.
        drop(bob);
    }
    for i in 0..5 {
        alice
            .send("lobby", &format!("still talking {i}"))
            .await
            .unwrap();
    }
    let carol = server.user("carol").await;
    carol.send("lobby", "hello alice").await.unwrap();
    next_event(&mut a_events, |e| match e {
        Event::Message(m) if m.text == "hello alice" => Some(()),
        _ => None,
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_tells_clients_why() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice = server.user("alice").await;
    let sent = alice.send("lobby", "acknowledged").await.unwrap();
    server.stop().await;
    let reason = tokio::time::timeout(Duration::from_secs(10), alice.connection().closed())
        .await
        .unwrap();
    assert!(reason.to_string().contains("shutting down"), "{reason}");
    // What was acknowledged is there after a restart.
    let server = TestServer::start(dir.path()).await;
    let alice = server.login("alice").await;
    let joined = alice.join("lobby").await.unwrap();
    assert_eq!(joined.history.last().unwrap().seq, sent.seq);
    server.stop().await;
}

#[tokio::test]
async fn flooding_gets_slow_down_with_a_retry_time_and_the_retry_works() {
    let dir = tempfile::tempdir().unwrap();
    // Production limits: 5 messages/s, bursts of 10; 5 registrations per address at once.
    let server = TestServer::start_with(dir.path(), None, chatroom_server::Limits::default()).await;
    let alice = server.user("alice").await;
    let mut limited = None;
    for i in 0..30 {
        match alice.send("lobby", &format!("flood {i}")).await {
            Ok(_) => {}
            Err(e) => {
                limited = Some((i, e));
                break;
            }
        }
    }
    let (sent, err) = limited.expect("the flood is limited");
    assert!(sent >= 10, "the burst of 10 goes through, got {sent}");
    let ClientError::Server(reply) = err else {
        panic!("expected a server answer")
    };
    assert_eq!(reply.code, ErrorCode::RateLimited);
    assert!(reply.message.contains("slow down"), "{}", reply.message);
    let wait = reply.retry_after_ms.expect("a retry time");
    assert!(wait > 0 && wait <= 1000, "{wait}");
    tokio::time::sleep(Duration::from_millis(wait)).await;
    alice.send("lobby", "after waiting").await.unwrap();
    // Other users are not affected by alice's flood.
    let bob = server.user("bob").await;
    bob.send("lobby", "unaffected").await.unwrap();
    // Registrations from one address are limited too.
    let mut refused = None;
    for i in 0..10 {
        let s = server.connect().await;
        if let Err(e) = s
            .register(
                &format!("user{i}"),
                "u@example.org",
                chatroom_testkit::PASS,
                chatroom_common::protocol::OtpAlgorithm::Md5,
            )
            .await
        {
            refused = Some(e);
            break;
        }
    }
    let err = refused.expect("registrations are limited");
    assert_eq!(err.code(), Some(ErrorCode::RateLimited), "{err}");
    server.stop().await;
}
