//! Owns the merge model of PROTOCOL §4: what a client holds for one subscription and how
//! full and append results change it. Pure data, no I/O, so the server's tests use it as
//! their reference too.
//!
//! ```text
//!   full(T0)                      state := result
//!   append{start, end, result}:
//!     rule 1: end > the end of every earlier append of this subscription
//!     rule 4: variant == the variant held
//!     rule 2: delete what is held in [start, end]; insert the content
//!             (buckets: same end stamp replaces; ranges: held ranges touching
//!              [start, end] are replaced, as the append re-sends them whole)
//!     rule 3: drop everything older than end − windowWidth
//! ```
//!
//! Raw plots are time-ordered `(t, value)` lists (several series of one channel may share a
//! timestamp, so a map would lose points); buckets are kept by their end stamp, which is
//! exclusive: the bucket stamped `s` holds points in `[s − width, s)`.
//!
//! ```text
//!   held:    ──●──●──●──●──●──●──●──●──        append [start, end]:  ○  ○   ○
//!                   cutoff   start      end
//!   merged:         ●──●──●──○──○───○                    (rule 3 ◄┘ rule 2 ┘)
//! ```
//!
//! Grouped results hold one plot per grouping; an append names the groups it changes and
//! rule 3 trims every group, named or not.

use sightline_wire::persistent_compute::{AppendResult, ComputeNodeAppendResponse};
use sightline_wire::scout_compute::{
    BucketedEnumPlot, BucketedNumericPlot, ComputeNodeResponse, EnumPlot, Grouping, LogValue,
    NumericBucket, NumericPlot, Range, RangeValue, RangesSummary, SinglePoint,
};
use sightline_wire::time::timestamp_to_nanos;
use std::collections::BTreeMap;

/// A log line as the client holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// The message text.
    pub message: String,
    /// Structured arguments.
    pub args: BTreeMap<String, String>,
    /// Identifies the stored point.
    pub id: uuid::Uuid,
}

/// An enum bucket with its categories resolved to names, so buckets of appends that
/// number their categories differently compare and merge.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumBucketView {
    /// Points per state.
    pub histogram: BTreeMap<String, i64>,
    /// First point in the bucket.
    pub first: (i64, String),
    /// Last point in the bucket, when it differs from the first.
    pub last: Option<(i64, String)>,
}

/// A time range; `None` ends are open (the range runs past the window edge).
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// Start in nanoseconds since the epoch.
    pub start: Option<i64>,
    /// End in nanoseconds since the epoch.
    pub end: Option<i64>,
    /// The value a range summary attached (e.g. an aggregation over the range).
    pub value: Option<RangeValue>,
}

/// What a client holds for one result.
#[derive(Debug, Clone, PartialEq)]
pub enum Plot {
    /// Raw numeric points.
    Numeric(Vec<(i64, f64)>),
    /// Raw enum points.
    Enum(Vec<(i64, String)>),
    /// Log lines.
    Log(Vec<(i64, LogEntry)>),
    /// Numeric buckets by end stamp.
    BucketedNumeric(BTreeMap<i64, NumericBucket>),
    /// Enum buckets by end stamp.
    BucketedEnum(BTreeMap<i64, EnumBucketView>),
    /// Ranges, ordered by start.
    Ranges(Vec<Span>),
    /// Too many ranges to list: a summary, replaced by each full result.
    RangesSummary(RangesSummary),
    /// The selected numeric point.
    NumericPoint(Option<(i64, f64)>),
    /// The selected enum point.
    EnumPoint(Option<(i64, String)>),
    /// The selected log point.
    LogPoint(Option<(i64, LogEntry)>),
    /// The selected point of any type.
    SinglePoint(Option<SinglePoint>),
    /// The selected range.
    RangeValue(Option<Span>),
    /// One plot per tag-value group.
    Grouped(Vec<(Grouping, Plot)>),
}

