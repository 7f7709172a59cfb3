//! Owns the JSON shapes of the upstream graph nodes the language emits: literals,
//! durations, channels and the `Series` union wrappers. Pure builders, no decisions.

use crate::ast::TagMatch;
use crate::lexer::{DurationLit, DurationUnit};
use serde_json::{json, Value};

/// `{"type": "literal", "literal": v}`: the constant form of every upstream `*Constant`.
pub(crate) fn lit(v: impl Into<Value>) -> Value {
    json!({"type": "literal", "literal": v.into()})
}

/// A union value `{"type": variant, variant: body}`.
pub(crate) fn union(variant: &str, body: Value) -> Value {
    let mut map = serde_json::Map::new();
    map.insert("type".to_string(), Value::String(variant.to_string()));
    map.insert(variant.to_string(), body);
    Value::Object(map)
}

/// A constant numeric series (adds no timestamps when aligned with others).
pub(crate) fn constant(n: f64) -> Value {
    union("constant", union("double", lit(n)))
}

/// A channel of a data source, with its tag filters and the tags to group by.
pub(crate) fn channel(dataset: &str, name: &str, tags: &[TagMatch], group_by: &[String]) -> Value {
    let mut source = serde_json::Map::new();
    source.insert("dataSourceRid".into(), lit(dataset));
    source.insert("channel".into(), lit(name));
    let filters: Vec<Value> = tags
        .iter()
        .map(|t| {
            union(
                "single",
                json!({
                    "key": lit(t.key.as_str()),
                    "values": t.values.iter().map(|v| lit(v.as_str())).collect::<Vec<_>>(),
                    "operator": if t.negated { "NOT_IN" } else { "IN" },
                }),
            )
        })
        .collect();
    match filters.len() {
        0 => {}
        1 => {
            source.insert(
                "tagFilters".into(),
                filters.into_iter().next().unwrap_or_default(),
            );
        }
        _ => {
            source.insert("tagFilters".into(), union("and", Value::Array(filters)));
        }
    }
    if !group_by.is_empty() {
        source.insert("tagsToGroupBy".into(), json!(group_by));
    }
    union("channel", union("dataSource", Value::Object(source)))
}

/// The `Duration` union in the unit the author wrote, or the largest unit that holds the
/// value exactly in an i32 count (the wire's integer constants are 32-bit).
pub(crate) fn duration(d: DurationLit) -> Option<Value> {
    if d.nanos < 0 {
        let positive = DurationLit {
            nanos: d.nanos.checked_neg()?,
            unit: d.unit,
        };
        return Some(union("negate", json!({"input": duration(positive)?})));
    }
    let preferred = match d.unit {
        DurationUnit::Micros => DurationUnit::Nanos,
        unit => unit,
    };
    let order = [
        preferred,
        DurationUnit::Days,
        DurationUnit::Hours,
        DurationUnit::Minutes,
        DurationUnit::Seconds,
        DurationUnit::Millis,
        DurationUnit::Nanos,
    ];
    order.into_iter().find_map(|unit| {
        let per = unit.nanos();
        if d.nanos % per != 0 {
            return None;
        }
        let count = i32::try_from(d.nanos / per).ok()?;
        let field = match unit {
            DurationUnit::Nanos | DurationUnit::Micros => "nanoseconds",
            DurationUnit::Millis => "milliseconds",
            DurationUnit::Seconds => "seconds",
            DurationUnit::Minutes => "minutes",
            DurationUnit::Hours => "hours",
            DurationUnit::Days => "days",
        };
        Some(union(field, json!({ field: lit(count) })))
    })
}

/// The older `DurationConstant` literal `{seconds, nanos}` (time shifts).
pub(crate) fn duration_constant(d: DurationLit) -> Value {
    let seconds = d.nanos.div_euclid(1_000_000_000);
    let nanos = d.nanos.rem_euclid(1_000_000_000);
    lit(json!({"seconds": seconds, "nanos": nanos}))
}

/// The `TimeUnit` enum value a rate unit stands for.
pub(crate) fn time_unit(unit: DurationUnit) -> &'static str {
    match unit {
        DurationUnit::Nanos => "NANOSECONDS",
        DurationUnit::Micros => "MICROSECONDS",
        DurationUnit::Millis => "MILLISECONDS",
        DurationUnit::Seconds => "SECONDS",
        DurationUnit::Minutes => "MINUTES",
        DurationUnit::Hours => "HOURS",
        DurationUnit::Days => "DAYS",
    }
}
