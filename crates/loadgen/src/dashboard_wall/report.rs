//! Turning what the wall received into figures, and printing them in human units.
//!
//! Staleness of a result is its receive time minus the time of the newest point it
//! covers, measured two ways: end to end (from the point's own timestamp, which the
//! writer set when it generated the point) and from the acknowledgement of the write that
//! carried the point (so a slow write acknowledgement, e.g. an fsync stall, is told apart
//! from the streaming path). A result that arrives before its write's acknowledgement
//! counts 0 from the acknowledgement.
//!
//! Ranges show no point time, so their staleness is bracketed (the newest write
//! acknowledged, or sent, when the result was computed). A ranges result that shows a
//! range boundary first (see `observe`) is also timed from the write that carried that
//! boundary's point: how long the change took to show, from its write's acknowledgement.

use super::observe::{Newest, Received};
use super::panels::{Panel, PanelKind};
use super::writes::WriteLog;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Thousands separated: `10,000`.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration given in milliseconds, in the unit that reads best: `850 µs`, `12.3 ms`, `4.2 s`.
pub(crate) fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return "–".to_string();
    }
    let abs = ms.abs();
    if abs < 1.0 {
        format!("{:.0} µs", ms * 1e3)
    } else if abs < 10.0 {
        format!("{ms:.1} ms")
    } else if abs < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1e3)
    }
}

/// Bytes in MiB or GiB.
pub(crate) fn bytes(n: u64) -> String {
    let mib = n as f64 / (1024.0 * 1024.0);
    if mib >= 1024.0 {
        format!("{:.2} GiB", mib / 1024.0)
    } else {
        format!("{mib:.0} MiB")
    }
}

/// The value at quantile `q` of sorted values.
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `p50 12 ms, p99 45 ms, max 120 ms`.
pub(crate) fn spread(sorted: &[f64]) -> String {
    if sorted.is_empty() {
        return "no samples".to_string();
    }
    format!(
        "p50 {}, p99 {}, max {}",
        duration_ms(percentile(sorted, 0.5)),
        duration_ms(percentile(sorted, 0.99)),
        duration_ms(sorted.last().copied().unwrap_or(f64::NAN))
    )
}

/// The measured interval, wall ns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Interval {
    pub(crate) start: i64,
    pub(crate) end: i64,
}

impl Interval {
    pub(crate) fn secs(&self) -> f64 {
        (self.end - self.start) as f64 * 1e-9
    }
}

/// Delivery figures of one mode over the measured interval.
#[derive(Debug)]
pub(crate) struct Delivery {
    /// Results received within the interval.
    pub(crate) updates: usize,
    /// Staleness from the write's acknowledgement, ms, sorted.
    pub(crate) from_ack_ms: Vec<f64>,
    /// Staleness end to end (from the point's timestamp), ms, sorted.
    pub(crate) end_to_end_ms: Vec<f64>,
    /// Staleness from the write's acknowledgement by panel kind, ms, sorted.
    pub(crate) from_ack_by_kind: Vec<(PanelKind, Vec<f64>)>,
    /// As `from_ack_ms`, but a result that shows no point time (ranges) is counted from
    /// the ack of the newest write *sent* by the time it was computed (the write in flight
    /// then counted as covered) instead of the newest acknowledged by then: the two bracket
    /// the truth for such results. Sorted.
    pub(crate) from_ack_low_ms: Vec<f64>,
    /// Staleness from the ack of the write that carried a range boundary, for the results
    /// showing one first (`Received::revealed`), ms, sorted. The boundary is a point such a
    /// result covers but not always its newest, so this is not below the truth: a change
    /// written less than `minDelay` after the previous result waits for the next round.
    pub(crate) from_boundary_ms: Vec<f64>,
    /// Panels silent longer than `silence_bound_ms` at some point of the interval: a plot
    /// with no result for that long; a range panel whose change (a range starting or
    /// ending) showed that long after the write carrying it was acknowledged, since the
    /// server sends range results only when they change (PROTOCOL §4).
    pub(crate) starved: usize,
    /// Per range panel, the changes its result went through in the interval.
    pub(crate) range_changes: Vec<usize>,
    /// The longest silence of any panel, ms.
    pub(crate) longest_gap_ms: f64,
}

