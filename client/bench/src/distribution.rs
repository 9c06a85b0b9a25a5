//! Latency distributions that outlive a run: a histogram's non-empty buckets
//! as they go into the JSON report, pooled again over several runs (seeds) for
//! percentiles, the share of deliveries later than a threshold, and the points
//! of a CDF for `chatroom-bench plot`.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::stats::{self, Latency};

/// A latency histogram's non-empty buckets, `[value, count]` in ascending
/// order of value (microseconds; each value is the highest of its bucket).
///
/// Buckets rather than raw samples keep the JSON of a 60 s run at a few
/// thousand pairs whatever its number of deliveries, and lose nothing that
/// the histogram kept: [`Buckets::add_to`] a histogram of the same shape
/// ([`stats::new_histogram`]) puts every count back into its bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Buckets(pub Vec<(u64, u64)>);

impl Buckets {
    /// The non-empty buckets of `hist`.
    pub fn of(hist: &Histogram<u64>) -> Self {
        Self(
            hist.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        )
    }

    /// Adds these counts to `hist` (values beyond its range count as its largest).
    pub fn add_to(&self, hist: &mut Histogram<u64>) {
        for &(value, count) in &self.0 {
            hist.saturating_record_n(value, count);
        }
    }

    /// Samples counted.
    pub fn len(&self) -> u64 {
        self.0.iter().map(|&(_, count)| count).sum()
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Several runs' buckets in one histogram (the pooled distribution: every
/// delivery of every run weighs the same).
pub fn pool<'a>(runs: impl IntoIterator<Item = &'a Buckets>) -> Histogram<u64> {
    let mut hist = stats::new_histogram();
    for run in runs {
        run.add_to(&mut hist);
    }
    hist
}

/// The fraction of samples (0 to 1) later than `threshold_us`: a bucket
/// counts when all of it lies above the threshold, so the answer is exact to
/// the histogram's resolution (3 significant digits).
pub fn share_above(hist: &Histogram<u64>, threshold_us: u64) -> f64 {
    if hist.is_empty() {
        return 0.0;
    }
    let above: u64 = hist
        .iter_recorded()
        .filter(|v| hist.lowest_equivalent(v.value_iterated_to()) > threshold_us)
        .map(|v| v.count_at_value())
        .sum();
    above as f64 / hist.len() as f64
}

/// One point of a CDF: a latency in milliseconds, the fraction of samples
/// at or below it and the fraction above it (the tail, kept apart so that
/// it does not lose its precision to `1 - at_or_below`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CdfPoint {
    /// Latency, milliseconds.
    pub ms: f64,
    /// Fraction of samples at or below `ms`.
    pub at_or_below: f64,
    /// Fraction of samples above `ms`.
    pub above: f64,
}

/// The CDF of a histogram, one point per non-empty bucket (ascending).
pub fn cdf_points(hist: &Histogram<u64>) -> Vec<CdfPoint> {
    let total = hist.len();
    if total == 0 {
        return Vec::new();
    }
    let mut seen = 0u64;
    hist.iter_recorded()
        .map(|v| {
            seen += v.count_at_value();
            CdfPoint {
                ms: v.value_iterated_to() as f64 / 1000.0,
                at_or_below: seen as f64 / total as f64,
                above: (total - seen) as f64 / total as f64,
            }
        })
        .collect()
}

/// One labelled distribution pooled over its runs, as `chatroom-bench plot`
/// reports it.
#[derive(Debug, Clone)]
pub struct Summary {
    /// What it is (a stream mode, a server).
    pub label: String,
    /// Runs pooled.
    pub runs: usize,
    /// Percentiles of the pooled histogram.
    pub pooled: Latency,
    /// Samples pooled.
    pub samples: u64,
    /// Deliveries that never arrived, summed over the runs (the caller's
    /// count: buckets hold only what arrived).
    pub lost: u64,
    /// The smallest and largest p99 of a single run.
    pub run_p99_range: (u64, u64),
    /// With a threshold: the pooled share of samples above it (0 to 1).
    pub share_above: Option<f64>,
}

impl Summary {
    /// Pools `runs` under `label`; `threshold_us` asks for the share above it.
    pub fn of(label: &str, runs: &[Buckets], threshold_us: Option<u64>) -> (Self, Histogram<u64>) {
        let hist = pool(runs);
        let p99s = runs
            .iter()
            .filter(|r| !r.is_empty())
            .map(|r| Latency::of(&pool([r])).p99);
        let run_p99_range = p99s.fold(None, |range: Option<(u64, u64)>, p99| {
            Some(range.map_or((p99, p99), |(lo, hi)| (lo.min(p99), hi.max(p99))))
        });
        let summary = Self {
            label: label.to_owned(),
            runs: runs.len(),
            pooled: Latency::of(&hist),
            samples: hist.len(),
            lost: 0,
            run_p99_range: run_p99_range.unwrap_or_default(),
            share_above: threshold_us.map(|t| share_above(&hist, t)),
        };
        (summary, hist)
    }
}

