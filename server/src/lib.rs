//! Chatroom server: a QUIC listener, S/KEY accounts, rooms, history and fan-out.
//!
//! # Layout
//! - [`server`]: the `Server` (bind, accept loop with connection limits, graceful shutdown) and [`run`].
//! - [`running`]: [`spawn`] a server as a task and [`Running::stop`] it: how code starts servers.
//! - [`connection`]: one connection's handler: a task per request stream, a writer for events.
//! - `framed` (private): the benchmark's `--stream-mode single` requests, framed on one stream.
//! - [`avatars`]: avatar images: validation, the pool, generated defaults, the crawler.
//! - [`cmd`]: request handlers, one module per area (auth, rooms, messages).
//! - [`hub`]: who listens to which room; bounded outboxes; encode-once fan-out.
//! - [`cluster`]: several nodes behind one MySQL, fanned out through NATS.
//! - [`mail`]: registration mail (lettre), e-mail verification codes, the persistent outbox worker.
//! - [`session`]: per-connection state (hello, login, pending challenge).
//! - [`guard`]: login back-off per user and per address.
//! - [`ratelimit`]: token buckets for sends and registrations.
//! - [`store`]: the `Store` trait with SQLite and MySQL implementations.
//! - [`tls`]: certificate generation (rcgen) and loading.
//! - [`config`]: configuration and limits.
//! - [`cli`]: the binary's command line (flags, environment, subcommands) layered into a [`Config`].
//! - [`config_file`]: the TOML configuration file (`--config`), one key per flag.
//! - [`context`]: state shared by all handlers.
//! - `udp` (private): the UDP socket quinn gets, with the datagrams one send may batch capped.
//! - [`transport_totals`]: datagrams, send calls and frames of closed connections, logged at shutdown.

pub mod avatars;
pub mod cli;
pub mod cluster;
pub mod cmd;
pub mod config;
pub mod config_file;
pub mod congestion;
pub mod connection;
pub mod context;
pub mod files;
mod framed;
pub mod guard;
pub mod hub;
pub mod mail;
pub mod outbox;
mod push;
pub mod ratelimit;
pub mod running;
pub mod server;
pub mod session;
pub mod store;
pub mod tls;
pub mod transport_totals;
mod udp;

pub use cluster::{ClusterConfig, ClusterError, RepairTiming};
pub use config::{Config, Limits, MailConfig, StreamMode, TlsSource};
pub use running::{Running, StopError, spawn};
pub use server::{Server, ServerError, run};
