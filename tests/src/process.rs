//! The real `chatroom-server` binary as a child process: its address and pin
//! from stdout, its log (stderr) in a file, its resident memory from `/proc`,
//! and the `load` lines it logs at debug level.
//!
//! The binary is found in this order: `CHATROOM_SERVER_BIN` if set (to test a
//! release or installed build), else `cargo build --workspace --bin
//! chatroom-server` is run and its reported executable used. Building rather
//! than guessing `target/debug/chatroom-server` means a test never runs a stale
//! binary when only the client package was rebuilt; when it is current the build
//! is a no-op.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use chatroom_bench::procstat::{self, Process};
use chatroom_client::Trust;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Flags that open up flood control, as the in-process harness does for tests
/// that register and post in bulk.
pub const BULK_FLAGS: &[&str] = &[
    "--send-rate",
    "1000000",
    "--send-burst",
    "1000000",
    "--registrations-per-hour",
    "1000000000",
    "--registration-burst",
    "1000000",
];

/// A running server process; killed when dropped.
pub struct ServerProcess {
    /// The child (kill-on-drop).
    child: Child,
    /// Its process id, for `/proc`.
    pub pid: u32,
    /// `host:port` it listens on.
    pub addr: String,
    /// Its CA fingerprint as a pin.
    pub pin: Trust,
    /// Where its stderr (the log) goes.
    pub log: PathBuf,
}

/// The server's figures from its latest `load` log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Connection handler tasks (handshaking or open).
    pub handlers: usize,
    /// Connections in the fan-out routing table.
    pub connections: usize,
    /// Every task alive on the server's runtime.
    pub tasks: usize,
}

/// The server binary (see the module comment).
pub fn server_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("CHATROOM_SERVER_BIN") {
                return PathBuf::from(path);
            }
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let out = std::process::Command::new(cargo)
                .args(["build", "-q", "--workspace", "--bin", "chatroom-server"])
                .arg("--message-format=json")
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .stderr(Stdio::inherit())
                .output()
                .expect("running cargo build for the server binary");
            assert!(out.status.success(), "building chatroom-server failed");
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .filter(|msg| msg["target"]["name"] == "chatroom-server")
                .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
                .expect("cargo reported the chatroom-server executable")
        })
        .clone()
}

impl ServerProcess {
    /// Starts the server on a free loopback port in `data_dir`, logging with
    /// `RUST_LOG=log_filter` into `<data_dir>/server.log`, with extra flags.
    pub async fn start(data_dir: &Path, log_filter: &str, flags: &[&str]) -> Self {
        let log = data_dir.join("server.log");
        let log_file = std::fs::File::create(&log).expect("creating the server log");
        let mut child = Command::new(server_binary())
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.join("data"))
            .args(flags)
            .env("RUST_LOG", log_filter)
            // Plain text: the tests read the log.
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .expect("starting chatroom-server");
        let pid = child.id().expect("the server has a pid");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (mut addr, mut pin) = (None, None);
        let read = async {
            while let Some(line) = lines.next_line().await.expect("reading server stdout") {
                if let Some(rest) = line.strip_prefix("Chatroom server listening on ") {
                    addr = rest.split_whitespace().next().map(str::to_owned);
                }
                if let Some(fp) = line.strip_prefix("CA SHA-256 fingerprint: ") {
                    pin = Some(Trust::parse_pin(fp.trim()).expect("a valid fingerprint"));
                }
                if addr.is_some() && pin.is_some() {
                    return;
                }
            }
        };
        if tokio::time::timeout(Duration::from_secs(120), read)
            .await
            .is_err()
        {
            panic!(
                "the server did not start; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        // Nothing more is printed on stdout, but keep draining it so a late
        // line can never block the server on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child,
            pid,
            addr: addr.expect("address line"),
            pin: pin.expect("fingerprint line"),
            log,
        }
    }

    /// Resident set size now, in KiB.
    pub fn rss_kib(&self) -> u64 {
        procstat::read(Process::Pid(self.pid))
            .expect("reading the server's /proc")
            .rss_kib
    }

    /// Peak resident set size so far, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        procstat::read(Process::Pid(self.pid))
            .expect("reading the server's /proc")
            .peak_rss_kib
    }

    /// The whole log so far, ANSI colour codes removed.
    pub fn log_text(&self) -> String {
        strip_ansi(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }

    /// The latest `load` line (needs `chatroom_server=debug`).
    pub fn load(&self) -> Option<Load> {
        self.log_text().lines().rev().find_map(parse_load)
    }

    /// Waits until `done(load)` holds, polling the log; `None` after `limit`
    /// (callers assert, with the last figures in the message).
    pub async fn wait_for_load(
        &self,
        limit: Duration,
        done: impl Fn(Load) -> bool,
    ) -> Option<Load> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(load) = self.load().filter(|l| done(*l)) {
                return Some(load);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Stops the server with SIGTERM (graceful shutdown) and waits for it.
    pub async fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let outcome = tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await;
        let tail = || {
            let log = self.log_text();
            let lines: Vec<&str> = log.lines().rev().take(30).collect();
            lines.into_iter().rev().collect::<Vec<_>>().join("\n")
        };
        match outcome {
            Ok(Ok(status)) if status.success() => {}
            Ok(status) => panic!(
                "the server exited with {status:?}; its log ends:\n{}",
                tail()
            ),
            Err(_) => panic!(
                "the server did not stop within 60 s of SIGTERM; its log ends:\n{}",
                tail()
            ),
        }
    }
}

/// `... load handlers=3 connections=3 tasks=17` → the figures.
fn parse_load(line: &str) -> Option<Load> {
    if !line.contains(" load ") && !line.ends_with(" load") {
        return None;
    }
    let field = |name: &str| -> Option<usize> {
        let start = line.find(&format!("{name}="))? + name.len() + 1;
        line[start..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    Some(Load {
        handlers: field("handlers")?,
        connections: field("connections")?,
        tasks: field("tasks")?,
    })
}

/// Removes `ESC [ … letter` sequences, in case colours were forced on.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn load_lines_parse() {
    let line = "2026-11-29T20:00:00.000Z DEBUG chatroom_server::server: load handlers=3 connections=2 tasks=17";
    assert_eq!(
        parse_load(line),
        Some(Load {
            handlers: 3,
            connections: 2,
            tasks: 17
        })
    );
    assert_eq!(parse_load("DEBUG connection open conn_id=3"), None);
    assert_eq!(strip_ansi("\u{1b}[2mx\u{1b}[0m=1"), "x=1");
}
