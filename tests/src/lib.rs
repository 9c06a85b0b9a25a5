//! The test kit every test suite uses (dev-only): real servers, real
//! databases, a real SMTP server, and the steps tests repeat.
//!
//! It lives in the top-level `tests/` folder because it depends on both the
//! server and the client library, so it belongs to neither.
//!
//! # Layout
//! - [`server`]: [`TestServer`], the real server in this process on
//!   `127.0.0.1:0` (via `chatroom_server::spawn`), and logged-in sessions.
//! - [`process`]: [`ServerProcess`], the `chatroom-server` binary as a child
//!   process (for kill -9, SIGTERM, RSS and its log).
//! - [`mysql`]: a fresh MariaDB database per test; stopping and starting MariaDB.
//! - [`relay`]: [`TestRelay`], the lossy relay between a client and a server.
//! - [`nats`]: [`NatsServer`], a NATS server of the test's own for cluster
//!   tests, which can be stopped and started again on its port, and
//!   [`NatsCluster`], several joined by routes.
//! - [`nats_proxy`]: [`NatsProxy`], between a node and NATS, losing what the
//!   node sends next on demand.
//! - [`cluster`]: chat nodes on one MariaDB database and one CA, in process or
//!   as child processes.
//! - [`mail`]: a real SMTP server (aiosmtpd), mails on disk, the 6-digit code in a mail.
//! - [`events`]: waiting for pushed events (with a bound, never a timing assertion).
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod cluster;
pub mod events;
pub mod mail;
pub mod mysql;
pub mod nats;
pub mod nats_proxy;
pub mod process;
pub mod relay;
pub mod server;

pub use events::{in_lobby, message, next_event, presence, room_added, room_created, room_left};
pub use nats::{NatsCluster, NatsServer};
pub use nats_proxy::NatsProxy;
pub use process::ServerProcess;
pub use relay::TestRelay;
pub use server::{PASS, TestServer, bulk_limits};
