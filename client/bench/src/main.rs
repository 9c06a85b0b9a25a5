//! `chatroom-bench`: the fan-out benchmark (N clients in one room, each
//! posting M timestamped messages), `chatroom-bench relay`, a lossy UDP
//! relay for the head-of-line-blocking comparison, `chatroom-bench crowd`
//! (S3′: a lobby, rooms and groups at their own rates), and `chatroom-bench plot`,
//! which pools saved reports and draws their latency CDFs. See docs/performance.md.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chatroom_bench::crowd::CrowdConfig;
use chatroom_bench::distribution::{self, Buckets, Summary};
use chatroom_bench::plot::{self, Chart, Line};
use chatroom_bench::relay::{Blackout, Direction, Link, Relay, RelayConfig};
use chatroom_bench::{self as bench, BenchConfig};
use chatroom_client::Trust;
use chatroom_client::connection::EventStreams;
use chatroom_common::report;
use clap::{Args, Parser, Subcommand};

/// mimalloc: a third less CPU per delivery than glibc's malloc, which leaves
/// more of a small machine to the server being measured.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Measures fan-out: deliveries per second, latency percentiles, losses, CPU.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The server (or relay) as HOST:PORT; the nodes of a cluster as
    /// HOST:PORT,HOST:PORT,… (client i uses node i mod n, and the report adds
    /// per-node counts and same-node against cross-node latency).
    #[arg(long)]
    server: Option<String>,
    /// SHA-256 fingerprint of the server's CA certificate (printed by the server).
    #[arg(long, conflicts_with = "ca")]
    pin: Option<String>,
    /// The server's CA certificate file.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Clients; each sends and receives.
    #[arg(long, default_value_t = 10)]
    clients: usize,
    /// Messages per client.
    #[arg(long, default_value_t = 100)]
    messages: u64,
    /// Messages per second per client (default: unpaced, each after the last was acknowledged).
    #[arg(long)]
    rate: Option<f64>,
    /// Bytes of text per message ("<unix-nanos> xxx…").
    #[arg(long, default_value_t = 64)]
    payload: usize,
    /// Room to post in (default: a fresh bench-<run> room).
    #[arg(long)]
    room: Option<String>,
    /// The server's process id: report its CPU time per delivery and peak
    /// memory. For a cluster, one per node in --server's order, comma-separated.
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// The NATS server's process id (a cluster run): report its CPU time too.
    #[arg(long)]
    nats_pid: Option<u32>,
    /// Print one JSON object instead of the table (and no progress bars).
    #[arg(long)]
    json: bool,
    /// Clients sharing one QUIC endpoint (UDP socket).
    #[arg(long, default_value_t = 16)]
    connections_per_endpoint: usize,
    /// How the server pushes events: per-message, or single (a server started with --stream-mode single).
    #[arg(long, default_value = "per-message")]
    stream_mode: EventStreams,
    /// Seconds to wait for missing deliveries after progress stops.
    #[arg(long, default_value_t = 10)]
    drain_timeout: u64,
    /// Clients set up at once.
    #[arg(long, default_value_t = 32)]
    setup_concurrency: usize,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// S3′: a crowd in a lobby, mid-sized rooms and small groups, each room
    /// at its own rate; latency and losses per kind of room, server memory.
    Crowd(CrowdArgs),
    /// S5: the chat load (give --rate) while the first --files clients each
    /// upload a file and post it; text latency during the uploads and their throughput.
    Files(FilesArgs),
    /// Relay UDP between clients and a server, dropping, delaying and blacking out datagrams per direction (loopback tests only).
    Relay(RelayArgs),
    /// Pool the latency histograms of saved --json reports per label, print
    /// their percentiles as a Markdown table and draw their CDFs into a PNG.
    Plot(PlotArgs),
}

