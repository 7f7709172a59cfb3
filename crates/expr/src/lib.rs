//! Sightline's expression language: a compact text syntax for live computations, compiled
//! to the upstream compute graph (a [`ComputableNode`] of the wire types).
//!
//! ```text
//! derivative(chamber.pressure{stand=A})      rolling_mean(thrust, 1s)
//! chamber.pressure > 30                      valve.state == "open"
//! events ~ "abort"                           convert(chamber.pressure, "psi") * 2 + 1
//! ```
//!
//! Owns: the grammar, its one parser, the mapping of each construct to upstream graph
//! nodes, and errors that point at a line and column (`1:14: expected ')', found end of
//! input`). The full language is in `docs/expressions.md`.
//!
//! Must not know: storage, evaluation, HTTP. What type a channel holds is asked of the
//! caller through [`ChannelTypes`]; a channel it does not know is typed by its use.
//!
//! Pipeline, one module per step, imported one way:
//! `lexer` (text → tokens) → `parser` (tokens → `ast`) → `lower` (ast → graph JSON) →
//! [`compile`] (JSON → typed [`ComputableNode`]).

mod ast;
mod error;
mod lexer;
mod lower;
mod parser;

pub use error::{ExprError, Pos, Reason};
use sightline_wire::scout_compute::ComputableNode;

/// Longest expression text accepted; far beyond any hand-written one.
pub const MAX_EXPRESSION_BYTES: usize = 16 * 1024;

/// The type of a stored channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// Doubles or integers.
    Numeric,
    /// Strings (states).
    Enum,
    /// Log messages.
    Log,
}

/// Answers what type a channel holds, so `valve.state` compiles to an enum series.
pub trait ChannelTypes {
    /// The kind of `channel` in `dataset`, or `None` when it is not known (not written yet).
    fn kind(&self, dataset: &str, channel: &str) -> Option<ChannelKind>;
}

/// No catalogue: every channel is typed by its use (numeric unless compared with a string,
/// searched with `~`, or wrapped in `enum(...)` / `log(...)`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCatalog;

impl ChannelTypes for NoCatalog {
    fn kind(&self, _: &str, _: &str) -> Option<ChannelKind> {
        None
    }
}

impl<F: Fn(&str, &str) -> Option<ChannelKind>> ChannelTypes for F {
    fn kind(&self, dataset: &str, channel: &str) -> Option<ChannelKind> {
        self(dataset, channel)
    }
}

/// What a compiled expression produces, which decides how it is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultKind {
    /// A numeric series (lines, or min/max bands when bucketed).
    Numeric,
    /// An enum series (a state strip).
    Enum,
    /// Log messages (a tail).
    Log,
    /// Time ranges (shaded spans).
    Ranges,
}

impl ResultKind {
    /// The lowercase name used on the wire of `POST /sightline/v1/expressions/compile`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResultKind::Numeric => "numeric",
            ResultKind::Enum => "enum",
            ResultKind::Log => "log",
            ResultKind::Ranges => "ranges",
        }
    }
}

/// A compiled expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    /// The graph, ready for a subscription or `POST /compute/v2/compute`.
    pub node: ComputableNode,
    /// What it produces.
    pub kind: ResultKind,
}

/// Compiles `expression`; channels without an explicit dataset belong to `default_dataset`.
pub fn compile(
    expression: &str,
    default_dataset: Option<&str>,
    types: &dyn ChannelTypes,
) -> Result<Compiled, ExprError> {
    let (json, kind) = compile_json(expression, default_dataset, types)?;
    let node = serde_json::from_value(json).map_err(|e| {
        ExprError::new(
            Pos { line: 1, column: 1 },
            Reason::Unrepresentable {
                message: e.to_string(),
            },
        )
    })?;
    Ok(Compiled { node, kind })
}

/// Compiles `expression` to the graph's JSON value, before it is read into wire types.
/// [`compile`] is the usual entry point; this one exists so tests can check that the wire
/// types keep every field the language writes.
pub fn compile_json(
    expression: &str,
    default_dataset: Option<&str>,
    types: &dyn ChannelTypes,
) -> Result<(serde_json::Value, ResultKind), ExprError> {
    if expression.len() > MAX_EXPRESSION_BYTES {
        return Err(ExprError::new(
            Pos { line: 1, column: 1 },
            Reason::TooLong {
                len: expression.len(),
                limit: MAX_EXPRESSION_BYTES,
            },
        ));
    }
    let tokens = lexer::tokenize(expression)?;
    let ast = parser::parse(&tokens)?;
    let mut lowering = lower::Lowering {
        default_dataset,
        types,
        group_by: Vec::new(),
    };
    lowering.top(&ast)
}

/// Every function name the language knows.
pub fn functions() -> &'static [&'static str] {
    lower::FUNCTIONS
}