/// An update the merge model refuses: the server broke a rule of PROTOCOL §4, or sent a
/// result kind the model does not hold.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    /// A timestamp is out of range or malformed.
    #[error("{field}: {source}")]
    Timestamp {
        /// Which timestamp.
        field: &'static str,
        /// Why it is invalid.
        #[source]
        source: sightline_wire::time::TimeError,
    },
    /// Parallel lists of a plot differ in length.
    #[error("{kind} plot: {timestamps} timestamps but {values} values")]
    Lengths {
        /// The plot kind.
        kind: &'static str,
        /// Timestamp count.
        timestamps: usize,
        /// Value count.
        values: usize,
    },
    /// Rule 1.
    #[error("rule 1: append end {end} is not later than the previous end {previous}")]
    EndNotLater {
        /// This append's end.
        end: i64,
        /// The previous append's end.
        previous: i64,
    },
    /// `start > end`.
    #[error("append start {start} is after its end {end}")]
    StartAfterEnd {
        /// Append start.
        start: i64,
        /// Append end.
        end: i64,
    },
    /// Rule 2: content outside `[start, end]`.
    #[error("{kind} append holds a point at {t} outside its range [{start}, {end}]")]
    OutsideRange {
        /// The plot kind.
        kind: &'static str,
        /// The stray timestamp.
        t: i64,
        /// Append start.
        start: i64,
        /// Append end.
        end: i64,
    },
    /// Rule 4.
    #[error("rule 4: append of kind `{append}` after a full result of kind `{held}`")]
    KindChanged {
        /// The append's kind.
        append: &'static str,
        /// The held kind.
        held: &'static str,
    },
    /// A result kind without a merge rule (cartesian, arrow, ...).
    #[error("result kind `{kind}` is not supported by the client")]
    Unsupported {
        /// The upstream variant name.
        kind: String,
    },
    /// An enum value index without a category.
    #[error("enum plot: value index {index} has no category")]
    NoCategory {
        /// The index.
        index: i64,
    },
    /// A plot whose timestamps go backwards.
    #[error("{kind} plot timestamps are not in order")]
    Unsorted {
        /// The plot kind.
        kind: &'static str,
    },
    /// An append for a group the full result did not have.
    #[error("append for a group the last full result did not have")]
    UnknownGroup,
    /// An append arrived before any full result.
    #[error("an append arrived before the first full result")]
    NoBaseline,
}

