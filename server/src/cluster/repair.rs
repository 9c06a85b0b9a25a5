//! Server-side repair from the database: every node keeps, per room with a
//! connection here, which `seq`s it delivered (`ledger.rs`), and fills holes
//! from the store, so what NATS loses between nodes still reaches every
//! member without waiting for the room's next message.
//!
//! A hole is a `seq` known to exist but not delivered here: one skipped by a
//! message that arrived, or one below the room's head in the store. Heads are
//! read in one query for every watched room: on a periodic sweep, after each
//! (re)connection to NATS, and for a room as soon as it is first watched
//! (which anchors where this node's promise starts). A hole left unfilled
//! for the grace time (stragglers arrive in milliseconds) is read from the
//! store and delivered exactly as a live push. Each `seq` is claimed in the
//! ledger before it is delivered, by the live path and by repair alike, so a
//! node delivers a `seq` at most once however both race.

mod ledger;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chatroom_common::codec;
use chatroom_common::protocol::{Event, HistoryQuery, MAX_HISTORY_PAGE, Seq};
use tokio::sync::Notify;
use tracing::{debug, info, warn};

use self::ledger::{Due, Ledger, MAX_WINDOW};
use crate::hub::Hub;
use crate::store::{RoomId, Store, StoreError};

/// The longest wait between attempts to reconnect to NATS (the client's
/// default is 4 s): until it is back this node hears nothing live from the
/// others, and the repair a reconnect starts should not wait on the backoff.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// When repair looks, and how patiently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepairTiming {
    /// How long a hole may stay open before it is read from the store: long
    /// enough for a message merely late (NATS delivers in milliseconds, and a
    /// node's own sends may reach its broadcast out of order), short enough
    /// that a member hardly notices.
    pub grace: Duration,
    /// How often the heads of every watched room are read, to find what was
    /// lost with nothing after it to reveal the gap.
    pub sweep: Duration,
}

impl Default for RepairTiming {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(1),
            sweep: Duration::from_secs(3),
        }
    }
}

/// Shared by the hub's link (local broadcasts), the room readers (other
/// nodes' messages), the NATS event callback and the repair task.
#[derive(Debug, Default)]
pub(super) struct Repair {
    /// What was delivered where. A std mutex, held for a few field updates
    /// and never across an await.
    ledger: Mutex<Ledger>,
    /// Wakes the repair task: a room to anchor, the first hole, a reconnect.
    wake: Notify,
    /// A sweep of every watched room is wanted (NATS reconnected).
    sweep_wanted: AtomicBool,
    /// The NATS connection was lost and has not come back yet.
    disconnected: AtomicBool,
}

impl Repair {
    fn lock(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `room` got its first connection here: track it, and read its head.
    pub(super) fn watch(&self, room: RoomId) {
        self.lock().watch(room);
        self.wake.notify_one();
    }

    /// `room` lost its last connection here: forget it.
    pub(super) fn unwatch(&self, room: RoomId) {
        self.lock().unwatch(room);
    }

    /// This node delivered `seq` itself (a local broadcast). The hot path:
    /// a lock, a map lookup and a few comparisons; the clock is read and the
    /// task woken only when the first hole opens.
    pub(super) fn delivered(&self, room: RoomId, seq: Seq) {
        let first_hole = self.lock().delivered(room, seq, Instant::now);
        if first_hole {
            self.wake.notify_one();
        }
    }

    /// Another node's `seq` arrived: whether to deliver it (not delivered
    /// here yet, by repair in particular).
    pub(super) fn claim(&self, room: RoomId, seq: Seq) -> bool {
        let (deliver, first_hole) = self.lock().claim(room, seq, Instant::now);
        if first_hole {
            self.wake.notify_one();
        }
        deliver
    }

    /// What the NATS client reports about its connection.
    pub(super) fn nats_event(&self, event: async_nats::Event) {
        match &event {
            async_nats::Event::Connected => {
                if self.disconnected.swap(false, Ordering::AcqRel) {
                    info!("reconnected to NATS; reading room heads for what was missed");
                }
                // Whatever other nodes published meanwhile never came.
                self.sweep_wanted.store(true, Ordering::Release);
                self.wake.notify_one();
            }
            async_nats::Event::Disconnected => {
                self.disconnected.store(true, Ordering::Release);
                warn!("lost the connection to NATS; repairing from the database until it is back");
            }
            // Messages the NATS client dropped for a slow subscription are
            // holes like any other; worth knowing about all the same.
            async_nats::Event::SlowConsumer(_)
            | async_nats::Event::ServerError(_)
            | async_nats::Event::ClientError(_) => warn!("NATS: {event}"),
            other => info!("NATS: {other}"),
        }
    }
}

/// The wait before reconnect attempt `attempts` (the NATS client's
/// `reconnect_delay_callback`): at once, then doubling from 10 ms up to
/// [`MAX_RECONNECT_DELAY`].
pub(super) fn reconnect_delay(attempts: usize) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(2)).unwrap_or(u32::MAX);
    match attempts {
        0 | 1 => Duration::ZERO,
        _ => Duration::from_millis(10)
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(MAX_RECONNECT_DELAY),
    }
}

