//! Reconnect delays: exponential from 0.5 s to a 10 s cap, with jitter so that
//! many clients dropped by one server restart do not return in lock-step.

use std::time::Duration;

use rand::Rng;

/// First delay after a drop.
pub const FIRST: Duration = Duration::from_millis(500);
/// Longest delay between attempts.
pub const CAP: Duration = Duration::from_secs(10);

/// Exponential back-off state.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// Failed attempts since the last success.
    attempt: u32,
    /// The first delay.
    first: Duration,
    /// The longest delay.
    cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Backoff {
    /// A fresh back-off (the next delay is [`FIRST`]).
    pub fn new() -> Self {
        Self::starting_at(FIRST)
    }

    /// A back-off whose first delay is `first` (the cap rises to it if lower).
    pub fn starting_at(first: Duration) -> Self {
        Self {
            attempt: 0,
            first,
            cap: CAP.max(first),
        }
    }

    /// Attempts made since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The next delay: doubles up to [`CAP`], then takes 75–100 % of it at random.
    pub fn next_delay(&mut self) -> Duration {
        let doubled = self.first.saturating_mul(1u32 << self.attempt.min(8));
        self.attempt = self.attempt.saturating_add(1);
        let base = doubled.min(self.cap);
        let factor = rand::rng().random_range(0.75..=1.0);
        base.mul_f64(factor)
    }

    /// Forgets past failures after a successful connection.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_with_jitter_and_resets() {
        let mut b = Backoff::new();
        let first = b.next_delay();
        assert!(first <= FIRST && first >= FIRST.mul_f64(0.75), "{first:?}");
        let second = b.next_delay();
        assert!(second >= FIRST.mul_f64(2.0 * 0.75), "{second:?}");
        for _ in 0..20 {
            let d = b.next_delay();
            assert!(
                d <= CAP && d >= CAP.mul_f64(0.75) || b.attempt() < 6,
                "{d:?}"
            );
        }
        assert_eq!(b.attempt(), 22);
        b.reset();
        assert!(b.next_delay() <= FIRST);
    }
}