impl Plot {
    /// The upstream variant this plot came from.
    pub fn kind(&self) -> &'static str {
        match self {
            Plot::Numeric(_) => "numeric",
            Plot::Enum(_) => "enum",
            Plot::Log(_) => "log",
            Plot::BucketedNumeric(_) => "bucketedNumeric",
            Plot::BucketedEnum(_) => "bucketedEnum",
            Plot::Ranges(_) => "range",
            Plot::RangesSummary(_) => "rangesSummary",
            Plot::NumericPoint(_) => "numericPoint",
            Plot::EnumPoint(_) => "enumPoint",
            Plot::LogPoint(_) => "logPoint",
            Plot::SinglePoint(_) => "singlePoint",
            Plot::RangeValue(_) => "rangeValue",
            Plot::Grouped(_) => "grouped",
        }
    }

    /// Points, buckets or ranges held (groups: summed).
    pub fn len(&self) -> usize {
        match self {
            Plot::Numeric(v) => v.len(),
            Plot::Enum(v) => v.len(),
            Plot::Log(v) => v.len(),
            Plot::BucketedNumeric(b) => b.len(),
            Plot::BucketedEnum(b) => b.len(),
            Plot::Ranges(r) => r.len(),
            Plot::RangesSummary(s) => s.ranges_summary.len(),
            Plot::NumericPoint(p) => usize::from(p.is_some()),
            Plot::EnumPoint(p) => usize::from(p.is_some()),
            Plot::LogPoint(p) => usize::from(p.is_some()),
            Plot::SinglePoint(p) => usize::from(p.is_some()),
            Plot::RangeValue(p) => usize::from(p.is_some()),
            Plot::Grouped(g) => g.iter().map(|(_, p)| p.len()).sum(),
        }
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Converts a full result.
    pub fn from_full(result: &ComputeNodeResponse) -> Result<Plot, MergeError> {
        Ok(match result {
            ComputeNodeResponse::Numeric(p) => Plot::Numeric(numeric(p)?),
            ComputeNodeResponse::Enum(p) => Plot::Enum(enums(p)?),
            ComputeNodeResponse::PagedLog(p) => Plot::Log(logs(&p.timestamps, &p.values)?),
            ComputeNodeResponse::BucketedNumeric(p) => Plot::BucketedNumeric(numeric_buckets(p)?),
            ComputeNodeResponse::BucketedEnum(p) => Plot::BucketedEnum(enum_buckets(p)?),
            ComputeNodeResponse::Range(r) => Plot::Ranges(spans(r)?),
            ComputeNodeResponse::RangesSummary(s) => Plot::RangesSummary(s.clone()),
            ComputeNodeResponse::NumericPoint(p) => Plot::NumericPoint(
                p.as_ref()
                    .map(|p| Ok((nanos(&p.timestamp, "point")?, p.value)))
                    .transpose()?,
            ),
            ComputeNodeResponse::EnumPoint(p) => Plot::EnumPoint(
                p.as_ref()
                    .map(|p| Ok((nanos(&p.timestamp, "point")?, p.value.clone())))
                    .transpose()?,
            ),
            ComputeNodeResponse::LogPoint(p) => Plot::LogPoint(
                p.as_ref()
                    .map(|p| Ok((nanos(&p.timestamp, "point")?, log_entry(&p.value))))
                    .transpose()?,
            ),
            ComputeNodeResponse::SinglePoint(p) => Plot::SinglePoint(p.clone()),
            ComputeNodeResponse::RangeValue(r) => {
                Plot::RangeValue(r.as_ref().map(span).transpose()?)
            }
            ComputeNodeResponse::Grouped(g) => Plot::Grouped(
                g.responses
                    .iter()
                    .map(|r| Ok((r.grouping.clone(), Plot::from_full(&r.response)?)))
                    .collect::<Result<_, MergeError>>()?,
            ),
            other => {
                return Err(MergeError::Unsupported {
                    kind: other.variant_name().to_string(),
                })
            }
        })
    }

    /// Converts the content of an append.
    fn from_append(result: &ComputeNodeAppendResponse) -> Result<Plot, MergeError> {
        Ok(match result {
            ComputeNodeAppendResponse::Numeric(p) => Plot::Numeric(numeric(p)?),
            ComputeNodeAppendResponse::Enum(p) => Plot::Enum(enums(p)?),
            ComputeNodeAppendResponse::Log(p) => Plot::Log(logs(&p.timestamps, &p.values)?),
            ComputeNodeAppendResponse::BucketedNumeric(p) => {
                Plot::BucketedNumeric(numeric_buckets(p)?)
            }
            ComputeNodeAppendResponse::BucketedEnum(p) => Plot::BucketedEnum(enum_buckets(p)?),
            ComputeNodeAppendResponse::Range(r) => Plot::Ranges(spans(r)?),
            ComputeNodeAppendResponse::NumericPoint(p) => Plot::NumericPoint(
                p.as_ref()
                    .map(|p| Ok((nanos(&p.timestamp, "point")?, p.value)))
                    .transpose()?,
            ),
            ComputeNodeAppendResponse::EnumPoint(p) => Plot::EnumPoint(
                p.as_ref()
                    .map(|p| Ok((nanos(&p.timestamp, "point")?, p.value.clone())))
                    .transpose()?,
            ),
            ComputeNodeAppendResponse::LogPoint(p) => Plot::LogPoint(
                p.as_ref()
                    .map(|p| Ok((nanos(&p.timestamp, "point")?, log_entry(&p.value))))
                    .transpose()?,
            ),
            ComputeNodeAppendResponse::SinglePoint(p) => Plot::SinglePoint(p.clone()),
            ComputeNodeAppendResponse::RangeValue(r) => {
                Plot::RangeValue(r.as_ref().map(span).transpose()?)
            }
            other => {
                return Err(MergeError::Unsupported {
                    kind: other.variant_name().to_string(),
                })
            }
        })
    }

    /// Applies rule 2 of one (ungrouped) append to this plot; [`Plot::trim`] applies rule 3.
    fn merge(&mut self, content: Plot, start: i64, end: i64) -> Result<(), MergeError> {
        let held_kind = self.kind();
        match (self, content) {
            (Plot::Numeric(held), Plot::Numeric(new)) => splice(held, new, start, end, "numeric"),
            (Plot::Enum(held), Plot::Enum(new)) => splice(held, new, start, end, "enum"),
            (Plot::Log(held), Plot::Log(new)) => splice(held, new, start, end, "log"),
            (Plot::BucketedNumeric(held), Plot::BucketedNumeric(new)) => {
                replace_buckets(held, new, start, end, "bucketedNumeric")
            }
            (Plot::BucketedEnum(held), Plot::BucketedEnum(new)) => {
                replace_buckets(held, new, start, end, "bucketedEnum")
            }
            (Plot::Ranges(held), Plot::Ranges(new)) => {
                held.retain(|r| !overlaps(r, start, end));
                held.extend(new);
                held.sort_by_key(|r| (r.start.unwrap_or(i64::MIN), r.end.unwrap_or(i64::MAX)));
                Ok(())
            }
            // Value points: the append carries the point that applies now.
            (Plot::NumericPoint(held), Plot::NumericPoint(new)) => {
                *held = new;
                Ok(())
            }
            (Plot::EnumPoint(held), Plot::EnumPoint(new)) => {
                *held = new;
                Ok(())
            }
            (Plot::LogPoint(held), Plot::LogPoint(new)) => {
                *held = new;
                Ok(())
            }
            (Plot::SinglePoint(held), Plot::SinglePoint(new)) => {
                *held = new;
                Ok(())
            }
            (Plot::RangeValue(held), Plot::RangeValue(new)) => {
                *held = new;
                Ok(())
            }
            (_, content) => Err(MergeError::KindChanged {
                append: content.kind(),
                held: held_kind,
            }),
        }
    }
}

