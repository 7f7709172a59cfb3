//! Owns the function library of the language (`derivative`, `rolling_mean`, `shift`, ...):
//! each name, the arguments it accepts and the graph node it lowers to.

use super::nodes::{self, lit, union};
use super::{Arg, Lowering, Val};
use crate::ast::Expr;
use crate::error::{ExprError, Pos, Reason};
use crate::lexer::DurationLit;
use serde_json::{json, Value};

/// Every function name, for docs and "did you mean" lists.
pub(crate) const FUNCTIONS: &[&str] = &[
    "abs",
    "negate",
    "sqrt",
    "ln",
    "log10",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan2",
    "max",
    "min",
    "mean",
    "sum",
    "product",
    "derivative",
    "difference",
    "time_difference",
    "rolling_mean",
    "rolling_min",
    "rolling_max",
    "rolling_sum",
    "rolling_count",
    "rolling_std",
    "rolling_rms",
    "rolling_percentile",
    "scale",
    "offset",
    "convert",
    "shift",
    "drop_nan",
    "on_change",
    "longer_than",
    "pad",
    "group_by",
    "numeric",
    "enum",
    "log",
];

fn arity(pos: Pos, name: &str, expected: &'static str, found: usize) -> ExprError {
    ExprError::new(
        pos,
        Reason::Arity {
            function: name.to_string(),
            expected,
            found,
        },
    )
}

fn out_of_range(pos: Pos, name: &str, problem: impl Into<String>) -> ExprError {
    ExprError::new(
        pos,
        Reason::OutOfRange {
            context: format!("`{name}`"),
            problem: problem.into(),
        },
    )
}

/// A duration as the wire's `Duration` union; it must fit a 32-bit count of some unit.
fn wire_duration(arg: &Arg, name: &str) -> Result<Value, ExprError> {
    let d = arg.duration(&format!("`{name}`"))?;
    nodes::duration(d).ok_or_else(|| {
        out_of_range(
            arg.pos,
            name,
            "the duration does not fit a 32-bit count of any unit",
        )
    })
}

fn positive_duration(arg: &Arg, name: &str) -> Result<Value, ExprError> {
    let d = arg.duration(&format!("`{name}`"))?;
    if d.nanos <= 0 {
        return Err(out_of_range(
            arg.pos,
            name,
            "the window must be longer than zero",
        ));
    }
    wire_duration(arg, name)
}

/// A rate unit written as one unit of time: `1s`, `1ms`, `1min`, `1h`.
fn rate_unit(arg: &Arg, name: &str) -> Result<&'static str, ExprError> {
    let DurationLit { nanos, unit } = arg.duration(&format!("`{name}`"))?;
    if nanos != unit.nanos() {
        return Err(out_of_range(
            arg.pos,
            name,
            "the rate unit is one unit of time: 1ns, 1us, 1ms, 1s, 1m, 1h or 1d",
        ));
    }
    Ok(nodes::time_unit(unit))
}

