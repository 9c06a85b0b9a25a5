//! The clients' side of the transport during the measured phase: datagrams
//! and ACK frames per delivery, read from quinn's `conn.stats()` (the server's
//! side is its `transport totals` log line, merged in by scripts/bench-lib.sh).

use serde::Serialize;

/// Counters summed over the benchmark's connections at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// UDP datagrams received.
    pub datagrams_received: u64,
    /// UDP datagrams sent (requests and ACKs).
    pub datagrams_sent: u64,
    /// ACK frames sent.
    pub ack_frames_sent: u64,
    /// STREAM frames received.
    pub stream_frames_received: u64,
}

impl Counters {
    /// Sums the counters of `connections`.
    pub fn read<'a>(connections: impl IntoIterator<Item = &'a quinn::Connection>) -> Self {
        connections
            .into_iter()
            .map(|conn| conn.stats())
            .fold(Self::default(), |sum, stats| Self {
                datagrams_received: sum.datagrams_received + stats.udp_rx.datagrams,
                datagrams_sent: sum.datagrams_sent + stats.udp_tx.datagrams,
                ack_frames_sent: sum.ack_frames_sent + stats.frame_tx.acks,
                stream_frames_received: sum.stream_frames_received + stats.frame_rx.stream,
            })
    }
}

/// What the clients' connections did between two readings, per delivery.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize)]
pub struct TransportReport {
    /// Datagrams the clients received.
    pub datagrams_received: u64,
    /// Datagrams the clients sent.
    pub datagrams_sent: u64,
    /// ACK frames the clients sent.
    pub ack_frames_sent: u64,
    /// STREAM frames the clients received.
    pub stream_frames_received: u64,
    /// Datagrams received per delivery: 1.0 means each event had a packet of
    /// its own; below 1, events shared packets.
    pub datagrams_received_per_delivery: f64,
    /// Datagrams sent per delivery (mostly ACKs).
    pub datagrams_sent_per_delivery: f64,
    /// ACK frames sent per delivery.
    pub ack_frames_per_delivery: f64,
}

impl TransportReport {
    /// The difference `after − before`, divided by `deliveries`.
    pub fn between(before: Counters, after: Counters, deliveries: u64) -> Self {
        let datagrams_received = after
            .datagrams_received
            .saturating_sub(before.datagrams_received);
        let datagrams_sent = after.datagrams_sent.saturating_sub(before.datagrams_sent);
        let ack_frames_sent = after.ack_frames_sent.saturating_sub(before.ack_frames_sent);
        let per = |n: u64| {
            if deliveries == 0 {
                0.0
            } else {
                n as f64 / deliveries as f64
            }
        };
        Self {
            datagrams_received,
            datagrams_sent,
            ack_frames_sent,
            stream_frames_received: after
                .stream_frames_received
                .saturating_sub(before.stream_frames_received),
            datagrams_received_per_delivery: per(datagrams_received),
            datagrams_sent_per_delivery: per(datagrams_sent),
            ack_frames_per_delivery: per(ack_frames_sent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_difference_is_divided_by_the_deliveries() {
        let before = Counters {
            datagrams_received: 100,
            datagrams_sent: 50,
            ack_frames_sent: 40,
            stream_frames_received: 90,
        };
        let after = Counters {
            datagrams_received: 600,
            datagrams_sent: 300,
            ack_frames_sent: 240,
            stream_frames_received: 1_090,
        };
        let report = TransportReport::between(before, after, 1_000);
        assert_eq!(report.datagrams_received, 500);
        assert_eq!(report.stream_frames_received, 1_000);
        assert!((report.datagrams_received_per_delivery - 0.5).abs() < 1e-9);
        assert!((report.datagrams_sent_per_delivery - 0.25).abs() < 1e-9);
        assert!((report.ack_frames_per_delivery - 0.2).abs() < 1e-9);
        assert_eq!(
            TransportReport::between(after, after, 0).ack_frames_per_delivery,
            0.0
        );
    }
}
