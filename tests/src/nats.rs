//! A NATS server of the test's own (Debian's `nats-server`, which
//! `scripts/setup.sh` installs) on a free loopback port, killed when dropped,
//! so cluster tests never share subjects with anything else on the machine.
//! JetStream is on (its store in a directory of the server's own), because
//! the cluster keeps presence in a JetStream key-value bucket.

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
    /// The process.
    child: Child,
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
        let child = Command::new(binary())
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(&store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("nats-server does not start ({e}); install it with scripts/setup.sh")
            });
        let server = Self { addr, child, store };
        let deadline = Instant::now() + START_WAIT;
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
