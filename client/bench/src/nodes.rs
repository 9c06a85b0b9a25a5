//! Several servers at once (`--server a,b,c`, the nodes of one cluster):
//! which node each client uses, whether a delivery crossed nodes, and the
//! per-node part of the report.
//!
//! Client `i` connects to node `i mod n`, so every node gets the same share
//! and a receiver can tell a sender's node from the sender's name
//! (`bench-<run>-<i>`) without anything extra in the payload: the latency of
//! a delivery from a sender on the receiver's own node (one hop through the
//! server) is kept apart from one that went through the cluster (the sender's
//! node, NATS, the receiver's node).

use std::fmt;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::BenchError;
use crate::stats::{Latency, ProcReport, ms};

/// The servers a run uses, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nodes {
    /// `HOST:PORT` of each node.
    addrs: Vec<String>,
}

impl Nodes {
    /// Splits a comma-separated list of `HOST:PORT` (one entry is one server).
    pub fn parse(server: &str) -> Result<Self, BenchError> {
        let addrs: Vec<String> = server
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if addrs.is_empty() {
            return Err(BenchError::Invalid(format!(
                "--server {server:?}: give HOST:PORT[,HOST:PORT…]"
            )));
        }
        Ok(Self { addrs })
    }

    /// How many nodes.
    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    /// Never true: [`Nodes::parse`] refuses an empty list.
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    /// More than one server: the report gets its per-node part.
    pub fn is_cluster(&self) -> bool {
        self.addrs.len() > 1
    }

    /// The node client `index` uses.
    pub fn of_client(&self, index: usize) -> usize {
        index % self.addrs.len()
    }

    /// The address of node `node`.
    pub fn addr(&self, node: usize) -> &str {
        &self.addrs[node % self.addrs.len()]
    }

    /// Every address, in order.
    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }
}

/// Finds a sender's node from its user name, `bench-<run>-<index>`.
#[derive(Debug, Clone)]
pub struct SenderNodes {
    /// `bench-<run>-`.
    prefix: String,
    /// How many nodes the clients were spread over.
    nodes: usize,
}

impl SenderNodes {
    /// For the run `run_id` over `nodes` nodes.
    pub fn new(run_id: &str, nodes: usize) -> Self {
        Self {
            prefix: format!("bench-{run_id}-"),
            nodes: nodes.max(1),
        }
    }

    /// The node the sender `username` posted through; `None` for a name that
    /// is not one of this run's clients (another writer in the room).
    pub fn node_of(&self, username: &str) -> Option<usize> {
        let index: usize = username.strip_prefix(&self.prefix)?.parse().ok()?;
        Some(index % self.nodes)
    }
}

/// Where a delivery's sender was, seen from the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Sender and receiver on the same node.
    SameNode,
    /// Sent through another node: it crossed NATS.
    CrossNode,
}

/// Latency of one class of deliveries.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PathReport {
    /// Deliveries of this class (distinct messages, summed over receivers).
    pub deliveries: u64,
    /// Their send-to-delivery latency.
    pub latency_us: Latency,
}

impl PathReport {
    /// The report of a histogram of this class.
    pub fn of(hist: &Histogram<u64>) -> Self {
        Self {
            deliveries: hist.len(),
            latency_us: Latency::of(hist),
        }
    }
}

/// One node's share of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeReport {
    /// Its address.
    pub server: String,
    /// Clients on it that were set up (they send and receive).
    pub clients: usize,
    /// Clients on it whose setup failed.
    pub setup_errors: usize,
    /// Messages its clients had acknowledged.
    pub sent: u64,
    /// Sends of its clients that failed.
    pub send_errors: u64,
    /// Deliveries its clients should get: its clients × every sent message.
    pub expected_deliveries: u64,
    /// Distinct messages its clients got.
    pub deliveries: u64,
    /// Of those, sent by a client on this node.
    pub same_node_deliveries: u64,
    /// Of those, sent by a client on another node.
    pub cross_node_deliveries: u64,
    /// Expected deliveries its clients never got.
    pub lost: u64,
    /// Messages its clients got more than once.
    pub duplicates: u64,
    /// `Resync` events its clients got.
    pub resyncs: u64,
    /// The node's process, when its pid was given (in node order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcReport>,
}

/// The per-node part of a run over several servers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterReport {
    /// One entry per node, in the order given.
    pub nodes: Vec<NodeReport>,
    /// Deliveries whose sender was on the receiver's node.
    pub same_node: PathReport,
    /// Deliveries whose sender was on another node (through NATS).
    pub cross_node: PathReport,
}

impl fmt::Display for ClusterReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, node) in self.nodes.iter().enumerate() {
            write!(
                f,
                "\n  node {:<10} {}: {} clients, {} sent, {} of {} delivered ({} same node, {} cross node), lost {}, duplicated {}, resyncs {}",
                i + 1,
                node.server,
                node.clients,
                node.sent,
                node.deliveries,
                node.expected_deliveries,
                node.same_node_deliveries,
                node.cross_node_deliveries,
                node.lost,
                node.duplicates,
                node.resyncs
            )?;
            if let Some(p) = &node.process {
                write!(
                    f,
                    "; {:.2} CPU s, peak RSS {:.0} MiB",
                    p.cpu_seconds, p.peak_rss_mib
                )?;
            }
        }
        for (name, path) in [
            ("same node", &self.same_node),
            ("cross node", &self.cross_node),
        ] {
            let l = &path.latency_us;
            write!(
                f,
                "\n  {name:<15} p50 {} p90 {} p99 {} p99.9 {} max {} (ms), {} deliveries",
                ms(l.p50),
                ms(l.p90),
                ms(l.p99),
                ms(l.p999),
                ms(l.max),
                path.deliveries
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_spread_round_robin() {
        let nodes = Nodes::parse("a:1, b:2,,c:3").unwrap();
        assert_eq!(nodes.addrs(), ["a:1", "b:2", "c:3"]);
        assert!(nodes.is_cluster());
        let used: Vec<usize> = (0..7).map(|i| nodes.of_client(i)).collect();
        assert_eq!(used, [0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(nodes.addr(nodes.of_client(4)), "b:2");
        assert!(!Nodes::parse("a:1").unwrap().is_cluster());
        assert!(Nodes::parse(" , ").is_err());
    }

    #[test]
    fn a_senders_node_comes_from_its_name() {
        let senders = SenderNodes::new("r1x", 3);
        assert_eq!(senders.node_of("bench-r1x-0"), Some(0));
        assert_eq!(senders.node_of("bench-r1x-7"), Some(1));
        assert_eq!(senders.node_of("bench-r1x-"), None);
        assert_eq!(senders.node_of("bench-other-7"), None);
        assert_eq!(senders.node_of("alice"), None);
        assert_eq!(senders.node_of("bench-r1x-99999999999999999999999"), None);
    }
}
