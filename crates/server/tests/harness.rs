//! The checkers the other tests rely on must be able to fail: the upstream-definition
//! frame check and the merge model's rule checks, fed with frames a broken server could
//! send. No server runs here.
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::Result;
use common::merge::{Merged, Plot};
use common::*;
use serde_json::json;
use sightline_wire::persistent_compute::AppendResult;
use sightline_wire::scout_compute::ComputeNodeResponse;

const ID: &str = "6f1c2b7a-3d4e-4f50-8a61-7b8c9d0e1f23";

fn full_frame(timestamps: &[i64], values: &[f64]) -> serde_json::Value {
    json!({"type": "subscriptionUpdate", "subscriptionUpdate": {
        "subscriptionId": ID,
        "update": {"type": "full", "full": {"result": {"type": "numeric", "numeric": {
            "timestamps": timestamps.iter().map(|t| ts(*t)).collect::<Vec<_>>(),
            "values": values,
        }}}},
    }})
}

#[test]
fn the_frame_check_accepts_upstream_frames() -> Result<()> {
    parse_server_frame(&full_frame(&[BASE], &[1.0]).to_string())?;
    let pong = json!({"type": "health", "health": {"type": "pong", "pong": {
        "pingOriginallySentAt": "2026-11-28T15:50:49.123456789Z",
        "sentAt": "2026-11-28T15:50:50Z",
    }}});
    parse_server_frame(&pong.to_string())?;
    let error = json!({"type": "subscriptionCreation", "subscriptionCreation": {
        "subscriptionId": ID,
        "creation": {"type": "error", "error": {"serializableError": {
            "name": "PersistentCompute:InvalidComputation",
            "message": "m",
            "errorInstanceId": ID,
            "statusCode": 400,
            "params": {"invalidTypes": "[CUMULATIVE_SUM]"},
        }}},
    }});
    parse_server_frame(&error.to_string())?;
    Ok(())
}

#[test]
fn the_frame_check_refuses_what_an_upstream_client_would_not_read() {
    let good = full_frame(&[BASE], &[1.0]);
    let mut extra_field = good.clone();
    extra_field["subscriptionUpdate"]["sightlineDebug"] = json!(1);
    let mut unknown_variant = good.clone();
    unknown_variant["subscriptionUpdate"]["update"] = json!({"type": "partial", "partial": {}});
    let mut missing_required = good.clone();
    missing_required["subscriptionUpdate"]
        .as_object_mut()
        .unwrap()
        .remove("subscriptionId");
    let mut float_safelong = good.clone();
    float_safelong["subscriptionUpdate"]["update"]["full"]["result"]["numeric"]["timestamps"][0]
        ["seconds"] = json!(1.5);
    let mut bad_double = good.clone();
    bad_double["subscriptionUpdate"]["update"]["full"]["result"]["numeric"]["values"][0] =
        json!("nan");
    let mut bad_uuid = good.clone();
    bad_uuid["subscriptionUpdate"]["subscriptionId"] = json!("not-a-uuid");
    let mut stray_union_key = good.clone();
    stray_union_key["subscriptionUpdate"]["update"]["append"] = json!({});
    let undeclared_error = json!({"type": "subscriptionCreation", "subscriptionCreation": {
        "subscriptionId": ID,
        "creation": {"type": "error", "error": {"serializableError": {
            "name": "PersistentCompute:MadeUp", "errorInstanceId": ID, "statusCode": 400,
        }}},
    }});
    let bad_datetime = json!({"type": "health", "health": {"type": "ping", "ping": {
        "sentAt": "yesterday"}}});
    for (what, frame) in [
        ("extra field", extra_field),
        ("unknown variant", unknown_variant),
        ("missing required field", missing_required),
        ("float safelong", float_safelong),
        ("bad double string", bad_double),
        ("bad uuid", bad_uuid),
        ("stray union key", stray_union_key),
        ("undeclared error name", undeclared_error),
        ("bad datetime", bad_datetime),
    ] {
        assert!(
            parse_server_frame(&frame.to_string()).is_err(),
            "{what} passed the frame check"
        );
    }
    assert!(parse_server_frame("not json").is_err());
}

fn numeric(points: &[(i64, f64)]) -> ComputeNodeResponse {
    let frame = full_frame(
        &points.iter().map(|p| p.0).collect::<Vec<_>>(),
        &points.iter().map(|p| p.1).collect::<Vec<_>>(),
    );
    let text = frame["subscriptionUpdate"]["update"]["full"]["result"].to_string();
    sightline_wire::from_json(&text).unwrap()
}

fn append(start: i64, end: i64, kind: &str, points: &[(i64, f64)]) -> AppendResult {
    let body = json!({
        "timestamps": points.iter().map(|p| ts(p.0)).collect::<Vec<_>>(),
        "values": points.iter().map(|p| p.1).collect::<Vec<_>>(),
    });
    let v = json!({"start": ts(start), "end": ts(end), "result": {"type": kind, kind: body}});
    sightline_wire::from_json(&v.to_string()).unwrap()
}

#[test]
fn the_merge_model_applies_the_rules() -> Result<()> {
    let w = 10 * SEC;
    let mut m = Merged::new(w, &numeric(&[(BASE - 9 * SEC, 1.0), (BASE - 2 * SEC, 2.0)]))
        .map_err(anyhow::Error::msg)?;
    // Rule 2: [start, end] is replaced; rule 3: older than end − window is dropped.
    m.apply_append(&append(
        BASE - 3 * SEC,
        BASE + 2 * SEC,
        "numeric",
        &[(BASE - SEC, 3.0), (BASE + 2 * SEC, 4.0)],
    ))
    .map_err(anyhow::Error::msg)?;
    assert_eq!(
        m.plot,
        Plot::Numeric(vec![(BASE - SEC, 3.0), (BASE + 2 * SEC, 4.0)])
    );
    Ok(())
}

#[test]
fn the_merge_model_refuses_rule_violations() {
    let fresh = || Merged::new(10 * SEC, &numeric(&[(BASE, 1.0)])).unwrap();
    let mut m = fresh();
    m.apply_append(&append(BASE, BASE + SEC, "numeric", &[]))
        .unwrap();
    // Rule 1: end must grow.
    assert!(m
        .apply_append(&append(BASE, BASE + SEC, "numeric", &[]))
        .is_err());
    // Rule 4: the variant of the full result.
    assert!(fresh()
        .apply_append(&append(BASE, BASE + SEC, "enum", &[]))
        .is_err());
    // Rule 2: content outside [start, end].
    assert!(fresh()
        .apply_append(&append(BASE, BASE + SEC, "numeric", &[(BASE - 1, 1.0)]))
        .is_err());
    // start after end.
    assert!(fresh()
        .apply_append(&append(BASE + 2 * SEC, BASE + SEC, "numeric", &[]))
        .is_err());
}
