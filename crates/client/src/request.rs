//! Owns what a caller asks to subscribe to: the graph, the window, the pacing, and how it
//! becomes the upstream `StreamingComputeNodeSubscription`.

use sightline_wire::conjure::SafeLong;
use sightline_wire::persistent_compute::{
    StreamingComputeNodeRequest, StreamingComputeNodeSubscription, SubscriptionOptions,
};
use sightline_wire::scout_compute::{ComputableNode, Context};
use sightline_wire::time::nanos_to_duration;
use std::time::Duration;

/// A subscription request: a graph over a window that ends at the server's *now*.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The graph, e.g. from `sightline_expr::compile` or parsed graph JSON.
    pub node: ComputableNode,
    /// Window width.
    pub window: Duration,
    /// At most one update per this period.
    pub min_delay: Duration,
    /// Variables and references the graph uses.
    pub context: Context,
    /// Whether the server may send append results (smaller, merged by the client).
    pub allow_appends: bool,
}

impl Request {
    /// A request with appends on, updates at most every 250 ms and an empty context.
    pub fn new(node: ComputableNode, window: Duration) -> Self {
        Request {
            node,
            window,
            min_delay: Duration::from_millis(250),
            context: empty_context(),
            allow_appends: true,
        }
    }

    /// Sets the minimum delay between updates.
    pub fn min_delay(mut self, min_delay: Duration) -> Self {
        self.min_delay = min_delay;
        self
    }

    /// The window width in nanoseconds, saturating at `i64::MAX`.
    pub fn window_nanos(&self) -> i64 {
        i64::try_from(self.window.as_nanos()).unwrap_or(i64::MAX)
    }

    /// The upstream message body.
    pub fn to_wire(&self) -> StreamingComputeNodeSubscription {
        StreamingComputeNodeSubscription {
            compute_request: StreamingComputeNodeRequest {
                node: self.node.clone(),
                window_width: nanos_to_duration(self.window_nanos()),
                context: self.context.clone(),
                source_rid: None,
            },
            subscription_options: SubscriptionOptions {
                min_delay: SafeLong(i64::try_from(self.min_delay.as_millis()).unwrap_or(i64::MAX)),
                allow_appends: Some(self.allow_appends),
                result_configuration: None,
                use_flink: None,
                allowed_lateness: None,
            },
        }
    }
}

fn empty_context() -> Context {
    Context {
        variables: Default::default(),
        function_variables: None,
        dataset_references: Default::default(),
        default_fill_strategy: None,
        default_alignment_strategy: None,
        apply_data_scope_offsets: None,
        resolve_assets_through_datasets: None,
    }
}
