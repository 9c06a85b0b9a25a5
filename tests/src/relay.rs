//! The lossy relay (`chatroom_bench::relay`) between a client and a server in
//! tests: started on `127.0.0.1:0`, impaired or blacked out through its
//! control, stopped with its counts.

use std::net::SocketAddr;

use chatroom_bench::relay::{Relay, RelayConfig, RelayControl, RelayStats};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A relay running as a task; [`TestRelay::stop`] ends it and returns its counts.
pub struct TestRelay {
    /// Where clients connect instead of the server.
    pub addr: SocketAddr,
    /// Blacks out a direction now or later.
    pub control: RelayControl,
    /// Completing this stops the relay.
    stop_tx: oneshot::Sender<()>,
    /// The relay task.
    task: JoinHandle<Result<RelayStats, chatroom_bench::BenchError>>,
}

impl TestRelay {
    /// A relay on `127.0.0.1:0` to `server`, passing everything.
    pub async fn to(server: SocketAddr) -> Self {
        Self::start(RelayConfig::new(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            server,
        ))
        .await
    }

    /// A relay with this configuration (loss, delay, blackouts, seed).
    pub async fn start(config: RelayConfig) -> Self {
        let relay = Relay::bind(config).await.expect("the relay binds");
        let addr = relay.local_addr().expect("a bound relay address");
        let control = relay.control();
        let (stop_tx, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(relay.run(async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            control,
            stop_tx,
            task,
        }
    }

    /// Stops the relay; what it passed, dropped and blacked out.
    pub async fn stop(self) -> RelayStats {
        let _ = self.stop_tx.send(());
        self.task
            .await
            .expect("the relay task")
            .expect("the relay ran")
    }
}
