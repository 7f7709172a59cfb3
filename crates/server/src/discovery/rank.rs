//! Ranking of channel search: which channels match a query and in what order.
//!
//! Matching is case-insensitive. A channel matches the fuzzy text when the text is empty,
//! appears in the name, or its characters appear in the name in order (`chp` finds
//! `chamber.pressure`); closer matches rank first: exact name, then prefix, then an earlier
//! substring, then an in-order match with fewer gaps. Ties break by name, then dataset, so
//! paging over an unchanged store is stable.

use sightline_wire::api::SeriesDataType;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A channel that may be returned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidate {
    /// Dataset RID.
    pub(crate) dataset: Arc<str>,
    /// Channel name.
    pub(crate) channel: Arc<str>,
    /// Its data type.
    pub(crate) data_type: SeriesDataType,
    /// Its unit symbol, if any.
    pub(crate) unit: Option<Arc<str>>,
}

/// The filters and text of one search.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query<'a> {
    /// Fuzzy text; empty matches everything.
    pub(crate) fuzzy: &'a str,
    /// The name must start with this.
    pub(crate) prefix: Option<&'a str>,
    /// The name must contain every one of these.
    pub(crate) exact: &'a [String],
    /// Only these types; empty means all.
    pub(crate) data_types: &'a [SeriesDataType],
    /// Channels the caller picked before, by dataset: ranked first among equals.
    pub(crate) previously_selected: Option<&'a BTreeMap<String, Vec<String>>>,
}

/// Score of a name against the fuzzy text, higher is better; `None` when it does not match.
fn fuzzy_score(name: &str, text: &str) -> Option<u32> {
    if text.is_empty() {
        return Some(0);
    }
    if name == text {
        return Some(4_000);
    }
    if name.starts_with(text) {
        return Some(3_000);
    }
    if let Some(at) = name.find(text) {
        return Some(2_000 - (at.min(999) as u32));
    }
    // In-order characters: fewer skipped characters rank higher.
    let mut gaps = 0u32;
    let mut chars = name.chars();
    for want in text.chars() {
        loop {
            match chars.next() {
                Some(c) if c == want => break,
                Some(_) => gaps += 1,
                None => return None,
            }
        }
    }
    Some(1_000u32.saturating_sub(gaps.min(999)))
}

/// The matching candidates, best first.
pub(crate) fn rank(candidates: Vec<Candidate>, query: &Query<'_>) -> Vec<Candidate> {
    let text = query.fuzzy.trim().to_lowercase();
    let prefix = query.prefix.map(str::to_lowercase);
    let exact: Vec<String> = query.exact.iter().map(|s| s.to_lowercase()).collect();
    let types: BTreeSet<SeriesDataType> = query.data_types.iter().copied().collect();
    let mut scored: Vec<(u32, bool, Candidate)> = candidates
        .into_iter()
        .filter_map(|c| {
            let name = c.channel.to_lowercase();
            if !types.is_empty() && !types.contains(&c.data_type) {
                return None;
            }
            if prefix.as_deref().is_some_and(|p| !name.starts_with(p)) {
                return None;
            }
            if !exact.iter().all(|e| name.contains(e.as_str())) {
                return None;
            }
            let score = fuzzy_score(&name, &text)?;
            let picked = query.previously_selected.is_some_and(|m| {
                m.get(&*c.dataset)
                    .is_some_and(|chans| chans.iter().any(|ch| **ch == *c.channel))
            });
            Some((score, picked, c))
        })
        .collect();
    scored.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then_with(|| a.2.channel.cmp(&b.2.channel))
            .then_with(|| a.2.dataset.cmp(&b.2.dataset))
    });
    scored.into_iter().map(|(_, _, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(ds: &str, ch: &str, t: SeriesDataType) -> Candidate {
        Candidate {
            dataset: Arc::from(ds),
            channel: Arc::from(ch),
            data_type: t,
            unit: None,
        }
    }

    fn names(v: &[Candidate]) -> Vec<&str> {
        v.iter().map(|c| &*c.channel).collect()
    }

    #[test]
    fn closer_matches_rank_first() {
        let all = vec![
            cand("d", "pressure.setpoint", SeriesDataType::Double),
            cand("d", "chamber.pressure", SeriesDataType::Double),
            cand("d", "pressure", SeriesDataType::Double),
            cand("d", "purge.valve.state", SeriesDataType::String),
            cand("d", "temperature", SeriesDataType::Double),
        ];
        let q = Query {
            fuzzy: "Pressure",
            ..Query::default()
        };
        assert_eq!(
            names(&rank(all.clone(), &q)),
            ["pressure", "pressure.setpoint", "chamber.pressure"]
        );
        let q = Query {
            fuzzy: "pvs",
            ..Query::default()
        };
        assert_eq!(names(&rank(all, &q)), ["purge.valve.state"]);
    }

    #[test]
    fn filters_combine() {
        let all = vec![
            cand("d", "a.pressure", SeriesDataType::Double),
            cand("d", "a.pressure.raw", SeriesDataType::Int),
            cand("d", "b.pressure", SeriesDataType::Double),
        ];
        let exact = vec!["RAW".to_string()];
        let q = Query {
            exact: &exact,
            ..Query::default()
        };
        assert_eq!(names(&rank(all.clone(), &q)), ["a.pressure.raw"]);
        let types = [SeriesDataType::Double];
        let q = Query {
            prefix: Some("a."),
            data_types: &types,
            ..Query::default()
        };
        assert_eq!(names(&rank(all, &q)), ["a.pressure"]);
    }
}
