//! Pushed streams read out of order: a presence change or a room left that
//! arrives after a newer one about the same user or room must not undo it.
//!
//! The real server cannot be made to deliver two streams in a chosen order,
//! so a scripted peer stands in for it on a real QUIC connection: it answers
//! `Hello`, opens stream 0 and writes nothing on it, writes stream 1 whole,
//! and only once the client has taken stream 1's events writes stream 0. The
//! client library is the real one, as every app and bot uses it.

use std::sync::Arc;
use std::time::Duration;

use chatroom_client::{Trust, connection};
use chatroom_common::codec;
use chatroom_common::protocol::{
    ALPN, Event, MAX_RESPONSE_BYTES, PROTOCOL_VERSION, Reply, Request, Response, RoomInfo,
    RoomKind, UserInfo,
};
use chatroom_server::tls;
use tokio::sync::{mpsc, oneshot};

/// Longest wait for anything in this test.
const WAIT: Duration = Duration::from_secs(20);

fn presence(user: &str, online: bool) -> Event {
    Event::Presence {
        room: "lobby".into(),
        user: UserInfo {
            username: user.into(),
            avatar: None,
        },
        online,
    }
}

fn room_added(name: &str) -> Event {
    Event::RoomAdded(RoomInfo {
        name: name.into(),
        kind: RoomKind::Public,
        latest_seq: 0,
        peer: None,
        member: true,
    })
}

/// A QUIC endpoint on `127.0.0.1:0` with a freshly generated certificate,
/// and the pin a client trusts it by.
fn scripted_endpoint(dir: &std::path::Path) -> (quinn::Endpoint, Trust) {
    let paths = tls::generate(dir, &tls::server_names(&[])).unwrap();
    let (chain, key) = tls::load(&paths.cert, &paths.key).unwrap();
    let ca = tls::load_certs(&paths.ca).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(config).unwrap();
    let server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let endpoint = quinn::Endpoint::server(server, "127.0.0.1:0".parse().unwrap()).unwrap();
    (endpoint, Trust::Pin(tls::fingerprint(&ca[0])))
}

/// Answers the client's `Hello` on its request stream.
async fn answer_hello(conn: &quinn::Connection) {
    let (mut send, mut recv) = conn.accept_bi().await.unwrap();
    let bytes = recv.read_to_end(MAX_RESPONSE_BYTES).await.unwrap();
    let request: Request = codec::decode(&bytes, MAX_RESPONSE_BYTES).unwrap();
    assert!(matches!(request, Request::Hello { .. }), "{request:?}");
    let reply: Response = Ok(Reply::Hello {
        server: "scripted".into(),
        version: PROTOCOL_VERSION,
        max_text_bytes: 4096,
    });
    send.write_all(&codec::encode(&reply).unwrap())
        .await
        .unwrap();
    send.finish().unwrap();
}

/// Writes one event on a stream and finishes it.
async fn push(stream: &mut quinn::SendStream, event: &Event) {
    stream
        .write_all(&codec::encode(event).unwrap())
        .await
        .unwrap();
    stream.finish().unwrap();
}

/// The next event the client library hands on.
async fn next(events: &mut mpsc::Receiver<Event>) -> Event {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("an event in time")
        .expect("events open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_stream_read_late_does_not_undo_a_newer_one() {
    let dir = tempfile::tempdir().unwrap();
    let (endpoint, trust) = scripted_endpoint(dir.path());
    let addr = endpoint.local_addr().unwrap();
    let (newer_taken_tx, newer_taken) = oneshot::channel::<()>();
    let script = tokio::spawn(async move {
        let conn = endpoint.accept().await.unwrap().await.unwrap();
        answer_hello(&conn).await;
        // Stream 0 happened first: carol went away, the user left "rust",
        // dave came. Opened, but its bytes are held back.
        let mut older = conn.open_uni().await.unwrap();
        // Stream 1 happened after: carol is back, the user is in "rust" again.
        let mut newer = conn.open_uni().await.unwrap();
        assert!(older.id().index() < newer.id().index());
        push(
            &mut newer,
            &Event::Batch {
                events: vec![presence("carol", true), room_added("rust")],
            },
        )
        .await;
        newer_taken.await.unwrap();
        push(
            &mut older,
            &Event::Batch {
                events: vec![
                    presence("carol", false),
                    Event::RoomLeft {
                        room: "rust".into(),
                    },
                    presence("dave", true),
                ],
            },
        )
        .await;
        // Held open until the client is done reading.
        conn.closed().await;
        endpoint.wait_idle().await;
    });

    let mut client = connection::connect(&addr.to_string(), &trust)
        .await
        .expect("connects to the scripted peer");
    let mut events = client.take_events().unwrap();
    assert_eq!(next(&mut events).await, presence("carol", true));
    assert_eq!(next(&mut events).await, room_added("rust"));
    newer_taken_tx.send(()).unwrap();
    // Stream 0's events come in its order; what stream 1 superseded is not
    // among them, so dave's arrival is the next thing the client is given.
    assert_eq!(
        next(&mut events).await,
        presence("dave", true),
        "carol's departure and leaving \"rust\" were older than what was shown"
    );
    client.close().await;
    tokio::time::timeout(WAIT, script)
        .await
        .expect("the script ends")
        .unwrap();
}