impl Plot {
    /// Rule 3: drops everything older than `cutoff` (raw points before it, buckets whose
    /// exclusive end is at or before it, ranges that ended before it). Value points and
    /// range summaries are whole results and stay.
    pub fn trim(&mut self, cutoff: i64) {
        match self {
            Plot::Numeric(v) => drop_before(v, cutoff),
            Plot::Enum(v) => drop_before(v, cutoff),
            Plot::Log(v) => drop_before(v, cutoff),
            Plot::BucketedNumeric(b) => b.retain(|s, _| *s > cutoff),
            Plot::BucketedEnum(b) => b.retain(|s, _| *s > cutoff),
            Plot::Ranges(r) => r.retain(|r| r.end.is_none_or(|e| e >= cutoff)),
            Plot::Grouped(groups) => groups.iter_mut().for_each(|(_, p)| p.trim(cutoff)),
            Plot::RangesSummary(_)
            | Plot::NumericPoint(_)
            | Plot::EnumPoint(_)
            | Plot::LogPoint(_)
            | Plot::SinglePoint(_)
            | Plot::RangeValue(_) => {}
        }
    }

    /// What lies in `[lo, hi]`: raw points stamped there, buckets that end after `lo` and
    /// whose first point is at or before `hi`, ranges that touch it. Two results of one
    /// computation that cover different windows agree on the part both cover; compare
    /// them through this.
    pub fn restrict(&self, lo: i64, hi: i64) -> Plot {
        let within = |t: &i64| (lo..=hi).contains(t);
        match self {
            Plot::Numeric(v) => {
                Plot::Numeric(v.iter().filter(|(t, _)| within(t)).cloned().collect())
            }
            Plot::Enum(v) => Plot::Enum(v.iter().filter(|(t, _)| within(t)).cloned().collect()),
            Plot::Log(v) => Plot::Log(v.iter().filter(|(t, _)| within(t)).cloned().collect()),
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
            Plot::BucketedEnum(b) => Plot::BucketedEnum(
                b.iter()
                    .filter(|(s, bucket)| **s > lo && bucket.first.0 <= hi)
                    .map(|(s, bucket)| (*s, bucket.clone()))
                    .collect(),
            ),
            Plot::Ranges(r) => {
                Plot::Ranges(r.iter().filter(|r| overlaps(r, lo, hi)).cloned().collect())
            }
            Plot::Grouped(groups) => Plot::Grouped(
                groups
                    .iter()
                    .map(|(g, p)| (g.clone(), p.restrict(lo, hi)))
                    .collect(),
            ),
            whole => whole.clone(),
        }
    }
}

fn drop_before<V>(held: &mut Vec<(i64, V)>, cutoff: i64) {
    let keep_from = held.partition_point(|(t, _)| *t < cutoff);
    held.drain(..keep_from);
}

