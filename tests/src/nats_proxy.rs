//! A TCP proxy between one node and its NATS server that can lose what the
//! node sends next: the bytes are dropped and the connection cut, as when a
//! link fails under a publish the client had already written. The client
//! reconnects (through the proxy again) and never sends it again: NATS core
//! is at-most-once, and this is one of the ways it loses a message. It can
//! also cut the node off for a while (every connection closed, new ones
//! refused), while the rest of the cluster carries on.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A proxy running as a task in the test's runtime, stopped when dropped.
pub struct NatsProxy {
    /// Where the node connects instead of the NATS server.
    pub addr: SocketAddr,
    /// Set: the next bytes from a client are dropped and its connection cut.
    lose_next: Arc<AtomicBool>,
    /// Writes lost so far.
    lost: Arc<AtomicU64>,
    /// Until when new connections are refused.
    down_until: Arc<Mutex<Option<Instant>>>,
    /// Bumped to close every open connection.
    cut: watch::Sender<u64>,
    /// The accept loop.
    task: JoinHandle<()>,
}

impl NatsProxy {
    /// A proxy on `127.0.0.1:0` to the NATS server at `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the proxy binds");
        let addr = listener.local_addr().expect("a bound proxy address");
        let lose_next = Arc::new(AtomicBool::new(false));
        let lost = Arc::new(AtomicU64::new(0));
        let down_until = Arc::new(Mutex::new(None::<Instant>));
        let (cut, _) = watch::channel(0);
        let (flag, count, down, cuts) = (
            lose_next.clone(),
            lost.clone(),
            down_until.clone(),
            cut.clone(),
        );
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let refused = down
                    .lock()
                    .unwrap()
                    .is_some_and(|until| Instant::now() < until);
                if refused {
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let link = Link {
                    lose_next: flag.clone(),
                    lost: count.clone(),
                    cut: cuts.subscribe(),
                };
                tokio::spawn(pump(client, server, link));
            }
        });
        Self {
            addr,
            lose_next,
            lost,
            down_until,
            cut,
            task,
        }
    }

    /// Cuts the node off for `outage`: its connections close now, and it
    /// cannot connect again until then.
    pub fn cut_for(&self, outage: Duration) {
        *self.down_until.lock().unwrap() = Some(Instant::now() + outage);
        self.cut.send_modify(|generation| *generation += 1);
    }

    /// `nats://<proxy address>`.
    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// Loses what a client sends next (a publish, in a quiet test).
    pub fn lose_next_write(&self) {
        self.lose_next.store(true, Ordering::SeqCst);
    }

    /// How many writes were lost so far.
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for NatsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What one connection shares with the proxy.
struct Link {
    /// Set: the next bytes from the client are dropped and the connection cut.
    lose_next: Arc<AtomicBool>,
    /// Writes lost so far.
    lost: Arc<AtomicU64>,
    /// Changes when every connection is to close.
    cut: watch::Receiver<u64>,
}

/// Carries one connection both ways until either side closes, a write is to
/// be lost or the node is cut off: then both sockets are dropped.
async fn pump(client: TcpStream, server: TcpStream, link: Link) {
    let Link {
        lose_next,
        lost,
        mut cut,
    } = link;
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut server_rx, mut server_tx) = server.into_split();
    let down = async {
        let _ = tokio::io::copy(&mut server_rx, &mut client_tx).await;
    };
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_rx.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if lose_next.swap(false, Ordering::SeqCst) {
                lost.fetch_add(1, Ordering::SeqCst);
                return;
            }
            if server_tx.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    // Whichever ends first ends the connection: both halves drop here.
    tokio::select! {
        () = down => {}
        () = up => {}
        _ = cut.changed() => {}
    }
}
