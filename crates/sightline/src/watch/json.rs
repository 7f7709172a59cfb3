//! `watch --json`: one line of JSON per merged window state, for scripts. Timestamps are
//! integer nanoseconds since the epoch (exact); `unit` is the result's unit symbol; `end` is
//! the end of the last merged append (absent until the first one).
//!
//! ```text
//! {"kind":"numeric","count":2,"points":[[t,v],[t,v]],"unit":"bar","end":…,"fulls":1,"appends":3}
//! ```

use serde_json::{json, Value};
use sightline_client::{Plot, WindowState};

/// The JSON line of `state`.
pub(crate) fn state_line(state: &WindowState, unit: Option<&str>) -> String {
    let mut v = plot(&state.plot);
    if let Value::Object(map) = &mut v {
        map.insert("unit".into(), json!(unit));
        map.insert("end".into(), json!(state.last_end));
        map.insert("fulls".into(), json!(state.fulls));
        map.insert("appends".into(), json!(state.appends));
    }
    v.to_string()
}

fn plot(p: &Plot) -> Value {
    let body = match p {
        Plot::Numeric(points) => json!({ "points": points }),
        Plot::Enum(points) => json!({ "points": points }),
        Plot::Log(points) => json!({
            "lines": points.iter().map(|(t, l)| json!({"t": t, "message": l.message, "args": l.args})).collect::<Vec<_>>()
        }),
        Plot::BucketedNumeric(buckets) => json!({
            "buckets": buckets.iter().map(|(end, b)| json!({
                "end": end, "min": b.min, "max": b.max, "mean": b.mean, "count": b.count.as_ref().map(|c| c.0),
            })).collect::<Vec<_>>()
        }),
        Plot::BucketedEnum(buckets) => json!({
            "buckets": buckets.iter().map(|(end, b)| json!({"end": end, "histogram": b.histogram})).collect::<Vec<_>>()
        }),
        Plot::Ranges(ranges) => json!({
            "ranges": ranges.iter().map(|r| json!({"start": r.start, "end": r.end})).collect::<Vec<_>>()
        }),
        Plot::RangesSummary(summary) => json!({ "summary": summary }),
        Plot::NumericPoint(p) => json!({ "point": p }),
        Plot::EnumPoint(p) => json!({ "point": p }),
        Plot::LogPoint(p) => json!({
            "point": p.as_ref().map(|(t, l)| json!({"t": t, "message": l.message, "args": l.args}))
        }),
        Plot::SinglePoint(p) => json!({ "point": p }),
        Plot::RangeValue(r) => {
            json!({ "range": r.as_ref().map(|r| json!({"start": r.start, "end": r.end})) })
        }
        Plot::Grouped(groups) => json!({
            "groups": groups.iter().map(|(g, p)| json!({"group": g, "result": plot(p)})).collect::<Vec<_>>()
        }),
    };
    let mut body = body;
    if let Value::Object(map) = &mut body {
        map.insert("kind".into(), json!(p.kind()));
        map.insert("count".into(), json!(p.len()));
    }
    body
}
