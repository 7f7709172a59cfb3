//! The live telemetry of the wall: K channels × R Hz on a fixed time grid, written as
//! protobuf columnar requests (`/storage/writer/v1/nominal-columnar`, the cheapest writer),
//! a few per second, each carrying every channel's points since the previous one.
//!
//! Every write is logged with the timestamp of its newest point and the wall time of its
//! acknowledgement, so staleness can be measured both from the write's acknowledgement
//! and end to end from the point's own timestamp (an fsync stall of the disk shows in the
//! second but not the first).

use super::panels::{channel_name, value, Signal, DATASET};
use crate::process::Server;
use prost::Message as _;
use sightline_wire::proto::columnar;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall-clock nanoseconds since the epoch (the clock the points are stamped with).
pub(crate) fn wall_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// One acknowledged write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteEntry {
    /// Timestamp of the newest point it carried (every channel has the same grid).
    pub(crate) last_ts: i64,
    /// When it was sent (wall ns).
    pub(crate) sent_wall: i64,
    /// When its acknowledgement arrived (wall ns).
    pub(crate) ack_wall: i64,
}

/// The acknowledged writes of a run, in order of their points (one writer at a time).
#[derive(Debug, Default)]
pub(crate) struct WriteLog {
    pub(crate) entries: Vec<WriteEntry>,
    /// Writes the server refused or that failed in transport.
    pub(crate) failed: u64,
    /// Points written (acknowledged).
    pub(crate) points: u64,
}

impl WriteLog {
    /// The write that carried the point at `ts`: the first whose newest point is not older.
    pub(crate) fn carrying(&self, ts: i64) -> Option<&WriteEntry> {
        let i = self.entries.partition_point(|e| e.last_ts < ts);
        self.entries.get(i)
    }

    /// The newest write acknowledged at or before `wall`.
    pub(crate) fn acked_by(&self, wall: i64) -> Option<&WriteEntry> {
        // Acknowledgements arrive in order: writes are sequential.
        let i = self.entries.partition_point(|e| e.ack_wall <= wall);
        i.checked_sub(1).and_then(|i| self.entries.get(i))
    }

    /// The newest write sent at or before `wall` (acknowledged or still in flight then).
    pub(crate) fn sent_by(&self, wall: i64) -> Option<&WriteEntry> {
        let i = self.entries.partition_point(|e| e.sent_wall <= wall);
        i.checked_sub(1).and_then(|i| self.entries.get(i))
    }
}

/// Writes a channel grid: which grid points have been written so far.
pub(crate) struct GridWriter {
    client: reqwest::Client,
    url: String,
    channels: usize,
    signal: Signal,
    /// Nanoseconds between two points of a channel (1 / R).
    step: i64,
    /// Index of the next grid point to write (its timestamp is `next * step`).
    next: i64,
}

impl GridWriter {
    /// A writer whose first point is the grid point at or after `from` (wall ns).
    pub(crate) fn new(
        server: &Server,
        (channels, signal): (usize, Signal),
        rate_hz: u64,
        from: i64,
    ) -> Self {
        let step = (1_000_000_000 / rate_hz.max(1)) as i64;
        GridWriter {
            client: reqwest::Client::new(),
            url: format!("{}/storage/writer/v1/nominal-columnar", server.url),
            channels: channels.max(1),
            signal,
            step: step.max(1),
            next: from.div_euclid(step.max(1)) + 1,
        }
    }

    /// Writes every grid point up to `until` (wall ns), at most `max_points_per_channel`
    /// per channel; logs it. Returns the points written per channel (0: nothing was due).
    pub(crate) async fn write_until(
        &mut self,
        until: i64,
        max_points_per_channel: i64,
        log: &Mutex<WriteLog>,
    ) -> i64 {
        let last = until
            .div_euclid(self.step)
            .min(self.next + max_points_per_channel - 1);
        if last < self.next {
            return 0;
        }
        let body = self.body(self.next, last);
        let count = last - self.next + 1;
        let sent_wall = wall_nanos();
        let ok = match self
            .client
            .post(&self.url)
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await
        {
            Ok(response) => response.status().is_success(),
            Err(_) => false,
        };
        let ack_wall = wall_nanos();
        if let Ok(mut log) = log.lock() {
            if ok {
                log.entries.push(WriteEntry {
                    last_ts: last * self.step,
                    sent_wall,
                    ack_wall,
                });
                log.points += (count as u64) * self.channels as u64;
            } else {
                log.failed += 1;
            }
        }
        // A refused write is not retried: its points are skipped, as a live source would.
        self.next = last + 1;
        count
    }

