//! A verified QUIC connection to a server: one bidirectional stream per
//! request, and a reader that decodes every pushed event stream concurrently.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use chatroom_common::codec;
use chatroom_common::protocol::{
    ALPN, ErrorCode, Event, MAX_EVENT_BYTES, MAX_RESPONSE_BYTES, PROTOCOL_VERSION, Reply, Request,
    Response, close_code, stream_code,
};
use quinn::{ConnectionError, Endpoint, RecvStream, VarInt};
use tokio::sync::{Semaphore, mpsc};
use tracing::debug;

use crate::ClientError;
use crate::event_read;
use crate::framed::Framed;
use crate::stream_credit::{self, StreamCredit};
use crate::tls::{self, Trust};

/// How long a connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Events buffered before the reader stops accepting streams (the server then
/// queues, and past its limit tells us to resync).
const EVENT_BUFFER: usize = 8192;
/// Bytes one stream may have in flight towards us unread: a download's
/// throughput is at most this per round trip (10 MiB/s at 100 ms); events
/// are far smaller.
const STREAM_RECEIVE_WINDOW: u32 = 1024 * 1024;
/// Bytes all streams together may have in flight unread: what a server
/// can make this client buffer, whatever the number of streams (quinn's
/// default is unlimited).
const RECEIVE_WINDOW: u32 = 4 * 1024 * 1024;
/// How often a quiet connection sends a PING. It keeps NAT bindings open
/// (they commonly expire after 30 s) and, more to the point, gives the idle
/// timer below something to be answered: a dead server is noticed only when
/// pings go unanswered. Four per idle period, plus QUIC's own probe
/// retransmissions in between, so a lossy path has many chances to get one
/// answer through before the connection is given up.
pub const KEEP_ALIVE: Duration = Duration::from_secs(2);
/// A connection that hears nothing from the server for this long is closed,
/// and the chat worker starts reconnecting. QUIC restarts this timer on every
/// packet received and on the first packet sent after that, so a server that
/// vanishes is noticed between `IDLE_TIMEOUT` and `IDLE_TIMEOUT + KEEP_ALIVE`
/// (8–10 s) after its last packet. Shorter would turn a few seconds of
/// outage (a Wi-Fi hand-over, a congested uplink) into a reconnect, a fresh
/// login and presence flapping for everyone; longer leaves the app showing
/// "connected" to a dead server. quinn never times out sooner than three
/// probe timeouts, so a path with a very long round trip gets longer
/// automatically. The server's own limit is higher; QUIC uses the smaller of
/// the two (docs/operations.md).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(8);
/// How long one node of a list gets to answer before the next is tried
/// beside it. A node that is down (a `kill -9`, a dead machine) never
/// answers, and a handshake waits the whole idle timeout for it; a live node
/// answers within a round trip or two. Long enough that a slow link does not
/// open a second connection for nothing, short enough that a reconnect after
/// a node died is back within seconds (docs/cluster.md).
pub const NEXT_NODE_AFTER: Duration = Duration::from_secs(1);
/// How long [`Connection::close`] waits for the close to reach the server.
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// UDP socket buffers asked for: a busy room's burst overflows Linux's
/// default 208 KiB, and a datagram dropped there is a retransmission later
/// (the kernel caps the request at `net.core.rmem_max`/`wmem_max`).
const SOCKET_BUFFER_BYTES: usize = 4 << 20;

/// An open, `Hello`-checked connection.
pub struct Connection {
    /// The QUIC connection.
    conn: quinn::Connection,
    /// The local endpoint (kept so it can be drained on close).
    endpoint: Endpoint,
    /// Decoded server events, until taken.
    events: Option<mpsc::Receiver<Event>>,
    /// The one stream every request goes on, for a server in the benchmark's
    /// `--stream-mode single`; `None` in the protocol (a stream per request).
    framed: Option<Framed>,
    /// The server's name from `Hello`.
    server_name: String,
    /// The pushed-stream credit granted so far (`stream_credit`), as the
    /// event reader last set it.
    push_credit: Arc<AtomicU32>,
    /// Permits for uploads and downloads in progress ([`TRANSFERS_AT_ONCE`]).
    pub(crate) transfers: Semaphore,
}

/// Uploads and downloads one connection runs at once; more wait their turn.
/// A transfer holds its request stream until its last byte, and the server
/// lets a client open 16 at once (docs/protocol.md), so without this bound a
/// user saving or sending many large files would leave no stream for a chat
/// message until one finished: text must never wait behind files.
pub const TRANSFERS_AT_ONCE: usize = 8;

/// How the server pushes events; the reader must match the server's mode.
pub use chatroom_common::protocol::StreamMode as EventStreams;

