//! Every message serialized by the upstream-generated client parses into our types and
//! re-serializes to the same JSON value.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sightline_wire::persistent_compute::{ClientMessage, ServerMessage};
use sightline_wire::storage_writer::{WriteBatchesRequestExternal, WriteColumnBatchesRequest};
use std::path::PathBuf;

fn fixtures() -> Vec<(String, serde_json::Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixtures dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read fixture");
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        out.push((name, serde_json::from_str(&text).expect("fixture is JSON")));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn round_trip<T: DeserializeOwned + Serialize>(name: &str, value: &serde_json::Value) {
    let text = value.to_string();
    let parsed: T = sightline_wire::from_json(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let again = serde_json::to_value(&parsed).expect("serialize");
    assert_eq!(&again, value, "{name} did not round-trip");
}

#[test]
fn every_fixture_round_trips() {
    let all = fixtures();
    assert_eq!(all.len(), 20, "fixture count changed");
    for (name, value) in &all {
        match name.split('-').next() {
            Some("client") => round_trip::<ClientMessage>(name, value),
            Some("server") => round_trip::<ServerMessage>(name, value),
            _ if name == "write-batches.json" => {
                round_trip::<WriteBatchesRequestExternal>(name, value)
            }
            _ if name == "write-column-batches.json" => {
                round_trip::<WriteColumnBatchesRequest>(name, value)
            }
            _ => panic!("no type for fixture {name}"),
        }
    }
}
