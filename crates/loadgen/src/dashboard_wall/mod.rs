//! The dashboard wall (`sightline bench --scenario dashboard-wall`): a control room of
//! dashboards on live telemetry, streamed over WebSocket subscriptions, polled through HTTP
//! compute, or both in one run.
//!
//! Phases, one server:
//!
//! ```text
//!  prefill  ─► writes alone ─► stream: subscribe all, measure ─► poll: refresh all, measure
//!  (window     (baseline CPU    (creation time, updates,          (refreshes, staleness,
//!   of history) of the writes)   staleness, starvation, CPU)       CPU per refresh)
//!             └──────────────── live writes: K channels × R Hz, a few requests/s ──────────┘
//! ```
//!
//! "Net" server CPU is a phase's CPU minus the writes-alone phase's, so what subscriptions
//! (or polls) cost is told apart from what ingest costs. Server CPU and peak RSS are read
//! from `/proc` of the server the benchmark started.
//!
//! Owns: the panel mix (`panels`), the live writer and its acknowledgement log (`writes`),
//! the streaming and polling clients (`stream`, `poll`), reading results (`observe`) and
//! the figures (`report`, `machine`). Speaks only the public API; every frame and answer is
//! parsed with the upstream wire types.

mod machine;
mod observe;
mod panels;
mod poll;
mod report;
mod stream;
mod writes;

use crate::process::Server;
pub use panels::Signal;
use report::{count, duration_ms, CpuUse, Interval, ModeFigures};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use writes::{wall_nanos, WriteLog};

/// How the wall's panels get their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WallMode {
    /// WebSocket subscriptions (persistent compute).
    Stream,
    /// `POST /compute/v2/compute` per panel every `minDelay`.
    Poll,
    /// Stream, then poll the same panels, and compare server CPU per refresh.
    Both,
}

/// Flags of `--scenario dashboard-wall`; it also takes `--channels` (K),
/// `--subscriptions` (S, the panels) and `--min-delay-ms`.
#[derive(Debug, Clone, clap::Args)]
pub struct WallArgs {
    /// dashboard-wall: WebSocket connections (dashboards) the subscriptions are spread
    /// over; also the number of pollers in poll mode.
    #[arg(long, default_value_t = 10)]
    pub connections: usize,
    /// dashboard-wall: points per second written to each channel.
    #[arg(long, default_value_t = 1000)]
    pub rate_hz: u64,
    /// dashboard-wall: write requests per second (protobuf columnar), each carrying every
    /// channel's points since the previous one.
    #[arg(long, default_value_t = 10)]
    pub writes_per_sec: u64,
    /// dashboard-wall: window width of every panel, in seconds.
    #[arg(long, default_value_t = 60)]
    pub window_secs: u64,
    /// dashboard-wall: seconds of history written before anything else (default: the
    /// window, so every panel opens on a full window).
    #[arg(long)]
    pub prefill_secs: Option<u64>,
    /// dashboard-wall: seconds of live writes with no subscriber, measuring what the
    /// writes alone cost (the "net" figures subtract it; 0 skips it).
    #[arg(long, default_value_t = 10)]
    pub baseline_secs: u64,
    /// dashboard-wall: seconds each mode is measured.
    #[arg(long, default_value_t = 20)]
    pub measure_secs: u64,
    /// dashboard-wall: stream, poll, or both (stream then poll, with their CPU ratio).
    #[arg(long, value_enum, default_value_t = WallMode::Stream)]
    pub mode: WallMode,
    /// dashboard-wall: make every panel's computation different from every other's (bucket
    /// count, rolling window or threshold offset by the panel's index), so nothing is shared.
    #[arg(long)]
    pub distinct: bool,
    /// dashboard-wall: subscriptions per subscribe message.
    #[arg(long, default_value_t = 100)]
    pub subs_per_message: usize,
    /// dashboard-wall: seed of the panels' channel choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// dashboard-wall: the signal written to every channel.
    #[arg(long, value_enum, default_value_t = Signal::Sine)]
    pub signal: Signal,
    /// dashboard-wall: seconds to wait for every subscription's creation and first result.
    #[arg(long, default_value_t = 120)]
    pub create_timeout_secs: u64,
}

