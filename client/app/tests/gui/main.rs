//! GUI tests: the real app, driven through egui_kittest by accessible role and
//! label, against a real in-process server.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod chat;
mod composing;
mod feedback;
mod file_pick;
mod files;
mod following;
mod harness;
mod keys;
mod languages;
mod login;
mod mentions;
// Desktop notifications go over D-Bus only on Linux and the BSDs.
#[cfg(all(unix, not(target_os = "macos")))]
mod notification_service;
#[cfg(all(unix, not(target_os = "macos")))]
mod notify;
mod profile;
mod rooms;
mod stall;
mod text;
mod trust;
