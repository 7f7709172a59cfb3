//! The client-side merge model of PROTOCOL §4, written from the protocol text alone:
//!
//! ```text
//!   full(T0) ──► state := result
//!   append{start, end, result}:
//!     rule 1: end > every earlier end
//!     rule 4: variant == variant of the last full result
//!     rule 2: delete state ∩ [start, end]; insert content (buckets: same end stamp replaces)
//!     rule 3: drop everything older than end − windowWidth
//! ```
//!
//! Raw plots are kept as time-ordered `(t, value)` lists (several series of one channel may
//! share a timestamp, so a map would lose points); buckets are kept by their end stamp.

use sightline_wire::persistent_compute::{AppendResult, ComputeNodeAppendResponse};
use sightline_wire::scout_compute::{
    BucketedNumericPlot, ComputeNodeResponse, EnumPlot, LogPlot, NumericBucket, NumericPlot,
};
use sightline_wire::time::timestamp_to_nanos;
use std::collections::BTreeMap;

/// A log point as the client sees it (the id identifies a stored point).
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub message: String,
    pub args: BTreeMap<String, String>,
    pub id: uuid::Uuid,
}

/// What a client holds for one subscription.
#[derive(Debug, Clone, PartialEq)]
pub enum Plot {
    Numeric(Vec<(i64, f64)>),
    Enum(Vec<(i64, String)>),
    Log(Vec<(i64, LogEntry)>),
    BucketedNumeric(BTreeMap<i64, NumericBucket>),
}

impl Plot {
    /// The upstream variant name this plot came from.
    pub fn kind(&self) -> &'static str {
        match self {
            Plot::Numeric(_) => "numeric",
            Plot::Enum(_) => "enum",
            Plot::Log(_) => "log",
            Plot::BucketedNumeric(_) => "bucketedNumeric",
        }
    }

    /// Number of points (raw) or buckets.
    pub fn len(&self) -> usize {
        match self {
            Plot::Numeric(v) => v.len(),
            Plot::Enum(v) => v.len(),
            Plot::Log(v) => v.len(),
            Plot::BucketedNumeric(b) => b.len(),
        }
    }

    /// Converts a full result; errors on result kinds the model does not cover.
    pub fn from_full(result: &ComputeNodeResponse) -> Result<Plot, String> {
        Ok(match result {
            ComputeNodeResponse::Numeric(p) => Plot::Numeric(numeric(p)?),
            ComputeNodeResponse::Enum(p) => Plot::Enum(enums(p)?),
            ComputeNodeResponse::PagedLog(p) => Plot::Log(logs(&p.timestamps, &p.values)?),
            ComputeNodeResponse::BucketedNumeric(p) => Plot::BucketedNumeric(buckets(p)?),
            other => {
                return Err(format!(
                    "full result kind `{}` not modelled",
                    other.variant_name()
                ))
            }
        })
    }

    fn from_append(result: &ComputeNodeAppendResponse) -> Result<Plot, String> {
        Ok(match result {
            ComputeNodeAppendResponse::Numeric(p) => Plot::Numeric(numeric(p)?),
            ComputeNodeAppendResponse::Enum(p) => Plot::Enum(enums(p)?),
            ComputeNodeAppendResponse::Log(p) => Plot::Log(log_plot(p)?),
            ComputeNodeAppendResponse::BucketedNumeric(p) => Plot::BucketedNumeric(buckets(p)?),
            other => {
                return Err(format!(
                    "append result kind `{}` not modelled",
                    other.variant_name()
                ))
            }
        })
    }

    /// Keeps only what lies in `[lo, hi]` (raw: timestamps; buckets: end stamps in `(lo, hi]`
    /// plus the bucket still open at `hi`, i.e. stamps in `(lo, hi + width)`).
    pub fn restrict(&self, lo: i64, hi: i64) -> Plot {
        match self {
            Plot::Numeric(v) => Plot::Numeric(
                v.iter()
                    .filter(|(t, _)| (lo..=hi).contains(t))
                    .cloned()
                    .collect(),
            ),
            Plot::Enum(v) => Plot::Enum(
                v.iter()
                    .filter(|(t, _)| (lo..=hi).contains(t))
                    .cloned()
                    .collect(),
            ),
            Plot::Log(v) => Plot::Log(
                v.iter()
                    .filter(|(t, _)| (lo..=hi).contains(t))
                    .cloned()
                    .collect(),
            ),
            Plot::BucketedNumeric(b) => Plot::BucketedNumeric(
                b.iter()
                    .filter(|(s, bucket)| {
                        let first = bucket
                            .first_point
                            .as_ref()
                            .and_then(|p| timestamp_to_nanos(&p.timestamp).ok())
                            .unwrap_or(**s);
                        **s > lo && first <= hi
                    })
                    .map(|(s, bucket)| (*s, bucket.clone()))
                    .collect(),
            ),
        }
    }
}

/// Merged state of one subscription.
#[derive(Debug, Clone)]
pub struct Merged {
    pub window: i64,
    pub plot: Plot,
    /// `end` of the last append, if any (full results carry no end).
    pub last_end: Option<i64>,
    pub fulls: usize,
    pub appends: usize,
}

impl Merged {
    /// Starts from a full result.
    pub fn new(window: i64, full: &ComputeNodeResponse) -> Result<Merged, String> {
        Ok(Merged {
            window,
            plot: Plot::from_full(full)?,
            last_end: None,
            fulls: 1,
            appends: 0,
        })
    }

    /// Replaces the state with a new full result. `end` stays: rule 1 spans the subscription.
    pub fn apply_full(&mut self, full: &ComputeNodeResponse) -> Result<(), String> {
        self.plot = Plot::from_full(full)?;
        self.fulls += 1;
        Ok(())
    }