/// The sizes of a run.
struct Wall {
    args: WallArgs,
    subscriptions: usize,
    min_delay_ms: u64,
}

impl Wall {
    /// 3 × `minDelay`, or 3 write intervals if writes are rarer than `minDelay`.
    fn silence_bound_ms(&self) -> f64 {
        let write_interval = 1000.0 / self.args.writes_per_sec.max(1) as f64;
        3.0 * (self.min_delay_ms as f64).max(write_interval)
    }

    /// What a mode delivered and the write latencies during it (see
    /// [`report::delivery_and_latency`]).
    fn delivery(
        &self,
        received: &[observe::Received],
        panels: &[panels::Panel],
        log: &Mutex<WriteLog>,
        interval: Interval,
    ) -> Option<(report::Delivery, Vec<f64>)> {
        let bound = self.silence_bound_ms();
        report::delivery_and_latency(received, panels, log, interval, bound, self.step())
    }

    /// Nanoseconds between two points of a channel.
    fn step(&self) -> i64 {
        (1_000_000_000 / self.args.rate_hz.max(1)) as i64
    }

    /// Updates the streamed panels can get per second over `secs`: a plot one per
    /// `minDelay`, at most one per write; a range panel one per change of its result
    /// (`range_changes`, one count per range panel), at most as many as a plot.
    fn stream_wanted_per_sec(&self, range_changes: &[usize], secs: f64) -> f64 {
        let per_panel =
            (1000.0 / self.min_delay_ms.max(1) as f64).min(self.args.writes_per_sec.max(1) as f64);
        let most = per_panel * secs.max(1e-9);
        let ranges: f64 = range_changes.iter().map(|&n| (n as f64).min(most)).sum();
        let plots = self.subscriptions.saturating_sub(range_changes.len());
        per_panel * plots as f64 + ranges / secs.max(1e-9)
    }

    fn poll_wanted_per_sec(&self) -> f64 {
        1000.0 / self.min_delay_ms.max(1) as f64 * self.subscriptions as f64
    }
}

fn cpu_now(server: &Server) -> (Option<f64>, Option<f64>, Instant) {
    (
        server.cpu_seconds(),
        machine::own_cpu_seconds(),
        Instant::now(),
    )
}

fn cpu_since(server: &Server, before: (Option<f64>, Option<f64>, Instant)) -> CpuUse {
    let (s0, o0, t0) = before;
    let (s1, o1, _) = cpu_now(server);
    CpuUse {
        server: s0.zip(s1).map(|(a, b)| b - a),
        loadgen: o0.zip(o1).map(|(a, b)| b - a),
        wall: t0.elapsed().as_secs_f64(),
    }
}

fn load() -> String {
    machine::load_average().map_or("n/a".to_string(), |l| format!("{l:.2}"))
}

