//! The state every connection handler shares: store, hub, guards and settings.

use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

use crate::avatars::AvatarPool;
use crate::cluster::Presence;
use std::net::IpAddr;

use crate::config::Limits;
use crate::guard::LoginGuard;
use crate::hub::Hub;
use crate::mail::Mailer;
use crate::ratelimit::RateLimiter;
use crate::store::Store;
use crate::store::UserId;
use crate::transport_totals::TransportTotals;

/// Shared by all connections of one server.
pub struct Context {
    /// Users, rooms and messages.
    pub store: Arc<dyn Store>,
    /// Who listens to which room (shared with the cluster's readers).
    pub hub: Arc<Hub>,
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
    /// Avatars in the database: crawled and generated ones (assigned at
    /// registration, offered to pick from) and uploads (served by hash).
    pub avatar_pool: AvatarPool,
    /// Bounds the memory held by avatar uploads being received and decoded at once.
    pub uploads: Semaphore,
    /// The memory attachments being uploaded or downloaded may hold, in KiB
    /// (`Limits::transfer_memory`): each transfer takes its file's size.
    pub transfers: Semaphore,
    /// Per-user flood control for sends.
    pub send_limiter: RateLimiter<UserId>,
    /// Per-address flood control for registrations.
    pub register_limiter: RateLimiter<IpAddr>,
    /// Registration mail: settings, sender, and the outbox worker's wake-up.
    pub mail: Mailer,
    /// Presence across the nodes, when this one is part of a cluster (set
    /// once, when it joins): a user is online while connected to any node.
    pub presence: OnceLock<Arc<Presence>>,
    /// Datagrams, send calls and frames of the connections that closed.
    pub transport: TransportTotals,
    /// Next connection id.
    next_conn: AtomicU64,
}

impl Context {
    /// Builds the shared state.
    pub fn new(
        store: Arc<dyn Store>,
        avatar_pool: AvatarPool,
        limits: Limits,
        server_name: String,
        mail: Mailer,
    ) -> Self {
        Self {
            store,
            hub: Arc::new(Hub::default()),
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
            avatar_pool,
            uploads: Semaphore::new(limits.concurrent_uploads),
            transfers: Semaphore::new(
                usize::try_from(limits.transfer_memory / 1024)
                    .unwrap_or(Semaphore::MAX_PERMITS)
                    .min(Semaphore::MAX_PERMITS),
            ),
            send_limiter: RateLimiter::new(limits.send_rate, limits.send_burst),
            register_limiter: RateLimiter::new(
                limits.registrations_per_hour / 3600.0,
                limits.registration_burst,
            ),
            mail,
            limits,
            server_name,
            challenge_secret: rand::random(),
            presence: OnceLock::new(),
            transport: TransportTotals::default(),
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
