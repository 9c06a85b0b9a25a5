//! The scale-out issue's figures (#15), each against a fresh MariaDB
//! database and NATS of the test's own, whatever `CHATROOM_E2E_STORE` says:
//! 3 nodes × 10 clients through the benchmark (`three_nodes`), concurrent
//! sends through three nodes (`concurrent_sends`), `kill -9` of a node
//! (`node_death`, `#[ignore]`d: node processes, run serially by
//! scripts/test.sh), and the loss of one NATS server of a routed NATS
//! cluster (`nats_failover`). Waits are generous bounds for "it happened";
//! latency is measured by the benchmark, never asserted.

mod concurrent_sends;
mod members;
mod nats_failover;
mod node_death;
mod three_nodes;
