//! Fault tests from the hardening issue: a stalled reader, a thousand
//! connections that vanish without a close, 10 % packet loss, hostile streams
//! and secrets in logs. Tests that measure the server's memory run the real
//! `chatroom-server` binary as a process of its own; they are `#[ignore]`d and
//! run one at a time by scripts/test.sh. None asserts on speed: waits are
//! bounds for "it happened", never targets.

mod abrupt_disconnects;
mod chatters;
mod garbage;
mod packet_loss;
mod presence_storm;
mod raw;
mod secrets_in_logs;
mod slow_consumer;
