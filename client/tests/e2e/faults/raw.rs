//! A client on a bare quinn connection, for faults the library never commits:
//! it chooses how many pushed streams the server may open towards it and
//! whether it accepts them at all, so it can stall like a frozen reader.

use std::sync::Arc;
use std::time::Duration;

use chatroom_client::{Trust, connection, tls};
use chatroom_common::codec;
use chatroom_common::protocol::{
    ALPN, Event, HistoryQuery, MAX_EVENT_BYTES, MAX_RESPONSE_BYTES, OtpAlgorithm, PROTOCOL_VERSION,
    Reply, Request, Response, Seq,
};
use chatroom_common::skey;
use quinn::VarInt;

use chatroom_testkit::PASS;

/// A connection that has said `Hello`.
pub struct RawClient {
    /// The QUIC connection.
    pub conn: quinn::Connection,
    /// Its own endpoint, closed with it.
    endpoint: quinn::Endpoint,
}

impl RawClient {
    /// Connects to `addr` allowing the server `push_streams` open pushed streams
    /// at once (it can push no more until this client reads one), and says hello.
    pub async fn connect(addr: &str, trust: &Trust, push_streams: u32) -> Self {
        Self::connect_with(addr, trust, push_streams, false).await
    }

    /// [`RawClient::connect`], saying in `Hello` whether it reads `Batch` events.
    pub async fn connect_with(addr: &str, trust: &Trust, push_streams: u32, batches: bool) -> Self {
        let (sock, host) = connection::resolve(addr).await.unwrap();
        let endpoint = connection::endpoint_for(sock).unwrap();
        let mut tls = tls::client_config(trust).unwrap();
        tls.alpn_protocols = vec![ALPN.to_vec()];
        let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
        let mut config = quinn::ClientConfig::new(Arc::new(crypto));
        let mut transport = quinn::TransportConfig::default();
        transport
            .keep_alive_interval(Some(Duration::from_secs(5)))
            .max_idle_timeout(Some(Duration::from_secs(20).try_into().unwrap()))
            .max_concurrent_bidi_streams(VarInt::from_u32(0))
            .max_concurrent_uni_streams(VarInt::from_u32(push_streams));
        config.transport_config(Arc::new(transport));
        let conn = endpoint
            .connect_with(config, sock, &host)
            .unwrap()
            .await
            .expect("handshake");
        let client = Self { conn, endpoint };
        let hello = Request::Hello {
            version: PROTOCOL_VERSION,
            client: "fault-test raw client".into(),
            batches,
        };
        assert!(matches!(
            client.request(&hello).await,
            Ok(Reply::Hello { .. })
        ));
        client
    }

    /// One request on its own stream; the server's answer.
    pub async fn request(&self, request: &Request) -> Response {
        let (mut send, mut recv) = self.conn.open_bi().await.expect("opening a stream");
        send.write_all(&codec::encode(request).unwrap())
            .await
            .expect("writing a request");
        send.finish().unwrap();
        let bytes = recv
            .read_to_end(MAX_RESPONSE_BYTES)
            .await
            .expect("reading a response");
        codec::decode(&bytes, MAX_RESPONSE_BYTES).expect("a decodable response")
    }

    /// Logs in as `user` (with the harness passphrase).
    pub async fn login(&self, user: &str) {
        let challenge = match self
            .request(&Request::LoginStart {
                username: user.into(),
            })
            .await
        {
            Ok(Reply::Challenge(c)) => c,
            other => panic!("expected a challenge, got {other:?}"),
        };
        let response =
            skey::otp(challenge.algorithm, &challenge.seed, PASS, challenge.count).unwrap();
        let finish = Request::LoginFinish {
            username: user.into(),
            response,
        };
        assert!(
            matches!(self.request(&finish).await, Ok(Reply::LoggedIn { .. })),
            "login as {user}"
        );
    }

    /// Registers `user` with the harness passphrase.
    pub async fn register(&self, user: &str) {
        let otp = skey::init(OtpAlgorithm::Md5, "fa1234", PASS, 1000).unwrap();
        let request = Request::Register {
            username: user.into(),
            email: format!("{user}@example.org"),
            otp,
        };
        assert!(matches!(
            self.request(&request).await,
            Ok(Reply::Registered { .. })
        ));
    }

    /// Joins `room`; returns the room's latest sequence number from the reply.
    pub async fn join(&self, room: &str) -> Seq {
        match self.request(&Request::JoinRoom { room: room.into() }).await {
            Ok(Reply::Joined { history, .. }) => history.last().map_or(0, |m| m.seq),
            other => panic!("expected Joined, got {other:?}"),
        }
    }

    /// Up to 200 messages after `after`, and the room's latest sequence number.
    pub async fn history_after(
        &self,
        room: &str,
        after: Seq,
    ) -> (Vec<chatroom_common::protocol::ChatMessage>, Seq) {
        let request = Request::History {
            room: room.into(),
            query: HistoryQuery::After { after, limit: 200 },
        };
        match self.request(&request).await {
            Ok(Reply::History {
                messages,
                latest_seq,
            }) => (messages, latest_seq),
            other => panic!("expected History, got {other:?}"),
        }
    }

    /// Starts reading pushed events (until now none were accepted): each
    /// stream in a task of its own, as the library does.
    pub fn read_events(&self) -> tokio::sync::mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let conn = self.conn.clone();
        tokio::spawn(async move {
            while let Ok(mut stream) = conn.accept_uni().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Ok(bytes) = stream.read_to_end(MAX_EVENT_BYTES).await
                        && let Ok(event) = codec::decode::<Event>(&bytes, MAX_EVENT_BYTES)
                    {
                        let _ = tx.send(event);
                    }
                });
            }
        });
        rx
    }

    /// Closes politely.
    pub async fn close(self) {
        self.conn.close(VarInt::from_u32(0), b"bye");
        let _ = tokio::time::timeout(Duration::from_secs(2), self.endpoint.wait_idle()).await;
    }
}
