//! One client's receiving side: it drains the set-up's events until the run's
//! plan arrives, then accounts for every message of the room by sequence
//! number and records its latency — from the sender's send time, and one way
//! from the server's stamp — with several nodes, also by path (sender on the
//! receiver's node, or on another one).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chatroom_common::protocol::{Event, Seq};
use hdrhistogram::Histogram;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::nodes::{Path, SenderNodes};
use crate::payload;
use crate::stats;
use crate::tracker::{Recorded, SeqTracker};

/// What the receivers are told once everyone has joined.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// The room's last sequence number before the first send.
    pub base: Seq,
    /// The most messages the run can post.
    pub expected: u64,
}

/// What every receiver shares.
#[derive(Clone)]
pub(crate) struct Shared {
    /// The room's canonical name.
    pub room: Arc<str>,
    /// The plan, once set-up is over.
    pub plan_rx: watch::Receiver<Option<Plan>>,
    /// Turns true when the run gives up waiting.
    pub stop_rx: watch::Receiver<bool>,
    /// Deliveries so far, over all receivers (progress and completion).
    pub delivered: Arc<AtomicU64>,
    /// With several nodes, how to tell a sender's node; `None` for one server.
    pub senders: Option<Arc<SenderNodes>>,
    /// Keep every delivery's [`Sample`] (the transfer scenario splits them by
    /// send time once it knows when the transfers ran).
    pub keep_samples: bool,
}

/// One delivery of a timestamped message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    /// When it was sent, Unix nanoseconds.
    pub sent_nanos: u64,
    /// Send to arrival, microseconds.
    pub latency_us: u64,
    /// The sender's client index (from `bench-<run>-<index>`), if it has one.
    pub sender: Option<usize>,
}

/// One receiver's findings.
pub(crate) struct Received {
    /// The node this client used.
    pub node: usize,
    /// Latency of every delivery, from the sender's send time.
    pub hist: Histogram<u64>,
    /// Latency of every delivery from the server's stamp (see [`one_way_us`]).
    pub one_way: Histogram<u64>,
    /// Latency of deliveries from a sender on the same node (several nodes only).
    pub same_node: Histogram<u64>,
    /// Latency of deliveries from a sender on another node (several nodes only).
    pub cross_node: Histogram<u64>,
    /// Distinct expected messages received.
    pub unique: u64,
    /// Repeats.
    pub duplicates: u64,
    /// Arrivals after a higher sequence number.
    pub out_of_order: u64,
    /// `Resync` events for the room.
    pub resyncs: u64,
    /// When the last new message arrived.
    pub last_arrival: Option<Instant>,
    /// Every timestamped delivery, when [`Shared::keep_samples`] asks for them.
    pub samples: Vec<Sample>,
}

/// Drains events until the plan arrives, then accounts for every message of
/// the room until all expected ones are in or the run is stopped.
pub(crate) async fn receive(
    mut events: mpsc::Receiver<Event>,
    node: usize,
    shared: Shared,
) -> Received {
    let Shared {
        room,
        mut plan_rx,
        mut stop_rx,
        delivered,
        senders,
        keep_samples,
    } = shared;
    let mut received = Received {
        node,
        hist: stats::new_histogram(),
        one_way: stats::new_histogram(),
        same_node: stats::new_histogram(),
        cross_node: stats::new_histogram(),
        unique: 0,
        duplicates: 0,
        out_of_order: 0,
        resyncs: 0,
        last_arrival: None,
        samples: Vec::new(),
    };
    // The plan is published before the first send, so an event that arrives
    // while the plan is already there may be one of the run's messages: it is
    // counted, not dropped with the setup's events (select! picks at random
    // when the plan and a message are both ready).
    let (plan, mut first) = loop {
        if let Some(plan) = *plan_rx.borrow_and_update() {
            break (plan, None);
        }
        tokio::select! {
            changed = plan_rx.changed() => if changed.is_err() { return received },
            event = events.recv() => match event {
                None => return received,
                Some(event) => if let Some(plan) = *plan_rx.borrow_and_update() {
                    break (plan, Some(event));
                },
            },
            _ = stop_rx.changed() => return received,
        }
    };
    let mut tracker = SeqTracker::new(plan.base, plan.expected);
    loop {
        let event = match first.take() {
            Some(event) => Some(event),
            None => tokio::select! {
                biased;
                event = events.recv() => event,
                _ = stop_rx.changed() => break,
            },
        };
        match event {
            Some(Event::Message(message)) if *message.room == *room => {
                if tracker.record(message.seq) == Recorded::New {
                    let now = payload::now_nanos();
                    if let Some(us) = one_way_us(message.sent_at, now) {
                        received.one_way.saturating_record(us);
                    }
                    if let Some(sent) = payload::sent_nanos(&message.text) {
                        let us = now.saturating_sub(sent) / 1000;
                        received.hist.saturating_record(us);
                        if keep_samples {
                            received.samples.push(Sample {
                                sent_nanos: sent,
                                latency_us: us,
                                sender: sender_index(&message.sender),
                            });
                        }
                        let path = senders.as_ref().and_then(|s| s.node_of(&message.sender));
                        match path.map(|n| path_of(n, node)) {
                            Some(Path::SameNode) => received.same_node.saturating_record(us),
                            Some(Path::CrossNode) => received.cross_node.saturating_record(us),
                            None => {}
                        }
                    }
                    received.last_arrival = Some(Instant::now());
                    delivered.fetch_add(1, Ordering::Relaxed);
                    if tracker.complete() {
                        break;
                    }
                }
            }
            Some(Event::Resync { room: r, .. }) if *r == *room => received.resyncs += 1,
            Some(_) => {}
            None => break,
        }
    }
    received.unique = tracker.unique();
    received.duplicates = tracker.duplicates();
    received.out_of_order = tracker.out_of_order();
    received
}

/// Microseconds from the server's stamp on a message (`sent_at`: Unix
/// milliseconds, taken when it accepted the `Send`, before storing and
/// pushing it) to its arrival at `now_nanos`; `None` for a stamp from before
/// the epoch. The stamp is whole milliseconds, truncated, so the result is
/// the true one plus 0 to 1 ms (0.5 ms on average). The server and the
/// benchmark run on one machine and read the same clock.
fn one_way_us(sent_at_ms: i64, now_nanos: u64) -> Option<u64> {
    let stamp_us = u64::try_from(sent_at_ms).ok()?.saturating_mul(1000);
    Some((now_nanos / 1000).saturating_sub(stamp_us))
}

/// The client index a benchmark username (`bench-<run>-<index>`) ends with.
fn sender_index(username: &str) -> Option<usize> {
    username.rsplit_once('-')?.1.parse().ok()
}

/// Whether a message from a sender on `sender` to a receiver on `receiver`
/// crossed nodes.
fn path_of(sender: usize, receiver: usize) -> Path {
    if sender == receiver {
        Path::SameNode
    } else {
        Path::CrossNode
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_way_latency_counts_from_the_start_of_the_stamped_millisecond() {
        let now = 1_700_000_000_020_700_000; // 20.7 ms after the stamp's millisecond began
        assert_eq!(one_way_us(1_700_000_000_000, now), Some(20_700));
        assert_eq!(
            one_way_us(1_700_000_000_021, now),
            Some(0),
            "a stamp ahead of the clock"
        );
        assert_eq!(one_way_us(-1, now), None);
    }
}