fn overlaps(r: &Span, start: i64, end: i64) -> bool {
    r.start.is_none_or(|s| s <= end) && r.end.is_none_or(|e| e >= start)
}

/// Merged state of one subscription: the window the client shows.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowState {
    /// The subscription's window width, nanoseconds.
    pub window: i64,
    /// What is held.
    pub plot: Plot,
    /// `end` of the last append of this subscription (full results carry no end, and rule
    /// 1 spans the subscription, so a full result keeps it).
    pub last_end: Option<i64>,
    /// Full results applied.
    pub fulls: u64,
    /// Appends applied.
    pub appends: u64,
}

impl WindowState {
    /// Starts from a full result.
    pub fn new(window: i64, full: &ComputeNodeResponse) -> Result<Self, MergeError> {
        Ok(WindowState {
            window,
            plot: Plot::from_full(full)?,
            last_end: None,
            fulls: 1,
            appends: 0,
        })
    }

    /// Replaces what is held with a full result. `last_end` stays: rule 1 spans the
    /// subscription. (A resubscription, e.g. on another server, starts a new state.)
    pub fn apply_full(&mut self, full: &ComputeNodeResponse) -> Result<(), MergeError> {
        self.plot = Plot::from_full(full)?;
        self.fulls += 1;
        Ok(())
    }

    /// Applies one append, checking rules 1, 2 and 4. On error the state is unchanged.
    pub fn apply_append(&mut self, append: &AppendResult) -> Result<(), MergeError> {
        let start = nanos(&append.start, "append start")?;
        let end = nanos(&append.end, "append end")?;
        if start > end {
            return Err(MergeError::StartAfterEnd { start, end });
        }
        if let Some(previous) = self.last_end {
            if end <= previous {
                return Err(MergeError::EndNotLater { end, previous });
            }
        }
        let cutoff = end.saturating_sub(self.window);
        let mut next = self.plot.clone();
        match (&mut next, &append.result) {
            (Plot::Grouped(groups), ComputeNodeAppendResponse::Grouped(parts)) => {
                for part in &parts.responses {
                    let held = groups
                        .iter_mut()
                        .find(|(g, _)| *g == part.grouping)
                        .ok_or(MergeError::UnknownGroup)?;
                    held.1
                        .merge(Plot::from_append(&part.response)?, start, end)?;
                }
            }
            (plot, result) => {
                let content = Plot::from_append(result)?;
                plot.merge(content, start, end)?;
            }
        }
        next.trim(cutoff);
        self.plot = next;
        self.last_end = Some(end);
        self.appends += 1;
        Ok(())
    }
}

/// Rule 2 for raw plots. Content outside `[start, end]` breaks rule 2.
fn splice<V>(
    held: &mut Vec<(i64, V)>,
    new: Vec<(i64, V)>,
    start: i64,
    end: i64,
    kind: &'static str,
) -> Result<(), MergeError> {
    if let Some((t, _)) = new.iter().find(|(t, _)| !(start..=end).contains(t)) {
        return Err(MergeError::OutsideRange {
            kind,
            t: *t,
            start,
            end,
        });
    }
    held.retain(|(t, _)| *t < start || *t > end);
    // Appends land at the end almost always: only sort when they do not.
    let in_order = match (held.last(), new.first()) {
        (Some((a, _)), Some((b, _))) => a <= b,
        _ => true,
    };
    held.extend(new);
    if !in_order {
        // Stable, so points of several series that share a timestamp keep their order.
        held.sort_by_key(|(t, _)| *t);
    }
    Ok(())
}

/// Buckets are stamped by their (exclusive) end: a re-sent bucket replaces the held one.
/// A bucket that ends before `start` cannot hold anything in `[start, end]`: rule 2.
fn replace_buckets<B>(
    held: &mut BTreeMap<i64, B>,
    new: BTreeMap<i64, B>,
    start: i64,
    end: i64,
    kind: &'static str,
) -> Result<(), MergeError> {
    if let Some(t) = new.keys().find(|s| **s < start) {
        return Err(MergeError::OutsideRange {
            kind,
            t: *t,
            start,
            end,
        });
    }
    held.retain(|s, _| !(start..=end).contains(s));
    held.extend(new);
    Ok(())
}

fn nanos(t: &sightline_wire::api::Timestamp, field: &'static str) -> Result<i64, MergeError> {
    timestamp_to_nanos(t).map_err(|source| MergeError::Timestamp { field, source })
}

