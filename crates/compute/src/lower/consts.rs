//! Constants: doubles, integers, durations (every `Duration` union form and
//! `DurationConstant`), timestamps and time units, literal or from `Context.variables`.
//! In structural mode (classification) variables resolve to placeholders so the walk
//! still reaches every node.

use wire::scout_compute::{
    BuiltinConstant, Context, DoubleConstant, Duration, DurationConstant, IntegerConstant,
    MathConstant, TimestampConstant, VariableValue,
};

use crate::error::InvalidReason;
use crate::lower::Lowerer;

const NS: [(&str, i64); 6] = [
    ("nanoseconds", 1),
    ("milliseconds", 1_000_000),
    ("seconds", 1_000_000_000),
    ("minutes", 60_000_000_000),
    ("hours", 3_600_000_000_000),
    ("days", 86_400_000_000_000),
];

impl Lowerer<'_> {
    pub(crate) fn double(&mut self, c: &DoubleConstant, ctx: &Context, path: &str) -> Option<f64> {
        match c {
            DoubleConstant::Literal(v) => Some(v.0),
            DoubleConstant::Variable(name) => {
                let path = format!("{path}.variable");
                match self.variable(name, ctx, &path)? {
                    None => Some(0.0),
                    Some(VariableValue::Double(v)) => Some(v.0),
                    Some(VariableValue::Integer(v)) => Some(f64::from(*v)),
                    Some(other) => {
                        self.wrong_variable(&path, name, "double", other.variant_name());
                        None
                    }
                }
            }
            DoubleConstant::Builtin(BuiltinConstant::Math(m)) => Some(match m {
                MathConstant::Pi => std::f64::consts::PI,
                MathConstant::Tau => std::f64::consts::TAU,
                MathConstant::E => std::f64::consts::E,
            }),
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    pub(crate) fn integer(
        &mut self,
        c: &IntegerConstant,
        ctx: &Context,
        path: &str,
    ) -> Option<i64> {
        match c {
            IntegerConstant::Literal(v) => Some(i64::from(*v)),
            IntegerConstant::Variable(name) => {
                let path = format!("{path}.variable");
                match self.variable(name, ctx, &path)? {
                    None => Some(1),
                    Some(VariableValue::Integer(v)) => Some(i64::from(*v)),
                    Some(other) => {
                        self.wrong_variable(&path, name, "integer", other.variant_name());
                        None
                    }
                }
            }
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    fn run_duration(&mut self, d: &wire::scout_run::Duration, path: &str) -> Option<i64> {
        match wire::time::duration_to_nanos(d) {
            Ok(n) => Some(n),
            Err(_) => {
                self.invalid(path, "duration", InvalidReason::OutOfRange);
                None
            }
        }
    }

    /// `DurationConstant`: a literal `{seconds, nanos}` or a duration variable (ns).
    pub(crate) fn duration_const(
        &mut self,
        c: &DurationConstant,
        ctx: &Context,
        path: &str,
    ) -> Option<i64> {
        match c {
            DurationConstant::Literal(d) => self.run_duration(d, &format!("{path}.literal")),
            DurationConstant::Variable(name) => {
                let path = format!("{path}.variable");
                self.duration_variable(name, ctx, &path)
            }
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    fn duration_variable(&mut self, name: &str, ctx: &Context, path: &str) -> Option<i64> {
        match self.variable(name, ctx, path)? {
            None => Some(1),
            Some(VariableValue::Duration(d)) => self.run_duration(d, path),
            Some(other) => {
                self.wrong_variable(path, name, "duration", other.variant_name());
                None
            }
        }
    }

    /// The `Duration` union (ns): unit literals, `add`, `subtract`, `negate`, references.
    pub(crate) fn duration(&mut self, d: &Duration, ctx: &Context, path: &str) -> Option<i64> {
        let name = d.variant_name();
        let p = format!("{path}.{name}");
        let count = |l: &mut Self, c: &IntegerConstant, field: &str| {
            let n = l.integer(c, ctx, &format!("{p}.{field}"))?;
            let per = NS.iter().find(|(u, _)| *u == field).map_or(1, |(_, n)| *n);
            let out = n.checked_mul(per);
            if out.is_none() {
                l.invalid(&p, "duration", InvalidReason::OutOfRange);
            }
            out
        };
        match d {
            Duration::Nanoseconds(x) => count(self, &x.nanoseconds, "nanoseconds"),
            Duration::Milliseconds(x) => count(self, &x.milliseconds, "milliseconds"),
            Duration::Seconds(x) => count(self, &x.seconds, "seconds"),
            Duration::Minutes(x) => count(self, &x.minutes, "minutes"),
            Duration::Hours(x) => count(self, &x.hours, "hours"),
            Duration::Days(x) => count(self, &x.days, "days"),
            Duration::Add(x) => {
                let l = self.duration(&x.left, ctx, &format!("{p}.left"));
                let r = self.duration(&x.right, ctx, &format!("{p}.right"));
                Some(l?.saturating_add(r?))
            }
            Duration::Subtract(x) => {
                let l = self.duration(&x.left, ctx, &format!("{p}.left"));
                let r = self.duration(&x.right, ctx, &format!("{p}.right"));
                Some(l?.saturating_sub(r?))
            }
            Duration::Negate(x) => Some(
                self.duration(&x.input, ctx, &format!("{p}.input"))?
                    .saturating_neg(),
            ),
            Duration::Reference(r) => self.duration_variable(&r.name, ctx, &p),
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    pub(crate) fn timestamp(
        &mut self,
        c: &TimestampConstant,
        ctx: &Context,
        path: &str,
    ) -> Option<i64> {
        let t = match c {
            TimestampConstant::Literal(t) => t,
            TimestampConstant::Variable(name) => {
                let path = format!("{path}.variable");
                match self.variable(name, ctx, &path)? {
                    None => return Some(0),
                    Some(VariableValue::Timestamp(t)) => t,
                    Some(other) => {
                        self.wrong_variable(&path, name, "timestamp", other.variant_name());
                        return None;
                    }
                }
            }
            other => {
                self.unsupported(path, other.variant_name());
                return None;
            }
        };
        match wire::time::timestamp_to_nanos(t) {
            Ok(n) => Some(n),
            Err(_) => {
                self.invalid(path, "timestamp", InvalidReason::OutOfRange);
                None
            }
        }
    }
}

/// Nanoseconds per time unit (default seconds) and its unit symbol.
pub(crate) fn time_unit(u: Option<wire::api::TimeUnit>) -> (f64, &'static str) {
    use wire::api::TimeUnit as T;
    match u {
        Some(T::Days) => (86_400e9, "day"),
        Some(T::Hours) => (3_600e9, "h"),
        Some(T::Minutes) => (60e9, "min"),
        None | Some(T::Seconds) => (1e9, "s"),
        Some(T::Milliseconds) => (1e6, "ms"),
        Some(T::Microseconds) => (1e3, "us"),
        Some(T::Nanoseconds) => (1.0, "ns"),
    }
}

/// A positive duration, else an `InvalidArgument` diagnostic.
pub(crate) fn positive(
    l: &mut Lowerer<'_>,
    v: Option<i64>,
    path: &str,
    arg: &'static str,
) -> Option<i64> {
    match v {
        Some(v) if v > 0 => Some(v),
        Some(_) => {
            l.invalid(path, arg, InvalidReason::NotPositive);
            None
        }
        None => None,
    }
}
