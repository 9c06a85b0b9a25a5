//! Hostile streams from one client while an honest pair chats: random bytes,
//! MessagePack that claims gigabytes, every truncation of real requests,
//! streams never finished or reset, and 10,000 streams at once. Each gets a
//! typed answer (or is simply dropped when the client itself reset it), the
//! bad connection stays usable, and the pair's messages all arrive.
//! (robustness.rs covers one oversized, one garbage and one unfinished stream.)

use std::time::Duration;

use chatroom_client::Session;
use chatroom_common::codec;
use chatroom_common::protocol::{
    ErrorCode, HistoryQuery, IdempotencyKey, OtpAlgorithm, Request, Response,
};
use chatroom_common::skey;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::task::JoinSet;

use super::chatters::{Chat, Chatter};
use chatroom_testkit::{PASS, TestServer, bulk_limits};

/// What a hostile stream got back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// A typed error.
    Error(ErrorCode),
    /// A successful reply (random bytes can spell a harmless request).
    Reply,
    /// The server reset or stopped the stream without an answer.
    Reset,
    /// The connection was closed.
    Closed,
}

/// Sends `bytes` on a new request stream (finished or not) and classifies the answer.
async fn hostile(conn: &quinn::Connection, bytes: &[u8], finish: bool) -> Outcome {
    let Ok((mut send, mut recv)) = conn.open_bi().await else {
        return Outcome::Closed;
    };
    // The server may stop reading an oversized stream: that is an answer too.
    let _ = send.write_all(bytes).await;
    if finish {
        let _ = send.finish();
    }
    match recv.read_to_end(1 << 20).await {
        Ok(reply) => match codec::decode::<Response>(&reply, 1 << 20) {
            Ok(Ok(_)) => Outcome::Reply,
            Ok(Err(e)) => Outcome::Error(e.code),
            Err(e) => panic!("an answer that is not a Response: {e}"),
        },
        Err(quinn::ReadToEndError::Read(quinn::ReadError::ConnectionLost(_))) => Outcome::Closed,
        Err(_) => Outcome::Reset,
    }
}

/// A server with a short request timeout (for the unfinished streams), a
/// chatting honest pair and mallory's raw connection.
async fn setup(dir: &std::path::Path) -> (TestServer, Vec<Chatter>, Chat, Session) {
    let limits = chatroom_server::Limits {
        request_timeout: Duration::from_secs(1),
        ..bulk_limits()
    };
    let server = TestServer::start_with(dir, None, limits).await;
    let pair = vec![
        Chatter::join(&server.addr, &server.pin, "alice").await,
        Chatter::join(&server.addr, &server.pin, "bob").await,
    ];
    let chat = Chat::start(&pair, Duration::from_millis(50));
    let mallory = server.user("mallory").await;
    (server, pair, chat, mallory)
}

/// A request that needs a logged-in user and answers: proof the connection still works.
async fn still_usable(conn: &quinn::Connection) {
    let bytes = codec::encode(&Request::ListRooms).unwrap();
    assert_eq!(hostile(conn, &bytes, true).await, Outcome::Reply);
}

/// MessagePack headers claiming 4 GiB strings, binaries, arrays, maps and
/// extensions, bare and inside real request shapes, and absurd numbers.
fn huge_claims() -> Vec<(Vec<u8>, bool)> {
    const MAX32: [u8; 4] = [0xff; 4];
    let field = |name: &str| {
        let mut v = vec![0xa0 | name.len() as u8];
        v.extend_from_slice(name.as_bytes());
        v
    };
    let mut claims: Vec<(Vec<u8>, bool)> = Vec::new();
    for marker in [0xdb, 0xc6, 0xdd, 0xdf, 0xc9] {
        // str32, bin32, array32, map32, ext32, each with a few real bytes after.
        let mut v = vec![marker];
        v.extend(MAX32);
        v.extend(b"\x01abc");
        claims.push((v, true));
    }
    // {"Send": <map of 4 G entries>}
    let mut v = vec![0x81];
    v.extend(field("Send"));
    v.push(0xdf);
    v.extend(MAX32);
    claims.push((v, true));
    // {"Send": {"room": <4 GiB string> "lob"}}
    let mut v = vec![0x81];
    v.extend(field("Send"));
    v.push(0x83);
    v.extend(field("room"));
    v.push(0xdb);
    v.extend(MAX32);
    v.extend(b"lob");
    claims.push((v, true));
    // {"AvatarUpload": {"image": <4 GiB binary>}}: takes an upload slot, then fails.
    let mut v = vec![0x81];
    v.extend(field("AvatarUpload"));
    v.push(0x81);
    v.extend(field("image"));
    v.push(0xc6);
    v.extend(MAX32);
    v.extend([0u8; 64]);
    claims.push((v, true));
    // A real History request asking for u64::MAX and u32::MAX: answered, clamped.
    let history = Request::History {
        room: "lobby".into(),
        query: HistoryQuery::After {
            after: u64::MAX,
            limit: u32::MAX,
        },
    };
    claims.push((codec::encode(&history).unwrap(), false));
    claims
}

