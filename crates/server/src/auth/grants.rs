//! What a token may do: dataset RID patterns it may read and write.
//!
//! A pattern is a RID with `*` standing for any run of characters (possibly empty), e.g.
//! `ri.nominal.main.dataset.*` or `*`. Everything else matches itself exactly.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A dataset RID pattern with `*` wildcards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RidPattern(String);

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// An empty pattern matches nothing and is almost certainly a mistake.
    #[error("a RID pattern must not be empty (use `*` for every dataset)")]
    Empty,
    /// Whitespace or control characters never occur in a RID.
    #[error("RID pattern `{pattern}` contains whitespace or control characters")]
    InvalidCharacter {
        /// The pattern as given.
        pattern: String,
    },
}

impl RidPattern {
    /// Checks and wraps a pattern.
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        if pattern.is_empty() {
            return Err(PatternError::Empty);
        }
        if pattern.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(PatternError::InvalidCharacter {
                pattern: pattern.to_string(),
            });
        }
        Ok(RidPattern(pattern.to_string()))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `rid` matches: literal parts in order, `*` matching any run between them.
    pub fn matches(&self, rid: &str) -> bool {
        let mut parts = self.0.split('*');
        // `split` always yields at least one part.
        let first = parts.next().unwrap_or_default();
        let Some(mut rest) = rid.strip_prefix(first) else {
            return false;
        };
        let parts: Vec<&str> = parts.collect();
        let Some((last, middle)) = parts.split_last() else {
            // No `*`: the whole RID must be the literal.
            return rest.is_empty();
        };
        for part in middle {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(last)
    }
}

impl fmt::Display for RidPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The datasets a token may read and write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// Patterns of datasets it may compute over and subscribe to.
    #[serde(default)]
    pub read: Vec<RidPattern>,
    /// Patterns of datasets it may write to.
    #[serde(default)]
    pub write: Vec<RidPattern>,
}

impl Grants {
    /// Whether computations and subscriptions may read `rid`.
    pub fn can_read(&self, rid: &str) -> bool {
        self.read.iter().any(|p| p.matches(rid))
    }

    /// Whether writes to `rid` are allowed.
    pub fn can_write(&self, rid: &str) -> bool {
        self.write.iter().any(|p| p.matches(rid))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn matches(pattern: &str, rid: &str) -> bool {
        RidPattern::parse(pattern).unwrap().matches(rid)
    }

    #[test]
    fn literal_patterns_match_only_themselves() {
        assert!(matches("ri.a.b.dataset.x", "ri.a.b.dataset.x"));
        assert!(!matches("ri.a.b.dataset.x", "ri.a.b.dataset.xy"));
        assert!(!matches("ri.a.b.dataset.x", "ri.a.b.dataset."));
    }

    #[test]
    fn stars_match_any_run() {
        assert!(matches("*", "anything"));
        assert!(matches("*", ""));
        assert!(matches(
            "ri.nominal.main.dataset.*",
            "ri.nominal.main.dataset.abc"
        ));
        assert!(matches(
            "ri.nominal.main.dataset.*",
            "ri.nominal.main.dataset."
        ));
        assert!(!matches(
            "ri.nominal.main.dataset.*",
            "ri.nominal.other.dataset.abc"
        ));
        assert!(matches("ri.*.dataset.*", "ri.nominal.main.dataset.abc"));
        assert!(matches("*.abc", "ri.x.abc"));
        assert!(!matches("*.abc", "ri.x.abcd"));
        // A suffix must not overlap the prefix it follows.
        assert!(!matches("ab*ba", "aba"));
        assert!(matches("a*a*a", "aaa"));
        assert!(!matches("a*a*a", "aa"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert_eq!(RidPattern::parse(""), Err(PatternError::Empty));
        assert!(RidPattern::parse("ri.a b").is_err());
    }

    #[test]
    fn grants_separate_read_and_write() {
        let grants = Grants {
            read: vec![RidPattern::parse("ri.a.*").unwrap()],
            write: vec![RidPattern::parse("ri.a.w").unwrap()],
        };
        assert!(grants.can_read("ri.a.w") && grants.can_read("ri.a.r"));
        assert!(grants.can_write("ri.a.w") && !grants.can_write("ri.a.r"));
        assert!(!grants.can_read("ri.b.x"));
    }
}
