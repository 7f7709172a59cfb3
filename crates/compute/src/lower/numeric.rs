//! Numeric (and boolean) series nodes, with their units.
//!
//! Unit rules: `+ − max min mean sum union` and comparisons need one dimension (the right
//! operand is converted into the left's unit, e.g. psi into bar; different dimensions
//! are `Compute:UnitConversionInvalid`); `× ÷` combine units; a unitless operand leaves
//! the other's unit; math functions drop the unit.

use wire::scout_compute::{
    AggregationBuilder, Context, FillLimit, FillStrategy, InterpolationConfiguration,
    NegativeValueConfiguration, NumericAggregationOperator, NumericSeries, ThresholdOperator,
    Window as WireWindow,
};

use crate::error::{DiagnosticKind, InvalidReason};
use crate::ir::{Agg, AnySeries, Cmp, Combine, Negatives, Num, Unary, Window};
use crate::lower::consts::{positive, time_unit};
use crate::lower::{Lowerer, Typed};
use crate::source::ChannelKind;
use crate::units::Unit;

/// Forward-fill limit when neither the node nor the context sets one (PROTOCOL §6).
const DEFAULT_FILL: i64 = 1_000_000_000;

impl Lowerer<'_> {
    pub(crate) fn numeric(
        &mut self,
        s: &NumericSeries,
        ctx: &Context,
        path: &str,
    ) -> Option<Typed<Num>> {
        use NumericSeries as N;
        let p = format!("{path}.{}", s.variant_name());
        let p = p.as_str();
        let sub = |l: &mut Self, x: &NumericSeries, f: &str| l.numeric(x, ctx, &format!("{p}.{f}"));
        let unary = |l: &mut Self, x: &NumericSeries, op: Unary, keep_unit: bool| {
            let (e, u) = sub(l, x, "x")?;
            Some((
                Num::Unary(op, Box::new(e)),
                if keep_unit { u } else { None },
            ))
        };
        match s {
            N::Channel(c) => {
                let input = self.channel(c, ctx, p, Some(ChannelKind::Numeric))?;
                let unit = input.unit.clone();
                Some((Num::Channel(input), unit))
            }
            N::SelectNumeric(sel) => {
                let input = self.select(sel, ctx, p, Some(ChannelKind::Numeric))?;
                let unit = input.unit.clone();
                Some((Num::Channel(input), unit))
            }
            N::Raw(r) => match self.raw_typed(r, ctx, p, ChannelKind::Numeric)? {
                (AnySeries::Numeric(n), u) => Some((n, u)),
                _ => None,
            },
            N::FilterByTag(x) => {
                let tests = self.tag_predicate(&x.predicate, ctx, &format!("{p}.predicate"));
                let (mut e, u) = sub(self, &x.input, "input")?;
                crate::lower::tags::restrict_num(&mut e, &tests?);
                Some((e, u))
            }
            N::SelectTags(x) => {
                let keys = self.strings(&x.tag_keys, ctx, &format!("{p}.tagKeys"));
                let (e, u) = sub(self, &x.input, "input")?;
                Some((
                    Num::SelectTags {
                        input: Box::new(e),
                        keys: keys?,
                    },
                    u,
                ))
            }
            N::Abs(x) => unary(self, &x.x, Unary::Abs, true),
            N::Negate(x) => unary(self, &x.x, Unary::Negate, true),
            N::Sqrt(x) => unary(self, &x.x, Unary::Sqrt, false),
            N::Ln(x) => unary(self, &x.x, Unary::Ln, false),
            N::Log10(x) => unary(self, &x.x, Unary::Log10, false),
            N::Sin(x) => unary(self, &x.x, Unary::Sin, false),
            N::Cos(x) => unary(self, &x.x, Unary::Cos, false),
            N::Tan(x) => unary(self, &x.x, Unary::Tan, false),
            N::Asin(x) => unary(self, &x.x, Unary::Asin, false),
            N::Acos(x) => unary(self, &x.x, Unary::Acos, false),
            N::Add(x) => self.binary(Combine::Add, &x.left, &x.right, ["left", "right"], ctx, p),
            N::Subtract(x) => {
                self.binary(Combine::Sub, &x.left, &x.right, ["left", "right"], ctx, p)
            }
            N::Multiply(x) => {
                self.binary(Combine::Mul, &x.left, &x.right, ["left", "right"], ctx, p)
            }
            N::Divide(x) => self.binary(Combine::Div, &x.left, &x.right, ["left", "right"], ctx, p),
            N::FloorDivide(x) => self.binary(
                Combine::FloorDiv,
                &x.left,
                &x.right,
                ["left", "right"],
                ctx,
                p,
            ),
            N::Modulo(x) => self.binary(Combine::Mod, &x.left, &x.right, ["left", "right"], ctx, p),
            N::Power(x) => self.binary(
                Combine::Pow,
                &x.base,
                &x.exponent,
                ["base", "exponent"],
                ctx,
                p,
            ),
            N::Atan2(x) => self.binary(Combine::Atan2, &x.y, &x.x, ["y", "x"], ctx, p),
            N::Max(x) => self.nary(
                Combine::Max,
                &x.inputs,
                x.interpolation_configuration.as_ref(),
                ctx,
                p,
            ),
            N::Min(x) => self.nary(
                Combine::Min,
                &x.inputs,
                x.interpolation_configuration.as_ref(),
                ctx,
                p,
            ),
            N::Mean(x) => self.nary(
                Combine::Mean,
                &x.inputs,
                x.interpolation_configuration.as_ref(),
                ctx,
                p,
            ),
            N::Sum(x) => self.nary(
                Combine::Sum,
                &x.inputs,
                x.interpolation_configuration.as_ref(),
                ctx,
                p,
            ),
            N::Product(x) => self.nary(
                Combine::Product,
                &x.inputs,
                x.interpolation_configuration.as_ref(),
                ctx,
                p,
            ),
            N::Union(x) => {
                use wire::scout_compute::NumericUnionOperation as U;
                let agg = match x.operation {
                    None => None,
                    Some(U::Min) => Some(Agg::Min),
                    Some(U::Max) => Some(Agg::Max),
                    Some(U::Mean) => Some(Agg::Mean),
                    Some(U::Sum) => Some(Agg::Sum),
                    Some(U::Count) => Some(Agg::Count),
                    Some(U::StandardDeviation) => Some(Agg::StdDev),
                    #[allow(unreachable_patterns)]
                    Some(other) => {
                        self.unsupported(&format!("{p}.operation"), other.as_str());
                        return None;
                    }
                };
                self.nary_with(Combine::Union(agg), &x.input, "input", 0, ctx, p)
            }
            N::Constant(c) => {
                use wire::scout_compute::ConstantNumericSeries as C;
                match c {
                    C::Double(d) => Some((
                        Num::Constant(self.double(d, ctx, &format!("{p}.double"))?),
                        None,
                    )),
                    other => {
                        self.unsupported(p, other.variant_name());
                        None
                    }
                }
            }
            N::Scale(x) => {
                let k = self.double(&x.scalar, ctx, &format!("{p}.scalar"));
                let (e, u) = sub(self, &x.input, "input")?;
                let u = match (&x.scalar_unit, u) {
                    (Some(su), Some(u)) => combine_units(&u, su, false),
                    (Some(su), None) => Some(su.clone()),
                    (None, u) => u,
                };
                Some((
                    Num::Unary(Unary::Affine { mul: k?, add: 0.0 }, Box::new(e)),
                    u,
                ))
            }
            N::Offset(x) => {
                let k = self.double(&x.scalar, ctx, &format!("{p}.scalar"));
                let (e, u) = sub(self, &x.input, "input")?;
                Some((
                    Num::Unary(Unary::Affine { mul: 1.0, add: k? }, Box::new(e)),
                    u,
                ))
            }
            N::TimeShift(x) => {
                let d = self.duration_const(&x.duration, ctx, &format!("{p}.duration"));
                let (e, u) = sub(self, &x.input, "input")?;
                Some((Num::Shift(Box::new(e), d?), u))
            }
            N::TimeShiftV2(x) => {
                let d = self.duration(&x.duration, ctx, &format!("{p}.duration"));
                let (e, u) = sub(self, &x.input, "input")?;
                Some((Num::Shift(Box::new(e), d?), u))
            }
            N::Derivative(x) => {
                let (unit_ns, sym) = time_unit(x.time_unit);
                let (e, u) = sub(self, &x.input, "input")?;
                let unit = match u {
                    Some(u) => Unit::parse(&u)
                        .and_then(|v| v.per_time(sym))
                        .map(|v| v.symbol)
                        .or(Some(format!("{u}/{sym}"))),
                    None => Some(format!("1/{sym}")),
                };
                Some((
                    Num::Derivative {
                        input: Box::new(e),
                        unit_ns,
                        negatives: negatives(x.negative_values_configuration.as_ref()),
                    },
                    unit,
                ))
            }
            N::ValueDifference(x) => {
                let (e, u) = sub(self, &x.input, "input")?;
                Some((
                    Num::ValueDifference {
                        input: Box::new(e),
                        negatives: negatives(x.negative_values_configuration.as_ref()),
                    },
                    u,
                ))
            }
            N::TimeDifference(x) => {
                let (unit_ns, sym) = time_unit(x.time_unit);
                let (e, _) = self.series(&x.input, ctx, &format!("{p}.input"))?;
                Some((
                    Num::TimeDifference {
                        input: Box::new(e),
                        unit_ns,
                    },
                    Some(sym.to_string()),
                ))
            }
            N::NumericAggregation(x) => {
                let agg = self.agg(&x.operator, ctx, &format!("{p}.operator"));
                let (input, window) = match &*x.input {
                    AggregationBuilder::RollingTime(r) => {
                        let w =
                            self.duration(&r.window, ctx, &format!("{p}.input.rollingTime.window"));
                        let w = positive(self, w, &format!("{p}.input.rollingTime"), "window");
                        (
                            self.series(&r.input, ctx, &format!("{p}.input.rollingTime.input")),
                            w.map(Window::Time),
                        )
                    }
                    AggregationBuilder::RollingPoints(r) => {
                        let n = self.integer(
                            &r.points,
                            ctx,
                            &format!("{p}.input.rollingPoints.points"),
                        );
                        let n = positive(self, n, &format!("{p}.input.rollingPoints"), "points");
                        (
                            self.series(&r.input, ctx, &format!("{p}.input.rollingPoints.input")),
                            n.map(|n| Window::Points(usize::try_from(n).unwrap_or(usize::MAX))),
                        )
                    }
                    other => {
                        self.unsupported(&format!("{p}.input"), other.variant_name());
                        return None;
                    }
                };
                let (input, u) = input?;
                let AnySeries::Numeric(input) = input else {
                    self.invalid(&format!("{p}.input"), "input", InvalidReason::NotNumeric);
                    return None;
                };
                let agg = agg?;
                let unit = if matches!(agg, Agg::Count) { None } else { u };
                Some((
                    Num::Rolling {
                        input: Box::new(input),
                        window: window?,
                        agg,
                        slot: self.rolling_slot(),
                    },
                    unit,
                ))
            }
            N::RollingOperation(x) => {
                let agg = self.agg(&x.operator, ctx, &format!("{p}.operator"));
                let w = match &x.window {
                    WireWindow::Duration(d) => {
                        self.duration_const(d, ctx, &format!("{p}.window.duration"))
                    }
                    other => {
                        self.unsupported(&format!("{p}.window"), other.variant_name());
                        None
                    }
                };
                let w = positive(self, w, &format!("{p}.window"), "window");
                let (e, u) = sub(self, &x.input, "input")?;
                let agg = agg?;
                let unit = if matches!(agg, Agg::Count) { None } else { u };
                Some((
                    Num::Rolling {
                        input: Box::new(e),
                        window: Window::Time(w?),
                        agg,
                        slot: self.rolling_slot(),
                    },
                    unit,
                ))
            }
            N::ThresholdFilter(x) => {
                let t = self.double(&x.threshold, ctx, &format!("{p}.threshold"));
                let (e, u) = sub(self, &x.input, "input")?;
                Some((
                    Num::ThresholdFilter {
                        input: Box::new(e),
                        op: cmp(x.operator),
                        threshold: t?,
                    },
                    u,
                ))
            }
            N::DropNan(x) => {
                let (e, u) = sub(self, &x.input, "input")?;
                Some((Num::DropNan(Box::new(e)), u))
            }
            N::FilterTransformation(x) => {
                let r = self.ranges(&x.filter, ctx, &format!("{p}.filter"));
                let (e, u) = sub(self, &x.input, "input")?;
                Some((
                    Num::RangeFilter {
                        input: Box::new(e),
                        ranges: Box::new(r?),
                    },
                    u,
                ))
            }
            N::UnitConversion(x) => {
                let (e, u) = sub(self, &x.input, "input")?;
                let conv = u
                    .as_deref()
                    .and_then(Unit::parse)
                    .zip(Unit::parse(&x.output_unit))
                    .and_then(|(from, to)| from.conversion_to(&to));
                match conv {
                    Some((mul, add)) => Some((
                        Num::Unary(Unary::Affine { mul, add }, Box::new(e)),
                        Some(x.output_unit.clone()),
                    )),
                    None if u.as_deref() == Some(x.output_unit.as_str()) => Some((e, u)),
                    None => {
                        self.report(
                            p,
                            DiagnosticKind::UnitConversionInvalid {
                                from: u.unwrap_or_default(),
                                to: x.output_unit.clone(),
                            },
                        );
                        None
                    }
                }
            }
            N::EnumToNumeric(x) => {
                let mut mapping = std::collections::BTreeMap::new();
                for (k, v) in &x.mapping {
                    if let Some(v) = self.double(v, ctx, &format!("{p}.mapping.{k}")) {
                        mapping.insert(k.clone(), v);
                    }
                }
                let default = match &x.default_value {
                    Some(d) => Some(self.double(d, ctx, &format!("{p}.defaultValue"))?),
                    None => None,
                };
                let e = self.enum_series(&x.input, ctx, &format!("{p}.input"))?;
                Some((
                    Num::EnumToNumeric {
                        input: Box::new(e),
                        mapping,
                        default,
                    },
                    None,
                ))
            }
            N::IfElse(x) => {
                let c = self.boolean(&x.condition, ctx, &format!("{p}.condition"));
                let t = sub(self, &x.true_value, "trueValue");
                let f = sub(self, &x.false_value, "falseValue");
                let ((t, u), (f, _), c) = (t?, f?, c?);
                let fill = self.fill(None, ctx, p);
                Some((
                    Num::Combine {
                        op: Combine::IfElse,
                        inputs: vec![c, t, f],
                        fill,
                    },
                    u,
                ))
            }
            N::CumulativeSum(x) => {
                let start = self.timestamp(&x.start_timestamp, ctx, &format!("{p}.startTimestamp"));
                let (e, u) = sub(self, &x.input, "input")?;
                Some((
                    Num::CumulativeSum {
                        input: Box::new(e),
                        start: start?,
                    },
                    u,
                ))
            }
            N::Integral(x) => {
                let start = self.timestamp(&x.start_timestamp, ctx, &format!("{p}.startTimestamp"));
                let (unit_ns, sym) = time_unit(x.time_unit);
                let (e, u) = sub(self, &x.input, "input")?;
                let unit = u
                    .as_deref()
                    .and_then(Unit::parse)
                    .and_then(|v| v.times_time(sym))
                    .map(|v| v.symbol);
                Some((
                    Num::Integral {
                        input: Box::new(e),
                        start: start?,
                        unit_ns,
                    },
                    unit,
                ))
            }
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    fn agg(&mut self, op: &NumericAggregationOperator, ctx: &Context, path: &str) -> Option<Agg> {
        use NumericAggregationOperator as O;
        Some(match op {
            O::Sum(_) => Agg::Sum,
            O::Average(_) => Agg::Mean,
            O::Min(_) => Agg::Min,
            O::Max(_) => Agg::Max,
            O::Count(_) => Agg::Count,
            O::StandardDeviation(_) => Agg::StdDev,
            O::RootMeanSquare(_) => Agg::Rms,
            O::Percentile(x) => {
                let q =
                    self.double(&x.percentile, ctx, &format!("{path}.percentile.percentile"))?;
                if !(0.0..=1.0).contains(&q) {
                    self.invalid(
                        &format!("{path}.percentile"),
                        "percentile",
                        InvalidReason::OutOfRange,
                    );
                    return None;
                }
                Agg::Percentile(q)
            }
            other => {
                self.unsupported(path, other.variant_name());
                return None;
            }
        })
    }

    /// The forward-fill limit: the node's interpolation radius, else the context's
    /// default fill strategy, else 1 s.
    pub(crate) fn fill(
        &mut self,
        node: Option<&InterpolationConfiguration>,
        ctx: &Context,
        path: &str,
    ) -> i64 {
        let limit = match node {
            Some(InterpolationConfiguration::ForwardFillInterpolation(f)) => self.duration_const(
                &f.interpolation_radius,
                ctx,
                &format!("{path}.interpolationConfiguration.forwardFillInterpolation.interpolationRadius"),
            ),
            Some(other) => {
                self.unsupported(&format!("{path}.interpolationConfiguration"), other.variant_name());
                None
            }
            None => match &ctx.default_fill_strategy {
                Some(FillStrategy::ForwardFill(f)) => match &f.limit {
                    FillLimit::Duration(d) => self.duration_const(d, ctx, "context.defaultFillStrategy.forwardFill.limit.duration"),
                    other => {
                        self.unsupported("context.defaultFillStrategy.forwardFill.limit", other.variant_name());
                        None
                    }
                },
                Some(other) => {
                    self.unsupported("context.defaultFillStrategy", other.variant_name());
                    None
                }
                None => None,
            },
        };
        limit.unwrap_or(DEFAULT_FILL).max(0)
    }

    #[allow(clippy::too_many_arguments)]
    fn binary(
        &mut self,
        op: Combine,
        left: &NumericSeries,
        right: &NumericSeries,
        names: [&str; 2],
        ctx: &Context,
        path: &str,
    ) -> Option<Typed<Num>> {
        let l = self.numeric(left, ctx, &format!("{path}.{}", names[0]));
        let r = self.numeric(right, ctx, &format!("{path}.{}", names[1]));
        let fill = self.fill(None, ctx, path);
        let ((l, lu), (r, ru)) = (l?, r?);
        self.combine_typed(op, vec![(l, lu), (r, ru)], fill, path)
    }

    fn nary(
        &mut self,
        op: Combine,
        inputs: &[NumericSeries],
        interp: Option<&InterpolationConfiguration>,
        ctx: &Context,
        path: &str,
    ) -> Option<Typed<Num>> {
        let fill = self.fill(interp, ctx, path);
        self.nary_with(op, inputs, "inputs", fill, ctx, path)
    }

    fn nary_with(
        &mut self,
        op: Combine,
        inputs: &[NumericSeries],
        field: &str,
        fill: i64,
        ctx: &Context,
        path: &str,
    ) -> Option<Typed<Num>> {
        if inputs.is_empty() {
            self.invalid(path, "inputs", InvalidReason::Missing);
            return None;
        }
        let lowered: Vec<_> = inputs
            .iter()
            .enumerate()
            .map(|(i, x)| self.numeric(x, ctx, &format!("{path}.{field}.{i}")))
            .collect();
        let lowered: Option<Vec<_>> = lowered.into_iter().collect();
        self.combine_typed(op, lowered?, fill, path)
    }

    /// Combines inputs, reconciling their units (see the module docs).
    pub(crate) fn combine_typed(
        &mut self,
        op: Combine,
        inputs: Vec<Typed<Num>>,
        fill: i64,
        path: &str,
    ) -> Option<Typed<Num>> {
        let same_dimension = matches!(
            op,
            Combine::Add
                | Combine::Sub
                | Combine::Max
                | Combine::Min
                | Combine::Mean
                | Combine::Sum
                | Combine::Union(_)
                | Combine::Compare(_)
        );
        let mut unit: Option<String> = None;
        let mut exprs = Vec::with_capacity(inputs.len());
        for (i, (e, u)) in inputs.into_iter().enumerate() {
            let e = match (&unit, &u, same_dimension) {
                (Some(have), Some(u), true) if have != u => {
                    let conv = Unit::parse(u)
                        .zip(Unit::parse(have))
                        .and_then(|(f, t)| f.conversion_to(&t));
                    match conv {
                        Some((mul, add)) => Num::Unary(Unary::Affine { mul, add }, Box::new(e)),
                        None => {
                            self.report(
                                path,
                                DiagnosticKind::UnitConversionInvalid {
                                    from: u.clone(),
                                    to: have.clone(),
                                },
                            );
                            return None;
                        }
                    }
                }
                _ => e,
            };
            unit = match (op, unit.take(), u) {
                (_, None, u) if i == 0 => u,
                (Combine::Mul, Some(a), Some(b)) => combine_units(&a, &b, false),
                (Combine::Div, Some(a), Some(b)) => combine_units(&a, &b, true),
                (Combine::Div, None, Some(b)) => Some(format!("1/{b}")),
                (Combine::Pow, _, _) => None,
                (Combine::Atan2, _, _) => Some("rad".to_string()),
                (_, a, b) => a.or(b),
            };
            exprs.push(e);
        }
        if matches!(op, Combine::Compare(_) | Combine::And | Combine::Or) {
            unit = None;
        }
        Some((
            Num::Combine {
                op,
                inputs: exprs,
                fill,
            },
            unit,
        ))
    }
}

fn combine_units(a: &str, b: &str, divide: bool) -> Option<String> {
    match (Unit::parse(a), Unit::parse(b)) {
        (Some(x), Some(y)) => x.combine(&y, divide).map(|u| u.symbol),
        _ if divide => Some(format!("{a}/{b}")),
        _ => Some(format!("{a}*{b}")),
    }
}

fn negatives(c: Option<&NegativeValueConfiguration>) -> Negatives {
    match c {
        Some(NegativeValueConfiguration::SetNegativeValuesToZero(_)) => Negatives::Zero,
        Some(NegativeValueConfiguration::ExcludeNegativeValues(_)) => Negatives::Exclude,
        _ => Negatives::Allow,
    }
}

pub(crate) fn cmp(op: ThresholdOperator) -> Cmp {
    match op {
        ThresholdOperator::GreaterThan => Cmp::Gt,
        ThresholdOperator::GreaterThanOrEqualTo => Cmp::Ge,
        ThresholdOperator::LessThan => Cmp::Lt,
        ThresholdOperator::LessThanOrEqualTo => Cmp::Le,
        ThresholdOperator::EqualTo => Cmp::Eq,
        ThresholdOperator::NotEqualTo => Cmp::Ne,
    }
}
