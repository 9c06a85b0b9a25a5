//! The result of a run: counts, throughput, latency percentiles and CPU, as a
//! table for people and as JSON (`--json`) for scripts.

use std::fmt;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::transport::TransportReport;

use crate::distribution::Buckets;
use crate::nodes::ClusterReport;

/// Latencies are recorded in microseconds, up to a minute, to 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    #[allow(clippy::expect_used)]
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant bounds that hdrhistogram accepts")
}

/// Latency from send to delivery, in microseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

impl Latency {
    /// The percentiles of a histogram (all zero when it is empty).
    pub fn of(hist: &Histogram<u64>) -> Self {
        if hist.is_empty() {
            return Self::default();
        }
        Self {
            p50: hist.value_at_quantile(0.5),
            p90: hist.value_at_quantile(0.9),
            p99: hist.value_at_quantile(0.99),
            p999: hist.value_at_quantile(0.999),
            max: hist.max(),
            mean: hist.mean(),
        }
    }
}

/// CPU and memory of one process over the measured phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProcReport {
    /// CPU seconds (user + system) spent from the first send to the last delivery.
    pub cpu_seconds: f64,
    /// That CPU time per delivery, in microseconds.
    pub cpu_us_per_delivery: f64,
    /// Peak resident memory over the process's life, in MiB.
    pub peak_rss_mib: f64,
    /// Resident memory at the end of the run, in MiB.
    pub rss_mib: f64,
}