/// Runs the scenario against `server` and returns the report.
pub(crate) async fn run(
    server: &Server,
    args: WallArgs,
    channels: usize,
    subscriptions: usize,
    min_delay_ms: u64,
) -> anyhow::Result<String> {
    anyhow::ensure!(channels > 0, "--channels must be at least 1");
    anyhow::ensure!(subscriptions > 0, "--subscriptions must be at least 1");
    anyhow::ensure!(args.connections > 0, "--connections must be at least 1");
    anyhow::ensure!(args.rate_hz > 0, "--rate-hz must be at least 1");
    anyhow::ensure!(
        min_delay_ms > 0,
        "--min-delay-ms must be at least 1 for the dashboard wall"
    );
    let wall = Wall {
        args,
        subscriptions,
        min_delay_ms,
    };
    let a = &wall.args;
    let mut out = String::new();
    let header = format!(
        "dashboard wall: {} panels over {} connections, {} channels × {} Hz ({} writes/s), window {} s, minDelay {}, {} computations, mode {}; {} cores, load average {}",
        count(subscriptions as u64),
        count(a.connections as u64),
        count(channels as u64),
        count(a.rate_hz),
        a.writes_per_sec,
        a.window_secs,
        duration_ms(min_delay_ms as f64),
        if a.distinct { "distinct" } else { "shared" },
        match a.mode {
            WallMode::Stream => "stream",
            WallMode::Poll => "poll",
            WallMode::Both => "both",
        },
        machine::cores(),
        load()
    );
    println!("{header}");
    let _ = writeln!(out, "{header}");
    let load_before = load();

    let log = Arc::new(Mutex::new(WriteLog::default()));
    let prefill_secs = a.prefill_secs.unwrap_or(a.window_secs);
    let started = Instant::now();
    let mut writer =
        writes::prefill(server, (channels, a.signal), a.rate_hz, prefill_secs, &log).await;
    // Whatever came due while the history was written, 1 s per request (a request stays
    // far below the body limit), so live writes start on time.
    while writer
        .write_until(wall_nanos(), a.rate_hz as i64, &log)
        .await
        >= a.rate_hz as i64
    {}
    let (prefilled, failed) = log.lock().map(|l| (l.points, l.failed)).unwrap_or((0, 0));
    anyhow::ensure!(
        failed == 0,
        "the server refused {failed} history writes; is it a Sightline writer endpoint?"
    );
    let line = format!(
        "  history        {} s written before subscribing: {} points in {}",
        prefill_secs,
        count(prefilled),
        duration_ms(started.elapsed().as_secs_f64() * 1e3)
    );
    println!("{line}");
    let _ = writeln!(out, "{line}");

    let stop_writes = Arc::new(AtomicBool::new(false));
    let live = writes::start_live(writer, a.writes_per_sec, log.clone(), stop_writes.clone())?;

    let baseline_cores = if a.baseline_secs > 0 {
        let start = wall_nanos();
        let before = cpu_now(server);
        tokio::time::sleep(Duration::from_secs(a.baseline_secs)).await;
        let cpu = cpu_since(server, before);
        let interval = Interval {
            start,
            end: wall_nanos(),
        };
        let latency = log
            .lock()
            .map(|l| report::write_latency_ms(&l, interval))
            .unwrap_or_default();
        let cores = cpu.server_cores();
        let line = format!(
            "writes alone ({} s, no subscriber): server {}; write ack {}",
            a.baseline_secs,
            cores.map_or("n/a".to_string(), |c| format!("{c:.2} cores")),
            report::spread(&latency)
        );
        println!("{line}");
        let _ = writeln!(out, "{line}");
        cores
    } else {
        None
    };

    let panels = Arc::new(panels::panels(
        subscriptions,
        channels,
        a.distinct,
        a.seed,
        a.signal,
    ));
    let line = format!("  panels         {}", panels::mix(&panels));
    println!("{line}");
    let _ = writeln!(out, "{line}");
    let mut stream_per_update = None;
    let mut poll_per_refresh = None;
    if matches!(a.mode, WallMode::Stream | WallMode::Both) {
        let (text, per_update) = stream_phase(server, &wall, &panels, &log, baseline_cores).await?;
        print!("{text}");
        out.push_str(&text);
        stream_per_update = per_update;
    }
    if matches!(a.mode, WallMode::Poll | WallMode::Both) {
        let (text, per_refresh) = poll_phase(server, &wall, &panels, &log, baseline_cores).await;
        print!("{text}");
        out.push_str(&text);
        poll_per_refresh = per_refresh;
    }
    stop_writes.store(true, Ordering::Relaxed);
    let _ = tokio::task::spawn_blocking(move || live.join()).await;

    let mut tail = String::new();
    if let (Some(stream), Some(poll)) = (stream_per_update, poll_per_refresh) {
        let ratio = if stream.0 > 0.0 {
            format!("{:.0}×", poll.0 / stream.0)
        } else {
            "n/a (stream net CPU ≤ 0)".to_string()
        };
        let _ = writeln!(
            tail,
            "poll / stream server CPU per refresh: {ratio} net of the writes ({} vs {}); {:.0}× gross",
            duration_ms(poll.0 * 1e3),
            duration_ms(stream.0 * 1e3),
            poll.1 / stream.1.max(1e-12)
        );
    }
    let writes_failed = log.lock().map(|l| l.failed).unwrap_or(0);
    let _ = writeln!(
        tail,
        "server peak RSS {}; writes refused or failed {writes_failed}; load average {load_before} before, {} after",
        server
            .pids
            .first()
            .copied()
            .and_then(machine::peak_rss_bytes)
            .map_or("n/a".to_string(), report::bytes),
        load()
    );
    print!("{tail}");
    out.push_str(&tail);
    Ok(out)
}

