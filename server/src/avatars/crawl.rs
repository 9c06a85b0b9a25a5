//! The operator-run avatar crawler: fetch one page, find its images, download them politely, pool the good ones.
//!
//! [`scrape`] fetches the page, extracts candidates ([`extract`]), then
//! downloads them with bounded concurrency ([`fetch`]: robots.txt, redirects,
//! per-host delay, size caps), normalises each on a blocking thread
//! ([`normalize_avatar`]) and inserts the survivors into the [`AvatarPool`]
//! as crawled pictures: into the database, so every node offers them at once.
//! Every candidate ends up in the [`CrawlReport`] as accepted, duplicate or
//! rejected with a [`RejectReason`].

pub mod extract;
pub mod fetch;
pub mod progress;
pub mod robots;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use url::Url;

use super::image_check::{AvatarError, AvatarLimits, NormalizedAvatar, normalize_avatar};
use super::pool::{AvatarPool, PoolError};
use crate::store::AvatarKind;
use fetch::{Fetcher, FetcherConfig};
pub use progress::{
    ImageOutcome, IndicatifProgress, NoProgress, ProgressSink, print_summary, summary,
};

/// The crawler's product token, matched against `User-agent` lines in robots.txt.
pub const CRAWLER_TOKEN: &str = "chatroom-avatar-crawler";

/// The User-Agent header the crawler sends: token, version and who runs it.
pub fn default_user_agent() -> String {
    format!(
        "{CRAWLER_TOKEN}/{} (+self-hosted chat; operator-run)",
        env!("CARGO_PKG_VERSION")
    )
}

/// What to crawl and how politely.
#[derive(Clone, Debug)]
pub struct CrawlConfig {
    /// The page whose images are wanted; http or https only.
    pub url: String,
    /// Stop once this many new avatars have been accepted; `None` takes every image on the page.
    pub limit: Option<usize>,
    /// Most downloads in flight at once.
    pub concurrency: usize,
    /// Minimum time between two requests to the same host, so we never hammer a site.
    pub per_host_delay: Duration,
    /// Most redirects followed for one URL.
    pub max_redirects: usize,
    /// Largest page or image body accepted, in bytes, enforced while streaming.
    pub max_bytes: usize,
    /// The User-Agent header; robots.txt is matched on [`CRAWLER_TOKEN`] whatever this says.
    pub user_agent: String,
    /// Whole-request timeout, body included.
    pub timeout: Duration,
}