    /// Applies one append, checking rules 1 and 4 on the way.
    pub fn apply_append(&mut self, append: &AppendResult) -> Result<(), String> {
        let start = timestamp_to_nanos(&append.start).map_err(|e| format!("append start: {e}"))?;
        let end = timestamp_to_nanos(&append.end).map_err(|e| format!("append end: {e}"))?;
        if start > end {
            return Err(format!("append start {start} is after its end {end}"));
        }
        if let Some(prev) = self.last_end {
            if end <= prev {
                return Err(format!(
                    "rule 1: append end {end} is not later than the previous end {prev}"
                ));
            }
        }
        let content = Plot::from_append(&append.result)?;
        if content.kind() != self.plot.kind() {
            return Err(format!(
                "rule 4: append of kind `{}` after a full result of kind `{}`",
                content.kind(),
                self.plot.kind()
            ));
        }
        let cutoff = end.saturating_sub(self.window);
        match (&mut self.plot, content) {
            (Plot::Numeric(held), Plot::Numeric(new)) => {
                splice(held, new, start, end, cutoff, "numeric")?
            }
            (Plot::Enum(held), Plot::Enum(new)) => splice(held, new, start, end, cutoff, "enum")?,
            (Plot::Log(held), Plot::Log(new)) => splice(held, new, start, end, cutoff, "log")?,
            (Plot::BucketedNumeric(held), Plot::BucketedNumeric(new)) => {
                held.retain(|s, _| !(start..=end).contains(s));
                for (stamp, bucket) in new {
                    if stamp < start {
                        return Err(format!(
                            "bucket stamped {stamp} lies before the append start {start}"
                        ));
                    }
                    held.insert(stamp, bucket);
                }
                held.retain(|s, _| *s >= cutoff);
            }
            _ => unreachable!("kinds compared above"),
        }
        self.last_end = Some(end);
        self.appends += 1;
        Ok(())
    }
}

/// Rule 2 and 3 for raw plots. Content outside `[start, end]` breaks rule 2.
fn splice<V: Clone>(
    held: &mut Vec<(i64, V)>,
    new: Vec<(i64, V)>,
    start: i64,
    end: i64,
    cutoff: i64,
    kind: &str,
) -> Result<(), String> {
    if let Some((t, _)) = new.iter().find(|(t, _)| !(start..=end).contains(t)) {
        return Err(format!(
            "{kind} append holds a point at {t} outside its range [{start}, {end}]"
        ));
    }
    held.retain(|(t, _)| *t < start || *t > end);
    held.extend(new);
    held.sort_by_key(|(t, _)| *t);
    held.retain(|(t, _)| *t >= cutoff);
    Ok(())
}

fn nanos(ts: &[sightline_wire::api::Timestamp]) -> Result<Vec<i64>, String> {
    ts.iter()
        .map(|t| timestamp_to_nanos(t).map_err(|e| format!("timestamp: {e}")))
        .collect()
}

fn sorted<V>(v: Vec<(i64, V)>, kind: &str) -> Result<Vec<(i64, V)>, String> {
    if v.windows(2).any(|w| w[0].0 > w[1].0) {
        return Err(format!("{kind} plot timestamps are not sorted"));
    }
    Ok(v)
}

fn numeric(p: &NumericPlot) -> Result<Vec<(i64, f64)>, String> {
    let ts = nanos(&p.timestamps)?;
    if ts.len() != p.values.len() {
        return Err("numeric plot: timestamps and values differ in length".into());
    }
    sorted(
        ts.into_iter().zip(p.values.iter().copied()).collect(),
        "numeric",
    )
}

fn enums(p: &EnumPlot) -> Result<Vec<(i64, String)>, String> {
    let ts = nanos(&p.timestamps)?;
    if ts.len() != p.values.len() {
        return Err("enum plot: timestamps and values differ in length".into());
    }
    let mut out = Vec::with_capacity(ts.len());
    for (t, code) in ts.into_iter().zip(&p.values) {
        let category = usize::try_from(*code)
            .ok()
            .and_then(|i| p.categories.get(i))
            .ok_or_else(|| format!("enum plot: value index {code} has no category"))?;
        out.push((t, category.clone()));
    }
    sorted(out, "enum")
}

fn logs(
    ts: &[sightline_wire::api::Timestamp],
    values: &[sightline_wire::scout_compute::LogValue],
) -> Result<Vec<(i64, LogEntry)>, String> {
    let ts = nanos(ts)?;
    if ts.len() != values.len() {
        return Err("log plot: timestamps and values differ in length".into());
    }
    let out = ts
        .into_iter()
        .zip(values)
        .map(|(t, v)| {
            (
                t,
                LogEntry {
                    message: v.message.clone(),
                    args: v.args.clone(),
                    id: v.id,
                },
            )
        })
        .collect();
    sorted(out, "log")
}

fn log_plot(p: &LogPlot) -> Result<Vec<(i64, LogEntry)>, String> {
    logs(&p.timestamps, &p.values)
}

fn buckets(p: &BucketedNumericPlot) -> Result<BTreeMap<i64, NumericBucket>, String> {
    let ts = nanos(&p.timestamps)?;
    if ts.len() != p.buckets.len() {
        return Err("bucketed plot: timestamps and buckets differ in length".into());
    }
    if ts.windows(2).any(|w| w[0] >= w[1]) {
        return Err("bucketed plot: stamps are not strictly increasing".into());
    }
    Ok(ts.into_iter().zip(p.buckets.iter().cloned()).collect())
}