    fn body(&self, first: i64, last: i64) -> Vec<u8> {
        let batches = (0..self.channels)
            .map(|c| {
                let (timestamps, values): (Vec<_>, Vec<_>) = (first..=last)
                    .map(|k| {
                        let t = k * self.step;
                        (
                            columnar::Timestamp {
                                seconds: Some(t.div_euclid(1_000_000_000)),
                                nanos: Some(t.rem_euclid(1_000_000_000)),
                            },
                            value(self.signal, c, t),
                        )
                    })
                    .unzip();
                columnar::RecordsBatch {
                    channel: channel_name(c),
                    tags: HashMap::new(),
                    points: Some(columnar::Points {
                        timestamps,
                        values: Some(columnar::Values::DoublePoints(columnar::DoublePoints {
                            points: values,
                        })),
                    }),
                }
            })
            .collect();
        columnar::WriteBatchesRequest {
            batches,
            data_source_rid: DATASET.to_string(),
        }
        .encode_to_vec()
    }
}

/// Writes `secs` of history ending now, as fast as the server takes it (1 s of every
/// channel per request), then returns the writer positioned to continue live.
pub(crate) async fn prefill(
    server: &Server,
    grid: (usize, Signal),
    rate_hz: u64,
    secs: u64,
    log: &Mutex<WriteLog>,
) -> GridWriter {
    let now = wall_nanos();
    let mut writer = GridWriter::new(server, grid, rate_hz, now - secs as i64 * 1_000_000_000);
    let per_request = rate_hz.max(1) as i64;
    let started = std::time::Instant::now();
    let mut last_print = started;
    while writer.write_until(now, per_request, log).await > 0 {
        if last_print.elapsed() > Duration::from_secs(5) {
            last_print = std::time::Instant::now();
            let done = log.lock().map(|l| l.points).unwrap_or(0);
            let total = secs * rate_hz * grid.0 as u64;
            println!(
                "  prefill: {} of {} points ({:.0} %)",
                super::report::count(done),
                super::report::count(total),
                done as f64 * 100.0 / total.max(1) as f64
            );
        }
    }
    writer
}

/// Starts the live writer on a thread of its own with its own runtime, so the clients'
/// frame parsing (which can take every core of the load generator) neither delays the
/// writes nor their acknowledgement times, which staleness is measured from.
pub(crate) fn start_live(
    writer: GridWriter,
    writes_per_sec: u64,
    log: Arc<Mutex<WriteLog>>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("wall-writer".to_string())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    eprintln!("the live writer could not start a runtime: {error}");
                    return;
                }
            };
            // A fresh client: connections belong to the runtime that opened them.
            let writer = GridWriter {
                client: reqwest::Client::new(),
                ..writer
            };
            runtime.block_on(run_live(writer, writes_per_sec, log, stop));
        })
}

/// Writes live, `writes_per_sec` requests per second, until `stop` is set.
async fn run_live(
    mut writer: GridWriter,
    writes_per_sec: u64,
    log: Arc<Mutex<WriteLog>>,
    stop: Arc<AtomicBool>,
) {
    let mut ticker =
        tokio::time::interval(Duration::from_nanos(1_000_000_000 / writes_per_sec.max(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        ticker.tick().await;
        // A late write carries everything due; one request never holds more than 10 s.
        writer
            .write_until(wall_nanos(), 10 * writer.points_per_sec(), &log)
            .await;
    }
}

impl GridWriter {
    fn points_per_sec(&self) -> i64 {
        1_000_000_000 / self.step
    }
}
