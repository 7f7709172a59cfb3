//! The shape of a result (raw plot, aligned buckets, range list, range summary, one value,
//! an LTTB selection) and how a fresh result over a range picks it: series are raw up to
//! `buckets` input points and bucketed above, range lists become a summary past
//! `maxRanges`. Knows no wire types; `render` turns a shape into them.

use crate::engine::Engine;
use crate::plan::{Output, Plan};
use crate::source::DataSource;
use crate::summarize::bucket_width;

/// How a result is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Raw,
    /// Buckets `origin + k·width <= t < origin + (k+1)·width`, stamped with their end.
    Bucketed {
        width: i64,
        origin: i64,
    },
    /// A list of ranges.
    Ranges,
    /// More than `maxRanges` ranges: a summary (no append form).
    RangesSummary,
    /// One value.
    Value,
    /// Points selected by LTTB (no append form: a selection can change anywhere).
    Lttb {
        max: usize,
    },
}

impl Plan {
    /// Points the inputs hold in `[start, end]`, from counts only. For derived series this
    /// is the number of input points, which decides raw vs bucketed.
    pub fn raw_point_count(&self, source: &dyn DataSource, start: i64, end: i64) -> u64 {
        if start > end {
            return 0;
        }
        Engine::new(source).count(&self.leaves(), start, end)
    }

    /// At most the points the inputs hold in `[start, end]`, from block metadata alone (no
    /// decoding): exact for data still in memory, which is where a live update's new range
    /// lies.
    pub(crate) fn raw_point_floor(&self, source: &dyn DataSource, start: i64, end: i64) -> u64 {
        if start > end {
            return 0;
        }
        Engine::new(source)
            .count_bounds(&self.leaves(), start, end)
            .0
    }

    /// Whether the inputs hold more than `limit` points in `[start, end]`: answered from
    /// block metadata when the bounds settle it, so a live update does not decode the
    /// window's edge blocks just to keep choosing the same shape.
    pub(crate) fn raw_points_exceed(
        &self,
        source: &dyn DataSource,
        start: i64,
        end: i64,
        limit: u64,
    ) -> bool {
        if start > end {
            return false;
        }
        let engine = Engine::new(source);
        let leaves = self.leaves();
        let (lower, upper) = engine.count_bounds(&leaves, start, end);
        if lower > limit {
            return true;
        }
        if upper <= limit {
            return false;
        }
        engine.count(&leaves, start, end) > limit
    }

    /// Bucket width for a range of `span` ns.
    pub(crate) fn width(&self, span: i64) -> i64 {
        bucket_width(span, self.buckets, self.resolution)
    }

    /// The shape of a fresh result over `[start, end]` (series: raw unless more than
    /// `buckets` input points; ranges: a summary past `maxRanges`).
    pub(crate) fn shape_for(
        &self,
        source: &dyn DataSource,
        start: i64,
        end: i64,
        span: i64,
        count: Option<u64>,
    ) -> Shape {
        match &self.output {
            Output::Series(_) if self.is_log() => Shape::Raw,
            Output::Series(_) if self.lttb.is_some() => Shape::Lttb {
                max: self.lttb.unwrap_or(crate::lttb::MAX_POINTS),
            },
            Output::Series(_) => {
                let n = count.unwrap_or_else(|| self.raw_point_count(source, start, end));
                if n > self.buckets {
                    Shape::Bucketed {
                        width: self.width(span),
                        origin: 0,
                    }
                } else {
                    Shape::Raw
                }
            }
            Output::Ranges { ranges, max } => {
                let n: usize = Engine::new(source)
                    .ranges(ranges, start, end)
                    .iter()
                    .map(|(_, r)| r.len())
                    .max()
                    .unwrap_or(0);
                if n > *max {
                    Shape::RangesSummary
                } else {
                    Shape::Ranges
                }
            }
            Output::Value(_) => Shape::Value,
        }
    }
}
