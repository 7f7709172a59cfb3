//! Test support: an in-memory `DataSource`, request builders, and results as comparable
//! items, merged by the client crate's model of PROTOCOL §4 appends.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sightline_client::merge::{Plot, WindowState};
use sightline_compute::{ChannelKind, ChannelMeta, DataSource, LogEntry, SeriesMeta};
use wire::persistent_compute::AppendResult;
use wire::scout_compute::{ComputableNode, ComputeNodeResponse, Context};
use wire::time::timestamp_to_nanos;

pub const DATASET: &str = "ri.nominal.main.dataset.test";

#[derive(Debug, Clone)]
pub enum Val {
    Num(f64),
    Str(Arc<str>),
    Log(LogEntry),
}

#[derive(Debug, Default)]
pub struct MemSource {
    channels: BTreeMap<(String, String), ChannelMeta>,
    /// (dataset, channel, tags) per series id (index).
    keys: Vec<(String, String, BTreeMap<String, String>)>,
    points: Vec<BTreeMap<i64, Val>>,
}

impl MemSource {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn channel(&mut self, channel: &str, kind: ChannelKind, unit: Option<&str>) {
        self.channels.insert(
            (DATASET.to_string(), channel.to_string()),
            ChannelMeta {
                kind,
                unit: unit.map(str::to_string),
            },
        );
    }

    fn series_id(&mut self, channel: &str, tags: &[(&str, &str)]) -> usize {
        let tags: BTreeMap<String, String> = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let key = (DATASET.to_string(), channel.to_string(), tags);
        if let Some(i) = self.keys.iter().position(|k| *k == key) {
            return i;
        }
        self.keys.push(key);
        self.points.push(BTreeMap::new());
        self.keys.len() - 1
    }

    /// Same series + same timestamp replaces (PROTOCOL §2).
    pub fn write(&mut self, channel: &str, tags: &[(&str, &str)], t: i64, v: Val) {
        let id = self.series_id(channel, tags);
        self.points[id].insert(t, v);
    }

    fn range(&self, series: u64, start: i64, end: i64) -> impl Iterator<Item = (&i64, &Val)> {
        let empty = start > end;
        self.points
            .get(series as usize)
            .into_iter()
            .flat_map(move |p| p.range(start..=end.max(start)))
            .filter(move |_| !empty)
    }
}

impl DataSource for MemSource {
    fn channel(&self, dataset: &str, channel: &str) -> Option<ChannelMeta> {
        self.channels
            .get(&(dataset.to_string(), channel.to_string()))
            .cloned()
    }

    fn series(
        &self,
        dataset: &str,
        channel: &str,
        filter: &BTreeMap<String, String>,
    ) -> Vec<SeriesMeta> {
        self.keys
            .iter()
            .enumerate()
            .filter(|(_, (d, c, tags))| {
                d == dataset && c == channel && filter.iter().all(|(k, v)| tags.get(k) == Some(v))
            })
            .map(|(i, (_, _, tags))| SeriesMeta {
                id: i as u64,
                tags: tags.clone(),
            })
            .collect()
    }

    fn read_numeric(
        &self,
        series: u64,
        start: i64,
        end: i64,
        ts: &mut Vec<i64>,
        values: &mut Vec<f64>,
    ) {
        for (t, v) in self.range(series, start, end) {
            if let Val::Num(x) = v {
                ts.push(*t);
                values.push(*x);
            }
        }
    }

    fn read_strings(
        &self,
        series: u64,
        start: i64,
        end: i64,
        ts: &mut Vec<i64>,
        values: &mut Vec<Arc<str>>,
    ) {
        for (t, v) in self.range(series, start, end) {
            if let Val::Str(x) = v {
                ts.push(*t);
                values.push(x.clone());
            }
        }
    }

    fn read_logs(
        &self,
        series: u64,
        start: i64,
        end: i64,
        ts: &mut Vec<i64>,
        logs: &mut Vec<LogEntry>,
    ) {
        for (t, v) in self.range(series, start, end) {
            if let Val::Log(x) = v {
                ts.push(*t);
                logs.push(x.clone());
            }
        }
    }