/// Everything a run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The run's id (part of the user and room names).
    pub run_id: String,
    /// The room everyone posted in.
    pub room: String,
    /// How events were pushed: `per-message` or `single`.
    pub stream_mode: String,
    /// Clients asked for.
    pub clients: usize,
    /// Clients that connected, registered, logged in and joined (the rest are
    /// `setup_errors`); only these send and receive.
    pub connected: usize,
    /// Clients whose setup failed.
    pub setup_errors: usize,
    /// The first setup failure, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_setup_error: Option<String>,
    /// Messages each client sent.
    pub messages_per_client: u64,
    /// Messages per second per client, or `None` for unpaced.
    pub rate_per_client: Option<f64>,
    /// Bytes of text per message.
    pub payload_bytes: usize,
    /// Clients sharing one QUIC endpoint (UDP socket).
    pub connections_per_endpoint: usize,
    /// Seconds to connect, register, log in and join everyone.
    pub setup_seconds: f64,
    /// Messages acknowledged by the server.
    pub sent: u64,
    /// Sends that failed.
    pub send_errors: u64,
    /// The first send error, if any (the others are usually the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_send_error: Option<String>,
    /// Deliveries there should be: clients × sent messages (a sender receives its own too).
    pub expected_deliveries: u64,
    /// Distinct messages received, summed over receivers.
    pub deliveries: u64,
    /// Messages received more than once.
    pub duplicates: u64,
    /// Messages a receiver never got.
    pub lost: u64,
    /// Arrivals after a message with a higher sequence number (informational).
    pub out_of_order: u64,
    /// `Resync` events: the server dropped events for a slow receiver.
    pub resyncs: u64,
    /// Seconds from the first send to the last delivery.
    pub elapsed_seconds: f64,
    /// Deliveries per second over that time.
    pub deliveries_per_second: f64,
    /// Send-to-delivery latency.
    pub latency_us: Latency,
    /// One-way latency: from the server's stamp on the message (when it
    /// accepted the `Send`; whole milliseconds, so 0 to 1 ms too high) to
    /// delivery. Leaves the sender's uplink out.
    pub one_way_us: Latency,
    /// The send-to-delivery histogram's buckets, to pool runs and draw them
    /// (`chatroom-bench plot --field latency_buckets_us`).
    pub latency_buckets_us: Buckets,
    /// The one-way histogram's buckets (`chatroom-bench plot --field one_way_buckets_us`).
    pub one_way_buckets_us: Buckets,
    /// The server process, with `--server-pid` (with several pids, their sums:
    /// CPU, and each one's peak memory added up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<ProcReport>,
    /// The NATS server's process, with `--nats-pid` (a node joined to a cluster).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nats: Option<ProcReport>,
    /// This benchmark process.
    pub bench: ProcReport,
    /// The clients' datagrams and ACK frames from the first send to the last
    /// delivery (per-message mode; the server's are in its shutdown log).
    pub transport: TransportReport,
    /// With several servers (`--server a,b,c`): each node's share, and
    /// same-node against cross-node latency. Absent for one server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterReport>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = self
            .rate_per_client
            .map_or_else(|| "unpaced".to_owned(), |r| format!("{r} msg/s each"));
        writeln!(
            f,
            "run {}: {} clients × {} messages ({rate}), {} B, {} streams, room {}",
            self.run_id,
            self.clients,
            self.messages_per_client,
            self.payload_bytes,
            self.stream_mode,
            self.room
        )?;
        writeln!(
            f,
            "  setup           {:.1} s, {} connected{}",
            self.setup_seconds,
            self.connected,
            self.first_setup_error
                .as_deref()
                .map(|e| format!(", {} failed, first: {e}", self.setup_errors))
                .unwrap_or_default()
        )?;
        writeln!(
            f,
            "  sent            {} ({} errors{})",
            self.sent,
            self.send_errors,
            self.first_send_error
                .as_deref()
                .map(|e| format!(", first: {e}"))
                .unwrap_or_default()
        )?;
        writeln!(
            f,
            "  deliveries      {} of {} in {:.2} s = {:.0}/s",
            self.deliveries,
            self.expected_deliveries,
            self.elapsed_seconds,
            self.deliveries_per_second
        )?;
        writeln!(
            f,
            "  lost {}, duplicated {}, resyncs {}, out of order {} (informational)",
            self.lost, self.duplicates, self.resyncs, self.out_of_order
        )?;
        let t = &self.transport;
        writeln!(
            f,
            "  quic            per delivery: {:.3} datagrams in, {:.3} out, {:.3} ACK frames",
            t.datagrams_received_per_delivery,
            t.datagrams_sent_per_delivery,
            t.ack_frames_per_delivery
        )?;
        let l = &self.latency_us;
        writeln!(
            f,
            "  latency         p50 {} p90 {} p99 {} p99.9 {} max {} (ms)",
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.p999),
            ms(l.max)
        )?;
        let o = &self.one_way_us;
        writeln!(
            f,
            "  one way         p50 {} p90 {} p99 {} p99.9 {} max {} (ms, from the server's stamp)",
            ms(o.p50),
            ms(o.p90),
            ms(o.p99),
            ms(o.p999),
            ms(o.max)
        )?;
        if let Some(server) = &self.server {
            writeln!(
                f,
                "  server          {:.2} CPU s, {:.2} µs/delivery, peak RSS {:.0} MiB",
                server.cpu_seconds, server.cpu_us_per_delivery, server.peak_rss_mib
            )?;
        }
        if let Some(nats) = &self.nats {
            writeln!(
                f,
                "  nats            {:.2} CPU s, {:.2} µs/delivery, peak RSS {:.0} MiB",
                nats.cpu_seconds, nats.cpu_us_per_delivery, nats.peak_rss_mib
            )?;
        }
        write!(
            f,
            "  bench           {:.2} CPU s, {:.2} µs/delivery, peak RSS {:.0} MiB",
            self.bench.cpu_seconds, self.bench.cpu_us_per_delivery, self.bench.peak_rss_mib
        )?;
        match &self.cluster {
            Some(cluster) => write!(f, "{cluster}"),
            None => Ok(()),
        }
    }
}

/// Microseconds as milliseconds with two decimals.
pub(crate) fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut hist = new_histogram();
        for us in 1..=1000 {
            hist.record(us).unwrap();
        }
        let l = Latency::of(&hist);
        assert!((499..=501).contains(&l.p50));
        assert!((989..=991).contains(&l.p99));
        assert_eq!(l.max, 1000);
        assert_eq!(Latency::of(&new_histogram()).p99, 0);
    }
}
