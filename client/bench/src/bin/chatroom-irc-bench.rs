//! `chatroom-irc-bench`: the S2 load (N clients in one channel, each posting
//! M timestamped messages of P bytes at R messages/s) against an IRC server
//! over TLS, reported like `chatroom-bench --json`, so scripts/bench-irc.sh
//! can put a mature C chat server (ngIRCd) beside ours in one run.
//!
//! IRC does not echo a message to its sender, so each message has N − 1
//! deliveries (ours counts N: the sender gets its own back); the CPU cost is
//! compared per delivery. Latency is receive time minus the send time the
//! text carries (one machine, one clock).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use chatroom_bench::distribution::Buckets;
use chatroom_bench::procstat::{self, Process};
use chatroom_bench::stats::{Latency, ProcReport, new_histogram};
use clap::Parser;
use hdrhistogram::Histogram;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Barrier;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// The channel everyone joins.
const CHANNEL: &str = "#bench";
/// Longest line read from the server (IRC allows 512 bytes; some servers more).
const MAX_LINE: usize = 8192;

#[derive(Parser, Debug)]
#[command(about = "The S2 fan-out load against an IRC server over TLS")]
struct Args {
    /// The IRC server's TLS port, `host:port`.
    #[arg(long)]
    server: String,
    /// The server's certificate (PEM), trusted as the only root.
    #[arg(long)]
    ca: PathBuf,
    /// The name the certificate is for.
    #[arg(long, default_value = "localhost")]
    server_name: String,
    /// Clients in the channel.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Messages each client posts.
    #[arg(long, default_value_t = 200)]
    messages: usize,
    /// Messages per second per client.
    #[arg(long, default_value_t = 40.0)]
    rate: f64,
    /// Bytes of message text.
    #[arg(long, default_value_t = 64)]
    payload: usize,
    /// Become an IRC operator (`NAME:PASSWORD`) and set user mode `F`, which
    /// exempts a client from ngIRCd's flood throttling (256 bytes/s per
    /// client otherwise), as ours is opened up for the benchmark.
    #[arg(long)]
    oper: Option<String>,
    /// The server's process id, for its CPU time and memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// How long to wait for the last deliveries after the last send.
    #[arg(long, default_value_t = 30)]
    drain_timeout: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// What a run measured, in the shape of `chatroom-bench --json` where the
/// two overlap.
#[derive(Debug, Serialize)]
struct IrcReport {
    clients: usize,
    messages_per_client: usize,
    deliveries: u64,
    expected_deliveries: u64,
    lost: u64,
    duplicated: u64,
    seconds: f64,
    deliveries_per_second: f64,
    latency_us: Latency,
    /// The histogram's buckets, for `chatroom-bench plot` (same field name).
    latency_buckets_us: Buckets,
    server: Option<ProcReport>,
}

/// The send time (µs since the epoch), sender and sequence number a
/// message's text starts with.
fn parse_text(text: &str) -> Option<(u64, usize, usize)> {
    let mut words = text.split(' ');
    let sent = words.next()?.parse().ok()?;
    let sender = words.next()?.parse().ok()?;
    let seq = words.next()?.parse().ok()?;
    Some((sent, sender, seq))
}

/// The text of a `PRIVMSG` to the channel, from a line as the server sends it
/// (`:nick!user@host PRIVMSG #bench :text`).
fn privmsg_text(line: &str) -> Option<&str> {
    let rest = line.strip_prefix(':')?;
    let (_, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix("PRIVMSG ")?;
    let (target, text) = rest.split_once(" :")?;
    (target == CHANNEL).then_some(text)
}

/// A message's text: the send time, sender and number, padded to `len` bytes.
fn message_text(sent_us: u64, sender: usize, seq: usize, len: usize) -> String {
    let mut text = format!("{sent_us} {sender} {seq} ");
    while text.len() < len {
        text.push('x');
    }
    text
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

type Reader = BufReader<ReadHalf<TlsStream<TcpStream>>>;
type Writer = WriteHalf<TlsStream<TcpStream>>;

/// Reads lines until one contains `marker`, answering PINGs on the way.
async fn read_until(reader: &mut Reader, writer: &mut Writer, marker: &str) -> anyhow::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            bail!("the server closed the connection waiting for {marker:?}");
        }
        if let Some(token) = line.strip_prefix("PING ") {
            writer
                .write_all(format!("PONG {}\r\n", token.trim_end()).as_bytes())
                .await?;
        }
        if line.starts_with("ERROR") {
            bail!("the server said {}", line.trim_end());
        }
        if line.contains(marker) {
            return Ok(());
        }
    }
}

