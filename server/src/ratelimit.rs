//! Token buckets: honest flood control that tells the client when to retry,
//! instead of silently delaying it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// One bucket per key: `burst` tokens, refilled at `rate` per second.
#[derive(Debug)]
pub struct RateLimiter<K> {
    /// The buckets; a std mutex never held across an await.
    buckets: Mutex<HashMap<K, Bucket>>,
    /// Tokens added per second.
    rate: f64,
    /// Bucket size: how many can be spent at once.
    burst: f64,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// A limiter allowing `rate` per second with bursts of `burst`.
    pub fn new(rate: f64, burst: u32) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            rate: rate.max(f64::MIN_POSITIVE),
            burst: f64::from(burst.max(1)),
        }
    }

    /// Takes a token for `key`, or says how long until one is available.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        // Bound memory: full buckets carry no information, so drop them.
        if buckets.len() > 100_000 {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_refill() {
        let limiter = RateLimiter::new(5.0, 10);
        for _ in 0..10 {
            assert!(limiter.check(&1).is_ok());
        }
        let wait = limiter.check(&1).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(200));
        assert!(limiter.check(&2).is_ok(), "keys are independent");
        tokio::time::advance(Duration::from_millis(210)).await;
        assert!(limiter.check(&1).is_ok());
        assert!(limiter.check(&1).is_err());
    }
}
