//! Golden cases: each `tests/golden/<name>.json` holds an expression and either the graph
//! JSON and result kind it compiles to, or the exact error. One test per file; the list
//! below must name every file (checked), so a new case cannot be skipped.
//!
//! Channels resolve in `ri.sightline.demo.dataset.test-stand`, whose catalogue here is the
//! demo's: `chamber.pressure`, `chamber.temperature`, `thrust` (numeric), `valve.state`
//! (enum) and `events` (log). Any other channel is unknown and typed by its use.
//!
//! `BLESS=1 cargo test -p sightline-expr --test golden` rewrites the expected side; review
//! the diff before committing it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use serde_json::{json, Value};
use sightline_expr::{compile, compile_json, ChannelKind};
use std::path::PathBuf;

const DATASET: &str = "ri.sightline.demo.dataset.test-stand";

fn catalogue(dataset: &str, channel: &str) -> Option<ChannelKind> {
    if dataset != DATASET {
        return None;
    }
    match channel {
        "chamber.pressure" | "chamber.temperature" | "thrust" => Some(ChannelKind::Numeric),
        "valve.state" => Some(ChannelKind::Enum),
        "events" => Some(ChannelKind::Log),
        _ => None,
    }
}

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.json"))
}

fn run(name: &str) {
    let file = path(name);
    let text = std::fs::read_to_string(&file).expect("golden file");
    let mut case: Value = serde_json::from_str(&text).expect("golden JSON");
    let expression = case["expression"].as_str().expect("expression").to_string();
    let actual = match compile_json(&expression, Some(DATASET), &catalogue) {
        Ok((node, kind)) => {
            // The wire types must keep every field the language writes.
            let typed = compile(&expression, Some(DATASET), &catalogue).expect("typed");
            assert_eq!(
                serde_json::to_value(&typed.node).unwrap(),
                node,
                "{name}: wire types dropped or changed a field"
            );
            assert_eq!(typed.kind, kind);
            json!({"kind": kind.as_str(), "node": node})
        }
        Err(e) => json!({"error": e.to_string()}),
    };
    if std::env::var_os("BLESS").is_some() {
        let obj = case.as_object_mut().unwrap();
        obj.remove("kind");
        obj.remove("node");
        obj.remove("error");
        obj.extend(actual.as_object().unwrap().clone());
        std::fs::write(&file, serde_json::to_string_pretty(&case).unwrap() + "\n").unwrap();
        return;
    }
    let mut expected = serde_json::Map::new();
    for key in ["kind", "node", "error"] {
        if let Some(v) = case.get(key) {
            expected.insert(key.to_string(), v.clone());
        }
    }
    assert_eq!(
        actual,
        Value::Object(expected),
        "{name}: `{expression}` compiled differently"
    );
}

macro_rules! golden {
    ($($name:ident),* $(,)?) => {
        $( #[test] fn $name() { run(stringify!($name)); } )*

        #[test]
        fn every_golden_file_has_a_test() {
            let mut listed = vec![$(stringify!($name)),*];
            listed.sort_unstable();
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
            let mut files: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
                .collect();
            files.sort_unstable();
            assert_eq!(files, listed);
        }
    };
}

golden!(
    channel_plain,
    channel_tags,
    channel_tags_negated_alternatives,
    channel_other_dataset,
    channel_backticks,
    derivative_tagged,
    derivative_per_minute,
    rolling_mean_time,
    rolling_max_points,
    rolling_percentile,
    threshold_ranges,
    threshold_and_or,
    ranges_not,
    enum_plain,
    enum_equals,
    enum_in,
    log_contains,
    log_regex,
    arithmetic_precedence,
    arithmetic_constant_fold,
    power_right_assoc,
    abs_difference,
    unit_conversion,
    scale_offset,
    time_shift,
    time_shift_enum,
    nary_mean,
    group_by,
    longer_than,
    pad_ranges,
    on_change,
    unknown_channel_as_enum,
    explicit_log,
    time_difference_ms,
    error_missing_paren,
    error_unknown_function,
    error_type_mismatch,
    error_arity,
    error_duration_unit,
    error_unterminated_string,
    error_trailing_tokens,
    error_percentile_range,
    error_multiline,
    error_constant_expression,
);