/// How [`connect_with`] connects.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// How the server pushes events.
    pub event_streams: EventStreams,
    /// A QUIC endpoint shared with other connections (one UDP socket and one
    /// driver task for many connections, as the benchmark does); `None` binds
    /// a new one for this connection.
    pub endpoint: Option<Endpoint>,
}

/// Splits `host:port` (or `[v6]:port`) and resolves it.
pub async fn resolve(server: &str) -> Result<(SocketAddr, String), ClientError> {
    let bad = || ClientError::Address(format!("{server:?} (expected HOST:PORT)"));
    let (host, port) = server.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad());
    }
    let addr = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| ClientError::Address(format!("{server}: {e}")))?
        .next()
        .ok_or_else(|| ClientError::Address(format!("{server}: no address")))?;
    Ok((addr, host.to_owned()))
}

/// A client endpoint (one UDP socket) of the right address family for `addr`,
/// to share between connections with [`ConnectOptions::endpoint`].
pub fn endpoint_for(addr: SocketAddr) -> Result<Endpoint, ClientError> {
    let bind: SocketAddr = if addr.is_ipv6() {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    };
    // What `Endpoint::client` does, plus the socket buffers.
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(bind), Type::DGRAM, Some(Protocol::UDP))?;
    if bind.is_ipv6() {
        // Dual-stack where possible; an IPv6-only socket still reaches IPv6 servers.
        let _ = socket.set_only_v6(false);
    }
    // Best effort: a smaller buffer only means more retransmissions under load.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER_BYTES);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER_BYTES);
    socket.bind(&bind.into())?;
    let runtime = quinn::default_runtime()
        .ok_or_else(|| ClientError::Io(std::io::Error::other("no async runtime")))?;
    Ok(Endpoint::new(
        quinn::EndpointConfig::default(),
        None,
        socket.into(),
        runtime,
    )?)
}

