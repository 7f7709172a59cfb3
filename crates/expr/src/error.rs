//! Owns the one error type of the expression language: where it went wrong (line and
//! 1-based column) and why, rendered as `line:column: reason`.

/// A position in the expression text: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters (not bytes) so a caret lines up under it.
    pub column: usize,
}

/// An expression that could not be compiled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}:{}: {reason}", pos.line, pos.column)]
pub struct ExprError {
    /// Where the problem starts.
    pub pos: Pos,
    /// What is wrong there.
    pub reason: Reason,
}

impl ExprError {
    pub(crate) fn new(pos: Pos, reason: Reason) -> Self {
        ExprError { pos, reason }
    }

    /// The 1-based line of the problem.
    pub fn line(&self) -> usize {
        self.pos.line
    }

    /// The 1-based column of the problem.
    pub fn column(&self) -> usize {
        self.pos.column
    }

    /// The expression's line with a caret under the offending column, for terminals.
    pub fn caret(&self, source: &str) -> String {
        let line = source
            .lines()
            .nth(self.pos.line.saturating_sub(1))
            .unwrap_or("");
        let pad = " ".repeat(self.pos.column.saturating_sub(1));
        format!("{line}\n{pad}^ {}", self.reason)
    }
}

/// Why an expression was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Reason {
    /// The grammar wanted something else here.
    #[error("expected {expected}, found {found}")]
    Expected {
        /// What would have been accepted, e.g. `')'`.
        expected: String,
        /// What was there instead, e.g. `','` or `end of input`.
        found: String,
    },
    /// A character that starts no token.
    #[error("unexpected character `{ch}`")]
    UnexpectedChar {
        /// The character.
        ch: char,
    },
    /// A string or quoted name without its closing quote.
    #[error("unterminated {what}; add the closing {quote}")]
    Unterminated {
        /// `string` or `channel name`.
        what: &'static str,
        /// The missing quote character.
        quote: char,
    },
    /// A number that does not parse or is not finite.
    #[error("invalid number `{text}`")]
    InvalidNumber {
        /// The number as written.
        text: String,
    },
    /// A number followed by letters that are not a duration unit.
    #[error("unknown duration unit `{unit}` (use ns, us, ms, s, m, h or d)")]
    UnknownDurationUnit {
        /// The letters after the number.
        unit: String,
    },
    /// A duration too large to represent in nanoseconds.
    #[error("duration `{text}` is out of range")]
    DurationOutOfRange {
        /// The duration as written.
        text: String,
    },
    /// A call to a function the language does not have.
    #[error("unknown function `{name}` (see docs/expressions.md for the list)")]
    UnknownFunction {
        /// The name as written.
        name: String,
    },
    /// A call with the wrong number of arguments.
    #[error("`{function}` takes {expected}, got {found}")]
    Arity {
        /// The function.
        function: String,
        /// The accepted counts, e.g. `2 arguments` or `1 or 2 arguments`.
        expected: &'static str,
        /// The number given.
        found: usize,
    },
    /// A value of the wrong kind where a specific kind is needed.
    #[error("{context} needs {expected}, but this is {found}")]
    TypeMismatch {
        /// Where the value was used, e.g. `` `derivative` `` or `` `>` ``.
        context: String,
        /// What would have been accepted, e.g. `a numeric series`.
        expected: &'static str,
        /// What the value is, e.g. `a log series`.
        found: &'static str,
    },
    /// An argument outside the range the node accepts.
    #[error("{context}: {problem}")]
    OutOfRange {
        /// The function or operator.
        context: String,
        /// What is wrong and what is allowed.
        problem: String,
    },
    /// A channel without a dataset, and no default dataset was given.
    #[error(
        "channel `{channel}` has no dataset: pass a default dataset or write \"ri...\":{channel}"
    )]
    NoDataset {
        /// The channel name.
        channel: String,
    },
    /// Nesting deeper than the parser allows.
    #[error("expression nests deeper than {limit} levels")]
    TooDeep {
        /// The nesting limit.
        limit: usize,
    },
    /// The expression text is longer than allowed.
    #[error("expression is {len} bytes; the limit is {limit}")]
    TooLong {
        /// The length given.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The lowered graph does not fit the wire types: a bug in the language, reported
    /// rather than panicking.
    #[error("the expression compiled to a graph the wire types refuse: {message}")]
    Unrepresentable {
        /// What serde refused.
        message: String,
    },
}
