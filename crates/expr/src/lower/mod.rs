//! Owns lowering a syntax tree to upstream graph JSON: the type of every subexpression
//! (numeric, enum, log, boolean, ranges, or a constant), the coercions between them, and
//! the operators. Functions live in [`functions`]; JSON shapes in [`nodes`].

mod functions;
pub(crate) use functions::FUNCTIONS;
mod nodes;

use crate::ast::{BinOp, Expr, ExprKind};
use crate::error::{ExprError, Pos, Reason};
use crate::lexer::DurationLit;
use crate::{ChannelKind, ChannelTypes, ResultKind};
use nodes::{constant, union};
use serde_json::{json, Value};

/// A lowered subexpression and its type.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    /// A `NumericSeries`.
    Numeric(Value),
    /// An `EnumSeries`.
    Enum(Value),
    /// A `LogSeries`.
    Log(Value),
    /// A channel whose type the catalogue does not know yet; its use decides.
    Untyped(Value),
    /// A `BooleanSeries` (a comparison); a range series where one is needed.
    Boolean(Value),
    /// A `RangeSeries`.
    Ranges(Value),
    Number(f64),
    Str(String),
    Duration(DurationLit),
}

impl Val {
    /// How the value reads in an error message.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Val::Numeric(_) => "a numeric series",
            Val::Enum(_) => "an enum series",
            Val::Log(_) => "a log series",
            Val::Untyped(_) => "a channel",
            Val::Boolean(_) => "a condition",
            Val::Ranges(_) => "a range series",
            Val::Number(_) => "a number",
            Val::Str(_) => "a string",
            Val::Duration(_) => "a duration",
        }
    }
}

/// What lowering needs from the caller.
pub(crate) struct Lowering<'a> {
    pub(crate) default_dataset: Option<&'a str>,
    pub(crate) types: &'a dyn ChannelTypes,
    /// Tags of enclosing `group_by(...)` calls, applied to every channel inside.
    pub(crate) group_by: Vec<String>,
}

/// A value paired with where it was written, for coercion errors.
pub(crate) struct Arg {
    pub(crate) pos: Pos,
    pub(crate) val: Val,
}

fn mismatch(pos: Pos, context: &str, expected: &'static str, found: &Val) -> ExprError {
    ExprError::new(
        pos,
        Reason::TypeMismatch {
            context: context.to_string(),
            expected,
            found: found.describe(),
        },
    )
}

impl Arg {
    /// A `NumericSeries`; numbers become constant series.
    pub(crate) fn numeric(self, context: &str) -> Result<Value, ExprError> {
        match self.val {
            Val::Numeric(v) | Val::Untyped(v) => Ok(v),
            Val::Number(n) => Ok(constant(n)),
            other => Err(mismatch(self.pos, context, "a numeric series", &other)),
        }
    }

    /// An `EnumSeries`.
    pub(crate) fn enumeration(self, context: &str) -> Result<Value, ExprError> {
        match self.val {
            Val::Enum(v) | Val::Untyped(v) => Ok(v),
            other => Err(mismatch(self.pos, context, "an enum series", &other)),
        }
    }

    /// A `LogSeries`.
    pub(crate) fn log(self, context: &str) -> Result<Value, ExprError> {
        match self.val {
            Val::Log(v) | Val::Untyped(v) => Ok(v),
            other => Err(mismatch(self.pos, context, "a log series", &other)),
        }
    }

    /// A `RangeSeries`; conditions become their true ranges.
    pub(crate) fn ranges(self, context: &str) -> Result<Value, ExprError> {
        match self.val {
            Val::Ranges(v) => Ok(v),
            Val::Boolean(v) => Ok(union("booleanRanges", json!({ "input": v }))),
            other => Err(mismatch(self.pos, context, "ranges or a condition", &other)),
        }
    }

    /// The `Series` union (numeric, enum or log).
    pub(crate) fn series(self, context: &str) -> Result<Value, ExprError> {
        match self.val {
            Val::Numeric(v) | Val::Untyped(v) => Ok(union("numeric", v)),
            Val::Number(n) => Ok(union("numeric", constant(n))),
            Val::Enum(v) => Ok(union("enum", v)),
            Val::Log(v) => Ok(union("log", v)),
            other => Err(mismatch(self.pos, context, "a series", &other)),
        }
    }