fn quinn_config(mut tls: rustls::ClientConfig) -> Result<quinn::ClientConfig, ClientError> {
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
        .map_err(|e| ClientError::Tls(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport
        .keep_alive_interval(Some(KEEP_ALIVE))
        .max_idle_timeout(IDLE_TIMEOUT.try_into().ok())
        .max_concurrent_bidi_streams(VarInt::from_u32(0))
        .max_concurrent_uni_streams(VarInt::from_u32(stream_credit::INITIAL))
        .stream_receive_window(VarInt::from_u32(STREAM_RECEIVE_WINDOW))
        .receive_window(VarInt::from_u32(RECEIVE_WINDOW));
    config.transport_config(Arc::new(transport));
    Ok(config)
}

pub(crate) fn connection_error(e: ConnectionError) -> ClientError {
    match e {
        ConnectionError::TimedOut => ClientError::Unreachable("no answer".into()),
        ConnectionError::TransportError(t)
            if t.code.to_string().contains("TLS") || t.reason.contains("certificate") =>
        {
            ClientError::Tls(format!(
                "the server's certificate is not trusted ({})",
                t.reason
            ))
        }
        ConnectionError::TransportError(t) => ClientError::Transport(t.to_string()),
        ConnectionError::ApplicationClosed(close) => {
            ClientError::Closed(String::from_utf8_lossy(&close.reason).into_owned())
        }
        ConnectionError::ConnectionClosed(close) => {
            ClientError::Closed(String::from_utf8_lossy(&close.reason).into_owned())
        }
        ConnectionError::LocallyClosed => ClientError::Closed("closed by this client".into()),
        other => ClientError::Closed(other.to_string()),
    }
}

/// Connects, verifies the certificate per `trust`, and exchanges `Hello`.
pub async fn connect(server: &str, trust: &Trust) -> Result<Connection, ClientError> {
    connect_with(server, trust, &ConnectOptions::default()).await
}

/// [`connect`] with options: a shared endpoint, the server's event stream mode.
///
/// `server` may name several nodes of a cluster, `HOST:PORT,HOST:PORT`, and a
/// host may resolve to several addresses: the nodes are tried in random order
/// (so clients spread over them) until one answers. A node that cannot be
/// reached or closes at once makes way for the next; one that has not
/// answered within [`NEXT_NODE_AFTER`] gets the next tried beside it; a
/// certificate that does not verify stops the search, since every node
/// shares one CA.
pub async fn connect_with(
    server: &str,
    trust: &Trust,
    options: &ConnectOptions,
) -> Result<Connection, ClientError> {
    let mut connection = first_to_answer(candidates(server), trust, options).await?;
    // Only the winner reads events: a losing attempt's connection must have
    // no task holding it open once its attempt is dropped.
    connection.start_events(options.event_streams);
    Ok(connection)
}

/// Tries `nodes` in order, each attempt a task of its own. A dead node never
/// answers, so its handshake would hold a reconnect for the whole handshake
/// timeout; instead, the next node is started beside it after
/// [`NEXT_NODE_AFTER`], and the first to answer wins. The other attempts
/// are aborted with the set, which drops (and so closes) their connections.
async fn first_to_answer(
    nodes: Vec<String>,
    trust: &Trust,
    options: &ConnectOptions,
) -> Result<Connection, ClientError> {
    let described = nodes.join(",");
    let mut nodes = nodes.into_iter();
    let mut attempts = tokio::task::JoinSet::new();
    let start = |attempts: &mut tokio::task::JoinSet<_>, node: String| {
        let (trust, options) = (trust.clone(), options.clone());
        attempts.spawn(async move { connect_node(&node, &trust, &options).await });
    };
    let mut last = None;
    loop {
        if attempts.is_empty() {
            match nodes.next() {
                Some(node) => start(&mut attempts, node),
                None => break,
            }
        }
        let more = nodes.len() > 0;
        tokio::select! {
            joined = attempts.join_next() => match joined {
                Some(Ok(Ok(connection))) => return Ok(connection),
                Some(Ok(Err(e))) if worth_another_node(&e) => last = Some(e),
                Some(Ok(Err(e))) => return Err(e),
                Some(Err(e)) => last = Some(ClientError::Io(std::io::Error::other(e.to_string()))),
                None => {}
            },
            () = tokio::time::sleep(NEXT_NODE_AFTER), if more => {
                if let Some(node) = nodes.next() {
                    start(&mut attempts, node);
                }
            }
        }
    }
    Err(last.unwrap_or_else(|| ClientError::Address(format!("{described:?} (expected HOST:PORT)"))))
}

/// Every address of one node, one after another.
async fn connect_node(
    node: &str,
    trust: &Trust,
    options: &ConnectOptions,
) -> Result<Connection, ClientError> {
    let (addrs, host) = resolve_all(node).await?;
    let mut last = None;
    for addr in addrs {
        match connect_to(node, addr, &host, trust, options).await {
            Ok(connection) => return Ok(connection),
            Err(e) if worth_another_node(&e) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| ClientError::Address(format!("{node}: no address"))))
}

/// The nodes named in `server` (comma-separated), shuffled.
fn candidates(server: &str) -> Vec<String> {
    use rand::seq::SliceRandom;
    let mut list: Vec<String> = server
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    list.shuffle(&mut rand::rng());
    list
}

/// Failures another node might not have.
fn worth_another_node(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Unreachable(_)
            | ClientError::Transport(_)
            | ClientError::Closed(_)
            | ClientError::Io(_)
            | ClientError::Address(_)
    )
}

/// Every address `server` (`HOST:PORT`) resolves to, shuffled, and the host.
async fn resolve_all(server: &str) -> Result<(Vec<SocketAddr>, String), ClientError> {
    use rand::seq::SliceRandom;
    let (first, host) = resolve(server).await?;
    let port = first.port();
    let mut addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map(|found| found.collect())
        .unwrap_or_default();
    if addrs.is_empty() {
        addrs.push(first);
    }
    addrs.shuffle(&mut rand::rng());
    Ok((addrs, host))
}

/// Connects to one address of one node and says hello.
async fn connect_to(
    server: &str,
    addr: SocketAddr,
    host: &str,
    trust: &Trust,
    options: &ConnectOptions,
) -> Result<Connection, ClientError> {
    let endpoint = match &options.endpoint {
        Some(endpoint) => endpoint.clone(),
        None => endpoint_for(addr)?,
    };
    let config = quinn_config(tls::client_config(trust)?)?;
    let connecting = endpoint
        .connect_with(config, addr, host)
        .map_err(|e| ClientError::Address(format!("{server}: {e}")))?;
    let conn = match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Err(_) => return Err(ClientError::Unreachable(format!("{server}: no answer"))),
        Ok(Err(e)) => return Err(connection_error(e)),
        Ok(Ok(conn)) => conn,
    };
    let framed = match options.event_streams {
        EventStreams::PerMessage => None,
        EventStreams::Single => Some(Framed::open(&conn).await?),
    };
    let mut connection = Connection {
        conn,
        endpoint,
        events: None,
        framed,
        server_name: String::new(),
        push_credit: Arc::new(AtomicU32::new(stream_credit::INITIAL)),
        transfers: Semaphore::new(TRANSFERS_AT_ONCE),
    };
    let hello = Request::Hello {
        version: PROTOCOL_VERSION,
        client: format!("chatroom-client {}", env!("CARGO_PKG_VERSION")),
        // `event_read` hands a batch's events on one by one.
        batches: true,
    };
    match connection.request(&hello).await {
        Ok(Reply::Hello { server, .. }) => connection.server_name = server,
        Ok(other) => return Err(unexpected(&other)),
        Err(e) => {
            if e.code() == Some(ErrorCode::UpgradeRequired) {
                connection.conn.close(
                    VarInt::from_u32(close_code::UPGRADE_REQUIRED),
                    b"upgrade required",
                );
            }
            return Err(e);
        }
    }
    Ok(connection)
}

