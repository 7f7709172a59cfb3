//! Golden cases: each `tests/golden/*.json` holds the writes, a compute request and the
//! expected response (worked out by hand; see each file's `why`). Every file is checked
//! and every failing file is reported by name.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;

use common::{MemSource, Val};
use serde_json::Value;
use sightline_compute::{plan, ChannelKind};
use wire::scout_compute::{ComputableNode, Context};

fn close(a: &Value, b: &Value, path: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-300) || x == y {
                Ok(())
            } else {
                Err(format!("{path}: {x} != {y}"))
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .try_for_each(|(i, (x, y))| close(x, y, &format!("{path}[{i}]"))),
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => {
            x.iter().try_for_each(|(k, v)| {
                close(v, y.get(k).unwrap_or(&Value::Null), &format!("{path}.{k}"))
            })
        }
        _ if a == b => Ok(()),
        _ => Err(format!("{path}: {a} != {b}")),
    }
}

fn strip_ids(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("id");
            m.values_mut().for_each(strip_ids);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_ids),
        _ => {}
    }
}

fn run(file: &std::path::Path) -> Result<(), String> {
    let case: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let mut source = MemSource::new();
    for w in case["writes"].as_array().unwrap() {
        let channel = w["channel"].as_str().unwrap();
        let kind = match w["kind"].as_str().unwrap() {
            "numeric" => ChannelKind::Numeric,
            "enum" => ChannelKind::Enum,
            _ => ChannelKind::Log,
        };
        source.channel(channel, kind, w["unit"].as_str());
        let tags: Vec<(String, String)> = w["tags"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        for p in w["points"].as_array().unwrap() {
            let t = p[0].as_i64().unwrap();
            let v = match &p[1] {
                Value::String(s) => Val::Str(Arc::from(s.as_str())),
                Value::Object(log) => Val::Log((
                    Arc::from(log["message"].as_str().unwrap()),
                    Arc::new(
                        log.get("args")
                            .and_then(Value::as_object)
                            .map(|m| {
                                m.iter()
                                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    ),
                )),
                // `"NaN"`, `"inf"` and `"-inf"` are written as tagged strings.
                Value::Array(special) => Val::Num(special[0].as_str().unwrap().parse().unwrap()),
                n => Val::Num(n.as_f64().unwrap()),
            };
            source.write(channel, &tags, t, v);
        }
    }
    let node: ComputableNode = wire::from_json(&case["node"].to_string()).unwrap();
    let ctx: Context = wire::from_json(
        &case
            .get("context")
            .cloned()
            .unwrap_or(Value::Object(Default::default()))
            .to_string(),
    )
    .unwrap();
    let (start, end) = (
        case["start"].as_i64().unwrap(),
        case["end"].as_i64().unwrap(),
    );
    let planned = plan(&node, &ctx, &source);
    if let Some(errors) = case.get("errors") {
        // Expected planning diagnostics, each rendered as `message (at `path`)`.
        let got: Vec<Value> = match planned {
            Ok(_) => Vec::new(),
            Err(ds) => ds.iter().map(|d| Value::from(d.to_string())).collect(),
        };
        return close(errors, &Value::from(got), "errors");
    }
    let p = planned.map_err(|d| format!("plan failed: {d:?}"))?;
    if let Some(unit) = case.get("unit") {
        let got = serde_json::to_value(p.unit_result()).unwrap();
        close(unit, &got, "unit")?;
    }
    let mut got = serde_json::to_value(p.compute(&source, start, end).unwrap()).unwrap();
    if case.get("stripLogIds").is_some_and(|v| v == true) {
        // Log ids pack (series id, timestamp) into a UUID; not worth working out by hand.
        strip_ids(&mut got);
    }
    close(&case["expected"], &got, "response").map_err(|e| format!("{e}\n  got: {got}"))
}

#[test]
fn golden_cases() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 12);
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            // A panic (bad file, engine bug) fails that file only, named like any failure.
            match std::panic::catch_unwind(|| run(f)) {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("{name}: {e}")),
                Err(panic) => {
                    let msg = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    Some(format!("{name}: panicked: {msg}"))
                }
            }
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} golden case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