/// Net and gross server CPU seconds per delivered result.
type PerResult = Option<(f64, f64)>;

async fn stream_phase(
    server: &Server,
    wall: &Wall,
    panels: &Arc<Vec<panels::Panel>>,
    log: &Arc<Mutex<WriteLog>>,
    baseline_cores: Option<f64>,
) -> anyhow::Result<(String, PerResult)> {
    let a = &wall.args;
    let ws_url = format!(
        "{}/persistent-compute/ws",
        server.url.replacen("http", "ws", 1)
    );
    let progress = Arc::new(stream::Progress::default());
    let stop = Arc::new(AtomicBool::new(false));
    let created_from = wall_nanos();
    let tasks: Vec<_> = (0..a.connections)
        .map(|c| {
            let indices: Vec<u32> = (c..wall.subscriptions)
                .step_by(a.connections)
                .map(|i| i as u32)
                .collect();
            tokio::spawn(stream::run_connection(
                ws_url.clone(),
                panels.clone(),
                indices,
                stream::Options {
                    window_secs: a.window_secs,
                    min_delay_ms: wall.min_delay_ms,
                    subs_per_message: a.subs_per_message,
                },
                progress.clone(),
                stop.clone(),
            ))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(a.create_timeout_secs);
    let mut last_print = Instant::now();
    loop {
        let answered =
            progress.created.load(Ordering::Relaxed) + progress.refused.load(Ordering::Relaxed);
        let fulls = progress.first_full.load(Ordering::Relaxed);
        let created = progress.created.load(Ordering::Relaxed);
        if (answered >= wall.subscriptions as u64 && fulls >= created) || Instant::now() > deadline
        {
            break;
        }
        if tasks.iter().all(|t| t.is_finished()) {
            break;
        }
        if last_print.elapsed() > Duration::from_secs(5) {
            last_print = Instant::now();
            println!(
                "  subscribing: {} of {} answered, {} first results",
                count(answered),
                count(wall.subscriptions as u64),
                count(fulls)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let created = progress.created.load(Ordering::Relaxed);
    let refused = progress.refused.load(Ordering::Relaxed);
    let fulls = progress.first_full.load(Ordering::Relaxed);
    let create_ms = (progress.last_created_at.load(Ordering::Relaxed) - created_from) as f64 * 1e-6;
    let full_ms =
        (progress.last_first_full_at.load(Ordering::Relaxed) - created_from) as f64 * 1e-6;

    let start = wall_nanos();
    let before = cpu_now(server);
    tokio::time::sleep(Duration::from_secs(a.measure_secs)).await;
    let cpu = cpu_since(server, before);
    let interval = Interval {
        start,
        end: wall_nanos(),
    };
    stop.store(true, Ordering::Relaxed);
    let mut reports = Vec::new();
    for task in tasks {
        reports.push(task.await?);
    }
    let dropped = reports.iter().filter(|r| r.dropped).count();
    let parse_failures: u64 = reports.iter().map(|r| r.parse_failures).sum();
    let errors: u64 = reports.iter().map(|r| r.update_errors).sum();
    let pings: u64 = reports.iter().map(|r| r.pings).sum();
    let bytes: u64 = reports.iter().map(|r| r.bytes).sum();
    let first_error = reports.iter().find_map(|r| r.first_error.clone());
    let received: Vec<observe::Received> = reports.into_iter().flat_map(|r| r.received).collect();

    let (delivery, latency) = wall
        .delivery(&received, panels, log, interval)
        .ok_or_else(|| anyhow::anyhow!("write log poisoned"))?;
    let mut out = String::new();
    let _ = writeln!(out, "stream (WebSocket subscriptions):");
    let _ = writeln!(
        out,
        "  created        {} of {} in {} (first full results of all in {}); {} refused",
        count(created),
        count(wall.subscriptions as u64),
        duration_ms(create_ms.max(0.0)),
        duration_ms(full_ms.max(0.0)),
        count(refused)
    );
    if fulls < created {
        let _ = writeln!(
            out,
            "  NOTE           only {} first full results arrived within {} s",
            count(fulls),
            a.create_timeout_secs
        );
    }
    let _ = writeln!(
        out,
        "  connections    {dropped} of {} dropped; {pings} server pings answered; {:.1} MiB received in all (creation included)",
        a.connections,
        bytes as f64 / (1024.0 * 1024.0)
    );
    let figures = ModeFigures {
        delivery: &delivery,
        wanted_per_sec: wall.stream_wanted_per_sec(&delivery.range_changes, interval.secs()),
        interval,
        cpu,
        baseline_cores,
        panels: wall.subscriptions,
        silence_bound_ms: wall.silence_bound_ms(),
        parse_failures,
        errors,
        write_latency_ms: &latency,
    };
    let per_result = figures.finish(&mut out, ("update", "updates"), first_error);
    Ok((out, per_result))
}

async fn poll_phase(
    server: &Server,
    wall: &Wall,
    panels: &Arc<Vec<panels::Panel>>,
    log: &Arc<Mutex<WriteLog>>,
    baseline_cores: Option<f64>,
) -> (String, PerResult) {
    let a = &wall.args;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.connections)
        .build()
        .unwrap_or_default();
    let url = format!("{}/compute/v2/compute", server.url);
    let start = wall_nanos();
    let before = cpu_now(server);
    let until = Instant::now() + Duration::from_secs(a.measure_secs);
    let tasks: Vec<_> = (0..a.connections)
        .map(|c| {
            let indices: Vec<u32> = (c..wall.subscriptions)
                .step_by(a.connections)
                .map(|i| i as u32)
                .collect();
            tokio::spawn(poll::run_poller(
                client.clone(),
                url.clone(),
                panels.clone(),
                indices,
                a.window_secs,
                Duration::from_millis(wall.min_delay_ms),
                until,
            ))
        })
        .collect();
    let mut reports = Vec::new();
    for task in tasks {
        if let Ok(r) = task.await {
            reports.push(r);
        }
    }
    let cpu = cpu_since(server, before);
    let interval = Interval {
        start,
        end: wall_nanos(),
    };
    let parse_failures: u64 = reports.iter().map(|r| r.parse_failures).sum();
    let errors: u64 = reports.iter().map(|r| r.errors).sum();
    let first_error = reports.iter().find_map(|r| r.first_error.clone());
    let received: Vec<observe::Received> = reports.into_iter().flat_map(|r| r.received).collect();
    let Some((delivery, latency)) = wall.delivery(&received, panels, log, interval) else {
        return ("poll: write log poisoned\n".to_string(), None);
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "poll (POST /compute/v2/compute per panel every minDelay, {} pollers):",
        a.connections
    );
    let figures = ModeFigures {
        delivery: &delivery,
        wanted_per_sec: wall.poll_wanted_per_sec(),
        interval,
        cpu,
        baseline_cores,
        panels: wall.subscriptions,
        silence_bound_ms: wall.silence_bound_ms(),
        parse_failures,
        errors,
        write_latency_ms: &latency,
    };
    let per_result = figures.finish(&mut out, ("refresh", "refreshes"), first_error);
    (out, per_result)
}
