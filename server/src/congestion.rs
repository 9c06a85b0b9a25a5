//! The server's congestion controller: quinn's Cubic with a floor under its
//! window, so an isolated random loss does not hold back a connection that
//! uses a fraction of it.
//!
//! A chat connection is almost always application-limited (a busy room's
//! pushes are a few KB per round trip), and Cubic grows its window only while
//! the window is the limit, so the window settles just above what the
//! connection needs. Each loss then cuts it to 70 %, below that need, and
//! until it has grown back every stream of the connection waits behind it:
//! one lost packet delays the events of the next round trips too, which is
//! the head-of-line blocking per-message streams exist to avoid
//! (docs/performance.md, "S4 made fair" and "S4: a floor under the
//! congestion window"). With the floor at the initial window, what a
//! connection may have in flight after any number of losses is what every
//! new connection starts with; above it Cubic behaves as before.
//!
//! The floor is for random loss, not for a dead or badly congested path: after
//! persistent congestion (every packet of a whole stretch lost) the window is
//! Cubic's own, as low as two packets, until an acknowledgement shows the path
//! delivering again. A connection whose peer vanished therefore keeps two
//! packets of retransmissions in flight until its idle timeout, not ten.

use std::any::Any;
use std::sync::Arc;
use std::time::Instant;

use quinn::congestion::{Controller, ControllerFactory, ControllerMetrics, CubicConfig};
use quinn_proto::RttEstimator;

/// Builds a [`Floored`] Cubic for each connection.
#[derive(Debug)]
pub struct FlooredCubic {
    cubic: Arc<CubicConfig>,
    floor: u64,
}

impl FlooredCubic {
    /// Cubic with quinn's defaults, its window never below its initial one.
    pub fn new() -> Self {
        let cubic = CubicConfig::default();
        // The initial window quinn's Cubic starts with (ten packets).
        let floor = Arc::new(cubic.clone())
            .build(Instant::now(), 1200)
            .initial_window();
        Self {
            cubic: Arc::new(cubic),
            floor,
        }
    }

    /// The least window a connection gets, in bytes.
    pub fn floor(&self) -> u64 {
        self.floor
    }
}

impl Default for FlooredCubic {
    fn default() -> Self {
        Self::new()
    }
}

impl ControllerFactory for FlooredCubic {
    fn build(self: Arc<Self>, now: Instant, current_mtu: u16) -> Box<dyn Controller> {
        Box::new(Floored {
            inner: self.cubic.clone().build(now, current_mtu),
            floor: self.floor,
            collapsed: false,
        })
    }
}

/// One connection's controller: Cubic's state, its window read through the floor.
struct Floored {
    inner: Box<dyn Controller>,
    floor: u64,
    /// Set by persistent congestion, cleared by the next ACK frame that
    /// acknowledges new packets: while set, the floor does not apply.
    collapsed: bool,
}

impl Controller for Floored {
    fn on_sent(&mut self, now: Instant, bytes: u64, last_packet_number: u64) {
        self.inner.on_sent(now, bytes, last_packet_number);
    }

    fn on_ack(
        &mut self,
        now: Instant,
        sent: Instant,
        bytes: u64,
        app_limited: bool,
        rtt: &RttEstimator,
    ) {
        self.inner.on_ack(now, sent, bytes, app_limited, rtt);
    }

    fn on_end_acks(
        &mut self,
        now: Instant,
        in_flight: u64,
        app_limited: bool,
        largest_packet_num_acked: Option<u64>,
    ) {
        // quinn calls this once per ACK frame that acknowledges something
        // new, before it looks for losses, so the ACK that reveals persistent
        // congestion sets `collapsed` after this and the next one clears it.
        self.collapsed = false;
        self.inner
            .on_end_acks(now, in_flight, app_limited, largest_packet_num_acked);
    }

    fn on_congestion_event(
        &mut self,
        now: Instant,
        sent: Instant,
        is_persistent_congestion: bool,
        lost_bytes: u64,
    ) {
        self.collapsed |= is_persistent_congestion;
        self.inner
            .on_congestion_event(now, sent, is_persistent_congestion, lost_bytes);
    }

    fn on_mtu_update(&mut self, new_mtu: u16) {
        self.inner.on_mtu_update(new_mtu);
    }

    fn window(&self) -> u64 {
        if self.collapsed {
            self.inner.window()
        } else {
            self.inner.window().max(self.floor)
        }
    }

    fn metrics(&self) -> ControllerMetrics {
        let mut metrics = self.inner.metrics();
        metrics.congestion_window = self.window();
        metrics
    }

    fn clone_box(&self) -> Box<dyn Controller> {
        Box::new(Floored {
            inner: self.inner.clone_box(),
            floor: self.floor,
            collapsed: self.collapsed,
        })
    }

    fn initial_window(&self) -> u64 {
        self.inner.initial_window()
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Twenty isolated losses, a round trip apart, each a congestion event
    /// of its own.
    fn losses(controller: &mut dyn Controller, start: Instant) {
        for i in 1..=20 {
            let now = start + Duration::from_millis(40 * i);
            controller.on_congestion_event(now, now - Duration::from_millis(10), false, 1200);
        }
    }

    #[test]
    fn isolated_losses_never_take_the_window_below_the_initial_one() {
        let factory = Arc::new(FlooredCubic::new());
        let start = Instant::now();
        let mut floored = factory.clone().build(start, 1200);
        let mut plain = Arc::new(CubicConfig::default()).build(start, 1200);
        assert_eq!(floored.window(), plain.window(), "the same start");
        assert_eq!(floored.window(), factory.floor());
        losses(floored.as_mut(), start);
        losses(plain.as_mut(), start);
        // Cubic alone cut its window far below where it started...
        assert!(plain.window() < factory.floor() / 2, "{}", plain.window());
        // ...the floored one still lets a connection send what it began with.
        assert_eq!(floored.window(), factory.floor());
        assert_eq!(floored.metrics().congestion_window, factory.floor());
        assert_eq!(floored.clone_box().window(), factory.floor());
    }

    #[test]
    fn persistent_congestion_lifts_the_floor_until_the_next_acknowledgement() {
        let factory = Arc::new(FlooredCubic::new());
        let start = Instant::now();
        let mut floored = factory.clone().build(start, 1200);
        let now = start + Duration::from_secs(1);
        floored.on_congestion_event(now, start, true, 12_000);
        // Cubic's own minimum, two packets: a path that lost everything for a
        // while gets no more than that in flight.
        assert!(
            floored.window() < factory.floor() / 2,
            "{}",
            floored.window()
        );
        assert_eq!(floored.metrics().congestion_window, floored.window());
        assert_eq!(floored.clone_box().window(), floored.window());
        // Delivery again (an ACK frame acknowledging new packets): random
        // losses from here on meet the floor.
        let later = now + Duration::from_millis(50);
        floored.on_end_acks(later, 0, true, Some(12));
        assert_eq!(floored.window(), factory.floor());
        floored.on_congestion_event(later, now, false, 1200);
        assert_eq!(floored.window(), factory.floor());
    }
}
