//! Property tests: every expression the grammar generates compiles to JSON that the wire
//! types read and write back unchanged (so no field the language writes is dropped or
//! renamed), and no input text — valid or not — panics the parser.
#![allow(clippy::unwrap_used, missing_docs)]

use proptest::prelude::*;
use sightline_expr::{compile, compile_json, ChannelKind};

const DATASET: &str = "ri.sightline.demo.dataset.test-stand";

fn catalogue(_: &str, channel: &str) -> Option<ChannelKind> {
    match channel {
        "valve.state" => Some(ChannelKind::Enum),
        "events" => Some(ChannelKind::Log),
        "mystery" => None,
        _ => Some(ChannelKind::Numeric),
    }
}

fn numeric_leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("chamber.pressure".to_string()),
        Just("chamber.pressure{stand=A}".to_string()),
        Just("thrust{stand!=B, rig=1|2}".to_string()),
        Just("\"ri.sightline.main.dataset.other\":thrust".to_string()),
        Just("mystery".to_string()),
        (-1000.0f64..1000.0).prop_map(|n| format!("{n}")),
    ]
}

fn duration() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..1000).prop_map(|n| format!("{n}ms")),
        (1u32..100).prop_map(|n| format!("{n}s")),
        (1u32..10).prop_map(|n| format!("{n}m")),
        Just("1.5s".to_string()),
    ]
}

fn numeric() -> impl Strategy<Value = String> {
    numeric_leaf().prop_recursive(4, 32, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["+", "-", "*", "/", "%", "^"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            (
                prop::sample::select(vec![
                    "abs",
                    "sqrt",
                    "ln",
                    "sin",
                    "derivative",
                    "difference",
                    "drop_nan"
                ]),
                inner.clone()
            )
                .prop_map(|(f, a)| format!("{f}({a})")),
            (
                prop::sample::select(vec![
                    "rolling_mean",
                    "rolling_max",
                    "rolling_std",
                    "rolling_count"
                ]),
                inner.clone(),
                duration()
            )
                .prop_map(|(f, a, d)| format!("{f}({a}, {d})")),
            (inner.clone(), 1u32..50).prop_map(|(a, n)| format!("rolling_min({a}, {n})")),
            (inner.clone(), duration()).prop_map(|(a, d)| format!("shift({a}, -{d})")),
            (inner.clone(), -10.0f64..10.0).prop_map(|(a, k)| format!("scale({a}, {k})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("max({a}, {b}, 0)")),
            inner.clone().prop_map(|a| format!("-{a}")),
            inner.clone().prop_map(|a| format!("group_by({a}, stand)")),
            inner.prop_map(|a| format!("convert({a}, \"psi\")")),
        ]
    })
}

fn condition() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (
            numeric(),
            prop::sample::select(vec![">", ">=", "<", "<=", "==", "!="]),
            numeric()
        )
            .prop_map(|(a, op, b)| format!("{a} {op} 0.5 * {b}")),
        Just("valve.state == \"open\"".to_string()),
        Just("valve.state in (\"open\", \"venting\")".to_string()),
        Just("on_change(valve.state)".to_string()),
    ];
    leaf.prop_recursive(3, 16, 2, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["and", "or"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a}) {op} ({b})")),
            inner.clone().prop_map(|a| format!("not ({a})")),
            (inner.clone(), duration()).prop_map(|(a, d)| format!("longer_than({a}, {d})")),
            (inner, duration()).prop_map(|(a, d)| format!("pad({a}, {d})")),
        ]
    })
}

fn expression() -> impl Strategy<Value = String> {
    prop_oneof![
        numeric(),
        condition(),
        Just("events ~ \"abort\"".to_string()),
        Just("events =~ \"a.*b\"".to_string()),
        duration().prop_map(|d| format!("shift(valve.state, {d})")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_expressions_round_trip_through_the_wire_types(text in expression()) {
        let compiled = compile_json(&text, Some(DATASET), &catalogue);
        // Constant arithmetic the generator combines can overflow (`-930 ^ 239.6`); the
        // compiler rightly refuses a non-finite constant, so such a case is not a sample.
        if let Err(e) = &compiled {
            prop_assume!(!e.to_string().contains("is not a finite number"));
        }
        let (json, kind) = compiled
            .map_err(|e| TestCaseError::fail(format!("`{text}` did not compile: {e}")))?;
        let typed = compile(&text, Some(DATASET), &catalogue).unwrap();
        prop_assert_eq!(typed.kind, kind);
        let back = serde_json::to_value(&typed.node).unwrap();
        prop_assert_eq!(&back, &json, "`{}`", text);
        // And the text form of the graph parses as the wire type again.
        let reparsed: sightline_wire::scout_compute::ComputableNode =
            sightline_wire::from_json(&serde_json::to_string(&back).unwrap()).unwrap();
        prop_assert_eq!(reparsed, typed.node);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
        let _ = compile(&text, Some(DATASET), &catalogue);
    }

    #[test]
    fn mangled_expressions_fail_with_a_position_inside_the_text(
        text in expression(),
        cut in 0usize..200,
    ) {
        let cut = text.char_indices().map(|(i, _)| i).nth(cut % text.chars().count().max(1)).unwrap_or(0);
        let mangled = &text[..cut];
        if let Err(e) = compile(mangled, Some(DATASET), &catalogue) {
            let lines: Vec<&str> = mangled.split('\n').collect();
            prop_assert!(e.line() >= 1 && e.line() <= lines.len(), "{e} for `{mangled}`");
            let width = lines[e.line() - 1].chars().count();
            prop_assert!(e.column() >= 1 && e.column() <= width + 1, "{e} for `{mangled}`");
        }
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let text = format!("{}thrust{}", "abs(".repeat(2_000), ")".repeat(2_000));
    let err = compile(&text, Some(DATASET), &catalogue).unwrap_err();
    assert!(err.to_string().contains("nests deeper"), "{err}");
    let text = format!("{}thrust", "-".repeat(5_000));
    assert!(compile(&text, Some(DATASET), &catalogue).is_err());
    let text = format!("{}thrust{}", "(".repeat(5_000), ")".repeat(5_000));
    assert!(compile(&text, Some(DATASET), &catalogue).is_err());
}

#[test]
fn the_caret_points_under_the_column() {
    let text = "rolling_mean(thrust, 1s";
    let err = compile(text, Some(DATASET), &catalogue).unwrap_err();
    assert_eq!(
        err.to_string(),
        "1:24: expected ',' or ')', found end of input"
    );
    assert_eq!(
        err.caret(text),
        "rolling_mean(thrust, 1s\n                       ^ expected ',' or ')', found end of input"
    );
}
