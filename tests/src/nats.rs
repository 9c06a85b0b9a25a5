//! A NATS server of the test's own (Debian's `nats-server`, which
//! `scripts/setup.sh` installs) on a free loopback port, killed when dropped,
//! so cluster tests never share subjects with anything else on the machine.
//! JetStream is on (its store in a directory of the server's own), because
//! the cluster keeps presence in a JetStream key-value bucket. It can be
//! stopped and started again on the same port (NATS down for a while), and a
//! [`NatsProxy`] in front of it can lose what one node sends.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to accept connections.
const START_WAIT: Duration = Duration::from_secs(20);

/// A running `nats-server`.
pub struct NatsServer {
    /// Where it listens for clients.
    pub addr: SocketAddr,
    /// The process, while it runs.
    child: Option<Child>,
    /// JetStream's store, removed with the server.
    store: PathBuf,
}

impl NatsServer {
    /// Starts one on `127.0.0.1:<free port>` and waits until it accepts
    /// connections. Panics when the binary is missing: a skipped cluster test
    /// would hide a missing install step.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let store =
            std::env::temp_dir().join(format!("chatroom-nats-{port}-{}", std::process::id()));
        let mut server = Self {
            addr,
            child: None,
            store,
        };
        server.restart();
        server
    }

    /// Stops the server (SIGKILL): clients lose their connections and
    /// reconnect when it is back.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again) on the same port, with the same JetStream
    /// store, and waits until it accepts connections.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + START_WAIT;
        loop {
            let mut child = Command::new(binary())
                .args([
                    "-a",
                    "127.0.0.1",
                    "-p",
                    &self.addr.port().to_string(),
                    "-js",
                    "-sd",
                ])
                .arg(&self.store)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("nats-server does not start ({e}); install it with scripts/setup.sh")
                });
            while TcpStream::connect(self.addr).is_err() {
                // Exited: the port may still be held by the old process's
                // connections for a moment; try again.
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "nats-server did not listen on {}",
                    self.addr
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            if child.try_wait().ok().flatten().is_none() {
                self.child = Some(child);
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nats-server did not start again on {}",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

/// Debian installs the server in /usr/sbin, which is not on every PATH.
fn binary() -> &'static str {
    if std::path::Path::new("/usr/sbin/nats-server").exists() {
        "/usr/sbin/nats-server"
    } else {
        "nats-server"
    }
}
