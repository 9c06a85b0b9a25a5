//! Transport counters summed over every closed connection, logged at
//! shutdown: what the benchmarks read to count datagrams, `sendmsg` calls and
//! ACK frames per delivery (docs/performance.md, third round).

use std::sync::atomic::{AtomicU64, Ordering};

use quinn::ConnectionStats;
use tracing::info;

/// Running totals; each closed connection adds its `conn.stats()` once.
#[derive(Debug, Default)]
pub struct TransportTotals {
    connections: AtomicU64,
    datagrams_sent: AtomicU64,
    send_calls: AtomicU64,
    bytes_sent: AtomicU64,
    datagrams_received: AtomicU64,
    stream_frames_sent: AtomicU64,
    ack_frames_sent: AtomicU64,
    ack_frames_received: AtomicU64,
    lost_packets: AtomicU64,
}

/// A copy of the totals at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TotalsSnapshot {
    /// Connections added.
    pub connections: u64,
    /// UDP datagrams sent (a GSO batch counts each datagram).
    pub datagrams_sent: u64,
    /// Send system calls (`sendmsg`; fewer than datagrams when GSO batches).
    pub send_calls: u64,
    /// UDP payload bytes sent.
    pub bytes_sent: u64,
    /// UDP datagrams received.
    pub datagrams_received: u64,
    /// STREAM frames sent.
    pub stream_frames_sent: u64,
    /// ACK frames sent.
    pub ack_frames_sent: u64,
    /// ACK frames received.
    pub ack_frames_received: u64,
    /// Packets declared lost.
    pub lost_packets: u64,
}

impl TransportTotals {
    /// Adds one connection's lifetime figures.
    pub fn add(&self, stats: &ConnectionStats) {
        let add = |counter: &AtomicU64, value: u64| {
            counter.fetch_add(value, Ordering::Relaxed);
        };
        add(&self.connections, 1);
        add(&self.datagrams_sent, stats.udp_tx.datagrams);
        add(&self.send_calls, stats.udp_tx.ios);
        add(&self.bytes_sent, stats.udp_tx.bytes);
        add(&self.datagrams_received, stats.udp_rx.datagrams);
        add(&self.stream_frames_sent, stats.frame_tx.stream);
        add(&self.ack_frames_sent, stats.frame_tx.acks);
        add(&self.ack_frames_received, stats.frame_rx.acks);
        add(&self.lost_packets, stats.path.lost_packets);
    }

    /// The totals now.
    pub fn snapshot(&self) -> TotalsSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        TotalsSnapshot {
            connections: get(&self.connections),
            datagrams_sent: get(&self.datagrams_sent),
            send_calls: get(&self.send_calls),
            bytes_sent: get(&self.bytes_sent),
            datagrams_received: get(&self.datagrams_received),
            stream_frames_sent: get(&self.stream_frames_sent),
            ack_frames_sent: get(&self.ack_frames_sent),
            ack_frames_received: get(&self.ack_frames_received),
            lost_packets: get(&self.lost_packets),
        }
    }

    /// Logs the totals (info level, this module's target), one line whose
    /// fields `scripts/bench-lib.sh` reads.
    pub fn log(&self) {
        let t = self.snapshot();
        info!(
            connections = t.connections,
            datagrams_sent = t.datagrams_sent,
            send_calls = t.send_calls,
            bytes_sent = t.bytes_sent,
            datagrams_received = t.datagrams_received,
            stream_frames_sent = t.stream_frames_sent,
            ack_frames_sent = t.ack_frames_sent,
            ack_frames_received = t.ack_frames_received,
            lost_packets = t.lost_packets,
            "transport totals"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_connection_adds_its_figures() {
        let totals = TransportTotals::default();
        let mut stats = ConnectionStats::default();
        stats.udp_tx.datagrams = 10;
        stats.udp_tx.ios = 4;
        stats.frame_tx.stream = 7;
        stats.frame_rx.acks = 3;
        totals.add(&stats);
        totals.add(&stats);
        let t = totals.snapshot();
        assert_eq!(t.connections, 2);
        assert_eq!(t.datagrams_sent, 20);
        assert_eq!(t.send_calls, 8);
        assert_eq!(t.stream_frames_sent, 14);
        assert_eq!(t.ack_frames_received, 6);
        assert_eq!(t.ack_frames_sent, 0);
    }
}
