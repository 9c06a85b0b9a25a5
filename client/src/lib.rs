//! Chatroom client library: the headless session every front end uses (the
//! desktop app, the CLI, the benchmark and the tests). No UI and no server here.
//!
//! # Layout
//! - [`connection`]: QUIC connection, `Hello`, one stream per request, concurrent event reader.
//! - [`session`]: registration and e-mail verification, S/KEY login and re-initialisation, every chat request.
//! - `event_read` (private): one pushed event stream, read inline when it arrived whole.
//! - `framed` (private): the benchmark's `--stream-mode single` requests, framed on one stream.
//! - [`transfer`]: uploading and downloading attachments, each on a low-priority stream of its own.
//! - [`tls`]: certificate verification by CA file or pinned fingerprint; fingerprint probe.
//! - [`avatar_cache`]: avatars on disk by hash, fetched once.
//! - [`chat`]: the reconnecting chat worker on its own runtime thread, driven by
//!   commands and reporting events (the desktop app's network side; see docs/gui.md).
//! - [`error`]: the [`ClientError`] type.

pub mod avatar_cache;
pub mod chat;
pub mod connection;
pub mod error;
mod event_order;
mod event_read;
mod framed;
pub mod session;
mod stream_credit;
pub mod tls;
pub mod transfer;

pub use error::ClientError;
pub use session::{Joined, LoginOutcome, Registered, Sent, Session};
pub use tls::Trust;