impl CrawlConfig {
    /// A configuration with the polite defaults: 4 at once, 500 ms per host, 5 redirects, 5 MiB, 30 s.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            limit: None,
            concurrency: 4,
            per_host_delay: Duration::from_millis(500),
            max_redirects: 5,
            max_bytes: 5 * 1024 * 1024,
            user_agent: default_user_agent(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why one candidate image was not added to the pool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    /// The server answered with a status other than success.
    #[error("HTTP status {0}")]
    HttpStatus(u16),
    /// The body passed the byte limit (by its Content-Length or while streaming).
    #[error("larger than the {limit}-byte limit")]
    TooLarge {
        /// The limit it passed, in bytes.
        limit: usize,
    },
    /// The content is not an image at all, whatever its Content-Type said.
    #[error("not an image")]
    NotAnImage,
    /// An image in a format we do not accept.
    #[error("unsupported image format {0}")]
    UnsupportedFormat(String),
    /// The image data ends early.
    #[error("truncated image")]
    Truncated,
    /// The image data is malformed.
    #[error("corrupt image: {0}")]
    Corrupt(String),
    /// Decoding would exceed the dimension or memory limits.
    #[error("image dimensions exceed the decoding limits (decompression bomb?)")]
    DecompressionBomb,
    /// The image is below the minimum size.
    #[error("too small ({width}×{height})")]
    TooSmall {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// A redirect led back to a URL already visited.
    #[error("redirect loop")]
    RedirectLoop,
    /// More redirects than allowed.
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    /// A redirect without a usable Location.
    #[error("bad redirect: {0}")]
    BadRedirect(String),
    /// A URL (or redirect) to a scheme other than http or https.
    #[error("unsupported URL scheme {0:?}")]
    UnsupportedScheme(String),
    /// The site's robots.txt asks crawlers like ours to stay away.
    #[error("disallowed by robots.txt")]
    DisallowedByRobots,
    /// The request took longer than the timeout.
    #[error("timed out")]
    Timeout,
    /// Connecting or reading failed.
    #[error("network error: {0}")]
    Network(String),
    /// Normalising failed for a reason that is our bug, not the image's.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<AvatarError> for RejectReason {
    fn from(error: AvatarError) -> Self {
        match error {
            AvatarError::TooLarge { limit, .. } => Self::TooLarge { limit },
            AvatarError::NotAnImage => Self::NotAnImage,
            AvatarError::UnsupportedFormat(format) => Self::UnsupportedFormat(format),
            AvatarError::Truncated => Self::Truncated,
            AvatarError::Corrupt(message) => Self::Corrupt(message),
            AvatarError::DecompressionBomb => Self::DecompressionBomb,
            AvatarError::TooSmall { w, h, .. } => Self::TooSmall {
                width: w,
                height: h,
            },
            AvatarError::Encode(message) => Self::Internal(message),
        }
    }
}

/// The outcome of a crawl, each list in page order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrawlReport {
    /// Images newly added to the pool: URL and hex SHA-256.
    pub accepted: Vec<(String, String)>,
    /// Valid images already in the pool or seen earlier in this crawl.
    pub duplicates: Vec<String>,
    /// Images refused, with the reason.
    pub rejected: Vec<(String, RejectReason)>,
}

/// Why the crawl as a whole could not run.
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    /// The start URL does not parse.
    #[error("invalid URL {url:?}: {source}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        source: url::ParseError,
    },
    /// The start URL is not http or https.
    #[error("only http and https URLs can be crawled, not {0:?}")]
    UnsupportedScheme(String),
    /// The start page could not be fetched.
    #[error("could not fetch {url}: {reason}")]
    Page {
        /// The page URL.
        url: String,
        /// Why not.
        reason: RejectReason,
    },
    /// The HTTP client could not be set up.
    #[error("could not set up the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The avatar pool could not be written.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// A download or pool task panicked.
    #[error("a crawler task failed: {0}")]
    Task(String),
}

/// Crawls `cfg.url` and adds the page's acceptable images to `pool` as crawled pictures.
pub async fn scrape(
    cfg: CrawlConfig,
    pool: &AvatarPool,
    progress: impl ProgressSink,
) -> Result<CrawlReport, CrawlError> {
    let page_url = start_url(&cfg.url)?;
    let robots_token = CRAWLER_TOKEN;
    let fetcher = Arc::new(
        Fetcher::new(&FetcherConfig {
            user_agent: &cfg.user_agent,
            robots_token,
            timeout: cfg.timeout,
            max_redirects: cfg.max_redirects,
            per_host_delay: cfg.per_host_delay,
        })
        .map_err(CrawlError::Client)?,
    );

    let page = fetcher
        .get(page_url.clone(), cfg.max_bytes)
        .await
        .map_err(|reason| CrawlError::Page {
            url: page_url.to_string(),
            reason,
        })?;
    // Links resolve against where the page really is, after any redirect.
    let candidates = extract::image_urls(&String::from_utf8_lossy(&page.bytes), &page.url);
    progress.page_fetched(&page.url, candidates.len());

    let limits = AvatarLimits {
        max_bytes: cfg.max_bytes,
        ..AvatarLimits::default()
    };
    let permits = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    // With a limit of zero there is nothing to download.
    let wanted = if cfg.limit == Some(0) {
        0
    } else {
        candidates.len()
    };
    for (index, url) in candidates.into_iter().take(wanted).enumerate() {
        let permits = Arc::clone(&permits);
        let fetcher = Arc::clone(&fetcher);
        let limits = limits.clone();
        tasks.spawn(async move {
            // The semaphore is never closed, so acquiring only fails in theory.
            let _permit = permits.acquire_owned().await;
            let outcome = download(&fetcher, url.clone(), limits).await;
            (index, url, outcome)
        });
    }

    let mut results = Results::default();
    let mut seen = HashSet::new();
    while let Some(joined) = tasks.join_next().await {
        let (index, url, outcome) = joined.map_err(|e| CrawlError::Task(e.to_string()))?;
        let reported = match outcome {
            Ok(avatar) if !seen.insert(avatar.hash) => ImageOutcome::Duplicate,
            Ok(avatar) => {
                if pool.insert(&avatar, AvatarKind::Crawled).await? {
                    ImageOutcome::Accepted(avatar.hash_hex())
                } else {
                    ImageOutcome::Duplicate
                }
            }
            Err(reason) => ImageOutcome::Rejected(reason),
        };
        progress.image_done(&url, &reported);
        results.record(index, url, reported);
        if cfg
            .limit
            .is_some_and(|limit| results.accepted.len() >= limit)
        {
            // Dropping the set below aborts the downloads still queued or in flight.
            break;
        }
    }
    drop(tasks);

    let report = results.into_report();
    progress.finished(&report);
    Ok(report)
}

