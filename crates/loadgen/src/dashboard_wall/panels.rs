//! The panels of the wall: which computation each one shows, on which channel, and the
//! signal written to every channel (so threshold panels see ranges open and close).
//!
//! The mix cycles raw (bucketed to about 1,000 points), derivative, rolling 1 s mean and
//! threshold ranges, each on a channel drawn from a seeded generator, so a run is
//! repeatable. With `distinct`, every panel's computation differs from every other's
//! (bucket count, rolling window or threshold offset by the panel's index), so nothing can
//! be shared between panels but the data.

use serde_json::{json, Value};

/// The dataset every channel of the wall lives in.
pub(crate) const DATASET: &str = "ri.sightline.bench.dataset.wall";
/// Buckets of the plotted panels: a plot about 1,000 pixels wide.
const BUCKETS: usize = 1000;
/// The threshold of the range panels, against the signal of [`value`].
const THRESHOLD: f64 = 105.0;

/// The signal written to every channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Signal {
    /// A sine of 100 ± 10 with a period of 2-8 s by channel: threshold ranges open and
    /// close every few seconds, as on a real stand.
    Sine,
    /// 100 and 110 alternating every 50 ms: every write carries range boundaries, so each
    /// ranges result shows the newest write it covers and its staleness is exact (a probe
    /// of the ranges path, not a realistic load: every range result changes every write).
    Square,
}

/// What a panel plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PanelKind {
    /// The channel itself, bucketed to about 1,000 points.
    Raw,
    /// Its rate of change per second.
    Derivative,
    /// Its 1 s rolling mean.
    RollingMean,
    /// The ranges where it is above a threshold.
    ThresholdRanges,
}

impl PanelKind {
    /// Every kind, in the order of the mix.
    pub(crate) const ALL: [PanelKind; 4] = [
        PanelKind::Raw,
        PanelKind::Derivative,
        PanelKind::RollingMean,
        PanelKind::ThresholdRanges,
    ];

    /// The label used in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            PanelKind::Raw => "raw",
            PanelKind::Derivative => "derivative",
            PanelKind::RollingMean => "rolling mean",
            PanelKind::ThresholdRanges => "threshold ranges",
        }
    }
}

/// One panel: a computation over one channel.
#[derive(Debug, Clone)]
pub(crate) struct Panel {
    /// What it plots.
    pub(crate) kind: PanelKind,
    /// The `ComputableNode` JSON sent in a subscription or an HTTP compute request.
    pub(crate) node: Value,
    /// The channel it reads.
    pub(crate) channel: usize,
    /// For threshold ranges, the threshold (`value > threshold` makes a range).
    pub(crate) threshold: Option<f64>,
    /// The signal its channel carries.
    pub(crate) signal: Signal,
}

impl Panel {
    /// Where this panel's result changes in `(from, to]`, for a threshold panel: the grid
    /// points (every `step` ns) on the other side of the threshold from the point before,
    /// each a range's start or end. `None` for plots, which change with every point.
    pub(crate) fn changes(&self, step: i64, from: i64, to: i64) -> Option<Vec<i64>> {
        let threshold = self.threshold?;
        let step = step.max(1);
        let above = |t: i64| value(self.signal, self.channel, t) > threshold;
        let mut t = from.div_euclid(step) * step;
        let mut was = above(t);
        let mut out = Vec::new();
        while t < to {
            t += step;
            let is = above(t);
            if is != was && t > from {
                out.push(t);
            }
            was = is;
        }
        Some(out)
    }
}

/// The name of channel `c`.
pub(crate) fn channel_name(c: usize) -> String {
    format!("ch{c:03}")
}

/// The value written to channel `c` at `t` ns. A sine of 100 ± 10 whose period (2–8 s)
/// depends on the channel, so a `> 105` threshold opens and closes ranges every few
/// seconds; or a square wave between 100 and 110, flipping every 50 ms.
pub(crate) fn value(signal: Signal, c: usize, t: i64) -> f64 {
    match signal {
        Signal::Sine => {
            let period = 2.0 + (c % 7) as f64;
            let secs = (t % 3_600_000_000_000) as f64 * 1e-9;
            100.0 + 10.0 * (std::f64::consts::TAU * secs / period + c as f64).sin()
        }
        Signal::Square => {
            let half = t.div_euclid(50_000_000);
            if (half + c as i64) % 2 == 0 {
                110.0
            } else {
                100.0
            }
        }
    }
}

