//! The crawler's HTTP side: redirects followed by hand, robots.txt per host, a per-host delay, size-capped bodies.
//!
//! Redirects are followed here rather than by reqwest so that every hop is
//! checked against `robots.txt` and the scheme rule, and so a loop can be
//! reported as a loop. Bodies are read chunk by chunk and abandoned as soon
//! as they pass the byte limit, whatever `Content-Length` said.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use tokio::sync::OnceCell;
use tokio::time::Instant;
use url::Url;

use super::RejectReason;
use super::robots::Robots;

/// How much of a `robots.txt` is read; RFC 9309 asks crawlers to parse at least 500 KiB.
const ROBOTS_MAX_BYTES: usize = 512 * 1024;

/// What to do when a body passes its byte limit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    /// Give up with [`RejectReason::TooLarge`]: images and pages.
    Reject,
    /// Keep the first bytes and stop reading: `robots.txt`, which is parsed as far as it goes.
    Truncate,
}

/// A successfully fetched body.
#[derive(Debug)]
pub struct Fetched {
    /// The URL the body finally came from, after redirects; relative links resolve against it.
    pub url: Url,
    /// The body, at most the requested number of bytes.
    pub bytes: Vec<u8>,
}

/// Shared by every download task of one crawl.
pub struct Fetcher {
    /// The HTTP client, built with redirects disabled.
    client: reqwest::Client,
    /// Most redirects followed for one fetch.
    max_redirects: usize,
    /// Minimum time between the starts of two requests to the same host.
    per_host_delay: Duration,
    /// Product token matched against robots.txt user-agent lines.
    robots_token: String,
    /// Per host: when the next request may start. Never held across an await.
    next_slot: Mutex<HashMap<String, Instant>>,
    /// Per origin: its robots.txt rules, fetched once even when many tasks ask at the same time.
    robots: Mutex<HashMap<String, Arc<OnceCell<Robots>>>>,
}

/// Settings for a [`Fetcher`].
pub struct FetcherConfig<'a> {
    /// Sent as the User-Agent header.
    pub user_agent: &'a str,
    /// Matched against robots.txt user-agent lines.
    pub robots_token: &'a str,
    /// Whole-request timeout, body included.
    pub timeout: Duration,
    /// Most redirects followed for one fetch.
    pub max_redirects: usize,
    /// Minimum time between the starts of two requests to the same host.
    pub per_host_delay: Duration,
}

impl Fetcher {
    /// Builds the HTTP client; fails only if the TLS setup cannot be built.
    pub fn new(config: &FetcherConfig<'_>) -> Result<Self, reqwest::Error> {
        // reqwest is built without a TLS provider of its own (its default is
        // aws-lc-rs, a C build we avoid); the workspace uses ring everywhere.
        // An `Err` means some provider is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .build()?;
        Ok(Self {
            client,
            max_redirects: config.max_redirects,
            per_host_delay: config.per_host_delay,
            robots_token: config.robots_token.to_owned(),
            next_slot: Mutex::new(HashMap::new()),
            robots: Mutex::new(HashMap::new()),
        })
    }

    /// Fetches `url` honouring robots.txt, following redirects, and refusing bodies over `max_bytes`.
    pub async fn get(&self, url: Url, max_bytes: usize) -> Result<Fetched, RejectReason> {
        self.get_with(url, max_bytes, true, Overflow::Reject).await
    }

    /// The fetch loop: one request per redirect hop.
    async fn get_with(
        &self,
        url: Url,
        max_bytes: usize,
        honour_robots: bool,
        overflow: Overflow,
    ) -> Result<Fetched, RejectReason> {
        let mut current = url;
        let mut visited = HashSet::from([current.clone()]);
        let mut redirects = 0;
        loop {
            if !matches!(current.scheme(), "http" | "https") {
                return Err(RejectReason::UnsupportedScheme(current.scheme().to_owned()));
            }
            if honour_robots && !self.robots_allow(&current).await {
                return Err(RejectReason::DisallowedByRobots);
            }
            self.wait_turn(&current).await;
            let response = self
                .client
                .get(current.clone())
                .send()
                .await
                .map_err(network_reason)?;
            let status = response.status();
            if status.is_redirection() {
                let next = redirect_target(&current, &response)?;
                if !visited.insert(next.clone()) {
                    return Err(RejectReason::RedirectLoop);
                }
                if redirects >= self.max_redirects {
                    return Err(RejectReason::TooManyRedirects(self.max_redirects));
                }
                redirects += 1;
                current = next;
                continue;
            }
            if !status.is_success() {
                return Err(RejectReason::HttpStatus(status.as_u16()));
            }
            let bytes = read_body(response, max_bytes, overflow).await?;
            return Ok(Fetched {
                url: current,
                bytes,
            });
        }
    }

