//! The fan-out benchmark behind `chatroom-bench`: many clients in one room, each
//! posting timestamped messages, every receiver measuring latency and checking
//! that nothing was lost or duplicated; plus a lossy UDP relay for the
//! head-of-line-blocking comparison. See docs/performance.md.
//!
//! # Layout
//! - [`run`]: the benchmark itself: connect, register and join; send; receive; report.
//! - [`receive`] (private): one client's receiving side, latency by path.
//! - [`crowd`]: S3′, 2,000 clients in a lobby, mid-sized rooms and small groups at their own rates.
//! - [`transfers`]: S5, text latency while clients upload files, with the uploads' throughput.
//! - [`nodes`]: several servers (a cluster's nodes): which client uses which, the per-node report.
//! - [`payload`]: the message text that carries its send time.
//! - [`tracker`]: per-receiver accounting of sequence numbers (lost, duplicated, out of order).
//! - [`stats`]: the [`Report`], its percentiles and its table.
//! - [`distribution`]: latency histograms as JSON buckets, pooled over runs; shares and CDF points.
//! - [`plot`]: labelled latency distributions drawn as a CDF PNG (`chatroom-bench plot`).
//! - [`transport`]: the clients' datagrams and ACK frames per delivery, from quinn's stats.
//! - [`procstat`]: CPU time and peak memory from `/proc`.
//! - [`relay`]: a UDP relay that drops and delays datagrams with a seeded generator.

pub mod crowd;
pub mod distribution;
pub mod nodes;
pub mod payload;
pub mod plot;
pub mod procstat;
mod receive;
pub mod relay;
pub mod run;
pub mod stats;
pub mod tracker;
pub mod transfers;
pub mod transport;

pub use nodes::ClusterReport;
pub use run::{BenchConfig, run};
pub use stats::Report;
pub use transfers::{FilesConfig, FilesReport};

/// Why a benchmark run or the relay failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A client could not connect, register, log in or join.
    #[error("setting up client {index}: {source}")]
    Setup {
        /// Which client.
        index: usize,
        /// What went wrong.
        source: chatroom_client::ClientError,
    },
    /// The client library failed outside a particular client's setup.
    #[error(transparent)]
    Client(#[from] chatroom_client::ClientError),
    /// Reading `/proc` failed or was not understood.
    #[error("reading {path}: {reason}")]
    Proc {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A socket operation of the relay failed.
    #[error("{action}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The options do not make sense together.
    #[error("{0}")]
    Invalid(String),
    /// Drawing a chart or writing its PNG failed.
    #[error("drawing the chart: {0}")]
    Plot(String),
}