/// Lowers `name(args...)`.
pub(crate) fn call(
    lw: &mut Lowering<'_>,
    pos: Pos,
    name: &str,
    args: &[Expr],
) -> Result<Val, ExprError> {
    let ctx = format!("`{name}`");
    // `group_by` changes how its first argument is lowered, so it goes before the others.
    if name == "group_by" {
        let Some((input, keys)) = args.split_first().filter(|(_, keys)| !keys.is_empty()) else {
            return Err(arity(
                pos,
                name,
                "a series and at least one tag key",
                args.len(),
            ));
        };
        let mut tags = Vec::new();
        for key in keys {
            tags.push(tag_key(key)?);
        }
        let before = lw.group_by.len();
        lw.group_by.extend(tags);
        let out = lw.lower(input);
        lw.group_by.truncate(before);
        return out;
    }
    if !FUNCTIONS.contains(&name) {
        return Err(ExprError::new(
            pos,
            Reason::UnknownFunction {
                name: name.to_string(),
            },
        ));
    }
    let mut lowered = Vec::with_capacity(args.len());
    for a in args {
        lowered.push(lw.arg(a)?);
    }
    let n = lowered.len();
    let exact1 = |args: Vec<Arg>, expected| exact::<1>(pos, name, expected, args);
    let exact2 = |args: Vec<Arg>, expected| exact::<2>(pos, name, expected, args);
    let numeric = |v: Value| Ok(Val::Numeric(v));
    match name {
        "abs" | "negate" | "sqrt" | "ln" | "log10" | "sin" | "cos" | "tan" | "asin" | "acos" => {
            let [x] = exact1(lowered, "1 argument")?;
            let variant = name;
            numeric(union(variant, json!({ "x": x.numeric(&ctx)? })))
        }
        "atan2" => {
            let [y, x] = exact2(lowered, "2 arguments (y, x)")?;
            numeric(union(
                "atan2",
                json!({"y": y.numeric(&ctx)?, "x": x.numeric(&ctx)?}),
            ))
        }
        "max" | "min" | "mean" | "sum" | "product" => {
            if n == 0 {
                return Err(arity(pos, name, "at least 1 argument", 0));
            }
            let inputs = lowered
                .into_iter()
                .map(|a| a.numeric(&ctx))
                .collect::<Result<Vec<_>, _>>()?;
            numeric(union(name, json!({ "inputs": inputs })))
        }
        "derivative" | "time_difference" => {
            let mut args = lowered.into_iter();
            let (Some(input), unit, None) = (args.next(), args.next(), args.next()) else {
                return Err(arity(
                    pos,
                    name,
                    "1 or 2 arguments (series, rate unit such as 1s)",
                    n,
                ));
            };
            let mut body = serde_json::Map::new();
            if name == "derivative" {
                body.insert("input".into(), input.numeric(&ctx)?);
            } else {
                body.insert("input".into(), input.series(&ctx)?);
            }
            if let Some(unit) = unit {
                body.insert("timeUnit".into(), json!(rate_unit(&unit, name)?));
            }
            let variant = if name == "derivative" {
                "derivative"
            } else {
                "timeDifference"
            };
            numeric(union(variant, Value::Object(body)))
        }
        "difference" => {
            let [x] = exact1(lowered, "1 argument")?;
            numeric(union(
                "valueDifference",
                json!({ "input": x.numeric(&ctx)? }),
            ))
        }
        "rolling_mean" | "rolling_min" | "rolling_max" | "rolling_sum" | "rolling_count"
        | "rolling_std" | "rolling_rms" | "rolling_percentile" => {
            let percentile = name == "rolling_percentile";
            let expected = if percentile {
                "3 arguments (series, window, percentile in [0, 1])"
            } else {
                "2 arguments (series, window such as 1s or a point count)"
            };
            if n != 2 + usize::from(percentile) {
                return Err(arity(pos, name, expected, n));
            }
            let mut args = lowered.into_iter();
            let (Some(input), Some(window)) = (args.next(), args.next()) else {
                return Err(arity(pos, name, expected, n));
            };
            let operator = match name {
                "rolling_mean" => union("average", json!({})),
                "rolling_min" => union("min", json!({})),
                "rolling_max" => union("max", json!({})),
                "rolling_sum" => union("sum", json!({})),
                "rolling_count" => union("count", json!({})),
                "rolling_std" => union("standardDeviation", json!({})),
                "rolling_rms" => union("rootMeanSquare", json!({})),
                _ => {
                    let p = args
                        .next()
                        .ok_or_else(|| arity(pos, name, "3 arguments", n))?;
                    let value = p.number(&ctx)?;
                    if !(0.0..=1.0).contains(&value) {
                        return Err(out_of_range(
                            p.pos,
                            name,
                            format!("percentile {value} is outside [0, 1]; write 0.95 for p95"),
                        ));
                    }
                    union("percentile", json!({ "percentile": lit(value) }))
                }
            };
            let input = if name == "rolling_count" {
                input.series(&ctx)?
            } else {
                union("numeric", input.numeric(&ctx)?)
            };
            let builder = match window.val {
                Val::Number(points) => {
                    if points.fract() != 0.0 || !(1.0..=f64::from(i32::MAX)).contains(&points) {
                        return Err(out_of_range(
                            window.pos,
                            name,
                            "a window of points is a whole number of at least 1",
                        ));
                    }
                    union(
                        "rollingPoints",
                        json!({"input": input, "points": lit(points as i32)}),
                    )
                }
                _ => union(
                    "rollingTime",
                    json!({"input": input, "window": positive_duration(&window, name)?}),
                ),
            };
            numeric(union(
                "numericAggregation",
                json!({"input": builder, "operator": operator}),
            ))
        }
        "scale" | "offset" => {
            let [x, k] = exact2(lowered, "2 arguments (series, number)")?;
            let scalar = k.number(&ctx)?;
            numeric(union(
                name,
                json!({"input": x.numeric(&ctx)?, "scalar": lit(scalar)}),
            ))
        }
        "convert" => {
            let [x, unit] = exact2(lowered, "2 arguments (series, \"unit\")")?;
            let unit = unit.string(&ctx)?;
            numeric(union(
                "unitConversion",
                json!({"input": x.numeric(&ctx)?, "outputUnit": unit}),
            ))
        }
        "shift" => {
            let [x, by] = exact2(lowered, "2 arguments (series, duration)")?;
            let duration = nodes::duration_constant(by.duration(&ctx)?);
            match x.val {
                Val::Enum(_) => Ok(Val::Enum(union(
                    "timeShift",
                    json!({"input": x.enumeration(&ctx)?, "duration": duration}),
                ))),
                _ => numeric(union(
                    "timeShift",
                    json!({"input": x.numeric(&ctx)?, "duration": duration}),
                )),
            }
        }
        "drop_nan" => {
            let [x] = exact1(lowered, "1 argument")?;
            numeric(union("dropNan", json!({ "input": x.numeric(&ctx)? })))
        }
        "on_change" => {
            let [x] = exact1(lowered, "1 argument")?;
            let input = match x.val {
                Val::Untyped(v) => union("enum", v),
                _ => x.series(&ctx)?,
            };
            Ok(Val::Ranges(union("onChange", json!({ "input": input }))))
        }
        "longer_than" => {
            let [r, d] = exact2(lowered, "2 arguments (ranges, duration)")?;
            let duration = positive_duration(&d, name)?;
            Ok(Val::Ranges(union(
                "durationFilterV2",
                json!({"input": r.ranges(&ctx)?, "duration": duration, "comparison": "GREATER_THAN"}),
            )))
        }
        "pad" => {
            let [r, d] = exact2(lowered, "2 arguments (ranges, duration)")?;
            let duration = positive_duration(&d, name)?;
            Ok(Val::Ranges(union(
                "paddedRangesV2",
                json!({"input": r.ranges(&ctx)?, "duration": duration,
                       "paddingConfiguration": "PAD_START_AND_END"}),
            )))
        }
        "numeric" | "enum" | "log" => {
            let [x] = exact1(lowered, "1 argument")?;
            match (name, x.val) {
                ("numeric", Val::Untyped(v) | Val::Numeric(v)) => Ok(Val::Numeric(v)),
                ("enum", Val::Untyped(v) | Val::Enum(v)) => Ok(Val::Enum(v)),
                ("log", Val::Untyped(v) | Val::Log(v)) => Ok(Val::Log(v)),
                (_, other) => Err(super::mismatch(x.pos, &ctx, "a channel", &other)),
            }
        }
        _ => Err(ExprError::new(
            pos,
            Reason::UnknownFunction {
                name: name.to_string(),
            },
        )),
    }
}

/// A tag key for `group_by`: a bare name or a string.
fn tag_key(expr: &Expr) -> Result<String, ExprError> {
    match &expr.kind {
        crate::ast::ExprKind::Str(s) => Ok(s.clone()),
        crate::ast::ExprKind::Channel {
            dataset: None,
            name,
            tags,
        } if tags.is_empty() => Ok(name.clone()),
        _ => Err(ExprError::new(
            expr.pos,
            Reason::Expected {
                expected: "a tag key".to_string(),
                found: "an expression".to_string(),
            },
        )),
    }
}

/// Exactly `N` arguments, or an arity error naming what the function takes.
fn exact<const N: usize>(
    pos: Pos,
    name: &str,
    expected: &'static str,
    args: Vec<Arg>,
) -> Result<[Arg; N], ExprError> {
    args.try_into()
        .map_err(|args: Vec<Arg>| arity(pos, name, expected, args.len()))
}