/// The repair task: reads heads, waits out each hole's grace, fills holes
/// from `store` into `hub`, until the hub is gone.
pub(super) async fn run(
    repair: Arc<Repair>,
    store: Arc<dyn Store>,
    hub: Weak<Hub>,
    timing: RepairTiming,
) {
    let mut sweep = tokio::time::interval(timing.sweep);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The interval's first tick is immediate; nothing is watched yet.
    sweep.tick().await;
    loop {
        let due = repair.lock().next_due(timing.grace);
        let mut sweep_now = false;
        tokio::select! {
            () = repair.wake.notified() => {}
            () = sleep_until(due), if due.is_some() => {}
            _ = sweep.tick() => sweep_now = true,
        }
        sweep_now |= repair.sweep_wanted.swap(false, Ordering::AcqRel);
        let Some(hub) = hub.upgrade() else { return };
        read_heads(&repair, &*store, sweep_now).await;
        let mut repaired = (0, 0);
        let mut due = repair.lock().due(Instant::now(), timing.grace).into_iter();
        while let Some(hole) = due.next() {
            match fill(&repair, &*store, &hub, hole).await {
                Ok(0) => {}
                Ok(delivered) => repaired = (repaired.0 + delivered, repaired.1 + 1),
                Err(e) => {
                    // The database is likely down: every hole waits another
                    // grace rather than each failing (and logging) in turn.
                    let mut ledger = repair.lock();
                    let now = Instant::now();
                    ledger.retry_later(hole, now);
                    let postponed = 1 + due.len();
                    for hole in due.by_ref() {
                        ledger.retry_later(hole, now);
                    }
                    drop(ledger);
                    warn!(
                        holes = postponed,
                        "reading missing messages for repair: {e}"
                    );
                }
            }
        }
        if repaired.0 > 0 {
            info!(
                messages = repaired.0,
                rooms = repaired.1,
                "delivered messages lost between nodes, from the database"
            );
        }
        let given_up = repair.lock().take_given_up();
        if given_up > 0 {
            warn!(
                holes = given_up,
                "holes too wide to repair (over {MAX_WINDOW} messages); clients fill them from history"
            );
        }
    }
}

/// Sleeps until `deadline` (the select guard skips `None`).
async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
    }
}

/// Reads the heads of every watched room (a sweep) or of the rooms watched
/// since the last reading, in one query, into the ledger.
async fn read_heads(repair: &Repair, store: &dyn Store, everything: bool) {
    let rooms = {
        let ledger = repair.lock();
        if everything {
            ledger.watched()
        } else {
            ledger.unanchored()
        }
    };
    if rooms.is_empty() {
        return;
    }
    match store.room_heads(&rooms).await {
        Ok(heads) => {
            repair.lock().learn_heads(&heads, Instant::now());
        }
        // The next sweep tries again; meanwhile the holes already known wait.
        Err(e) => warn!(rooms = rooms.len(), "reading room heads for repair: {e}"),
    }
}

/// Delivers the missing messages of one hole; returns how many. On a store
/// error what was delivered stays delivered, and the hole stays open.
async fn fill(repair: &Repair, store: &dyn Store, hub: &Hub, hole: Due) -> Result<u64, StoreError> {
    // A hole wider than the window is not pushed whole: clients fetch the
    // older part from history when they see the gap below the newest.
    let mut after = hole.after.max(hole.upto.saturating_sub(MAX_WINDOW));
    let mut delivered = 0;
    while after < hole.upto {
        let query = HistoryQuery::After {
            after,
            limit: MAX_HISTORY_PAGE,
        };
        let page = store.history(hole.room, query).await?;
        let full = page.len() >= MAX_HISTORY_PAGE as usize;
        let Some(last) = page.last().map(|m| m.seq) else {
            break;
        };
        for message in page {
            let seq = message.seq;
            if seq > hole.upto {
                break;
            }
            // Claimed just before delivery: a copy that came live meanwhile
            // has claimed it already.
            if !repair.lock().claim_missing(hole, seq, Instant::now()) {
                continue;
            }
            match codec::encode(&Event::Message(message)) {
                Ok(bytes) => {
                    hub.deliver_room(hole.room, Some(seq), &Bytes::from(bytes));
                    delivered += 1;
                }
                Err(e) => warn!(room = hole.room, seq, "encoding a repaired message: {e}"),
            }
        }
        if !full || last <= after {
            break;
        }
        after = last;
    }
    repair.lock().settle(hole, Instant::now());
    debug!(
        room = hole.room,
        after = hole.after,
        upto = hole.upto,
        delivered,
        "hole repaired"
    );
    Ok(delivered)
}

#[cfg(test)]
mod tests;