/// Connects without trusting anything and returns the SHA-256 of the root-most
/// certificate the server presented, for a trust-on-first-use prompt.
/// Of several nodes (`HOST:PORT,HOST:PORT`), the first that answers.
pub async fn probe_fingerprint(server: &str) -> Result<[u8; 32], ClientError> {
    let mut last = None;
    for candidate in candidates(server) {
        match probe_one(&candidate).await {
            Ok(fingerprint) => return Ok(fingerprint),
            Err(e) if worth_another_node(&e) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| ClientError::Address(format!("{server:?} (expected HOST:PORT)"))))
}

async fn probe_one(server: &str) -> Result<[u8; 32], ClientError> {
    let (addr, host) = resolve(server).await?;
    let endpoint = endpoint_for(addr)?;
    let (tls_config, seen) = tls::probe_config()?;
    let config = quinn_config(tls_config)?;
    let connecting = endpoint
        .connect_with(config, addr, &host)
        .map_err(|e| ClientError::Address(format!("{server}: {e}")))?;
    let result = tokio::time::timeout(CONNECT_TIMEOUT, connecting).await;
    endpoint.close(VarInt::from_u32(close_code::NORMAL), b"probe");
    let seen = *seen.lock().unwrap_or_else(|e| e.into_inner());
    match (seen, result) {
        (Some(fp), _) => Ok(fp),
        (None, Err(_)) => Err(ClientError::Unreachable(format!("{server}: no answer"))),
        (None, Ok(Err(e))) => Err(connection_error(e)),
        (None, Ok(Ok(_))) => Err(ClientError::Tls(
            "the probe was accepted unexpectedly".into(),
        )),
    }
}

/// Reads a whole response from a request's stream and unwraps it.
pub(crate) async fn read_response(recv: &mut RecvStream) -> Result<Reply, ClientError> {
    let reply = recv
        .read_to_end(MAX_RESPONSE_BYTES)
        .await
        .map_err(|e| match e {
            quinn::ReadToEndError::TooLong => {
                ClientError::Protocol("the response was too large".into())
            }
            quinn::ReadToEndError::Read(quinn::ReadError::ConnectionLost(c)) => connection_error(c),
            quinn::ReadToEndError::Read(r) => ClientError::Closed(r.to_string()),
        })?;
    decode_response(&reply)
}

/// Decodes a whole response and unwraps it.
pub(crate) fn decode_response(bytes: &[u8]) -> Result<Reply, ClientError> {
    let response: Response = codec::decode(bytes, MAX_RESPONSE_BYTES)
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
    response.map_err(ClientError::Server)
}

pub(crate) fn unexpected(reply: &Reply) -> ClientError {
    ClientError::Protocol(format!("unexpected reply {reply:?}"))
}

impl Connection {
    /// Starts the reader of pushed events (once the connection is chosen).
    fn start_events(&mut self, mode: EventStreams) {
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let credit = self.push_credit.clone();
        tokio::spawn(read_events(self.conn.clone(), tx, mode, credit));
        self.events = Some(rx);
    }

    /// Sends one request on its own stream and waits for the response.
    pub async fn request(&self, request: &Request) -> Result<Reply, ClientError> {
        let bytes = codec::encode(request).map_err(|e| ClientError::Protocol(e.to_string()))?;
        if let Some(framed) = &self.framed {
            return decode_response(&framed.call(&bytes, &[], |_| {}).await?);
        }
        let (mut send, mut recv) = self.conn.open_bi().await.map_err(connection_error)?;
        send.write_all(&bytes)
            .await
            .map_err(|e| ClientError::Closed(e.to_string()))?;
        send.finish()
            .map_err(|e| ClientError::Closed(e.to_string()))?;
        read_response(&mut recv).await
    }

    /// Takes the stream of server events (once).
    pub fn take_events(&mut self) -> Option<mpsc::Receiver<Event>> {
        self.events.take()
    }

