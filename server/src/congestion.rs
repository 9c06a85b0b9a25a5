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
//! The floor is for random loss, not for a path that stopped delivering:
//! after persistent congestion (everything sent over a stretch of several
//! round trips lost, as in a blackout; quinn sees it with the first ACK after
//! it) the window is Cubic's own, restarting from two packets, until Cubic has
//! grown it back to the floor, so a path that just came back is probed as Cubic
//! would, not sent ten packets at once. Cubic grows it only while the
//! connection has more to send than the window allows, which is when it
//! matters.

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
    /// Set by persistent congestion, cleared once Cubic's window has grown
    /// back to the floor: while set, the floor does not apply.
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
        self.inner
            .on_end_acks(now, in_flight, app_limited, largest_packet_num_acked);
        // After the ACKs of a frame, which are what grow Cubic's window.
        if self.inner.window() >= self.floor {
            self.collapsed = false;
        }
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

    /// A stand-in for Cubic whose window doubles with every ACK frame, so
    /// the wrapper's own rule can be followed without quinn's RTT estimator
    /// (which only quinn can build).
    #[derive(Clone)]
    struct Doubling(u64);

    impl Controller for Doubling {
        fn on_end_acks(&mut self, _: Instant, _: u64, _: bool, _: Option<u64>) {
            self.0 *= 2;
        }
        fn on_congestion_event(&mut self, _: Instant, _: Instant, persistent: bool, _: u64) {
            self.0 = if persistent { 2400 } else { self.0 * 7 / 10 };
        }
        fn on_mtu_update(&mut self, _: u16) {}
        fn window(&self) -> u64 {
            self.0
        }
        fn clone_box(&self) -> Box<dyn Controller> {
            Box::new(self.clone())
        }
        fn initial_window(&self) -> u64 {
            14_720
        }
        fn into_any(self: Box<Self>) -> Box<dyn Any> {
            self
        }
    }

    #[test]
    fn persistent_congestion_lifts_the_floor_until_the_window_has_grown_back() {
        let floor = FlooredCubic::new().floor();
        let mut floored = Floored {
            inner: Box::new(Doubling(floor)),
            floor,
            collapsed: false,
        };
        let now = Instant::now();
        floored.on_congestion_event(now, now, false, 1200);
        assert_eq!(floored.window(), floor, "a random loss meets the floor");
        floored.on_congestion_event(now, now, true, 12_000);
        assert_eq!(floored.window(), 2400, "after a blackout: two packets");
        assert_eq!(floored.metrics().congestion_window, 2400);
        assert_eq!(floored.clone_box().window(), 2400);
        // 2,400 → 4,800 → 9,600: still below the floor, still Cubic's own.
        floored.on_end_acks(now, 0, false, Some(1));
        floored.on_end_acks(now, 0, false, Some(2));
        assert_eq!(floored.window(), 9600);
        // 19,200: grown back past the floor, which holds again from here.
        floored.on_end_acks(now, 0, false, Some(3));
        assert_eq!(floored.window(), 19_200);
        floored.on_congestion_event(now, now, false, 1200);
        floored.on_congestion_event(now, now, false, 1200);
        assert_eq!(floored.window(), floor);
    }
}