/// Computes delivery figures from every received result (of all panels). `changes` holds,
/// per panel, where a range panel's result changes (see [`Panel::changes`]); a panel
/// without (a plot, or beyond the slice) is starved by silence between results.
pub(crate) fn delivery(
    received: &[Received],
    kinds: &[PanelKind],
    changes: &[Option<Vec<i64>>],
    log: &WriteLog,
    interval: Interval,
    silence_bound_ms: f64,
) -> Delivery {
    let mut by_panel: Vec<Vec<(i64, Option<i64>)>> = vec![Vec::new(); kinds.len()];
    let mut from_ack_by_kind: Vec<(PanelKind, Vec<f64>)> =
        PanelKind::ALL.iter().map(|&k| (k, Vec::new())).collect();
    let mut from_ack_ms = Vec::new();
    let mut end_to_end_ms = Vec::new();
    let mut from_ack_low_ms = Vec::new();
    let mut from_boundary_ms = Vec::new();
    let mut updates = 0;
    for r in received {
        if let Some(times) = by_panel.get_mut(r.panel as usize) {
            times.push((r.at, r.revealed));
        }
        if r.at < interval.start || r.at > interval.end {
            continue;
        }
        updates += 1;
        // Before the bracket, which skips results it cannot place (a full range list).
        if let Some(t) = r.revealed {
            from_boundary_ms.push(since_ack(r.at, log.carrying(t).map(|e| e.ack_wall)));
        }
        // The ack of the write whose point is the newest covered, and (for results showing
        // no point time) of the newest write in flight when the result was computed.
        let (newest, ack, low_ack) = match r.newest {
            Newest::Point(t) => {
                let ack = log.carrying(t).map(|e| e.ack_wall);
                (t, ack, ack)
            }
            Newest::ComputedAt(end) => match log.acked_by(end) {
                Some(e) => (
                    e.last_ts,
                    Some(e.ack_wall),
                    log.sent_by(end).map(|s| s.ack_wall),
                ),
                None => continue,
            },
            Newest::Unknown => continue,
        };
        from_ack_low_ms.push(since_ack(r.at, low_ack));
        end_to_end_ms.push((r.at - newest) as f64 * 1e-6);
        let from_ack = since_ack(r.at, ack);
        from_ack_ms.push(from_ack);
        let kind = kinds.get(r.panel as usize);
        if let Some((_, samples)) = from_ack_by_kind.iter_mut().find(|(k, _)| Some(k) == kind) {
            samples.push(from_ack);
        }
    }
    let mut starved = 0;
    let mut longest_gap = 0i64;
    let mut range_changes = Vec::new();
    for (i, times) in by_panel.iter_mut().enumerate() {
        times.sort_unstable();
        let gap = match changes.get(i) {
            Some(Some(changes)) => {
                range_changes.push(changes.len());
                longest_pending_change(times, changes, log, interval)
            }
            _ => longest_silence(times, interval),
        };
        longest_gap = longest_gap.max(gap);
        if gap as f64 * 1e-6 > silence_bound_ms {
            starved += 1;
        }
    }
    from_ack_ms.sort_by(f64::total_cmp);
    end_to_end_ms.sort_by(f64::total_cmp);
    from_ack_low_ms.sort_by(f64::total_cmp);
    from_boundary_ms.sort_by(f64::total_cmp);
    from_ack_by_kind.retain(|(_, samples)| !samples.is_empty());
    for (_, samples) in &mut from_ack_by_kind {
        samples.sort_by(f64::total_cmp);
    }
    Delivery {
        updates,
        from_ack_ms,
        end_to_end_ms,
        from_ack_by_kind,
        from_ack_low_ms,
        from_boundary_ms,
        starved,
        range_changes,
        longest_gap_ms: longest_gap as f64 * 1e-6,
    }
}

