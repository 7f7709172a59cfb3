//! Owns the syntax tree the parser builds and the lowering reads: every node keeps the
//! position it started at, so lowering errors point at the right column too.

use crate::error::Pos;
use crate::lexer::DurationLit;

/// One expression node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Expr {
    pub(crate) pos: Pos,
    pub(crate) kind: ExprKind,
}

/// A tag condition inside `{...}` after a channel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TagMatch {
    pub(crate) key: String,
    /// Any of these values (`stand=A|B`).
    pub(crate) values: Vec<String>,
    /// `!=`: none of the values.
    pub(crate) negated: bool,
}

/// What an expression node is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ExprKind {
    Number(f64),
    Duration(DurationLit),
    Str(String),
    Channel {
        /// An explicit dataset (`"ri...":name`); else the default one.
        dataset: Option<String>,
        name: String,
        tags: Vec<TagMatch>,
    },
    Call {
        name: String,
        args: Vec<Expr>,
    },
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `x in ("a", "b")`.
    In {
        input: Box<Expr>,
        values: Vec<Expr>,
    },
}

/// Infix operators, loosest binding first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    And,
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
    /// `~`: a log message contains the text (case-insensitive).
    Contains,
    /// `=~`: a log message matches the regex.
    Matches,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl BinOp {
    /// The operator as written.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Contains => "~",
            BinOp::Matches => "=~",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
        }
    }
}
