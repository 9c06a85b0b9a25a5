//! One way to start a server from code: [`spawn`] binds, runs the server as a
//! task on the current tokio runtime and hands back a [`Running`] with what a
//! caller needs (address, fingerprint, CA file) and a graceful [`Running::stop`].
//! Hosting in the app, its demo and every test harness start servers this way.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::warn;

use crate::{Config, Server, ServerError};

/// How long [`Running::stop`] waits for the server to drain its connections.
const STOP_WAIT: Duration = Duration::from_secs(30);

/// A server running as a task; stopped gracefully by [`Running::stop`], or
/// cut off with its runtime when dropped.
pub struct Running {
    /// The UDP address it listens on (the real port when asked for port 0).
    pub addr: SocketAddr,
    /// SHA-256 of its CA certificate, hex: what clients pin.
    pub fingerprint: String,
    /// The CA certificate file clients may import (none with `--cert/--key`).
    pub ca_path: Option<PathBuf>,
    /// Completing this starts the graceful shutdown.
    stop_tx: Option<oneshot::Sender<()>>,
    /// The serving task; its result says whether the server stopped cleanly.
    task: Option<JoinHandle<Result<(), ServerError>>>,
}

/// Why a running server did not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum StopError {
    /// The server returned an error while serving or shutting down.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The server did not finish within the wait.
    #[error("the server did not stop within {0:?}")]
    Timeout(Duration),
    /// The serving task panicked or was cancelled.
    #[error("the server task ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Binds `config` and serves on the current runtime until [`Running::stop`].
pub async fn spawn(config: Config) -> Result<Running, ServerError> {
    let server = Server::bind(config).await?;
    let addr = server.local_addr()?;
    let fingerprint = server.ca_fingerprint().to_owned();
    let ca_path = server.ca_path().map(|p| p.to_owned());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let result = server
            .run(async {
                // A dropped sender stops the server too.
                let _ = stop_rx.await;
            })
            .await;
        if let Err(e) = &result {
            warn!("the server stopped: {e}");
        }
        result
    });
    Ok(Running {
        addr,
        fingerprint,
        ca_path,
        stop_tx: Some(stop_tx),
        task: Some(task),
    })
}

impl Running {
    /// Stops accepting, lets running requests finish, closes every connection
    /// with "server shutting down" and waits (bounded) for the server.
    pub async fn stop(mut self) -> Result<(), StopError> {
        if let Some(stop_tx) = self.stop_tx.take() {
            let _ = stop_tx.send(());
        }
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(STOP_WAIT, task).await {
            Ok(joined) => Ok(joined??),
            Err(_) => Err(StopError::Timeout(STOP_WAIT)),
        }
    }

    /// Whether the server task has ended (it stopped on its own, or failed).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Dropping the sender starts a graceful shutdown if the runtime lives on.
        self.stop_tx.take();
    }
}