    fn nth_before(&self, series: u64, t: i64, n: usize) -> Option<i64> {
        let p = self.points.get(series as usize)?;
        p.range(..t).rev().nth(n.checked_sub(1)?).map(|(t, _)| *t)
    }

    fn count(&self, series: u64, start: i64, end: i64) -> u64 {
        self.range(series, start, end).count() as u64
    }
}

pub fn parse_node(json: &str) -> ComputableNode {
    wire::from_json(json).unwrap()
}

pub fn empty_context() -> Context {
    wire::from_json("{}").unwrap()
}

/// `series` node over `channel` of kind `numeric`/`enum`/`log` with optional tags.
pub fn channel_node(
    kind: &str,
    channel: &str,
    tags: &[(&str, &str)],
    buckets: Option<i32>,
) -> ComputableNode {
    let tags: serde_json::Map<String, serde_json::Value> = tags
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                serde_json::json!({"type": "literal", "literal": v}),
            )
        })
        .collect();
    let mut series = serde_json::json!({
        "input": {"type": kind, kind: {"type": "channel", "channel": {"type": "dataSource", "dataSource": {
            "dataSourceRid": {"type": "literal", "literal": DATASET},
            "channel": {"type": "literal", "literal": channel},
            "tags": tags,
        }}}}
    });
    if let Some(b) = buckets {
        series["buckets"] = b.into();
    }
    let node = serde_json::json!({"type": "series", "series": series});
    parse_node(&node.to_string())
}

/// One comparable item of a result: its timestamp and a canonical JSON of its content
/// (enum codes decoded to strings, so appends with their own categories compare).
pub type Item = (i64, serde_json::Value);

pub fn ts_of(t: &wire::api::Timestamp) -> i64 {
    timestamp_to_nanos(t).unwrap()
}

fn enum_items(
    timestamps: &[wire::api::Timestamp],
    values: &[i32],
    categories: &[String],
) -> Vec<Item> {
    timestamps
        .iter()
        .zip(values)
        .map(|(t, v)| (ts_of(t), serde_json::json!(categories[*v as usize])))
        .collect()
}

fn bucketed_enum_items(p: &wire::scout_compute::BucketedEnumPlot) -> Vec<Item> {
    let c = |v: i32| p.categories[v as usize].clone();
    p.timestamps
        .iter()
        .zip(&p.buckets)
        .map(|(t, b)| {
            let hist: BTreeMap<String, i64> =
                b.histogram.iter().map(|(k, n)| (c(*k), n.0)).collect();
            let first = (ts_of(&b.first_point.timestamp), c(b.first_point.value));
            let last = b
                .last_point
                .as_ref()
                .map(|p| (ts_of(&p.timestamp), c(p.value)));
            (
                ts_of(t),
                serde_json::json!({"h": hist, "f": first, "l": last}),
            )
        })
        .collect()
}

fn json_items<T: serde::Serialize>(timestamps: &[wire::api::Timestamp], values: &[T]) -> Vec<Item> {
    assert_eq!(timestamps.len(), values.len());
    timestamps
        .iter()
        .zip(values)
        .map(|(t, v)| (ts_of(t), serde_json::to_value(v).unwrap()))
        .collect()
}

/// Items and whether they are buckets, of a full result.
pub fn full_items(r: &ComputeNodeResponse) -> (&'static str, Vec<Item>) {
    match r {
        ComputeNodeResponse::Numeric(p) => ("numeric", json_items(&p.timestamps, &p.values)),
        ComputeNodeResponse::BucketedNumeric(p) => {
            ("bucketedNumeric", json_items(&p.timestamps, &p.buckets))
        }
        ComputeNodeResponse::Enum(p) => {
            ("enum", enum_items(&p.timestamps, &p.values, &p.categories))
        }
        ComputeNodeResponse::BucketedEnum(p) => ("bucketedEnum", bucketed_enum_items(p)),
        ComputeNodeResponse::PagedLog(p) => ("log", json_items(&p.timestamps, &p.values)),
        other => panic!("unexpected full result {}", other.variant_name()),
    }
}