/// The mix of a wall, e.g. `250 raw, 250 derivative, 250 rolling mean, 250 threshold ranges`.
pub(crate) fn mix(panels: &[Panel]) -> String {
    PanelKind::ALL
        .iter()
        .map(|&kind| {
            let n = panels.iter().filter(|p| p.kind == kind).count();
            format!("{} {}", super::report::count(n as u64), kind.name())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `count` panels over `channels` channels.
pub(crate) fn panels(
    count: usize,
    channels: usize,
    distinct: bool,
    seed: u64,
    signal: Signal,
) -> Vec<Panel> {
    let mut rng = SplitMix64(seed);
    (0..count)
        .map(|i| {
            let channel = (rng.next() % channels.max(1) as u64) as usize;
            let kind = PanelKind::ALL[i % PanelKind::ALL.len()];
            let variant = if distinct { Some(i) } else { None };
            Panel {
                kind,
                node: node(kind, channel, variant),
                channel,
                threshold: (kind == PanelKind::ThresholdRanges).then(|| threshold(variant)),
                signal,
            }
        })
        .collect()
}

fn source(channel: usize) -> Value {
    json!({"type": "channel", "channel": {"type": "dataSource", "dataSource": {
        "dataSourceRid": {"type": "literal", "literal": DATASET},
        "channel": {"type": "literal", "literal": channel_name(channel)}}}})
}

/// The threshold of a range panel; `variant` (the panel's index) offsets it a little.
fn threshold(variant: Option<usize>) -> f64 {
    THRESHOLD + variant.unwrap_or(0) as f64 * 1e-6
}

/// The node of a panel; `variant` (the panel's index) makes it unlike any other panel's.
fn node(kind: PanelKind, channel: usize, variant: Option<usize>) -> Value {
    let offset = variant.unwrap_or(0);
    let buckets = BUCKETS + offset;
    let plotted = |numeric: Value| {
        json!({"type": "series", "series": {
            "input": {"type": "numeric", "numeric": numeric}, "buckets": buckets}})
    };
    match kind {
        PanelKind::Raw => plotted(source(channel)),
        PanelKind::Derivative => {
            plotted(json!({"type": "derivative", "derivative": {"input": source(channel)}}))
        }
        PanelKind::RollingMean => {
            // 1 s, or 1 s + 0.1 ms per panel index when distinct (below 2.1 s, the limit
            // of a nanosecond duration, up to 10,000 panels).
            let window_ns = 1_000_000_000 + (offset as i64 % 11_000) * 100_000;
            plotted(json!({"type": "numericAggregation", "numericAggregation": {
                "input": {"type": "rollingTime", "rollingTime": {
                    "input": {"type": "numeric", "numeric": source(channel)},
                    "window": {"type": "nanoseconds", "nanoseconds": {
                        "nanoseconds": {"type": "literal", "literal": window_ns}}}}},
                "operator": {"type": "average", "average": {}}}}))
        }
        PanelKind::ThresholdRanges => {
            let threshold = threshold(variant);
            json!({"type": "ranges", "ranges": {"input": {"type": "threshold", "threshold": {
                "input": source(channel),
                "threshold": {"type": "literal", "literal": threshold},
                "operator": "GREATER_THAN"}}}})
        }
    }
}

/// A tiny seeded generator (SplitMix64): repeatable panel layouts without a dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_wire::scout_compute::ComputableNode;

    #[test]
    fn every_panel_parses_as_an_upstream_node_and_distinct_panels_differ() {
        let panels = panels(40, 5, true, 7, Signal::Sine);
        for p in &panels {
            let node: ComputableNode =
                sightline_wire::from_json(&p.node.to_string()).expect("upstream node");
            assert!(!matches!(node, ComputableNode::Unknown(_)), "{:?}", p.node);
        }
        let distinct: std::collections::HashSet<String> =
            panels.iter().map(|p| p.node.to_string()).collect();
        assert_eq!(distinct.len(), panels.len());
        let shared: std::collections::HashSet<String> =
            super::panels(400, 5, false, 7, Signal::Sine)
                .iter()
                .map(|p| p.node.to_string())
                .collect();
        assert!(
            shared.len() <= 20,
            "4 kinds × 5 channels, got {}",
            shared.len()
        );
    }

    #[test]
    fn a_threshold_panel_changes_where_the_signal_crosses_it() {
        let panel = panels(4, 1, false, 7, Signal::Sine).remove(3);
        assert_eq!(panel.kind, PanelKind::ThresholdRanges);
        let ms = 1_000_000;
        let s = 1_000 * ms;
        let changes = panel
            .changes(ms, 100 * s, 110 * s)
            .expect("a threshold panel");
        // Channel 0 has a 2 s period: a start and an end per period.
        assert_eq!(changes.len(), 10, "{changes:?}");
        for &t in &changes {
            let above = value(Signal::Sine, 0, t) > THRESHOLD;
            assert_ne!(above, value(Signal::Sine, 0, t - ms) > THRESHOLD, "{t}");
        }
        // The square wave: a boundary every 50 ms.
        let square = panels(4, 1, false, 7, Signal::Square).remove(3);
        let changes = square
            .changes(ms, 100 * s, 101 * s)
            .expect("a threshold panel");
        assert_eq!(changes.len(), 20, "{changes:?}");
        assert!(changes.iter().all(|t| t % (50 * ms) == 0), "{changes:?}");
        assert!(panels(1, 1, false, 7, Signal::Sine)[0]
            .changes(ms, 0, s)
            .is_none());
    }
}