/// Parses the start URL and insists on http or https.
fn start_url(raw: &str) -> Result<Url, CrawlError> {
    let url = Url::parse(raw.trim()).map_err(|source| CrawlError::InvalidUrl {
        url: raw.to_owned(),
        source,
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(CrawlError::UnsupportedScheme(url.scheme().to_owned()));
    }
    Ok(url)
}

/// Downloads one candidate and normalises it on a blocking thread.
async fn download(
    fetcher: &Fetcher,
    url: Url,
    limits: AvatarLimits,
) -> Result<NormalizedAvatar, RejectReason> {
    let fetched = fetcher.get(url, limits.max_bytes).await?;
    // Decoding is CPU work of up to a few hundred milliseconds; keep it off the runtime's threads.
    run_blocking(move || normalize_avatar(&fetched.bytes, &limits))
        .await
        .map_err(|e| RejectReason::Internal(e.to_string()))?
        .map_err(RejectReason::from)
}

/// Runs `work` on tokio's blocking pool, turning a panic into an error message.
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CrawlError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| CrawlError::Task(e.to_string()))
}

/// Outcomes collected as tasks finish, tagged with the candidate's page position for sorting.
#[derive(Default)]
struct Results {
    /// Accepted: position, URL, hash.
    accepted: Vec<(usize, String, String)>,
    /// Duplicates: position, URL.
    duplicates: Vec<(usize, String)>,
    /// Rejected: position, URL, reason.
    rejected: Vec<(usize, String, RejectReason)>,
}

impl Results {
    /// Files one candidate's outcome.
    fn record(&mut self, index: usize, url: Url, outcome: ImageOutcome) {
        let url = url.to_string();
        match outcome {
            ImageOutcome::Accepted(hash) => self.accepted.push((index, url, hash)),
            ImageOutcome::Duplicate => self.duplicates.push((index, url)),
            ImageOutcome::Rejected(reason) => self.rejected.push((index, url, reason)),
        }
    }

    /// The report, each list in page order so that runs are comparable.
    fn into_report(mut self) -> CrawlReport {
        self.accepted.sort_by_key(|entry| entry.0);
        self.duplicates.sort_by_key(|entry| entry.0);
        self.rejected.sort_by_key(|entry| entry.0);
        CrawlReport {
            accepted: self.accepted.into_iter().map(|(_, u, h)| (u, h)).collect(),
            duplicates: self.duplicates.into_iter().map(|(_, u)| u).collect(),
            rejected: self.rejected.into_iter().map(|(_, u, r)| (u, r)).collect(),
        }
    }
}