/// What a client holds: the client crate's merge model of PROTOCOL §4 (one model for the
/// whole workspace), seen as comparable [`Item`]s.
#[derive(Debug, Default)]
pub struct Client {
    pub kind: &'static str,
    state: Option<WindowState>,
    /// End of the last append, or where a test says the window ends.
    pub last_end: Option<i64>,
}

impl Client {
    pub fn full(&mut self, r: &ComputeNodeResponse) {
        self.kind = full_items(r).0;
        match &mut self.state {
            Some(state) => state.apply_full(r).unwrap(),
            None => self.state = Some(WindowState::new(0, r).unwrap()),
        }
    }

    /// Merges one append: delete what is held in `[start, end]`, insert the content (buckets
    /// replace the ones with the same stamp), then drop what is older than `end - window`.
    /// Panics on a rule the append breaks.
    pub fn append(&mut self, a: &AppendResult, window: i64) {
        let state = self
            .state
            .as_mut()
            .expect("an append before the full result");
        state.window = window;
        // Tests may move the end by hand (a full result carries none).
        state.last_end = self.last_end;
        if let Err(e) = state.apply_append(a) {
            panic!("the merge model refused the append: {e}");
        }
        self.last_end = state.last_end;
    }

    /// What is held, as comparable items.
    pub fn items(&self) -> Vec<Item> {
        self.state
            .as_ref()
            .map_or_else(Vec::new, |s| plot_items(&s.plot))
    }
}

/// The items of a merged plot, in the same form [`full_items`] gives a wire result.
fn plot_items(plot: &Plot) -> Vec<Item> {
    match plot {
        Plot::Numeric(v) => v.iter().map(|(t, x)| (*t, serde_json::json!(x))).collect(),
        Plot::Enum(v) => v.iter().map(|(t, x)| (*t, serde_json::json!(x))).collect(),
        Plot::Log(v) => v
            .iter()
            .map(|(t, l)| {
                let value = wire::scout_compute::LogValue {
                    message: l.message.clone(),
                    args: l.args.clone(),
                    id: l.id,
                };
                (*t, serde_json::to_value(value).unwrap())
            })
            .collect(),
        Plot::BucketedNumeric(b) => b
            .iter()
            .map(|(t, x)| (*t, serde_json::to_value(x).unwrap()))
            .collect(),
        Plot::BucketedEnum(b) => b
            .iter()
            .map(|(t, x)| {
                (
                    *t,
                    serde_json::json!({"h": x.histogram, "f": x.first, "l": x.last}),
                )
            })
            .collect(),
        other => panic!("no items for a {} plot", other.kind()),
    }
}

/// A source that counts the points it hands out.
pub struct Counting<'a> {
    pub inner: &'a MemSource,
    pub points: AtomicU64,
}

impl DataSource for Counting<'_> {
    fn channel(&self, dataset: &str, channel: &str) -> Option<ChannelMeta> {
        self.inner.channel(dataset, channel)
    }
    fn series(&self, d: &str, c: &str, f: &BTreeMap<String, String>) -> Vec<SeriesMeta> {
        self.inner.series(d, c, f)
    }
    fn read_numeric(&self, id: u64, a: i64, b: i64, ts: &mut Vec<i64>, vs: &mut Vec<f64>) {
        let before = ts.len();
        self.inner.read_numeric(id, a, b, ts, vs);
        self.points
            .fetch_add((ts.len() - before) as u64, Ordering::Relaxed);
    }
    fn read_strings(&self, id: u64, a: i64, b: i64, ts: &mut Vec<i64>, v: &mut Vec<Arc<str>>) {
        self.inner.read_strings(id, a, b, ts, v);
    }
    fn read_logs(&self, id: u64, a: i64, b: i64, ts: &mut Vec<i64>, v: &mut Vec<LogEntry>) {
        self.inner.read_logs(id, a, b, ts, v);
    }
    fn nth_before(&self, id: u64, t: i64, n: usize) -> Option<i64> {
        self.inner.nth_before(id, t, n)
    }
    fn count(&self, id: u64, a: i64, b: i64) -> u64 {
        self.inner.count(id, a, b)
    }
}
