//! The queue from the network side to the UI: a mutex-guarded `VecDeque` and a
//! waker called after each push, so the UI repaints only when there is news.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::UiEvent;

/// Called after events are queued (the app passes `ctx.request_repaint`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The shared queue; cloning shares it.
#[derive(Clone)]
pub struct Inbox {
    /// Events not yet taken by the UI, and a condition for headless waiters.
    shared: Arc<(Mutex<VecDeque<UiEvent>>, Condvar)>,
    /// Wakes the UI.
    waker: Waker,
}

impl Inbox {
    /// An empty queue.
    pub fn new(waker: Waker) -> Self {
        Self {
            shared: Arc::new((Mutex::new(VecDeque::new()), Condvar::new())),
            waker,
        }
    }

    fn queue(&self) -> MutexGuard<'_, VecDeque<UiEvent>> {
        // A panic while holding the lock leaves a queue that is still valid.
        self.shared.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues one event and wakes the UI.
    pub fn push(&self, event: UiEvent) {
        self.queue().push_back(event);
        self.shared.1.notify_all();
        (self.waker)();
    }

    /// Takes every queued event. The lock is held only for the swap.
    pub fn drain(&self) -> Vec<UiEvent> {
        self.queue().drain(..).collect()
    }

    /// Waits up to `timeout` for at least one event, then takes them all: for
    /// headless users (tests, tools), never for the UI thread.
    pub fn wait(&self, timeout: Duration) -> Vec<UiEvent> {
        let deadline = Instant::now() + timeout;
        let mut queue = self.queue();
        while queue.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            queue = match self.shared.1.wait_timeout(queue, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        queue.drain(..).collect()
    }
}
