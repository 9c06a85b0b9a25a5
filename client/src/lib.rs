//! Chatroom client library: the headless session every front end uses (the
//! desktop app, the CLI, the benchmark and the tests).
//!
//! # Layout
//! - [`connection`]: QUIC connection, `Hello`, one stream per request, concurrent event reader.
//! - [`session`]: registration and e-mail verification, S/KEY login and re-initialisation, every chat request.
//! - [`tls`]: certificate verification by CA file or pinned fingerprint; fingerprint probe.
//! - [`avatar_cache`]: avatars on disk by hash, fetched once.
//! - [`bench`]: the fan-out benchmark and lossy relay behind `chatroom-bench`.
//! - [`app`], [`chat`]: the desktop app and its background chat worker (see docs/gui.md).
//! - [`error`]: the [`ClientError`] type.

pub mod app;
pub mod avatar_cache;
pub mod bench;
pub mod chat;
pub mod connection;
pub mod error;
pub mod session;
pub mod tls;

pub use error::ClientError;
pub use session::{Joined, LoginOutcome, Registered, Sent, Session};
pub use tls::Trust;
