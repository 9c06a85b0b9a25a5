//! One crowd client's receiving side: it drains the set-up's events until
//! the plan arrives, then accounts for every message of the crowd's rooms
//! by sequence number and records its latency, per kind of room.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chatroom_common::protocol::{Event, Seq};
use hdrhistogram::Histogram;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::KINDS;
use crate::payload;
use crate::stats;
use crate::tracker::{Recorded, SeqTracker};

/// What every receiver is told once set-up is over.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    /// Room name → (kind, base, messages).
    pub(super) rooms: Arc<HashMap<String, (usize, Seq, u64)>>,
}

/// One client's findings: per kind (latency, distinct, repeats).
pub(super) struct Received {
    pub(super) kinds: Vec<(Histogram<u64>, u64, u64)>,
    pub(super) resyncs: u64,
    pub(super) last_arrival: Option<Instant>,
}

/// Drains a client's events; once the plan is known, accounts for every
/// message of the crowd's rooms by sequence number and records its latency.
pub(super) async fn receive(
    mut events: mpsc::Receiver<Event>,
    mut plan_rx: watch::Receiver<Option<Plan>>,
    mut stop_rx: watch::Receiver<bool>,
    delivered: Arc<AtomicU64>,
) -> Received {
    let mut received = Received {
        kinds: (0..KINDS.len())
            .map(|_| (stats::new_histogram(), 0, 0))
            .collect(),
        resyncs: 0,
        last_arrival: None,
    };
    // Set-up: drain until the plan arrives.
    let plan = loop {
        tokio::select! {
            event = events.recv() => if event.is_none() { return received },
            changed = plan_rx.changed() => {
                if changed.is_err() {
                    return received;
                }
                let plan = plan_rx.borrow().clone();
                if let Some(plan) = plan {
                    break plan;
                }
            }
        }
    };
    let mut trackers: HashMap<String, (usize, SeqTracker)> = HashMap::new();
    loop {
        let event = tokio::select! {
            event = events.recv() => match event {
                Some(event) => event,
                None => break,
            },
            _ = stop_rx.changed() => break,
        };
        match event {
            Event::Message(m) => {
                let Some(&(kind, base, messages)) = plan.rooms.get(&m.room) else {
                    continue;
                };
                let (kind, tracker) = trackers
                    .entry(m.room)
                    .or_insert_with(|| (kind, SeqTracker::new(base, messages)));
                match tracker.record(m.seq) {
                    Recorded::New => {
                        let got = &mut received.kinds[*kind];
                        got.1 += 1;
                        if let Some(sent) = payload::sent_nanos(&m.text) {
                            let us = payload::now_nanos().saturating_sub(sent) / 1000;
                            let _ = got.0.record(us.max(1));
                        }
                        received.last_arrival = Some(Instant::now());
                        delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    Recorded::Duplicate => received.kinds[*kind].2 += 1,
                    Recorded::Outside => {}
                }
            }
            Event::Resync { room, .. } if plan.rooms.contains_key(&room) => received.resyncs += 1,
            _ => {}
        }
    }
    received
}
