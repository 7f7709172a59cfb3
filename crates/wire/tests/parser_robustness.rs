//! Network-facing parsers never panic: mutated and truncated upstream messages either parse
//! (and then re-serialize to a value that parses to the same thing) or fail with an error.
//! The `fuzz/` targets run the same checks coverage-guided where a nightly toolchain exists.

use proptest::prelude::*;
use sightline_wire::persistent_compute::{ClientMessage, ServerMessage};
use sightline_wire::storage_writer::{WriteBatchesRequestExternal, WriteColumnBatchesRequest};
use std::path::PathBuf;

fn fixture_texts() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("read"))
        .collect();
    out.sort();
    out
}

fn stable<T>(bytes: &[u8])
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    if let Ok(value) = sightline_wire::from_json_slice::<T>(bytes) {
        let json = serde_json::to_string(&value).expect("our types serialize");
        let again: T = sightline_wire::from_json(&json).expect("what we write, we read");
        assert_eq!(
            serde_json::to_value(&again).expect("value"),
            serde_json::to_value(&value).expect("value")
        );
    }
}

fn check_all(bytes: &[u8]) {
    stable::<ClientMessage>(bytes);
    stable::<ServerMessage>(bytes);
    stable::<WriteBatchesRequestExternal>(bytes);
    stable::<WriteColumnBatchesRequest>(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0usize..20,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let texts = fixture_texts();
        let mut bytes = texts[which % texts.len()].clone().into_bytes();
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        check_all(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check_all(&bytes);
    }
}

#[test]
fn conjure_rules_hold() {
    // Special doubles both ways, safelong bounds, unknown union variants kept by name.
    let col = r#"{"dataSourceRid":"ri.a.b.c.d","batches":[{"channel":"x",
        "timestamps":[{"seconds":1,"nanos":0},{"seconds":2,"nanos":0},{"seconds":3,"nanos":0}],
        "values":{"type":"doubles","doubles":["NaN","Infinity","-Infinity"]}}]}"#;
    let parsed: WriteColumnBatchesRequest =
        sightline_wire::from_json(col).expect("special doubles");
    let back = serde_json::to_value(&parsed).expect("value");
    assert_eq!(
        back["batches"][0]["values"]["doubles"],
        serde_json::json!(["NaN", "Infinity", "-Infinity"])
    );

    let ping = r#"{"type":"ping","ping":{"sentAt":"2026-11-28T00:00:00Z"}}"#;
    assert!(sightline_wire::from_json::<ClientMessage>(ping).is_ok());
    let float_seconds = r#"{"seconds":1.0,"nanos":0}"#;
    assert!(sightline_wire::from_json::<sightline_wire::api::Timestamp>(float_seconds).is_err());
    let string_seconds = r#"{"seconds":"1","nanos":0}"#;
    assert!(sightline_wire::from_json::<sightline_wire::api::Timestamp>(string_seconds).is_err());
    let beyond_safe = r#"{"seconds":9007199254740992,"nanos":0}"#;
    assert!(sightline_wire::from_json::<sightline_wire::api::Timestamp>(beyond_safe).is_err());

    let unknown = r#"{"type":"teleport","teleport":{"to":"mars"}}"#;
    match sightline_wire::from_json::<ClientMessage>(unknown).expect("unknown variants parse") {
        ClientMessage::Unknown(u) => {
            assert_eq!(u.type_name, "teleport");
            assert_eq!(u.value, serde_json::json!({"to": "mars"}));
        }
        other => panic!("expected Unknown, got {other:?}"),
    }
    let mismatched = r#"{"type":"ping","pong":{"pingOriginallySentAt":"2026-11-28T00:00:00Z","sentAt":"2026-11-28T00:00:00Z"}}"#;
    assert!(sightline_wire::from_json::<ClientMessage>(mismatched).is_err());

    // Datetimes: any offset and fraction in, UTC `Z` out.
    let ping = r#"{"type":"ping","ping":{"sentAt":"2026-11-28T17:50:49.5+02:00"}}"#;
    let parsed: ClientMessage = sightline_wire::from_json(ping).expect("offset datetime");
    let back = serde_json::to_value(&parsed).expect("value");
    assert_eq!(back["ping"]["sentAt"], "2026-11-28T15:50:49.500Z");

    // null collections read as empty.
    let nulls = r#"{"dataSourceRid":"ri.a.b.c.d","batches":null}"#;
    let parsed: WriteColumnBatchesRequest = sightline_wire::from_json(nulls).expect("null list");
    assert!(parsed.batches.is_empty());
}