#[derive(Debug, Args)]
struct CrowdArgs {
    /// The server as HOST:PORT.
    #[arg(long)]
    server: String,
    /// SHA-256 fingerprint of the server's CA certificate.
    #[arg(long, conflicts_with = "ca")]
    pin: Option<String>,
    /// The server's CA certificate file.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Clients; each is in the lobby, one room and one group.
    #[arg(long, default_value_t = 2000)]
    clients: usize,
    /// Members per room.
    #[arg(long, default_value_t = 100)]
    room_size: usize,
    /// Members per group.
    #[arg(long, default_value_t = 4)]
    group_size: usize,
    /// Messages per second in the lobby, in total, at ×1.
    #[arg(long, default_value_t = 2.0)]
    lobby_rate: f64,
    /// Messages per second in each room at ×1.
    #[arg(long, default_value_t = 1.0)]
    room_rate: f64,
    /// Messages per second in each group at ×1.
    #[arg(long, default_value_t = 0.05)]
    group_rate: f64,
    /// Multiplies every rate.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Seconds of posting.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Bytes of text per message.
    #[arg(long, default_value_t = 64)]
    payload: usize,
    /// The server's process id: its memory and CPU time.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Clients sharing one QUIC endpoint (UDP socket).
    #[arg(long, default_value_t = 50)]
    connections_per_endpoint: usize,
    /// Clients set up at once.
    #[arg(long, default_value_t = 32)]
    setup_concurrency: usize,
    /// Seconds to wait for missing deliveries after progress stops.
    #[arg(long, default_value_t = 10)]
    drain_timeout: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct PlotArgs {
    /// One distribution: LABEL=FILE[,FILE…], the --json reports of its runs
    /// (repeatable; the table and the legend keep this order, and ratios are
    /// to the first).
    #[arg(long = "series", value_name = "LABEL=FILES", required = true)]
    series: Vec<String>,
    /// The field of each report that holds the histogram: latency_buckets_us
    /// (from the sender's send time) or one_way_buckets_us (from the server's stamp).
    #[arg(long, default_value = "latency_buckets_us")]
    field: String,
    /// The PNG to write.
    #[arg(long)]
    out: PathBuf,
    /// The chart's title.
    #[arg(long, default_value = "Latency")]
    title: String,
    /// The latency floor in ms (e.g. the relay's downlink delay): drawn, and
    /// the table reports the share of deliveries later than floor + --late-ms.
    #[arg(long)]
    floor_ms: Option<f64>,
    /// How far past the floor a delivery counts as late, ms.
    #[arg(long, default_value_t = 10.0)]
    late_ms: f64,
}

#[derive(Debug, Args)]
struct FilesArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Clients (the first ones) that each upload a file while chatting.
    #[arg(long, default_value_t = 4)]
    files: usize,
    /// MiB per file.
    #[arg(long, default_value_t = 8.0)]
    file_mib: f64,
    /// Seconds after the first text is due when the uploads start.
    #[arg(long, default_value_t = 2.0)]
    files_after: f64,
    /// Keep the sorted latencies of the texts sent during the uploads (the
    /// whole run without files) in the JSON, for a CDF.
    #[arg(long)]
    cdf: bool,
}

#[derive(Debug, Args)]
struct RelayArgs {
    /// Address clients connect to.
    #[arg(long)]
    listen: SocketAddr,
    /// The server's address.
    #[arg(long)]
    to: SocketAddr,
    /// Percent of datagrams to drop in each direction.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Percent of client → server datagrams to drop (instead of --loss).
    #[arg(long)]
    loss_up: Option<f64>,
    /// Percent of server → client datagrams to drop (instead of --loss).
    #[arg(long)]
    loss_down: Option<f64>,
    /// Milliseconds to delay every datagram in each direction.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Milliseconds to delay client → server datagrams (instead of --delay-ms).
    #[arg(long)]
    delay_up: Option<u64>,
    /// Milliseconds to delay server → client datagrams (instead of --delay-ms).
    #[arg(long)]
    delay_down: Option<u64>,
    /// Pass nothing client → server for a while: START_MS:DURATION_MS from the
    /// relay's start (repeatable).
    #[arg(long, value_name = "START_MS:DURATION_MS")]
    blackout_up: Vec<Blackout>,
    /// Pass nothing server → client for a while: START_MS:DURATION_MS from the
    /// relay's start (repeatable).
    #[arg(long, value_name = "START_MS:DURATION_MS")]
    blackout_down: Vec<Blackout>,
    /// Seed of the drop decisions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("chatroom-bench: starting the runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Some(Command::Relay(args)) => relay(args).await,
            Some(Command::Files(args)) => files(args).await,
            Some(Command::Crowd(args)) => crowd(args).await,
            Some(Command::Plot(args)) => draw(args),
            None => run(cli.run).await,
        }
    });
    if let Err(e) = result {
        eprintln!("chatroom-bench: {}", report::one_line(e.chain()));
        std::process::exit(1);
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let json = args.json;
    let config = bench_config(args)?;
    let report = bench::run(config).await.context("benchmark")?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{report}");
    }
    Ok(())
}