fn all_nanos(ts: &[sightline_wire::api::Timestamp]) -> Result<Vec<i64>, MergeError> {
    ts.iter().map(|t| nanos(t, "plot timestamp")).collect()
}

fn check_len(kind: &'static str, timestamps: usize, values: usize) -> Result<(), MergeError> {
    if timestamps != values {
        return Err(MergeError::Lengths {
            kind,
            timestamps,
            values,
        });
    }
    Ok(())
}

fn sorted<V>(v: Vec<(i64, V)>, kind: &'static str) -> Result<Vec<(i64, V)>, MergeError> {
    if v.windows(2).any(|w| w[0].0 > w[1].0) {
        return Err(MergeError::Unsorted { kind });
    }
    Ok(v)
}

fn numeric(p: &NumericPlot) -> Result<Vec<(i64, f64)>, MergeError> {
    check_len("numeric", p.timestamps.len(), p.values.len())?;
    let ts = all_nanos(&p.timestamps)?;
    sorted(
        ts.into_iter().zip(p.values.iter().copied()).collect(),
        "numeric",
    )
}

fn category(categories: &[String], index: i64) -> Result<String, MergeError> {
    usize::try_from(index)
        .ok()
        .and_then(|i| categories.get(i))
        .cloned()
        .ok_or(MergeError::NoCategory { index })
}

fn enums(p: &EnumPlot) -> Result<Vec<(i64, String)>, MergeError> {
    check_len("enum", p.timestamps.len(), p.values.len())?;
    let ts = all_nanos(&p.timestamps)?;
    let mut out = Vec::with_capacity(ts.len());
    for (t, code) in ts.into_iter().zip(&p.values) {
        out.push((t, category(&p.categories, i64::from(*code))?));
    }
    sorted(out, "enum")
}

fn log_entry(v: &LogValue) -> LogEntry {
    LogEntry {
        message: v.message.clone(),
        args: v.args.clone(),
        id: v.id,
    }
}

fn logs(
    ts: &[sightline_wire::api::Timestamp],
    values: &[LogValue],
) -> Result<Vec<(i64, LogEntry)>, MergeError> {
    check_len("log", ts.len(), values.len())?;
    let ts = all_nanos(ts)?;
    sorted(
        ts.into_iter().zip(values.iter().map(log_entry)).collect(),
        "log",
    )
}

fn numeric_buckets(p: &BucketedNumericPlot) -> Result<BTreeMap<i64, NumericBucket>, MergeError> {
    check_len("bucketedNumeric", p.timestamps.len(), p.buckets.len())?;
    let ts = all_nanos(&p.timestamps)?;
    Ok(ts.into_iter().zip(p.buckets.iter().cloned()).collect())
}

fn enum_buckets(p: &BucketedEnumPlot) -> Result<BTreeMap<i64, EnumBucketView>, MergeError> {
    check_len("bucketedEnum", p.timestamps.len(), p.buckets.len())?;
    let ts = all_nanos(&p.timestamps)?;
    let mut out = BTreeMap::new();
    for (t, b) in ts.into_iter().zip(&p.buckets) {
        let mut histogram = BTreeMap::new();
        for (index, count) in &b.histogram {
            histogram.insert(category(&p.categories, i64::from(*index))?, count.0);
        }
        let point = |c: &sightline_wire::scout_compute::CompactEnumPoint| -> Result<(i64, String), MergeError> {
            Ok((nanos(&c.timestamp, "bucket point")?, category(&p.categories, i64::from(c.value))?))
        };
        out.insert(
            t,
            EnumBucketView {
                histogram,
                first: point(&b.first_point)?,
                last: b.last_point.as_ref().map(point).transpose()?,
            },
        );
    }
    Ok(out)
}

fn span(r: &Range) -> Result<Span, MergeError> {
    Ok(Span {
        start: r
            .start
            .as_ref()
            .map(|t| nanos(t, "range start"))
            .transpose()?,
        end: r.end.as_ref().map(|t| nanos(t, "range end")).transpose()?,
        value: r.value.clone(),
    })
}

fn spans(r: &[Range]) -> Result<Vec<Span>, MergeError> {
    r.iter().map(span).collect()
}