/// The longest time in `interval` between results (receipt times, sorted), ns.
fn longest_silence(times: &[(i64, Option<i64>)], interval: Interval) -> i64 {
    let before = times.partition_point(|&(t, _)| t < interval.start);
    let mut previous = match before {
        0 => interval.start,
        n => times[n - 1].0,
    };
    let mut gap = 0i64;
    for &(t, _) in times[before..]
        .iter()
        .take_while(|&&(t, _)| t <= interval.end)
    {
        gap = gap.max(t - previous);
        previous = t;
    }
    gap.max(interval.end - previous)
}

/// The longest a change of a range panel waited in `interval` from its write's
/// acknowledgement to the first result showing it (one revealing a boundary at or after
/// the change's point: boundaries are revealed in order), ns. A change still unshown at
/// the end waited until then.
fn longest_pending_change(
    times: &[(i64, Option<i64>)],
    changes: &[i64],
    log: &WriteLog,
    interval: Interval,
) -> i64 {
    let mut shown = times
        .iter()
        .filter_map(|&(at, b)| Some((at, b?)))
        .peekable();
    let mut gap = 0i64;
    for &change in changes {
        while shown.next_if(|&(_, b)| b < change).is_some() {}
        let Some(ack) = log.carrying(change).map(|e| e.ack_wall) else {
            continue;
        };
        if ack < interval.start || ack > interval.end {
            continue;
        }
        let at = shown
            .peek()
            .map_or(interval.end, |&(at, _)| at.min(interval.end));
        gap = gap.max(at - ack);
    }
    gap
}

/// Per panel, where a range panel's result changed among the points acknowledged in
/// `interval` (the grid every `step` ns); `None` for plots. Panels on the same channel with
/// the same threshold (all of them unless `--distinct`) share one scan of the signal.
pub(crate) fn range_changes(
    panels: &[Panel],
    log: &WriteLog,
    interval: Interval,
    step: i64,
) -> Vec<Option<Vec<i64>>> {
    let (Some(first), Some(last)) = (log.acked_by(interval.start), log.acked_by(interval.end))
    else {
        return vec![None; panels.len()];
    };
    let mut scanned: HashMap<(usize, Option<u64>), Option<Vec<i64>>> = HashMap::new();
    panels
        .iter()
        .map(|p| {
            let key = (p.channel, p.threshold.map(f64::to_bits));
            scanned
                .entry(key)
                .or_insert_with(|| p.changes(step, first.last_ts, last.last_ts))
                .clone()
        })
        .collect()
}

/// Ms from the acknowledgement `ack` to the receipt `at`; a result that arrived before its
/// write's acknowledgement (or whose write is not in the log) counts 0.
fn since_ack(at: i64, ack: Option<i64>) -> f64 {
    (at - ack.unwrap_or(at).min(at)) as f64 * 1e-6
}

/// Server (and load generator) CPU over an interval.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuUse {
    /// Server CPU seconds, if the benchmark started the server.
    pub(crate) server: Option<f64>,
    /// The load generator's own CPU seconds.
    pub(crate) loadgen: Option<f64>,
    /// Wall seconds.
    pub(crate) wall: f64,
}

impl CpuUse {
    /// Server cores.
    pub(crate) fn server_cores(&self) -> Option<f64> {
        self.server.map(|s| s / self.wall.max(1e-9))
    }
}

/// Write acknowledgement latency (send → acknowledgement) of the writes sent in `interval`.
/// What a mode delivered and the write latencies during it, from the shared write log;
/// `None` if the log's lock was poisoned.
pub(crate) fn delivery_and_latency(
    received: &[Received],
    panels: &[Panel],
    log: &std::sync::Mutex<WriteLog>,
    interval: Interval,
    silence_bound_ms: f64,
    step: i64,
) -> Option<(Delivery, Vec<f64>)> {
    let kinds: Vec<PanelKind> = panels.iter().map(|p| p.kind).collect();
    let log = log.lock().ok()?;
    let changes = range_changes(panels, &log, interval, step);
    Some((
        delivery(received, &kinds, &changes, &log, interval, silence_bound_ms),
        write_latency_ms(&log, interval),
    ))
}