async fn files(args: FilesArgs) -> anyhow::Result<()> {
    if !(args.file_mib >= 0.0 && args.file_mib.is_finite() && args.files_after >= 0.0) {
        bail!("--file-mib and --files-after must be non-negative numbers");
    }
    let json = args.run.json;
    let config = bench::FilesConfig {
        chat: bench_config(args.run)?,
        files: args.files,
        file_bytes: (args.file_mib * 1024.0 * 1024.0) as usize,
        files_after: Duration::from_secs_f64(args.files_after),
    };
    let mut report = bench::transfers::run(config).await.context("S5")?;
    if !args.cdf {
        report.cdf_us.clear();
    }
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

async fn crowd(args: CrowdArgs) -> anyhow::Result<()> {
    let mut config = CrowdConfig::new(args.server, trust(args.pin, args.ca)?);
    config.clients = args.clients;
    config.room_size = args.room_size;
    config.group_size = args.group_size;
    config.lobby_rate = args.lobby_rate;
    config.room_rate = args.room_rate;
    config.group_rate = args.group_rate;
    config.scale = args.scale;
    config.seconds = args.seconds;
    config.payload = args.payload;
    config.server_pid = args.server_pid;
    config.connections_per_endpoint = args.connections_per_endpoint;
    config.setup_concurrency = args.setup_concurrency;
    config.drain_timeout = Duration::from_secs(args.drain_timeout);
    config.progress = !args.json;
    let report = bench::crowd::crowd(config).await.context("S3′")?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}

/// `chatroom-bench plot`: reads the reports, prints the table, writes the PNG.
fn draw(args: PlotArgs) -> anyhow::Result<()> {
    if let Some(floor) = args.floor_ms
        && !(floor >= 0.0 && args.late_ms >= 0.0 && (floor + args.late_ms).is_finite())
    {
        bail!("--floor-ms and --late-ms must be non-negative numbers");
    }
    let late_us = args
        .floor_ms
        .map(|floor| ((floor + args.late_ms) * 1000.0).round() as u64);
    let mut summaries = Vec::new();
    let mut hists = Vec::new();
    for series in &args.series {
        let Some((label, files)) = series.split_once('=') else {
            bail!("--series {series:?}: expected LABEL=FILE[,FILE…]");
        };
        let mut runs = Vec::new();
        let mut lost = 0;
        for file in files.split(',').filter(|f| !f.is_empty()) {
            let (buckets, run_lost) = read_report(file, &args.field)?;
            runs.push(buckets);
            lost += run_lost;
        }
        if runs.is_empty() {
            bail!("--series {label}: no report files");
        }
        let (mut summary, hist) = Summary::of(label, &runs, late_us);
        summary.lost = lost;
        summaries.push(summary);
        hists.push(hist);
    }
    let late = args
        .floor_ms
        .map(|floor| format!("{floor} + {} ms", args.late_ms));
    print!("{}", distribution::table(&summaries, late.as_deref()));
    let mut markers = Vec::new();
    if let Some(floor) = args.floor_ms {
        markers.push((format!("floor {floor} ms"), floor));
        markers.push((format!("floor + {} ms", args.late_ms), floor + args.late_ms));
    }
    let chart = Chart {
        title: args.title,
        markers,
    };
    let lines: Vec<Line<'_>> = summaries
        .iter()
        .zip(&hists)
        .map(|(s, hist)| Line {
            label: &s.label,
            hist,
        })
        .collect();
    plot::cdf_png(&args.out, &chart, &lines)
        .with_context(|| format!("drawing {}", args.out.display()))?;
    Ok(())
}

/// The histogram in `field` of a saved report, and its `lost` count (0 when
/// the report has none).
fn read_report(file: &str, field: &str) -> anyhow::Result<(Buckets, u64)> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
    let report: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {file}"))?;
    let Some(buckets) = report.get(field) else {
        bail!("{file} has no {field:?} (a report of an older chatroom-bench?)");
    };
    let buckets = serde_json::from_value(buckets.clone())
        .with_context(|| format!("reading {field} in {file}"))?;
    let lost = report
        .get("lost")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    Ok((buckets, lost))
}

