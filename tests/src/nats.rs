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

/// How long a cluster may take to form routes and elect JetStream's leader.
const CLUSTER_WAIT: Duration = Duration::from_secs(60);

/// One member of a [`NatsCluster`].
struct Member {
    /// Where it listens for clients.
    addr: SocketAddr,
    /// Its HTTP monitoring port (routes, connections, health).
    monitor: SocketAddr,
    /// The process; `None` once killed.
    child: Option<Child>,
    /// JetStream's store, removed with the cluster.
    store: PathBuf,
}

/// Several `nats-server`s joined by routes into one NATS cluster (JetStream
/// on, each with a store of its own), on free loopback ports; killed when
/// dropped. A client connected to any member reaches subscribers on every
/// other, and learns the others' addresses to reconnect to.
pub struct NatsCluster {
    /// The members, in start order.
    members: Vec<Member>,
}

impl NatsCluster {
    /// Starts `size` servers routed to each other and waits until every one
    /// has a route to every other and reports itself healthy. Panics when the
    /// binary is missing or the cluster does not form.
    pub fn start(size: usize) -> Self {
        let free = || {
            TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
        };
        let routes: Vec<SocketAddr> = (0..size).map(|_| free()).collect();
        let route_urls = routes
            .iter()
            .map(|a| format!("nats://{a}"))
            .collect::<Vec<_>>()
            .join(",");
        let name = format!("chatroom-test-{}", std::process::id());
        let mut members = Vec::with_capacity(size);
        for (i, route) in routes.iter().enumerate() {
            let (addr, monitor) = (free(), free());
            let store = std::env::temp_dir().join(format!(
                "chatroom-nats-cluster-{}-{}",
                addr.port(),
                std::process::id()
            ));
            let child = Command::new(binary())
                .args(["-a", "127.0.0.1", "-p", &addr.port().to_string()])
                .args(["-m", &monitor.port().to_string()])
                .args(["-n", &format!("{name}-{i}"), "-js", "-sd"])
                .arg(&store)
                .args(["--cluster_name", &name])
                .args(["--cluster", &format!("nats://{route}")])
                .args(["--routes", &route_urls])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("nats-server does not start ({e}); install it with scripts/setup.sh")
                });
            members.push(Member {
                addr,
                monitor,
                child: Some(child),
                store,
            });
        }
        let cluster = Self { members };
        let deadline = Instant::now() + CLUSTER_WAIT;
        for i in 0..size {
            loop {
                let routed = cluster.routes(i) == Some(size - 1);
                if routed && cluster.healthy(i) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "NATS server {i} did not join its cluster (routes {:?})",
                    cluster.routes(i)
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        cluster
    }

    /// How many servers were started (killed ones included).
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Never true: a cluster has at least one server.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// `nats://127.0.0.1:<port>` of server `index`.
    pub fn url(&self, index: usize) -> String {
        format!("nats://{}", self.members[index].addr)
    }

    /// Every server's URL, in start order.
    pub fn urls(&self) -> Vec<String> {
        (0..self.members.len()).map(|i| self.url(i)).collect()
    }

    /// Kills server `index` (SIGKILL: no goodbye to its clients or routes).
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.members[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The names of the clients connected to server `index` now (a chat node
    /// connects as `chatroom-server <node id>`); empty when it does not answer.
    pub fn client_names(&self, index: usize) -> Vec<String> {
        let Some(connz) = self.monitor(index, "/connz?limit=1024") else {
            return Vec::new();
        };
        connz["connections"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many routes server `index` has to the others.
    fn routes(&self, index: usize) -> Option<usize> {
        let routez = self.monitor(index, "/routez")?;
        routez["num_routes"]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
    }

    /// Whether server `index` says it is healthy (JetStream current included).
    fn healthy(&self, index: usize) -> bool {
        self.monitor(index, "/healthz")
            .is_some_and(|h| h["status"].as_str() == Some("ok"))
    }

    /// A monitoring endpoint's JSON, or `None` when the server does not answer
    /// (not started yet, or killed) or answers with an error.
    fn monitor(&self, index: usize, path: &str) -> Option<serde_json::Value> {
        use std::io::{Read, Write};
        let member = self.members.get(index)?;
        member.child.as_ref()?;
        let mut stream =
            TcpStream::connect_timeout(&member.monitor, Duration::from_secs(2)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n",
            member.monitor
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
            return None;
        }
        serde_json::from_str(body).ok()
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for member in &mut self.members {
            if let Some(mut child) = member.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
            let _ = std::fs::remove_dir_all(&member.store);
        }
    }
}
