//! The datasets a compute request reads, for the read-grant check that HTTP compute and
//! subscriptions share: one place joins compute's plan to the caller's grants.

use crate::auth::Caller;
use sightline_compute::{Diagnostic, Plan};

/// The datasets of a planned (or refused) graph that `caller` may not read. A refused plan
/// counts the datasets its diagnostics name, so a caller cannot learn from a
/// channel-not-found error what a dataset it may not read holds.
pub(crate) fn unreadable(caller: &Caller, planned: &Result<Plan, Vec<Diagnostic>>) -> Vec<String> {
    match planned {
        Ok(plan) => caller.unreadable(plan.datasets().iter().map(String::as_str)),
        Err(diagnostics) => caller.unreadable(diagnostics.iter().filter_map(|d| d.kind.dataset())),
    }
}
