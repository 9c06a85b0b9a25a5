//! The state every connection handler shares: store, hub, guards and settings.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::Limits;
use crate::guard::LoginGuard;
use crate::hub::Hub;
use crate::store::Store;

/// Shared by all connections of one server.
pub struct Context {
    /// Users, rooms and messages.
    pub store: Arc<dyn Store>,
    /// Who listens to which room.
    pub hub: Hub,
    /// Login back-off per username.
    pub user_guard: LoginGuard,
    /// Login back-off per source address.
    pub ip_guard: LoginGuard,
    /// The configured limits.
    pub limits: Limits,
    /// Name shown to clients in `Hello`.
    pub server_name: String,
    /// Secret mixed into the fake challenges given for unknown users, so they
    /// look like real ones and do not reveal which usernames exist.
    pub challenge_secret: [u8; 32],
    /// Next connection id.
    next_conn: AtomicU64,
}

impl Context {
    /// Builds the shared state.
    pub fn new(store: Arc<dyn Store>, limits: Limits, server_name: String) -> Self {
        Self {
            store,
            hub: Hub::default(),
            user_guard: LoginGuard::new(
                limits.login_failures_per_user,
                limits.lockout_base,
                limits.lockout_max,
            ),
            ip_guard: LoginGuard::new(
                limits.login_failures_per_ip,
                limits.lockout_base,
                limits.lockout_max,
            ),
            limits,
            server_name,
            challenge_secret: rand::random(),
            next_conn: AtomicU64::new(1),
        }
    }

    /// A fresh connection id.
    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
