//! End-to-end tests: the real server on 127.0.0.1:0 and the real client library.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod auth;
mod avatars;
mod chat;
mod cluster;
mod cluster_figures;
mod cluster_presence;
mod cluster_repair;
mod faults;
mod files;
mod mail;
mod mysql;
mod push_delay;
mod robustness;
mod rooms;
mod stream_credit;
mod stream_order;
mod transfer_turns;
