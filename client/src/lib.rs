//! Chatroom client library: the headless session every front end uses (the
//! desktop app, the CLI, the benchmark and the tests).
//!
//! # Layout
//! - [`connection`]: QUIC connection, `Hello`, one stream per request, concurrent event reader.
//! - [`session`]: registration, S/KEY login and re-initialisation, every chat request.
//! - [`tls`]: certificate verification by CA file or pinned fingerprint; fingerprint probe.
//! - [`avatar_cache`]: avatars on disk by hash, fetched once.
//! - [`error`]: the [`ClientError`] type.

pub mod avatar_cache;
pub mod connection;
pub mod error;
pub mod session;
pub mod tls;

pub use error::ClientError;
pub use session::{Joined, LoginOutcome, Sent, Session};
pub use tls::Trust;
