//! Reporting a crawl as it runs (the [`ProgressSink`] trait, an `indicatif` bar) and summing it up afterwards.

use std::fmt::Write as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use url::Url;

use super::{CrawlReport, RejectReason};

/// What became of one candidate image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageOutcome {
    /// Added to the pool under this hex SHA-256.
    Accepted(String),
    /// A valid image the pool already had, or one seen earlier in this crawl.
    Duplicate,
    /// Refused, for this reason.
    Rejected(RejectReason),
}

/// Receives crawl events; the CLI shows a progress bar, tests ignore them.
///
/// Every method has an empty default, so an implementation picks what it needs.
pub trait ProgressSink: Send + Sync {
    /// The page was fetched and `candidates` image URLs were found on it.
    fn page_fetched(&self, _page: &Url, _candidates: usize) {}
    /// One candidate image has been dealt with.
    fn image_done(&self, _url: &Url, _outcome: &ImageOutcome) {}
    /// The crawl is over; `report` is what [`super::scrape`] returns.
    fn finished(&self, _report: &CrawlReport) {}
}

/// A sink that ignores every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl ProgressSink for NoProgress {}

/// A terminal progress bar for the crawler CLI.
pub struct IndicatifProgress {
    /// The bar: a spinner while the page loads, then one step per candidate.
    bar: ProgressBar,
}

impl IndicatifProgress {
    /// Starts a spinner that turns into a bar once the page's images are known.
    pub fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_message("fetching the page");
        bar.enable_steady_tick(Duration::from_millis(120));
        Self { bar }
    }
}

impl Default for IndicatifProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl ProgressSink for IndicatifProgress {
    fn page_fetched(&self, page: &Url, candidates: usize) {
        // A template error would be our typo; the default style is a fine fallback.
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:32} {pos}/{len} {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        self.bar.set_style(style);
        self.bar.set_length(candidates as u64);
        self.bar.set_position(0);
        self.bar
            .set_message(format!("{candidates} images on {page}"));
    }

    fn image_done(&self, url: &Url, outcome: &ImageOutcome) {
        self.bar.inc(1);
        if let ImageOutcome::Rejected(reason) = outcome {
            self.bar.println(format!("rejected {url}: {reason}"));
        }
        self.bar.set_message(url.to_string());
    }

    fn finished(&self, report: &CrawlReport) {
        self.bar.finish_with_message(format!(
            "{} accepted, {} duplicates, {} rejected",
            report.accepted.len(),
            report.duplicates.len(),
            report.rejected.len()
        ));
    }
}

/// A plain-text summary of `report`: the counts, then one line per accepted and rejected image.
pub fn summary(report: &CrawlReport) -> String {
    let mut text = format!(
        "{} accepted, {} duplicates, {} rejected\n",
        report.accepted.len(),
        report.duplicates.len(),
        report.rejected.len()
    );
    // Writing to a String cannot fail.
    for (url, hash) in &report.accepted {
        let _ = writeln!(text, "  accepted  {url} -> {hash}");
    }
    for url in &report.duplicates {
        let _ = writeln!(text, "  duplicate {url}");
    }
    for (url, reason) in &report.rejected {
        let _ = writeln!(text, "  rejected  {url}: {reason}");
    }
    text
}

/// Prints [`summary`] to standard output, for the crawler CLI.
pub fn print_summary(report: &CrawlReport) {
    print!("{}", summary(report));
}