/// The summaries as a Markdown table (milliseconds), then for every
/// summary after the first the ratio of its pooled p99 to the first one's.
/// `late` names the threshold of [`Summary::share_above`] for its column.
pub fn table(summaries: &[Summary], late: Option<&str>) -> String {
    use std::fmt::Write as _;
    let ms = |us: u64| format!("{:.1}", us as f64 / 1000.0);
    let mut out = String::from(
        "| series | runs | deliveries | lost | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | p99 per run, ms |",
    );
    let mut rule = String::from("|---|---|---|---|---|---|---|---|---|---|");
    if let Some(late) = late {
        let _ = write!(out, " share > {late} |");
        rule.push_str("---|");
    }
    out.push('\n');
    out.push_str(&rule);
    out.push('\n');
    for s in summaries {
        let l = &s.pooled;
        let (lo, hi) = s.run_p99_range;
        let _ = write!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {}–{} |",
            s.label,
            s.runs,
            s.samples,
            s.lost,
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.p999),
            ms(l.max),
            ms(lo),
            ms(hi)
        );
        if late.is_some() {
            let share = s.share_above.unwrap_or(0.0) * 100.0;
            let _ = write!(out, " {share:.2} % |");
        }
        out.push('\n');
    }
    if let Some((first, rest)) = summaries.split_first() {
        for s in rest {
            let ratio = s.pooled.p99 as f64 / first.pooled.p99.max(1) as f64;
            let _ = writeln!(out, "\n{} p99 / {} p99 = {ratio:.2}", s.label, first.label);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hist_of(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
        let mut hist = stats::new_histogram();
        for v in values {
            hist.record(v).unwrap();
        }
        hist
    }

    #[test]
    fn buckets_round_trip_through_json_without_losing_counts() {
        let hist = hist_of([20_000, 20_000, 20_100, 45_000, 1_234_567]);
        let buckets = Buckets::of(&hist);
        assert_eq!(buckets.len(), 5);
        assert_eq!(buckets.0.len(), 4, "two samples share a bucket");
        let json = serde_json::to_string(&buckets).unwrap();
        assert!(json.starts_with("[["), "{json}");
        let back: Buckets = serde_json::from_str(&json).unwrap();
        let pooled = pool([&back]);
        assert_eq!(Latency::of(&pooled).p50, Latency::of(&hist).p50);
        assert_eq!(pooled.max(), hist.max());
        assert_eq!(Buckets::of(&pooled), buckets);
    }

    #[test]
    fn pooling_weighs_every_sample_alike() {
        // 99 fast samples in one run and one slow one in another: pooled,
        // the slow one is the 100th percentile, above p99.
        let fast = Buckets::of(&hist_of(std::iter::repeat_n(20_000, 99)));
        let slow = Buckets::of(&hist_of([90_000]));
        let pooled = pool([&fast, &slow]);
        assert_eq!(pooled.len(), 100);
        let p99 = Latency::of(&pooled).p99;
        assert!((19_990..=20_020).contains(&p99), "p99 {p99}");
        assert!(Latency::of(&pooled).max >= 90_000);
    }

    #[test]
    fn share_above_counts_whole_buckets_past_the_threshold() {
        let hist = hist_of((1..=100).map(|i| i * 1_000));
        assert!((share_above(&hist, 30_000) - 0.70).abs() < 1e-9);
        assert!((share_above(&hist, 99_000) - 0.01).abs() < 1e-9);
        assert_eq!(share_above(&hist, 100_000), 0.0);
        assert_eq!(share_above(&hist, 0), 1.0);
        assert_eq!(share_above(&stats::new_histogram(), 10), 0.0);
    }

    #[test]
    fn cdf_points_rise_to_one_and_their_tail_falls_to_zero() {
        let hist = hist_of([1_000, 2_000, 2_000, 4_000]);
        let points = cdf_points(&hist);
        let at: Vec<f64> = points.iter().map(|p| p.at_or_below).collect();
        assert_eq!(at, [0.25, 0.75, 1.0]);
        assert!((points[0].ms - 1.0).abs() < 0.01);
        assert!((points[2].ms - 4.0).abs() < 0.01);
        assert!(
            points
                .iter()
                .all(|p| (p.at_or_below + p.above - 1.0).abs() < 1e-12)
        );
        assert_eq!(points[2].above, 0.0);
        assert!(cdf_points(&stats::new_histogram()).is_empty());
    }

    #[test]
    fn a_summary_pools_runs_and_keeps_each_runs_p99() {
        let a = Buckets::of(&hist_of((1..=100).map(|i| i * 100)));
        let b = Buckets::of(&hist_of((1..=100).map(|i| i * 1_000)));
        let (s, hist) = Summary::of("mode", &[a, b, Buckets::default()], Some(50_000));
        assert_eq!((s.runs, s.samples, hist.len()), (3, 200, 200));
        let (lo, hi) = s.run_p99_range;
        assert!((9_890..=9_910).contains(&lo), "{lo}");
        assert!((98_900..=99_100).contains(&hi), "{hi}");
        assert!((s.share_above.unwrap() - 0.25).abs() < 1e-9);
        assert_eq!(Summary::of("none", &[], None).0.run_p99_range, (0, 0));
    }

    #[test]
    fn the_table_has_a_row_per_summary_and_the_p99_ratio() {
        let fast = Buckets::of(&hist_of(std::iter::repeat_n(20_000, 100)));
        let slow = Buckets::of(&hist_of(std::iter::repeat_n(60_000, 100)));
        let (a, _) = Summary::of("per-message", &[fast], Some(30_000));
        let (b, _) = Summary::of("single", &[slow], Some(30_000));
        let text = table(&[a, b], Some("floor + 10 ms"));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with("| share > floor + 10 ms |"), "{text}");
        assert!(
            lines[2].starts_with("| per-message | 1 | 100 | 0 | 20.0 |"),
            "{text}"
        );
        assert!(lines[2].ends_with("| 20.0–20.0 | 0.00 % |"), "{text}");
        assert!(lines[3].ends_with("| 100.00 % |"), "{text}");
        assert!(
            text.contains("single p99 / per-message p99 = 3.00"),
            "{text}"
        );
    }
}
