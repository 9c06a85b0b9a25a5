//! What a crowd run reports: per kind of room and in all, as JSON and as
//! the table `chatroom-bench crowd` prints.

use std::fmt;

use serde::Serialize;

use crate::stats::{self, Latency};

/// Latency and counts of one kind of room.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KindReport {
    /// `lobby`, `rooms` or `groups`.
    pub kind: String,
    /// Rooms of this kind.
    pub rooms: usize,
    /// Members per room.
    pub members: usize,
    /// Messages per second per room, scaled.
    pub rate_per_room: f64,
    /// Messages posted (acknowledged).
    pub sent: u64,
    /// Failed sends.
    pub send_errors: u64,
    /// Deliveries due: each acknowledged message to each member.
    pub expected_deliveries: u64,
    /// Distinct deliveries that arrived.
    pub deliveries: u64,
    /// Due but never arrived.
    pub lost: u64,
    /// Arrived twice.
    pub duplicates: u64,
    /// Latency from the sender's send time, µs.
    pub latency_us: Latency,
}

/// What a crowd run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CrowdReport {
    /// The run's id.
    pub run_id: String,
    /// Clients asked for.
    pub clients: usize,
    /// Clients that connected, logged in and joined their rooms.
    pub connected: usize,
    /// Clients that could not.
    pub setup_errors: usize,
    /// The first set-up error, if any.
    pub first_setup_error: Option<String>,
    /// The rate multiplier.
    pub scale: f64,
    /// Seconds of posting.
    pub seconds: f64,
    /// Set-up time, seconds.
    pub setup_seconds: f64,
    /// Per kind of room.
    pub kinds: Vec<KindReport>,
    /// All deliveries due.
    pub expected_deliveries: u64,
    /// All that arrived.
    pub deliveries: u64,
    /// All that did not.
    pub lost: u64,
    /// All repeats.
    pub duplicates: u64,
    /// `Resync` events (the server dropped events for a slow reader).
    pub resyncs: u64,
    /// Deliveries per second over the posting.
    pub deliveries_per_second: f64,
    /// Latency over every delivery, µs.
    pub latency_us: Latency,
    /// The server's RSS before the first client connected, MiB.
    pub server_rss_start_mib: Option<f64>,
    /// The server's RSS with everyone logged in and idle in their rooms, MiB.
    pub server_rss_idle_mib: Option<f64>,
    /// The server's peak RSS over its life (set-up and run), MiB.
    pub server_peak_rss_mib: Option<f64>,
    /// The server's CPU time per delivery over the posting, µs.
    pub server_cpu_us_per_delivery: Option<f64>,
    /// This process's CPU time per delivery, µs.
    pub bench_cpu_us_per_delivery: f64,
}

impl fmt::Display for CrowdReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |us: u64| stats::ms(us);
        writeln!(
            f,
            "crowd ×{}: {} of {} clients in, set up in {:.1} s; {:.0} s of posting",
            self.scale, self.connected, self.clients, self.setup_seconds, self.seconds
        )?;
        if let Some(e) = &self.first_setup_error {
            writeln!(f, "first error: {e}")?;
        }
        writeln!(
            f,
            "| kind | rooms × members | msg/s per room | sent | deliveries | lost | dup | p50 ms | p99 ms | p99.9 ms | max ms |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|---|---|---|---|---|")?;
        for k in &self.kinds {
            writeln!(
                f,
                "| {} | {} × {} | {} | {} | {}/{} | {} | {} | {} | {} | {} | {} |",
                k.kind,
                k.rooms,
                k.members,
                k.rate_per_room,
                k.sent,
                k.deliveries,
                k.expected_deliveries,
                k.lost,
                k.duplicates,
                ms(k.latency_us.p50),
                ms(k.latency_us.p99),
                ms(k.latency_us.p999),
                ms(k.latency_us.max)
            )?;
        }
        writeln!(
            f,
            "all: {}/{} deliveries ({:.0}/s), {} lost, {} dup, {} resyncs; p50 {} ms, p99 {} ms, p99.9 {} ms, max {} ms",
            self.deliveries,
            self.expected_deliveries,
            self.deliveries_per_second,
            self.lost,
            self.duplicates,
            self.resyncs,
            ms(self.latency_us.p50),
            ms(self.latency_us.p99),
            ms(self.latency_us.p999),
            ms(self.latency_us.max)
        )?;
        let opt = |x: Option<f64>| x.map_or("-".to_owned(), |x| format!("{x:.1}"));
        writeln!(
            f,
            "server: RSS {} MiB at start, {} MiB with everyone idle in their rooms, peak {} MiB; {} µs CPU per delivery; bench {:.2} µs per delivery",
            opt(self.server_rss_start_mib),
            opt(self.server_rss_idle_mib),
            opt(self.server_peak_rss_mib),
            opt(self.server_cpu_us_per_delivery),
            self.bench_cpu_us_per_delivery
        )
    }
}