/// Real requests whose every proper prefix is a truncated message.
fn real_requests() -> Vec<Request> {
    vec![
        Request::Send {
            room: "lobby".into(),
            text: "a message that will never arrive whole".into(),
            key: IdempotencyKey([7; 16]),
            attachments: Vec::new(),
        },
        Request::Register {
            username: "truncated".into(),
            email: "t@example.org".into(),
            otp: skey::init(OtpAlgorithm::Sha1, "tr1234", PASS, 100).unwrap(),
        },
        Request::History {
            room: "lobby".into(),
            query: HistoryQuery::Before {
                before: Some(10),
                limit: 20,
            },
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_streams_get_typed_answers_while_an_honest_pair_chats() {
    let dir = tempfile::tempdir().unwrap();
    let (server, pair, chat, mallory) = setup(dir.path()).await;
    let conn = mallory.connection().quic().clone();
    let mut rng = StdRng::seed_from_u64(0x5eed);

    // Random bytes, 0 to 3,000 of them, on 300 streams.
    let mut bad_requests = 0;
    for _ in 0..300 {
        let mut bytes = vec![0u8; rng.random_range(0..3000)];
        rng.fill(&mut bytes[..]);
        match hostile(&conn, &bytes, true).await {
            Outcome::Error(ErrorCode::BadRequest) => bad_requests += 1,
            // A lone small integer, say, decodes as a harmless unit request.
            Outcome::Error(_) | Outcome::Reply => {}
            other => panic!("random bytes got {other:?}"),
        }
    }
    assert!(
        bad_requests >= 200,
        "only {bad_requests} of 300 were refused as bad requests"
    );
    still_usable(&conn).await;

    // Length claims of 4 GiB: refused from the header, nothing allocated.
    for (bytes, must_fail) in huge_claims() {
        let outcome = hostile(&conn, &bytes, true).await;
        if must_fail {
            assert!(
                matches!(
                    outcome,
                    Outcome::Error(ErrorCode::BadRequest | ErrorCode::TooLarge)
                ),
                "{bytes:02x?} got {outcome:?}"
            );
        } else {
            assert!(
                matches!(outcome, Outcome::Reply | Outcome::Error(_)),
                "{outcome:?}"
            );
        }
    }
    still_usable(&conn).await;

    // Every truncation of real requests.
    let mut truncations = 0;
    for request in real_requests() {
        let bytes = codec::encode(&request).unwrap();
        for cut in 0..bytes.len() {
            let outcome = hostile(&conn, &bytes[..cut], true).await;
            assert_eq!(
                outcome,
                Outcome::Error(ErrorCode::BadRequest),
                "{request:?} cut at {cut}"
            );
            truncations += 1;
        }
    }
    still_usable(&conn).await;

    // 100 streams opened and never finished: more than the 64 the server lets
    // one connection have at once, so the rest wait for the first to time out.
    let mut unfinished = JoinSet::new();
    for _ in 0..100 {
        let conn = conn.clone();
        let mut bytes = vec![0x81u8; rng.random_range(1..200)];
        rng.fill(&mut bytes[1..]);
        unfinished.spawn(async move { hostile(&conn, &bytes, false).await });
    }
    while let Some(outcome) = unfinished.join_next().await {
        assert_eq!(outcome.unwrap(), Outcome::Error(ErrorCode::BadRequest));
    }
    // Streams the client resets half-way: nothing to answer, nothing left behind.
    for _ in 0..50 {
        let (mut send, _recv) = conn.open_bi().await.unwrap();
        send.write_all(b"\x81\xa4Send\x83").await.unwrap();
        send.reset(quinn::VarInt::from_u32(0)).unwrap();
    }
    // Clients may not open unidirectional streams at all: no credit is ever given.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), conn.open_uni())
            .await
            .is_err(),
        "the server allowed a unidirectional stream"
    );
    still_usable(&conn).await;

    let posted = chat.finish(&pair).await;
    eprintln!(
        "garbage: 300 random ({bad_requests} BadRequest), {} huge claims, {truncations} truncations, \
         100 unfinished, 50 reset; the pair posted {posted} messages meanwhile, all delivered",
        huge_claims().len()
    );
    assert!(posted > 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "10,000 streams: heavy, run serially by scripts/test.sh"]
async fn ten_thousand_streams_at_once_leave_an_honest_pair_unharmed() {
    const STREAMS: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let (server, pair, chat, mallory) = setup(dir.path()).await;
    let conn = mallory.connection().quic().clone();
    let mut rng = StdRng::seed_from_u64(10_000);
    let started = std::time::Instant::now();
    let mut streams = JoinSet::new();
    for _ in 0..STREAMS {
        let conn = conn.clone();
        let mut bytes = vec![0u8; rng.random_range(1..256)];
        rng.fill(&mut bytes[..]);
        streams.spawn(async move { hostile(&conn, &bytes, true).await });
    }
    let (mut errors, mut replies, mut resets, mut closed) = (0, 0, 0, 0);
    let all = async {
        while let Some(outcome) = streams.join_next().await {
            match outcome.unwrap() {
                Outcome::Error(_) => errors += 1,
                Outcome::Reply => replies += 1,
                Outcome::Reset => resets += 1,
                Outcome::Closed => closed += 1,
            }
        }
    };
    // A bound for "every stream was dealt with", not a speed target.
    tokio::time::timeout(Duration::from_secs(300), all)
        .await
        .expect("every one of the 10,000 streams was answered, reset or closed");
    let took = started.elapsed();
    eprintln!(
        "10,000 streams: {errors} typed errors, {replies} replies, {resets} resets, {closed} closed, in {took:?}"
    );
    assert_eq!(errors + replies + resets + closed, STREAMS);
    // The server answers each with a typed error rather than closing.
    assert_eq!(closed, 0);
    assert!(errors >= STREAMS * 2 / 3, "{errors} typed errors");
    still_usable(&conn).await;
    let posted = chat.finish(&pair).await;
    eprintln!("10,000 streams: the pair posted {posted} messages meanwhile, all delivered");
    assert!(posted > 0);
    server.stop().await;
}
