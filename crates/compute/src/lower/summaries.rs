//! The summary nodes (`ComputableNode`): `series`, `ranges` and `value`.

use wire::scout_compute::{
    ComputableNode, Context, DecimateStrategy, OutputFormat, RangeSortOrder, SelectValue,
    SummarizationStrategy, SummarizeSeries,
};

use crate::error::InvalidReason;
use crate::lower::Lowerer;
use crate::plan::{Output, Plan, ValueSelect, DEFAULT_BUCKETS, DEFAULT_MAX_RANGES};

impl Lowerer<'_> {
    pub(crate) fn node(&mut self, node: &ComputableNode, ctx: &Context) -> Option<Plan> {
        let plan = |l: &Self, output, unit| Plan {
            output,
            unit,
            buckets: DEFAULT_BUCKETS,
            resolution: None,
            grouped: l.grouped,
            lttb: None,
        };
        match node {
            ComputableNode::Series(s) => self.summarize(s, ctx, "node.series"),
            ComputableNode::Ranges(r) => {
                let max = match r.max_ranges {
                    Some(n) if n > 0 => usize::try_from(n).unwrap_or(DEFAULT_MAX_RANGES),
                    Some(_) => {
                        self.invalid("node.ranges", "maxRanges", InvalidReason::NotPositive);
                        DEFAULT_MAX_RANGES
                    }
                    None => DEFAULT_MAX_RANGES,
                };
                let ranges = self.ranges(&r.input, ctx, "node.ranges.input")?;
                Some(plan(self, Output::Ranges { ranges, max }, None))
            }
            ComputableNode::Value(v) => {
                let p = format!("node.value.{}", v.variant_name());
                let point = |l: &mut Self, s, last, skip_nan| {
                    let (series, unit) = l.series(s, ctx, &p)?;
                    Some(plan(
                        l,
                        Output::Value(ValueSelect::Point {
                            series,
                            last,
                            skip_nan,
                        }),
                        unit,
                    ))
                };
                let range = |l: &mut Self, r, index, descending| {
                    let ranges = l.ranges(r, ctx, &p)?;
                    Some(plan(
                        l,
                        Output::Value(ValueSelect::Range {
                            ranges,
                            index,
                            descending,
                        }),
                        None,
                    ))
                };
                match v {
                    SelectValue::FirstPoint(s) => point(self, s, false, false),
                    SelectValue::LastPoint(s) => point(self, s, true, false),
                    SelectValue::FirstValuePoint(s) => point(self, s, false, true),
                    SelectValue::LastValuePoint(s) => point(self, s, true, true),
                    SelectValue::FirstRange(r) => range(self, r, 0, false),
                    SelectValue::LastRange(r) => range(self, r, 0, true),
                    SelectValue::NthRange(n) => {
                        let index = self.integer(&n.index, ctx, &format!("{p}.index"))?;
                        if index < 0 {
                            self.invalid(&p, "index", InvalidReason::NotPositive);
                            return None;
                        }
                        let desc = n.sort_order == RangeSortOrder::Desc;
                        let ranges = self.ranges(&n.input, ctx, &format!("{p}.input"))?;
                        Some(plan(
                            self,
                            Output::Value(ValueSelect::Range {
                                ranges,
                                index,
                                descending: desc,
                            }),
                            None,
                        ))
                    }
                    other => {
                        self.unsupported("node.value", other.variant_name());
                        None
                    }
                }
            }
            other => {
                self.unsupported("node", other.variant_name());
                None
            }
        }
    }

    fn summarize(&mut self, s: &SummarizeSeries, ctx: &Context, path: &str) -> Option<Plan> {
        let mut buckets = DEFAULT_BUCKETS;
        let mut resolution = None;
        let mut lttb = None;
        if let Some(b) = s.buckets {
            match u64::try_from(b) {
                Ok(b) if b > 0 => buckets = b,
                _ => self.invalid(path, "buckets", InvalidReason::NotPositive),
            }
        }
        if let Some(r) = s.resolution {
            if r.0 > 0 {
                resolution = Some(r.0);
            } else {
                self.invalid(path, "resolution", InvalidReason::NotPositive);
            }
        }
        match &s.summarization_strategy {
            None => {}
            Some(SummarizationStrategy::Decimate(d)) => match d {
                DecimateStrategy::Resolution(r) if r.resolution.0 > 0 => {
                    resolution = Some(r.resolution.0)
                }
                DecimateStrategy::Resolution(_) => self.invalid(
                    &format!("{path}.summarizationStrategy.decimate.resolution"),
                    "resolution",
                    InvalidReason::NotPositive,
                ),
                DecimateStrategy::Buckets(b) => match u64::try_from(b.buckets) {
                    Ok(n) if n > 0 => buckets = n,
                    _ => self.invalid(
                        &format!("{path}.summarizationStrategy.decimate.buckets"),
                        "buckets",
                        InvalidReason::NotPositive,
                    ),
                },
                other => self.unsupported(
                    &format!("{path}.summarizationStrategy.decimate"),
                    other.variant_name(),
                ),
            },
            Some(SummarizationStrategy::LargestTriangleThreeBuckets(l)) => {
                match usize::try_from(l.max_points_per_group) {
                    Ok(n) if (1..=crate::lttb::MAX_POINTS).contains(&n) => lttb = Some(n),
                    _ => self.invalid(
                        &format!("{path}.summarizationStrategy.largestTriangleThreeBuckets"),
                        "maxPointsPerGroup",
                        InvalidReason::OutOfRange,
                    ),
                }
            }
            Some(other) => self.unsupported(
                &format!("{path}.summarizationStrategy"),
                other.variant_name(),
            ),
        }
        // Arrow output and extra per-bucket aggregations change the result's shape; refuse
        // them rather than silently answering in the legacy shape.
        match s.output_format {
            None | Some(OutputFormat::Legacy) => {}
            Some(f) => self.unsupported(&format!("{path}.outputFormat"), f.as_str()),
        }
        if !s.numeric_aggregations.is_empty() {
            self.unsupported(path, "numericAggregations");
        }
        let (series, unit) = self.series(&s.input, ctx, &format!("{path}.input"))?;
        if lttb.is_some() && !matches!(series, crate::ir::AnySeries::Numeric(_)) {
            // Upstream selects numeric points only.
            self.unsupported(
                &format!("{path}.summarizationStrategy"),
                "largestTriangleThreeBuckets over a non-numeric series",
            );
        }
        Some(Plan {
            output: Output::Series(series),
            unit,
            buckets,
            resolution,
            grouped: self.grouped,
            lttb,
        })
    }
}