/// The run's configuration from its flags.
fn bench_config(args: RunArgs) -> anyhow::Result<BenchConfig> {
    let Some(server) = args.server else {
        bail!("--server HOST:PORT is required (or use the relay subcommand)");
    };
    let mut config = BenchConfig::new(server, trust(args.pin, args.ca)?);
    config.clients = args.clients;
    config.messages = args.messages;
    config.rate = args.rate;
    config.payload = args.payload;
    config.room = args.room;
    config.server_pids = args.server_pid;
    config.nats_pid = args.nats_pid;
    config.connections_per_endpoint = args.connections_per_endpoint;
    config.event_streams = args.stream_mode;
    config.progress = !args.json;
    config.drain_timeout = Duration::from_secs(args.drain_timeout);
    config.setup_concurrency = args.setup_concurrency;
    Ok(config)
}

/// How to verify the server, from `--pin` or `--ca`.
fn trust(pin: Option<String>, ca: Option<PathBuf>) -> anyhow::Result<Trust> {
    Ok(match (pin, ca) {
        (Some(pin), None) => Trust::parse_pin(&pin).context("reading --pin")?,
        (None, Some(ca)) => Trust::ca_file(&ca).context("reading --ca")?,
        _ => bail!("give --pin HEX or --ca FILE"),
    })
}

async fn relay(args: RelayArgs) -> anyhow::Result<()> {
    if !args.listen.ip().is_loopback() || !args.to.ip().is_loopback() {
        bail!("the relay is for loopback tests only: use 127.0.0.1 addresses");
    }
    let mut config = RelayConfig::new(args.listen, args.to);
    config.loss_percent = args.loss;
    config.delay = Duration::from_millis(args.delay_ms);
    config.up = Link {
        loss_percent: args.loss_up,
        delay: args.delay_up.map(Duration::from_millis),
        blackouts: args.blackout_up,
    };
    config.down = Link {
        loss_percent: args.loss_down,
        delay: args.delay_down.map(Duration::from_millis),
        blackouts: args.blackout_down,
    };
    config.seed = args.seed;
    let describe = |direction| {
        let mut text = format!(
            "loss {}%, delay {} ms",
            config.loss_percent(direction),
            config.delay(direction).as_millis()
        );
        let link = if direction == Direction::Up {
            &config.up
        } else {
            &config.down
        };
        for b in &link.blackouts {
            let (start, length) = (b.start.as_millis(), b.duration.as_millis());
            text.push_str(&format!(", blackout {start}+{length} ms"));
        }
        text
    };
    // The first line keeps its old shape ("relaying ADDR -> ADDR (...)"):
    // scripts/bench-lib.sh reads the address from it.
    let (up, down) = (describe(Direction::Up), describe(Direction::Down));
    let relay = Relay::bind(config).await.context("starting the relay")?;
    eprintln!(
        "relaying {} -> {} (up: {up}; down: {down}; seed {})",
        relay.local_addr()?,
        args.to,
        args.seed
    );
    let stats = relay.run(shutdown_signal()).await.context("relaying")?;
    eprintln!("relay stats: {}", serde_json::to_string(&stats)?);
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