    pub(crate) fn number(&self, context: &str) -> Result<f64, ExprError> {
        match self.val {
            Val::Number(n) => Ok(n),
            ref other => Err(mismatch(self.pos, context, "a number", other)),
        }
    }

    pub(crate) fn string(self, context: &str) -> Result<String, ExprError> {
        match self.val {
            Val::Str(s) => Ok(s),
            other => Err(mismatch(self.pos, context, "a string", &other)),
        }
    }

    pub(crate) fn duration(&self, context: &str) -> Result<DurationLit, ExprError> {
        match self.val {
            Val::Duration(d) => Ok(d),
            ref other => Err(mismatch(self.pos, context, "a duration such as 1s", other)),
        }
    }
}

impl Lowering<'_> {
    /// Lowers a whole expression to a `ComputableNode` JSON value and its result kind.
    pub(crate) fn top(&mut self, expr: &Expr) -> Result<(Value, ResultKind), ExprError> {
        let arg = Arg {
            pos: expr.pos,
            val: self.lower(expr)?,
        };
        let summarize = |input: Value| union("series", json!({ "input": input }));
        Ok(match arg.val {
            Val::Numeric(_) | Val::Untyped(_) | Val::Number(_) => (
                summarize(arg.series("the expression")?),
                ResultKind::Numeric,
            ),
            Val::Enum(_) => (summarize(arg.series("the expression")?), ResultKind::Enum),
            Val::Log(_) => (summarize(arg.series("the expression")?), ResultKind::Log),
            Val::Boolean(_) | Val::Ranges(_) => (
                union("ranges", json!({ "input": arg.ranges("the expression")? })),
                ResultKind::Ranges,
            ),
            other => {
                return Err(mismatch(
                    expr.pos,
                    "the expression",
                    "a series, ranges or a condition",
                    &other,
                ))
            }
        })
    }

    pub(crate) fn lower(&mut self, expr: &Expr) -> Result<Val, ExprError> {
        let pos = expr.pos;
        Ok(match &expr.kind {
            ExprKind::Number(n) => Val::Number(*n),
            ExprKind::Str(s) => Val::Str(s.clone()),
            ExprKind::Duration(d) => Val::Duration(*d),
            ExprKind::Channel {
                dataset,
                name,
                tags,
            } => {
                let dataset = match (dataset.as_deref(), self.default_dataset) {
                    (Some(d), _) | (None, Some(d)) => d,
                    (None, None) => {
                        return Err(ExprError::new(
                            pos,
                            Reason::NoDataset {
                                channel: name.clone(),
                            },
                        ))
                    }
                };
                let node = nodes::channel(dataset, name, tags, &self.group_by);
                match self.types.kind(dataset, name) {
                    Some(ChannelKind::Numeric) => Val::Numeric(node),
                    Some(ChannelKind::Enum) => Val::Enum(node),
                    Some(ChannelKind::Log) => Val::Log(node),
                    None => Val::Untyped(node),
                }
            }
            ExprKind::Call { name, args } => return functions::call(self, pos, name, args),
            ExprKind::Neg(inner) => {
                let arg = self.arg(inner)?;
                match arg.val {
                    Val::Number(n) => Val::Number(-n),
                    Val::Duration(d) => Val::Duration(DurationLit {
                        nanos: d.nanos.checked_neg().ok_or_else(|| {
                            ExprError::new(
                                pos,
                                Reason::DurationOutOfRange {
                                    text: "-".to_string(),
                                },
                            )
                        })?,
                        unit: d.unit,
                    }),
                    _ => Val::Numeric(union("negate", json!({ "x": arg.numeric("'-'")? }))),
                }
            }
            ExprKind::Not(inner) => {
                let arg = self.arg(inner)?;
                Val::Ranges(union("not", json!({ "input": arg.ranges("`not`")? })))
            }
            ExprKind::Binary { op, left, right } => {
                let (l, r) = (self.arg(left)?, self.arg(right)?);
                self.binary(pos, *op, l, r)?
            }
            ExprKind::In { input, values } => {
                let input = self.arg(input)?;
                let values = values
                    .iter()
                    .map(|v| self.arg(v)?.string("`in`"))
                    .collect::<Result<Vec<_>, _>>()?;
                enum_filter(input, "IS_IN", values)?
            }
        })
    }

    pub(crate) fn arg(&mut self, expr: &Expr) -> Result<Arg, ExprError> {
        Ok(Arg {
            pos: expr.pos,
            val: self.lower(expr)?,
        })
    }

    fn binary(&mut self, pos: Pos, op: BinOp, l: Arg, r: Arg) -> Result<Val, ExprError> {
        let context = format!("'{}'", op.symbol());
        match op {
            BinOp::Or | BinOp::And => {
                if let (Val::Boolean(a), Val::Boolean(b)) = (&l.val, &r.val) {
                    let variant = if op == BinOp::Or { "or" } else { "and" };
                    return Ok(Val::Boolean(union(variant, json!({"left": a, "right": b}))));
                }
                let variant = if op == BinOp::Or {
                    "unionRange"
                } else {
                    "intersectRange"
                };
                let inputs = vec![l.ranges(&context)?, r.ranges(&context)?];
                Ok(Val::Ranges(union(variant, json!({ "inputs": inputs }))))
            }
            BinOp::Eq | BinOp::Ne if is_str(&l) || is_str(&r) => {
                let (series, text) = if is_str(&r) { (l, r) } else { (r, l) };
                let value = text.string(&context)?;
                let operator = if op == BinOp::Eq {
                    "IS_IN"
                } else {
                    "IS_NOT_IN"
                };
                enum_filter(series, operator, vec![value])
            }
            BinOp::Gt | BinOp::Ge | BinOp::Lt | BinOp::Le | BinOp::Eq | BinOp::Ne => {
                if let (Val::Number(_), Val::Number(_)) = (&l.val, &r.val) {
                    return Err(mismatch(r.pos, &context, "a series on one side", &r.val));
                }
                let variant = match op {
                    BinOp::Gt => "greaterThan",
                    BinOp::Ge => "greaterThanOrEqualTo",
                    BinOp::Lt => "lessThan",
                    BinOp::Le => "lessThanOrEqualTo",
                    BinOp::Eq => "equalTo",
                    _ => "notEqualTo",
                };
                let body = json!({"left": l.numeric(&context)?, "right": r.numeric(&context)?});
                Ok(Val::Boolean(union(variant, body)))
            }
            BinOp::Contains | BinOp::Matches => {
                let text = r.string(&context)?;
                let operator = if op == BinOp::Contains {
                    union("exactMatchCaseInsensitiveFilter", json!({ "token": text }))
                } else {
                    union("regexFilter", json!({ "regex": text }))
                };
                let input = l.log(&context)?;
                Ok(Val::Log(union(
                    "filter",
                    json!({"input": input, "operator": operator}),
                )))
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod | BinOp::Pow => {
                if let (Val::Number(a), Val::Number(b)) = (&l.val, &r.val) {
                    return fold(pos, op, *a, *b);
                }
                let (variant, left_name, right_name) = match op {
                    BinOp::Add => ("add", "left", "right"),
                    BinOp::Sub => ("subtract", "left", "right"),
                    BinOp::Mul => ("multiply", "left", "right"),
                    BinOp::Div => ("divide", "left", "right"),
                    BinOp::Mod => ("modulo", "left", "right"),
                    _ => ("power", "base", "exponent"),
                };
                let mut body = serde_json::Map::new();
                body.insert(left_name.into(), l.numeric(&context)?);
                body.insert(right_name.into(), r.numeric(&context)?);
                Ok(Val::Numeric(union(variant, Value::Object(body))))
            }
        }
    }
}

fn is_str(arg: &Arg) -> bool {
    matches!(arg.val, Val::Str(_))
}

/// `state == "open"`, `state != "open"`, `state in ("a", "b")`: the ranges where an enum
/// series holds (or does not hold) one of the values.
fn enum_filter(series: Arg, operator: &str, values: Vec<String>) -> Result<Val, ExprError> {
    let input = series.enumeration("an enum comparison")?;
    Ok(Val::Ranges(union(
        "enumFilter",
        json!({"input": input, "operator": operator, "values": nodes::lit(values)}),
    )))
}

/// Arithmetic on two numbers is done here, so `2 * 1000` costs nothing at evaluation.
fn fold(pos: Pos, op: BinOp, a: f64, b: f64) -> Result<Val, ExprError> {
    let v = match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        BinOp::Mod => a % b,
        _ => a.powf(b),
    };
    if !v.is_finite() {
        return Err(ExprError::new(
            pos,
            Reason::OutOfRange {
                context: format!("'{}'", op.symbol()),
                problem: format!("{a} {} {b} is not a finite number", op.symbol()),
            },
        ));
    }
    Ok(Val::Number(v))
}
