//! Fixtures for the crawler tests: images generated in code and a minimal HTTP/1.1 server on 127.0.0.1.

use std::collections::HashMap;
use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

// ---------------------------------------------------------------------------
// Fixtures: images generated in code.

/// A `w`×`h` image of deterministic noise over a gradient; `seed` makes each one distinct.
///
/// Noise keeps the encodings large enough (tens of KiB) that a cut-off copy is clearly truncated.
pub(super) fn picture(w: u32, h: u32, seed: u32) -> DynamicImage {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let noise = (state >> 24) as u8 / 4;
        Rgb([
            (x * 255 / w) as u8 / 2 + noise,
            (y * 255 / h) as u8 / 2 + noise,
            (seed * 40 % 256) as u8 / 2 + noise,
        ])
    }))
}

pub(super) fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encode fixture");
    out.into_inner()
}

pub(super) fn png(w: u32, h: u32, seed: u32) -> Vec<u8> {
    encode(&picture(w, h, seed), ImageFormat::Png)
}

/// A real PNG whose header is rewritten to claim `w`×`h` (CRC fixed), with only a few bytes of data.
pub(super) fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut bytes = png(32, 32, 99);
    bytes[16..20].copy_from_slice(&w.to_be_bytes());
    bytes[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// 6 MiB that start like a PNG: over the default 5 MiB limit.
pub(super) fn six_mib() -> Vec<u8> {
    let mut bytes = png(64, 64, 50);
    bytes.resize(6 * 1024 * 1024, 0);
    bytes
}

// ---------------------------------------------------------------------------
// A minimal HTTP/1.1 server: one request per connection, `Connection: close`.

/// How the body's length is conveyed, including the dishonest ways.
#[derive(Clone, Copy)]
pub(super) enum Framing {
    /// A correct Content-Length.
    Length,
    /// A Content-Length header with this (wrong) value.
    LyingLength(usize),
    /// No length at all: the body ends when the connection closes.
    CloseDelimited,
    /// Transfer-Encoding: chunked.
    Chunked,
}

#[derive(Clone)]
pub(super) struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    framing: Framing,
    delay: Duration,
}

impl Reply {
    pub(super) fn ok(content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status: 200,
            headers: vec![("Content-Type", content_type.to_owned())],
            body,
            framing: Framing::Length,
            delay: Duration::ZERO,
        }
    }

    pub(super) fn status(status: u16) -> Self {
        Self {
            status,
            ..Self::ok("text/plain", format!("status {status}").into_bytes())
        }
    }

    pub(super) fn redirect(to: &str) -> Self {
        let mut reply = Self::status(302);
        reply.headers.push(("Location", to.to_owned()));
        reply
    }

    pub(super) fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    pub(super) fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// What the server saw.
#[derive(Default)]
struct Log {
    /// Path and User-Agent of every request, in arrival order.
    requests: Mutex<Vec<(String, String)>>,
    /// Requests being answered right now.
    in_flight: AtomicUsize,
    /// The most requests answered at once.
    max_in_flight: AtomicUsize,
}

pub(super) struct Site {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    log: Arc<Log>,
    accept: JoinHandle<()>,
}

impl Site {
    /// Starts a server with `routes`; unknown paths answer 404.
    pub(super) async fn start(routes: Vec<(&str, Reply)>) -> Self {
        let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::new(Mutex::new(
            routes
                .into_iter()
                .map(|(path, reply)| (path.to_owned(), reply))
                .collect(),
        ));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Log::default());
        let accept = tokio::spawn({
            let log = Arc::clone(&log);
            let routes = Arc::clone(&routes);
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let routes = Arc::clone(&routes);
                    let log = Arc::clone(&log);
                    tokio::spawn(async move {
                        // The crawler hangs up on purpose (oversized bodies); that is not a failure.
                        let _ = serve(stream, &routes, &log).await;
                    });
                }
            }
        });
        Self {
            addr,
            routes,
            log,
            accept,
        }
    }

    /// Adds or replaces a route, for pages that must name the server's own address.
    pub(super) fn route(&self, path: &str, reply: Reply) {
        self.routes
            .lock()
            .expect("routes")
            .insert(path.to_owned(), reply);
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(super) fn hits(&self, path: &str) -> usize {
        let requests = self.log.requests.lock().expect("log");
        requests.iter().filter(|(p, _)| p == path).count()
    }

    /// The most requests the server was answering at the same moment.
    pub(super) fn max_in_flight(&self) -> usize {
        self.log.max_in_flight.load(Ordering::SeqCst)
    }

    pub(super) fn user_agents(&self) -> Vec<String> {
        let requests = self.log.requests.lock().expect("log");
        requests.iter().map(|(_, ua)| ua.clone()).collect()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn serve(
    mut stream: TcpStream,
    routes: &Mutex<HashMap<String, Reply>>,
    log: &Log,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let path = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or("/")
        .to_owned();
    let user_agent = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("user-agent"))
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    log.requests
        .lock()
        .expect("log")
        .push((path.clone(), user_agent));

    let now = log.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    log.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let reply = routes
        .lock()
        .expect("routes")
        .get(&path)
        .cloned()
        .unwrap_or_else(|| Reply::status(404));
    tokio::time::sleep(reply.delay).await;
    let result = write_reply(&mut stream, &reply).await;
    log.in_flight.fetch_sub(1, Ordering::SeqCst);
    result
}

async fn write_reply(stream: &mut TcpStream, reply: &Reply) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} Fixture\r\nConnection: close\r\n", reply.status);
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match reply.framing {
        Framing::Length => head.push_str(&format!("Content-Length: {}\r\n", reply.body.len())),
        Framing::LyingLength(len) => head.push_str(&format!("Content-Length: {len}\r\n")),
        Framing::CloseDelimited => {}
        Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n"),
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    match reply.framing {
        Framing::Chunked => {
            for chunk in reply.body.chunks(64 * 1024) {
                stream
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await?;
                stream.write_all(chunk).await?;
                stream.write_all(b"\r\n").await?;
            }
            stream.write_all(b"0\r\n\r\n").await?;
        }
        _ => stream.write_all(&reply.body).await?,
    }
    stream.shutdown().await
}
