//! Limits on one computation, checked before it is evaluated: the size of its graph (union
//! values in the request: nodes, series sources, literals), the fan-in of any one node
//! (the longest list of such values, e.g. the inputs of a `sum`), and for HTTP compute the
//! points its inputs hold in the range (the subscription point limit, applied alike).
//! A request of 2,000 copies of one channel under a `sum` is refused here in
//! microseconds instead of reading and aligning 2,000 columns.

use crate::config::ServerConfig;
use crate::error::ComputeRequestError;
use serde::Serialize;
use serde_json::{Map, Value};

/// What [`measure`] counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GraphSize {
    /// Union values (`{"type": T, T: ...}`) anywhere in the graph.
    pub(crate) nodes: usize,
    /// The longest list of union values, i.e. the most inputs of one node.
    pub(crate) fan_in: usize,
}

/// Measures a wire compute node (any serializable part of a request).
pub(crate) fn measure(node: &impl Serialize) -> GraphSize {
    let mut size = GraphSize::default();
    if let Ok(value) = serde_json::to_value(node) {
        walk(&value, &mut size);
    }
    size
}

fn walk(value: &Value, size: &mut GraphSize) {
    match value {
        Value::Object(map) => {
            if is_union(map) {
                size.nodes += 1;
            }
            for child in map.values() {
                walk(child, size);
            }
        }
        Value::Array(items) => {
            let unions = items
                .iter()
                .filter(|item| item.as_object().is_some_and(is_union))
                .count();
            size.fan_in = size.fan_in.max(unions);
            for item in items {
                walk(item, size);
            }
        }
        _ => {}
    }
}

fn is_union(map: &Map<String, Value>) -> bool {
    map.get("type")
        .and_then(Value::as_str)
        .is_some_and(|variant| map.contains_key(variant))
}

/// Refuses a graph over the configured node count or fan-in (`Compute:ComputationTooComplex`).
pub(crate) fn check_graph(
    config: &ServerConfig,
    node: &impl Serialize,
) -> Result<(), ComputeRequestError> {
    let size = measure(node);
    if size.nodes > config.max_compute_nodes {
        return Err(ComputeRequestError::TooComplex {
            measure: "nodes",
            count: size.nodes,
            limit: config.max_compute_nodes,
            flag: "--max-compute-nodes",
        });
    }
    if size.fan_in > config.max_compute_fan_in {
        return Err(ComputeRequestError::TooComplex {
            measure: "fanIn",
            count: size.fan_in,
            limit: config.max_compute_fan_in,
            flag: "--max-compute-fan-in",
        });
    }
    Ok(())
}

/// Refuses an HTTP computation whose inputs hold more points in its range than a
/// subscription may (`Compute:TooManyPoints`).
pub(crate) fn check_points(config: &ServerConfig, points: u64) -> Result<(), ComputeRequestError> {
    let limit = config.max_points_per_subscription;
    if points > limit {
        return Err(ComputeRequestError::RangeTooManyPoints { points, limit });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_unions_and_the_longest_input_list() {
        let leaf =
            json!({"type": "channel", "channel": {"name": {"type": "literal", "literal": "a"}}});
        let sum = json!({"type": "sum", "sum": {"inputs": [leaf, leaf, leaf], "note": ["x", "y"]}});
        assert_eq!(
            measure(&sum),
            GraphSize {
                nodes: 7,
                fan_in: 3
            }
        );
        assert_eq!(measure(&json!({"type": "x"})), GraphSize::default());
    }
}
