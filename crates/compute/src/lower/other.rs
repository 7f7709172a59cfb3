//! Boolean, enum, log and range series nodes.

use wire::scout_compute::{
    BooleanSeries, Context, EnumFilterOperator, EnumSeries, LogFilterOperator, LogSeries,
    MinMaxThresholdOperator, OutputRangeStart, PersistenceWindowConfiguration,
    RangePaddingConfiguration, RangeSeries, RangeStart, StringSetConstant,
    ThresholdRangesComparison, UnboundedBehavior, VariableValue,
};

use crate::error::{DiagnosticKind, InvalidReason};
use crate::ir::{
    AnySeries, Cmp, Combine, EnumS, LogFilter, LogS, Num, Persistence, Ranges, StringFilter, Unary,
};
use crate::lower::numeric::cmp;
use crate::lower::Lowerer;
use crate::source::ChannelKind;

impl Lowerer<'_> {
    /// Booleans are numeric `1.0` / `0.0` series aligned like arithmetic.
    pub(crate) fn boolean(&mut self, s: &BooleanSeries, ctx: &Context, path: &str) -> Option<Num> {
        use BooleanSeries as B;
        let p = format!("{path}.{}", s.variant_name());
        let fill = self.fill(None, ctx, &p);
        let cmp2 = |l: &mut Self, c: Cmp, left, right| {
            let a = l.numeric(left, ctx, &format!("{p}.left"));
            let b = l.numeric(right, ctx, &format!("{p}.right"));
            l.combine_typed(Combine::Compare(c), vec![a?, b?], fill, &p)
                .map(|x| x.0)
        };
        let logic = |l: &mut Self, op: Combine, left, right| {
            let a = l.boolean(left, ctx, &format!("{p}.left"));
            let b = l.boolean(right, ctx, &format!("{p}.right"));
            Some(Num::Combine {
                op,
                inputs: vec![a?, b?],
                fill,
            })
        };
        match s {
            B::GreaterThan(x) => cmp2(self, Cmp::Gt, &x.left, &x.right),
            B::GreaterThanOrEqualTo(x) => cmp2(self, Cmp::Ge, &x.left, &x.right),
            B::LessThan(x) => cmp2(self, Cmp::Lt, &x.left, &x.right),
            B::LessThanOrEqualTo(x) => cmp2(self, Cmp::Le, &x.left, &x.right),
            B::EqualTo(x) => cmp2(self, Cmp::Eq, &x.left, &x.right),
            B::NotEqualTo(x) => cmp2(self, Cmp::Ne, &x.left, &x.right),
            B::And(x) => logic(self, Combine::And, &x.left, &x.right),
            B::Or(x) => logic(self, Combine::Or, &x.left, &x.right),
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    pub(crate) fn enum_series(
        &mut self,
        s: &EnumSeries,
        ctx: &Context,
        path: &str,
    ) -> Option<EnumS> {
        use EnumSeries as E;
        let p = format!("{path}.{}", s.variant_name());
        match s {
            E::Channel(c) => Some(EnumS::Channel(self.channel(
                c,
                ctx,
                &p,
                Some(ChannelKind::Enum),
            )?)),
            E::FilterByTag(x) => {
                let tests = self.tag_predicate(&x.predicate, ctx, &format!("{p}.predicate"));
                let mut e = self.enum_series(&x.input, ctx, &format!("{p}.input"))?;
                crate::lower::tags::restrict_enum(&mut e, &tests?);
                Some(e)
            }
            E::SelectEnum(sel) => Some(EnumS::Channel(self.select(
                sel,
                ctx,
                &p,
                Some(ChannelKind::Enum),
            )?)),
            E::Raw(r) => match self.raw_typed(r, ctx, &p, ChannelKind::Enum)?.0 {
                AnySeries::Enum(e) => Some(e),
                _ => None,
            },
            E::TimeShift(x) => {
                let d = self.duration_const(&x.duration, ctx, &format!("{p}.duration"));
                let e = self.enum_series(&x.input, ctx, &format!("{p}.input"))?;
                Some(EnumS::Shift(Box::new(e), d?))
            }
            E::TimeShiftV2(x) => {
                let d = self.duration(&x.duration, ctx, &format!("{p}.duration"));
                let e = self.enum_series(&x.input, ctx, &format!("{p}.input"))?;
                Some(EnumS::Shift(Box::new(e), d?))
            }
            E::ValueMap(x) => {
                let mut bounds = Vec::new();
                for (i, m) in x.mapping.iter().enumerate() {
                    let mp = format!("{p}.mapping.{i}");
                    let lo = m
                        .start
                        .as_ref()
                        .map(|c| self.double(c, ctx, &format!("{mp}.start")));
                    let hi = m
                        .end
                        .as_ref()
                        .map(|c| self.double(c, ctx, &format!("{mp}.end")));
                    let out = self.string(&m.output, ctx, &format!("{mp}.output"));
                    bounds.push((
                        lo.map(|v| v.unwrap_or(f64::NAN)),
                        hi.map(|v| v.unwrap_or(f64::NAN)),
                        out.unwrap_or_default(),
                    ));
                }
                // Open bounds extend to the neighbouring range, or to ±infinity.
                let mut mapping = Vec::new();
                for i in 0..bounds.len() {
                    let lo = bounds[i]
                        .0
                        .or_else(|| i.checked_sub(1).and_then(|j| bounds[j].1))
                        .unwrap_or(f64::NEG_INFINITY);
                    let hi = bounds[i]
                        .1
                        .or_else(|| bounds.get(i + 1).and_then(|b| b.0))
                        .unwrap_or(f64::INFINITY);
                    if lo > hi {
                        self.invalid(
                            &format!("{p}.mapping.{i}"),
                            "mapping",
                            InvalidReason::OutOfRange,
                        );
                    }
                    mapping.push((lo, hi, bounds[i].2.clone()));
                }
                let default = match &x.default {
                    Some(d) => Some(self.string(d, ctx, &format!("{p}.default"))?),
                    None => None,
                };
                let (input, _) = self.numeric(&x.input, ctx, &format!("{p}.input"))?;
                Some(EnumS::ValueMap {
                    input: Box::new(input),
                    mapping,
                    default,
                })
            }
            E::FilterTransformation(x) => {
                let r = self.ranges(&x.filter, ctx, &format!("{p}.filter"));
                let e = self.enum_series(&x.input, ctx, &format!("{p}.input"))?;
                Some(EnumS::RangeFilter {
                    input: Box::new(e),
                    ranges: Box::new(r?),
                })
            }
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    pub(crate) fn log(&mut self, s: &LogSeries, ctx: &Context, path: &str) -> Option<LogS> {
        let p = format!("{path}.{}", s.variant_name());
        match s {
            LogSeries::Channel(c) => Some(LogS::Channel(self.channel(
                c,
                ctx,
                &p,
                Some(ChannelKind::Log),
            )?)),
            LogSeries::SelectLogs(sel) => Some(LogS::Channel(self.select(
                sel,
                ctx,
                &p,
                Some(ChannelKind::Log),
            )?)),
            LogSeries::Raw(r) => match self.raw_typed(r, ctx, &p, ChannelKind::Log)?.0 {
                AnySeries::Log(l) => Some(l),
                _ => None,
            },
            LogSeries::FilterByTag(x) => {
                let tests = self.tag_predicate(&x.predicate, ctx, &format!("{p}.predicate"));
                let mut e = self.log(&x.input, ctx, &format!("{p}.input"))?;
                crate::lower::tags::restrict_log(&mut e, &tests?);
                Some(e)
            }
            LogSeries::Filter(x) => {
                let filter = self.log_filter(&x.operator, &format!("{p}.operator"));
                let input = self.log(&x.input, ctx, &format!("{p}.input"))?;
                Some(LogS::Filter {
                    input: Box::new(input),
                    filter: filter?,
                })
            }
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    fn log_filter(&mut self, f: &LogFilterOperator, path: &str) -> Option<LogFilter> {
        let p = format!("{path}.{}", f.variant_name());
        match f {
            LogFilterOperator::RegexFilter(r) => match regex::Regex::new(&r.regex) {
                Ok(re) => Some(LogFilter::Regex(re)),
                Err(_) => {
                    self.report(
                        p,
                        DiagnosticKind::InvalidRegex {
                            pattern: r.regex.clone(),
                        },
                    );
                    None
                }
            },
            LogFilterOperator::ExactMatchCaseInsensitiveFilter(x) => {
                Some(LogFilter::Contains(x.token.clone()))
            }
            LogFilterOperator::And(v) | LogFilterOperator::Or(v) => {
                let parts: Vec<_> = v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| self.log_filter(x, &format!("{p}.{i}")))
                    .collect();
                let parts: Vec<_> = parts.into_iter().collect::<Option<_>>()?;
                Some(if matches!(f, LogFilterOperator::And(_)) {
                    LogFilter::And(parts)
                } else {
                    LogFilter::Or(parts)
                })
            }
            LogFilterOperator::Not(x) => Some(LogFilter::Not(Box::new(self.log_filter(x, &p)?))),
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    fn persistence(
        &mut self,
        c: Option<&PersistenceWindowConfiguration>,
        ctx: &Context,
        path: &str,
    ) -> Persistence {
        let mut p = Persistence::default();
        if let Some(c) = c {
            let path = format!("{path}.persistenceWindowConfiguration");
            if let Some(n) = &c.min_points {
                let n = self.integer(n, ctx, &format!("{path}.minPoints"));
                p.min_points = self.count(n, &path, "minPoints");
            }
            if let Some(d) = &c.min_duration {
                p.min_duration = self
                    .duration_const(d, ctx, &format!("{path}.minDuration"))
                    .unwrap_or(0)
                    .max(0);
            }
            p.start_at_persistence = matches!(
                c.output_range_start,
                OutputRangeStart::AfterPersistenceWindow(_)
            );
        }
        p
    }

    fn count(&mut self, n: Option<i64>, path: &str, arg: &'static str) -> usize {
        match n {
            Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
            Some(_) => {
                self.invalid(path, arg, InvalidReason::NotPositive);
                1
            }
            None => 1,
        }
    }

    pub(crate) fn ranges(&mut self, s: &RangeSeries, ctx: &Context, path: &str) -> Option<Ranges> {
        use RangeSeries as R;
        let p = format!("{path}.{}", s.variant_name());
        let p = p.as_str();
        let runs = |predicate: Num, persistence| {
            Some(Ranges::Runs {
                predicate: Box::new(predicate),
                persistence,
            })
        };
        match s {
            R::Threshold(x) => {
                let t = self.double(&x.threshold, ctx, &format!("{p}.threshold"));
                let per = self.persistence(x.persistence_window_configuration.as_ref(), ctx, p);
                let (input, _) = self.numeric(&x.input, ctx, &format!("{p}.input"))?;
                runs(
                    Num::Unary(
                        Unary::Compare {
                            op: cmp(x.operator),
                            threshold: t?,
                        },
                        Box::new(input),
                    ),
                    per,
                )
            }
            R::ThresholdRangesV2(x) => {
                use ThresholdRangesComparison as T;
                let cp = format!("{p}.comparison.{}", x.comparison.variant_name());
                let (op, threshold, tol) = match &x.comparison {
                    T::Gt(c) => (Cmp::Gt, self.double(&c.threshold, ctx, &cp), None),
                    T::Ge(c) => (Cmp::Ge, self.double(&c.threshold, ctx, &cp), None),
                    T::Lt(c) => (Cmp::Lt, self.double(&c.threshold, ctx, &cp), None),
                    T::Le(c) => (Cmp::Le, self.double(&c.threshold, ctx, &cp), None),
                    T::Eq(c) | T::Ne(c) => {
                        let op = if matches!(x.comparison, T::Eq(_)) {
                            Cmp::Eq
                        } else {
                            Cmp::Ne
                        };
                        let tol = c
                            .tolerance
                            .as_ref()
                            .and_then(|t| self.double(t, ctx, &format!("{cp}.tolerance")));
                        (op, self.double(&c.threshold, ctx, &cp), tol)
                    }
                    other => {
                        self.unsupported(&format!("{p}.comparison"), other.variant_name());
                        (Cmp::Eq, None, None)
                    }
                };
                let per = self.persistence_v2(
                    x.min_points.as_ref(),
                    x.min_duration.as_ref(),
                    x.range_start,
                    ctx,
                    p,
                );
                let (input, _) = self.numeric(&x.input, ctx, &format!("{p}.input"))?;
                let t = threshold?;
                let unary = match (op, tol) {
                    (Cmp::Eq, Some(tol)) => Unary::Bounds {
                        lo: t - tol,
                        hi: t + tol,
                        inside: true,
                        inclusive: true,
                    },
                    (Cmp::Ne, Some(tol)) => Unary::Bounds {
                        lo: t - tol,
                        hi: t + tol,
                        inside: false,
                        inclusive: false,
                    },
                    (op, _) => Unary::Compare { op, threshold: t },
                };
                runs(Num::Unary(unary, Box::new(input)), per)
            }
            R::MinMaxThreshold(x) => {
                let lo = self.double(&x.lower_bound, ctx, &format!("{p}.lowerBound"));
                let hi = self.double(&x.upper_bound, ctx, &format!("{p}.upperBound"));
                let per = self.persistence(x.persistence_window_configuration.as_ref(), ctx, p);
                let (input, _) = self.numeric(&x.input, ctx, &format!("{p}.input"))?;
                let (inside, inclusive) = match x.operator {
                    MinMaxThresholdOperator::InsideBounds => (true, false),
                    MinMaxThresholdOperator::InsideOrEqualToBounds => (true, true),
                    MinMaxThresholdOperator::OutsideBounds => (false, false),
                    MinMaxThresholdOperator::OutsideOrEqualToBounds => (false, true),
                };
                runs(
                    Num::Unary(
                        Unary::Bounds {
                            lo: lo?,
                            hi: hi?,
                            inside,
                            inclusive,
                        },
                        Box::new(input),
                    ),
                    per,
                )
            }
            R::BooleanRanges(x) => {
                let per = self.persistence_v2(
                    x.min_points.as_ref(),
                    x.min_duration.as_ref(),
                    x.range_start,
                    ctx,
                    p,
                );
                runs(self.boolean(&x.input, ctx, &format!("{p}.input"))?, per)
            }
            R::EnumFilter(x) => {
                let per = self.persistence(x.persistence_window_configuration.as_ref(), ctx, p);
                let values = match &x.values {
                    StringSetConstant::Literal(v) => Some(v.clone()),
                    StringSetConstant::Variable(name) => {
                        match self.variable(name, ctx, &format!("{p}.values.variable"))? {
                            None => Some(Vec::new()),
                            Some(VariableValue::StringSet(v)) => Some(v.to_vec()),
                            Some(other) => {
                                self.wrong_variable(
                                    &format!("{p}.values.variable"),
                                    name,
                                    "stringSet",
                                    other.variant_name(),
                                );
                                None
                            }
                        }
                    }
                    other => {
                        self.unsupported(&format!("{p}.values"), other.variant_name());
                        None
                    }
                };
                let filter = match (x.operator, values) {
                    (EnumFilterOperator::IsIn, Some(v)) => Some(StringFilter::In(v)),
                    (EnumFilterOperator::IsNotIn, Some(v)) => Some(StringFilter::NotIn(v)),
                    (EnumFilterOperator::MatchesAnyRegex, Some(v)) => {
                        let mut res = Vec::new();
                        for pat in v {
                            match regex::Regex::new(&format!("^(?:{pat})$")) {
                                Ok(r) => res.push(r),
                                Err(_) => self.report(
                                    format!("{p}.values"),
                                    DiagnosticKind::InvalidRegex { pattern: pat },
                                ),
                            }
                        }
                        Some(StringFilter::Regex(res))
                    }
                    _ => None,
                };
                let input = self.enum_series(&x.input, ctx, &format!("{p}.input"))?;
                runs(
                    Num::EnumTest {
                        input: Box::new(input),
                        filter: filter?,
                    },
                    per,
                )
            }
            R::IntersectRange(x) => Some(Ranges::Intersect(self.range_list(&x.inputs, ctx, p)?)),
            R::UnionRange(x) => Some(Ranges::Union(self.range_list(&x.inputs, ctx, p)?)),
            R::Not(x) => Some(Ranges::Not(Box::new(self.ranges(
                &x.input,
                ctx,
                &format!("{p}.input"),
            )?))),
            R::DurationFilter(x) => {
                let d = self.duration_const(&x.threshold, ctx, &format!("{p}.threshold"));
                let input = self.ranges(&x.input, ctx, &format!("{p}.input"))?;
                Some(Ranges::DurationFilter {
                    input: Box::new(input),
                    op: cmp(x.operator),
                    duration: d?,
                    window_bound: x.unbounded_behavior != Some(UnboundedBehavior::Infinity),
                })
            }
            R::DurationFilterV2(x) => {
                let d = self.duration(&x.duration, ctx, &format!("{p}.duration"));
                let input = self.ranges(&x.input, ctx, &format!("{p}.input"))?;
                Some(Ranges::DurationFilter {
                    input: Box::new(input),
                    op: cmp(x.comparison),
                    duration: d?,
                    window_bound: x.unbounded_behavior != Some(UnboundedBehavior::Infinity),
                })
            }
            R::PaddedRanges(x) => {
                let d = self.duration_const(&x.padding, ctx, &format!("{p}.padding"));
                let input = self.ranges(&x.input, ctx, &format!("{p}.input"))?;
                padded(
                    input,
                    d?,
                    x.padding_configuration
                        .unwrap_or(RangePaddingConfiguration::PadStartAndEnd),
                )
            }
            R::PaddedRangesV2(x) => {
                let d = self.duration(&x.duration, ctx, &format!("{p}.duration"));
                let input = self.ranges(&x.input, ctx, &format!("{p}.input"))?;
                padded(input, d?, x.padding_configuration)
            }
            R::OnChange(x) => Some(Ranges::OnChange(Box::new(
                self.series(&x.input, ctx, &format!("{p}.input"))?.0,
            ))),
            R::SeriesCrossoverRangesNode(x) => {
                let a = self.numeric(&x.input_a, ctx, &format!("{p}.inputA"));
                let b = self.numeric(&x.input_b, ctx, &format!("{p}.inputB"));
                let fill = self.fill(None, ctx, p);
                let (d, _) = self.combine_typed(Combine::Sub, vec![a?, b?], fill, p)?;
                Some(Ranges::Crossover(Box::new(d)))
            }
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    fn persistence_v2(
        &mut self,
        min_points: Option<&wire::scout_compute::IntegerConstant>,
        min_duration: Option<&wire::scout_compute::Duration>,
        start: Option<RangeStart>,
        ctx: &Context,
        path: &str,
    ) -> Persistence {
        let mut p = Persistence::default();
        if let Some(n) = min_points {
            let n = self.integer(n, ctx, &format!("{path}.minPoints"));
            p.min_points = self.count(n, path, "minPoints");
        }
        if let Some(d) = min_duration {
            p.min_duration = self
                .duration(d, ctx, &format!("{path}.minDuration"))
                .unwrap_or(0)
                .max(0);
        }
        p.start_at_persistence = start == Some(RangeStart::PersistenceStart);
        p
    }

    fn range_list(
        &mut self,
        inputs: &[RangeSeries],
        ctx: &Context,
        path: &str,
    ) -> Option<Vec<Ranges>> {
        if inputs.is_empty() {
            self.invalid(path, "inputs", InvalidReason::Missing);
            return None;
        }
        let v: Vec<_> = inputs
            .iter()
            .enumerate()
            .map(|(i, x)| self.ranges(x, ctx, &format!("{path}.inputs.{i}")))
            .collect();
        v.into_iter().collect()
    }
}

fn padded(input: Ranges, d: i64, c: RangePaddingConfiguration) -> Option<Ranges> {
    let d = d.max(0);
    let (before, after) = match c {
        RangePaddingConfiguration::PadStart => (d, 0),
        RangePaddingConfiguration::PadEnd => (0, d),
        RangePaddingConfiguration::PadStartAndEnd => (d, d),
    };
    Some(Ranges::Padded {
        input: Box::new(input),
        before,
        after,
    })
}