/// Connects client `index`, registers it and joins the channel.
async fn connect(
    server: String,
    server_name: String,
    tls: TlsConnector,
    oper: Option<String>,
    index: usize,
) -> anyhow::Result<(Reader, Writer)> {
    let tcp = TcpStream::connect(&server)
        .await
        .with_context(|| format!("connecting to {server}"))?;
    tcp.set_nodelay(true)?;
    let name = ServerName::try_from(server_name)?;
    let stream = tls.connect(name, tcp).await.context("TLS handshake")?;
    let (read, mut writer) = tokio::io::split(stream);
    let mut reader = BufReader::with_capacity(MAX_LINE, read);
    let nick = format!("b{index}");
    writer
        .write_all(format!("NICK {nick}\r\nUSER {nick} 0 * :bench\r\n").as_bytes())
        .await?;
    read_until(&mut reader, &mut writer, " 001 ").await?;
    if let Some(oper) = oper {
        let (name, password) = oper.split_once(':').unwrap_or((oper.as_str(), ""));
        writer
            .write_all(format!("OPER {name} {password}\r\n").as_bytes())
            .await?;
        read_until(&mut reader, &mut writer, " 381 ").await?;
        writer
            .write_all(format!("MODE {nick} +F\r\n").as_bytes())
            .await?;
        read_until(&mut reader, &mut writer, "+F").await?;
    }
    writer
        .write_all(format!("JOIN {CHANNEL}\r\n").as_bytes())
        .await?;
    read_until(&mut reader, &mut writer, " 366 ").await?;
    Ok((reader, writer))
}

/// What one receiver saw.
struct Received {
    latency: Histogram<u64>,
    deliveries: u64,
    duplicated: u64,
    last: Instant,
}