    /// Whether robots.txt of `url`'s origin lets us fetch it; the file is fetched once per origin.
    async fn robots_allow(&self, url: &Url) -> bool {
        let origin = url.origin().ascii_serialization();
        let cell = Arc::clone(
            self.robots
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(origin)
                .or_default(),
        );
        let robots = cell.get_or_init(|| self.fetch_robots(url)).await;
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        robots.is_allowed(&path)
    }

    /// Fetches and parses robots.txt for `url`'s origin, mapping failures as RFC 9309 says.
    async fn fetch_robots(&self, url: &Url) -> Robots {
        let Ok(robots_url) = url.join("/robots.txt") else {
            return Robots::allow_all();
        };
        match Box::pin(self.get_with(robots_url, ROBOTS_MAX_BYTES, false, Overflow::Truncate)).await
        {
            Ok(fetched) => {
                Robots::parse(&String::from_utf8_lossy(&fetched.bytes), &self.robots_token)
            }
            // "Unavailable" (4xx, including a redirect chain that never ends): no rules.
            Err(RejectReason::HttpStatus(code)) if (400..500).contains(&code) => {
                Robots::allow_all()
            }
            Err(RejectReason::RedirectLoop | RejectReason::TooManyRedirects(_)) => {
                Robots::allow_all()
            }
            // "Unreachable" (5xx, network trouble): assume everything is disallowed.
            Err(_) => Robots::disallow_all(),
        }
    }

    /// Waits until a request to `url`'s host may start, and books the following slot.
    async fn wait_turn(&self, url: &Url) {
        if self.per_host_delay.is_zero() {
            return;
        }
        let host = format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or_default()
        );
        let start = {
            let mut slots = self
                .next_slot
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let start = slots
                .get(&host)
                .copied()
                .filter(|t| *t > now)
                .unwrap_or(now);
            slots.insert(host, start + self.per_host_delay);
            start
        };
        tokio::time::sleep_until(start).await;
    }
}

/// The absolute URL a redirect response points at.
fn redirect_target(current: &Url, response: &reqwest::Response) -> Result<Url, RejectReason> {
    let location = response
        .headers()
        .get(LOCATION)
        .ok_or_else(|| {
            // A 304 or 300 without Location is not something we asked for.
            RejectReason::BadRedirect(format!("{} without a Location header", response.status()))
        })?
        .to_str()
        .map_err(|_| RejectReason::BadRedirect("Location header is not text".to_owned()))?;
    let mut next = current
        .join(location)
        .map_err(|e| RejectReason::BadRedirect(format!("Location {location:?}: {e}")))?;
    next.set_fragment(None);
    Ok(next)
}

/// Reads the body in chunks, stopping as soon as it passes `max_bytes`.
async fn read_body(
    mut response: reqwest::Response,
    max_bytes: usize,
    overflow: Overflow,
) -> Result<Vec<u8>, RejectReason> {
    let too_large = RejectReason::TooLarge { limit: max_bytes };
    // An honest Content-Length lets us refuse without reading; a lying one is caught below.
    let declared = response.content_length();
    if overflow == Overflow::Reject && declared.is_some_and(|len| len > max_bytes as u64) {
        return Err(too_large);
    }
    let capacity = declared.map_or(64 * 1024, |len| len.min(max_bytes as u64) as usize);
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await.map_err(network_reason)? {
        if body.len() + chunk.len() > max_bytes {
            if overflow == Overflow::Truncate {
                body.extend_from_slice(&chunk[..max_bytes - body.len()]);
                break;
            }
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Describes a transport error with its causes, which reqwest's own message leaves out.
fn network_reason(error: reqwest::Error) -> RejectReason {
    if error.is_timeout() {
        return RejectReason::Timeout;
    }
    if let Some(status) = error.status()
        && status != StatusCode::OK
    {
        return RejectReason::HttpStatus(status.as_u16());
    }
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    RejectReason::Network(message)
}