pub(crate) fn write_latency_ms(log: &WriteLog, interval: Interval) -> Vec<f64> {
    let mut l: Vec<f64> = log
        .entries
        .iter()
        .filter(|e| e.sent_wall >= interval.start && e.sent_wall <= interval.end)
        .map(|e| (e.ack_wall - e.sent_wall) as f64 * 1e-6)
        .collect();
    l.sort_by(f64::total_cmp);
    l
}

/// One mode's block of the report.
pub(crate) struct ModeFigures<'a> {
    pub(crate) delivery: &'a Delivery,
    pub(crate) wanted_per_sec: f64,
    pub(crate) interval: Interval,
    pub(crate) cpu: CpuUse,
    pub(crate) baseline_cores: Option<f64>,
    pub(crate) panels: usize,
    pub(crate) silence_bound_ms: f64,
    pub(crate) parse_failures: u64,
    pub(crate) errors: u64,
    pub(crate) write_latency_ms: &'a [f64],
}

impl ModeFigures<'_> {
    /// Net server CPU seconds per delivered result, if known.
    pub(crate) fn net_cpu_per_update(&self) -> Option<f64> {
        let (server, base) = (self.cpu.server?, self.baseline_cores?);
        let net = server - base * self.cpu.wall;
        Some(net / self.delivery.updates.max(1) as f64)
    }

    /// The lines of this block.
    /// Renders the figures and the first error, if any; returns the net and gross server
    /// CPU seconds per delivered result, when both are known.
    pub(crate) fn finish(
        &self,
        out: &mut String,
        (unit, units): (&str, &str),
        first_error: Option<String>,
    ) -> Option<(f64, f64)> {
        self.render(out, unit, units);
        if let Some(e) = first_error {
            let _ = writeln!(out, "  first error    {e}");
        }
        let gross = self
            .cpu
            .server
            .map(|s| s / self.delivery.updates.max(1) as f64);
        self.net_cpu_per_update().zip(gross)
    }

    pub(crate) fn render(&self, out: &mut String, unit: &str, units: &str) {
        let d = self.delivery;
        let secs = self.interval.secs();
        let rate = d.updates as f64 / secs.max(1e-9);
        let _ = writeln!(
            out,
            "  {units:<14} {}/s over {:.0} s ({:.0} % of {}/s wanted)",
            count(rate.round() as u64),
            secs,
            rate * 100.0 / self.wanted_per_sec.max(1e-9),
            count(self.wanted_per_sec.round() as u64)
        );
        let _ = writeln!(
            out,
            "  staleness      from write ack: {}",
            spread(&d.from_ack_ms)
        );
        let ranges = d
            .from_ack_by_kind
            .iter()
            .any(|(k, _)| *k == PanelKind::ThresholdRanges);
        if ranges {
            let _ = writeln!(
                out,
                "                 … at least:     {} (ranges show no point time: above, they count\n                 from the newest write acknowledged to the load generator when computed;\n                 here, the write in flight then counts as covered)",
                spread(&d.from_ack_low_ms)
            );
        }
        let _ = writeln!(
            out,
            "                 end to end:     {}",
            spread(&d.end_to_end_ms)
        );
        for (kind, samples) in &d.from_ack_by_kind {
            let _ = writeln!(
                out,
                "                 {:<17} {} from ack{}",
                format!("{}:", kind.name()),
                spread(samples),
                if *kind == PanelKind::ThresholdRanges {
                    " (at most)"
                } else {
                    ""
                }
            );
        }
        if ranges {
            let _ = writeln!(
                out,
                "                 threshold ranges from boundaries: {} from ack, {} samples (the results\n                 first showing a range start or end, from the write that carried that point)",
                spread(&d.from_boundary_ms),
                count(d.from_boundary_ms.len() as u64)
            );
        }
        let _ = writeln!(
            out,
            "  starved panels {} of {} (silent > {} while their channel got data; ranges: a change shown later); longest silence {}",
            count(d.starved as u64),
            count(self.panels as u64),
            duration_ms(self.silence_bound_ms),
            duration_ms(d.longest_gap_ms)
        );
        let _ = writeln!(
            out,
            "  parse failures {} (every frame parsed with the upstream wire types); errors {}",
            self.parse_failures, self.errors
        );
        let _ = writeln!(
            out,
            "  write ack      {} (the writes during this mode)",
            spread(self.write_latency_ms)
        );
        match (self.cpu.server_cores(), self.baseline_cores) {
            (Some(cores), Some(base)) => {
                let per = self.net_cpu_per_update().unwrap_or(f64::NAN);
                let _ = writeln!(
                    out,
                    "  server CPU     {cores:.2} cores = {:.2} cores net of the writes alone ({base:.2}); {} per {unit} net, {} gross",
                    cores - base,
                    duration_ms(per * 1e3),
                    duration_ms(
                        self.cpu.server.unwrap_or(f64::NAN) * 1e3 / d.updates.max(1) as f64
                    )
                );
            }
            _ => {
                let _ = writeln!(out, "  server CPU     n/a (external server)");
            }
        }
        if let Some(own) = self.cpu.loadgen {
            let _ = writeln!(
                out,
                "  load generator {:.2} cores (same machine)",
                own / self.cpu.wall.max(1e-9)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard_wall::writes::WriteEntry;

    #[test]
    fn units_read_well() {
        assert_eq!(count(10_000), "10,000");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(duration_ms(0.035), "35 µs");
        assert_eq!(duration_ms(12.34), "12 ms");
        assert_eq!(duration_ms(4200.0), "4.20 s");
        assert_eq!(bytes(512 * 1024 * 1024), "512 MiB");
    }

    #[test]
    fn staleness_is_measured_from_the_point_and_from_its_write_ack() {
        let ms = 1_000_000;
        let log = WriteLog {
            entries: vec![
                WriteEntry {
                    last_ts: 100 * ms,
                    sent_wall: 100 * ms,
                    ack_wall: 110 * ms,
                },
                WriteEntry {
                    last_ts: 200 * ms,
                    sent_wall: 200 * ms,
                    ack_wall: 250 * ms,
                },
            ],
            failed: 0,
            points: 0,
        };
        let received = [
            // A point of the second write, 20 ms after its acknowledgement.
            Received {
                panel: 0,
                at: 270 * ms,
                newest: Newest::Point(150 * ms),
                revealed: None,
            },
            // Ranges computed at 240 ms: the newest acknowledged write then is the first.
            Received {
                panel: 1,
                at: 260 * ms,
                newest: Newest::ComputedAt(240 * ms),
                revealed: None,
            },
        ];
        let interval = Interval {
            start: 0,
            end: 1000 * ms,
        };
        let kinds = [PanelKind::Raw, PanelKind::ThresholdRanges];
        let d = delivery(&received, &kinds, &[], &log, interval, 300.0);
        assert_eq!(d.updates, 2);
        assert_eq!(d.end_to_end_ms, vec![120.0, 160.0]);
        assert_eq!(d.from_ack_ms, vec![20.0, 150.0]);
        assert_eq!(
            d.from_ack_by_kind,
            vec![
                (PanelKind::Raw, vec![20.0]),
                (PanelKind::ThresholdRanges, vec![150.0])
            ]
        );
        // Computed at 240 ms, while the second write (acknowledged at 250 ms) was in flight.
        assert_eq!(d.from_ack_low_ms, vec![10.0, 20.0]);
        assert!(d.from_boundary_ms.is_empty());
        // Panel 0 silent from 270 ms to the end (730 ms), panel 1 from 260 ms (740 ms).
        assert_eq!(d.starved, 2);
        assert_eq!(d.longest_gap_ms, 740.0);
    }

    #[test]
    fn a_revealed_boundary_is_timed_from_the_write_that_carried_it() {
        let ms = 1_000_000;
        let write = |last_ts: i64, sent_wall: i64, ack_wall: i64| WriteEntry {
            last_ts: last_ts * ms,
            sent_wall: sent_wall * ms,
            ack_wall: ack_wall * ms,
        };
        // Points up to 100 ms, 200 ms, 300 ms, each acknowledged 10-40 ms after sending.
        let log = WriteLog {
            entries: vec![
                write(100, 100, 110),
                write(200, 200, 240),
                write(300, 300, 310),
            ],
            failed: 0,
            points: 0,
        };
        let ranges = |at: i64, newest: Newest, revealed: Option<i64>| Received {
            panel: 0,
            at: at * ms,
            newest,
            revealed: revealed.map(|t| t * ms),
        };
        let received = [
            // A range starting at 150 ms (second write, acked at 240 ms) shown at 290 ms;
            // computed at 260 ms, so the bracket says 50 ms at most, 50 ms at least.
            ranges(290, Newest::ComputedAt(260 * ms), Some(150)),
            // An end at 250 ms (third write) shown before that write's ack: 0 (the bracket:
            // 65 ms at most, from the second write's ack; 0 at least).
            ranges(305, Newest::ComputedAt(305 * ms), Some(250)),
            // A full range list (no bracket) showing a boundary at 90 ms (first write).
            ranges(400, Newest::Unknown, Some(90)),
            // An append re-sending old boundaries: bracket only.
            ranges(420, Newest::ComputedAt(410 * ms), None),
            // Outside the measured interval: not counted at all.
            ranges(2_000, Newest::ComputedAt(1_990 * ms), Some(280)),
        ];
        let interval = Interval {
            start: 0,
            end: 1000 * ms,
        };
        let d = delivery(
            &received,
            &[PanelKind::ThresholdRanges],
            &[],
            &log,
            interval,
            1e6,
        );
        assert_eq!(d.updates, 4);
        assert_eq!(d.from_boundary_ms, vec![0.0, 50.0, 290.0]);
        // The bracket is as before, for the three results it can place.
        assert_eq!(d.from_ack_ms, vec![50.0, 65.0, 110.0]);
        assert_eq!(d.from_ack_low_ms, vec![0.0, 50.0, 110.0]);
        assert_eq!(
            d.from_ack_by_kind,
            vec![(PanelKind::ThresholdRanges, vec![50.0, 65.0, 110.0])]
        );
    }

    #[test]
    fn a_range_panel_starves_only_while_a_change_waits() {
        let ms = 1_000_000;
        let write = |last_ts: i64, ack_wall: i64| WriteEntry {
            last_ts: last_ts * ms,
            sent_wall: (ack_wall - 5) * ms,
            ack_wall: ack_wall * ms,
        };
        let log = WriteLog {
            entries: (1..=10).map(|k| write(k * 100, k * 100 + 10)).collect(),
            failed: 0,
            points: 0,
        };
        let shown = |at: i64, revealed: Option<i64>| Received {
            panel: 0,
            at: at * ms,
            newest: Newest::ComputedAt(at * ms),
            revealed: revealed.map(|t| t * ms),
        };
        // Changes at 150 ms (acked 210 ms) and 750 ms (acked 810 ms). Nothing arrives
        // between 260 ms and 900 ms: a long silence, but no change waited more than 90 ms.
        let received = [
            shown(50, None),
            shown(260, Some(150)),
            shown(900, Some(750)),
        ];
        let interval = Interval {
            start: 0,
            end: 1000 * ms,
        };
        let changes = [Some(vec![150 * ms, 750 * ms])];
        let kinds = [PanelKind::ThresholdRanges];
        let d = delivery(&received, &kinds, &changes, &log, interval, 100.0);
        assert_eq!(d.starved, 0);
        assert_eq!(d.longest_gap_ms, 90.0);
        assert_eq!(d.range_changes, vec![2]);
        // The second change never shows: it waits from 810 ms to the end.
        let d = delivery(&received[..2], &kinds, &changes, &log, interval, 100.0);
        assert_eq!(d.starved, 1);
        assert_eq!(d.longest_gap_ms, 190.0);
        // Without change points the same panel is starved by the silence.
        let d = delivery(&received, &kinds, &[], &log, interval, 100.0);
        assert_eq!(d.starved, 1);
        assert_eq!(d.longest_gap_ms, 640.0);
    }
}