/// Reads until `expected` messages from others have come or the deadline
/// passes, recording their latency.
async fn receive(
    mut reader: Reader,
    index: usize,
    expected: u64,
    deadline: Arc<std::sync::Mutex<Option<Instant>>>,
) -> anyhow::Result<Received> {
    let mut seen: HashMap<(usize, usize), ()> = HashMap::new();
    let mut out = Received {
        latency: new_histogram(),
        deliveries: 0,
        duplicated: 0,
        last: Instant::now(),
    };
    let mut line = String::new();
    while out.deliveries < expected {
        line.clear();
        let limit = *deadline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let read = match limit {
            Some(at) => match tokio::time::timeout_at(at.into(), reader.read_line(&mut line)).await
            {
                Ok(read) => read?,
                Err(_) => break,
            },
            None => {
                match tokio::time::timeout(Duration::from_millis(200), reader.read_line(&mut line))
                    .await
                {
                    Ok(read) => read?,
                    Err(_) => continue,
                }
            }
        };
        if read == 0 {
            bail!("client {index}: the server closed the connection");
        }
        let Some((sent, sender, seq)) = privmsg_text(line.trim_end()).and_then(parse_text) else {
            continue;
        };
        if seen.insert((sender, seq), ()).is_some() {
            out.duplicated += 1;
            continue;
        }
        let _ = out.latency.record(now_us().saturating_sub(sent).max(1));
        out.deliveries += 1;
        out.last = Instant::now();
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.clients < 2 {
        bail!("at least two clients: IRC does not echo a message to its sender");
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&args.ca)
        .with_context(|| format!("reading {}", args.ca.display()))?
    {
        roots.add(cert?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tls = TlsConnector::from(Arc::new(config));

    // Connect a few at a time: IRC servers throttle bursts of new connections.
    let mut conns = Vec::with_capacity(args.clients);
    for chunk in (0..args.clients).collect::<Vec<_>>().chunks(10) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|&i| {
                let (server, name) = (args.server.clone(), args.server_name.clone());
                tokio::spawn(connect(server, name, tls.clone(), args.oper.clone(), i))
            })
            .collect();
        for task in tasks {
            conns.push(task.await??);
        }
    }
    eprintln!("irc-bench: {} clients joined {CHANNEL}", args.clients);

    let per_receiver = ((args.clients - 1) * args.messages) as u64;
    let deadline = Arc::new(std::sync::Mutex::new(None));
    let barrier = Arc::new(Barrier::new(args.clients + 1));
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(0.001));
    let mut receivers = Vec::new();
    let mut senders = Vec::new();
    for (index, (reader, mut writer)) in conns.into_iter().enumerate() {
        receivers.push(tokio::spawn(receive(
            reader,
            index,
            per_receiver,
            deadline.clone(),
        )));
        let (barrier, messages, payload) = (barrier.clone(), args.messages, args.payload);
        senders.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut tick = tokio::time::interval(interval);
            for seq in 0..messages {
                tick.tick().await;
                let text = message_text(now_us(), index, seq, payload);
                writer
                    .write_all(format!("PRIVMSG {CHANNEL} :{text}\r\n").as_bytes())
                    .await?;
            }
            anyhow::Ok(writer)
        }));
    }
    let server = args.server_pid.map(Process::Pid);
    let before = server.map(procstat::read).transpose()?;
    barrier.wait().await;
    let start = Instant::now();
    let mut writers = Vec::new();
    for sender in senders {
        writers.push(sender.await??);
    }
    *deadline
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) =
        Some(Instant::now() + Duration::from_secs(args.drain_timeout));
    let mut latency = new_histogram();
    let (mut deliveries, mut duplicated) = (0, 0);
    let mut last = start;
    for receiver in receivers {
        let got = receiver.await??;
        latency.add(&got.latency)?;
        deliveries += got.deliveries;
        duplicated += got.duplicated;
        last = last.max(got.last);
    }
    let after = server.map(procstat::read).transpose()?;
    let seconds = last.duration_since(start).as_secs_f64();
    let expected = per_receiver * args.clients as u64;
    let server = match (before, after) {
        (Some(b), Some(a)) => {
            let cpu = a.cpu_seconds - b.cpu_seconds;
            Some(ProcReport {
                cpu_seconds: cpu,
                cpu_us_per_delivery: cpu * 1e6 / deliveries.max(1) as f64,
                peak_rss_mib: a.peak_rss_kib as f64 / 1024.0,
                rss_mib: a.rss_kib as f64 / 1024.0,
            })
        }
        _ => None,
    };
    for mut writer in writers {
        let _ = writer.write_all(b"QUIT :done\r\n").await;
    }
    let report = IrcReport {
        clients: args.clients,
        messages_per_client: args.messages,
        deliveries,
        expected_deliveries: expected,
        lost: expected.saturating_sub(deliveries),
        duplicated,
        seconds,
        deliveries_per_second: deliveries as f64 / seconds.max(1e-9),
        latency_us: Latency::of(&latency),
        latency_buckets_us: Buckets::of(&latency),
        server,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report:#?}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_message_is_read_back_as_sent() {
        let text = message_text(1_700_000_000_123_456, 7, 42, 64);
        assert_eq!(text.len(), 64);
        let line = format!(":b7!~b7@localhost PRIVMSG {CHANNEL} :{text}");
        let got = privmsg_text(&line).and_then(parse_text);
        assert_eq!(got, Some((1_700_000_000_123_456, 7, 42)));
        assert_eq!(privmsg_text(":b7!~b7@h PRIVMSG #other :1 2 3"), None);
        assert_eq!(privmsg_text(":srv 001 b7 :Welcome"), None);
        assert_eq!(parse_text("hello there"), None);
    }
}
