//! Login back-off: after repeated failures a user (or an address) is locked out
//! for a time that doubles with each further failure.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Failure counts per key (a username key, or an IP address).
#[derive(Debug)]
pub struct LoginGuard {
    /// Per-key failure state; a std mutex, never held across an await.
    entries: Mutex<HashMap<String, Entry>>,
    /// Failures allowed before locking.
    threshold: u32,
    /// First lock-out length.
    base: Duration,
    /// Longest lock-out.
    max: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    locked_until: Option<Instant>,
}

impl LoginGuard {
    /// A guard that locks after `threshold` failures.
    pub fn new(threshold: u32, base: Duration, max: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            threshold: threshold.max(1),
            base,
            max,
        }
    }

    /// `Err(wait)` while `key` is locked out.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(key).and_then(|e| e.locked_until) {
            Some(until) if until > Instant::now() => Err(until - Instant::now()),
            _ => Ok(()),
        }
    }

    /// Records a failure; returns the lock-out it caused, if any.
    pub fn failure(&self, key: &str) -> Option<Duration> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // Bound memory: forget keys whose lock-out has passed once the map grows.
        if entries.len() > 100_000 {
            let now = Instant::now();
            entries.retain(|_, e| e.locked_until.is_some_and(|u| u > now));
        }
        let entry = entries.entry(key.to_owned()).or_insert(Entry {
            failures: 0,
            locked_until: None,
        });
        entry.failures = entry.failures.saturating_add(1);
        if entry.failures < self.threshold {
            return None;
        }
        let doublings = (entry.failures - self.threshold).min(20);
        let wait = self.base.saturating_mul(1 << doublings).min(self.max);
        entry.locked_until = Some(Instant::now() + wait);
        Some(wait)
    }

    /// Forgets the failures of `key` after a successful login.
    pub fn success(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn locks_after_threshold_and_doubles() {
        let g = LoginGuard::new(3, Duration::from_secs(1), Duration::from_secs(10));
        assert_eq!(g.failure("bob"), None);
        assert_eq!(g.failure("bob"), None);
        assert_eq!(g.failure("bob"), Some(Duration::from_secs(1)));
        assert!(g.check("bob").is_err());
        assert!(g.check("alice").is_ok());
        tokio::time::advance(Duration::from_millis(1100)).await;
        assert!(g.check("bob").is_ok());
        assert_eq!(g.failure("bob"), Some(Duration::from_secs(2)));
        for _ in 0..10 {
            g.failure("bob");
        }
        assert!(g.check("bob").unwrap_err() <= Duration::from_secs(10));
        g.success("bob");
        assert!(g.check("bob").is_ok());
    }
}