    /// The framed request stream of the benchmark's single-stream mode, if any.
    pub(crate) fn framed(&self) -> Option<&Framed> {
        self.framed.as_ref()
    }

    /// How many pushed streams the server may have open towards this
    /// connection at once: small at first, grown by bursts.
    pub fn push_credit(&self) -> u32 {
        self.push_credit.load(Ordering::Relaxed)
    }

    /// The raw QUIC connection, for tools and tests that speak the wire format directly.
    pub fn quic(&self) -> &quinn::Connection {
        &self.conn
    }

    /// The server's display name.
    pub fn server_name(&self) -> &str {
        &self.server_name
    }

    /// Waits until the connection closes and says why.
    pub async fn closed(&self) -> ClientError {
        connection_error(self.conn.closed().await)
    }

    /// Closes politely and lets the close reach the server, so it drops this
    /// connection (and the user's presence) at once instead of after its idle
    /// timeout. `close` only queues the close frame; the endpoint's driver
    /// task sends it. Waiting for the endpoint to go idle (the connection
    /// drained, three probe timeouts later) keeps that task running until the
    /// frame is out, which a program about to exit would otherwise not wait
    /// for. Bounded, so exiting never hangs on an unreachable server.
    pub async fn close(&self) {
        self.conn
            .close(VarInt::from_u32(close_code::NORMAL), b"bye");
        let _ = tokio::time::timeout(CLOSE_WAIT, self.endpoint.wait_idle()).await;
    }
}

/// Accepts pushed streams and decodes each: inline when it arrived whole,
/// else in its own task, so one slow or lost stream never delays the others.
/// The stream credit grows while bursts use most of it (`stream_credit`).
async fn read_events(
    conn: quinn::Connection,
    tx: mpsc::Sender<Event>,
    mode: EventStreams,
    granted: Arc<AtomicU32>,
) {
    if mode == EventStreams::Single {
        return read_framed_events(conn, tx).await;
    }
    let pushed = event_read::Pushed {
        tx,
        order: Arc::default(),
    };
    let mut credit = StreamCredit::new();
    loop {
        let mut accept = pin!(conn.accept_uni());
        // Polled once with a no-op waker (the context is not held across
        // the await below): was the next stream already here?
        let ready = poll_now(accept.as_mut());
        let (accepted, waited) = match ready {
            Poll::Ready(accepted) => (accepted, false),
            Poll::Pending => (accept.await, true),
        };
        let stream = match accepted {
            Ok(stream) => stream,
            Err(e) => {
                debug!("event reader stopping: {e}");
                return;
            }
        };
        if let Some(grown) = credit.accepted(waited) {
            debug!(
                credit = grown,
                "a burst used most of the stream credit: growing it"
            );
            conn.set_max_concurrent_uni_streams(VarInt::from_u32(grown));
            granted.store(grown, Ordering::Relaxed);
        }
        event_read::read_pushed(stream, &pushed).await;
    }
}

/// Polls a future once without waiting.
fn poll_now<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// The benchmark's comparison mode: events arrive as frames on (normally) one
/// stream, decoded in order.
async fn read_framed_events(conn: quinn::Connection, tx: mpsc::Sender<Event>) {
    loop {
        match conn.accept_uni().await {
            Ok(stream) => {
                tokio::spawn(read_frames(stream, tx.clone()));
            }
            Err(e) => {
                debug!("event reader stopping: {e}");
                return;
            }
        }
    }
}

/// Reads `u32` big-endian length + encoded event frames until the stream ends.
async fn read_frames(mut stream: RecvStream, tx: mpsc::Sender<Event>) {
    let mut len = [0u8; 4];
    let mut buf = Vec::new();
    loop {
        match stream.read_exact(&mut len).await {
            Ok(()) => {}
            Err(quinn::ReadExactError::FinishedEarly(0)) => return,
            Err(e) => {
                debug!("event stream failed: {e}");
                return;
            }
        }
        let Ok(len) = usize::try_from(u32::from_be_bytes(len)) else {
            return;
        };
        if len > MAX_EVENT_BYTES {
            debug!("event frame of {len} bytes is over the cap");
            let _ = stream.stop(VarInt::from_u32(stream_code::TOO_LARGE));
            return;
        }
        buf.resize(len, 0);
        if let Err(e) = stream.read_exact(&mut buf).await {
            debug!("event stream failed: {e}");
            return;
        }
        match codec::decode::<Event>(&buf, MAX_EVENT_BYTES) {
            Ok(event) => {
                if event_read::queue(event, &tx).await.is_err() {
                    return;
                }
            }
            Err(e) => debug!("undecodable event: {e}"),
        }
    }
}
