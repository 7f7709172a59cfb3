//! Owns the grammar: a recursive-descent parser from tokens to [`Expr`], with a nesting
//! limit so hostile input cannot exhaust the stack. Precedence, loosest first:
//!
//! ```text
//! or  <  and  <  not  <  > >= < <= == != ~ =~ in  <  + -  <  * / %  <  unary -  <  ^  <  atoms
//! ```

use crate::ast::{BinOp, Expr, ExprKind, TagMatch};
use crate::error::{ExprError, Pos, Reason};
use crate::lexer::{Tok, Token};

/// Deeper nesting than this is refused; real expressions stay far below it.
pub(crate) const MAX_DEPTH: usize = 64;

/// Parses a whole expression; anything after it is an error.
pub(crate) fn parse(tokens: &[Token]) -> Result<Expr, ExprError> {
    let mut p = Parser {
        tokens,
        at: 0,
        depth: 0,
    };
    let expr = p.expr()?;
    if p.peek().tok != Tok::End {
        return Err(p.expected("an operator or end of input"));
    }
    Ok(expr)
}

struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // The token list always ends with `End`, and `at` never passes it.
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::End {
            self.at += 1;
        }
        t
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(&self.peek().tok, Tok::Punct(q) if *q == p)
    }

    fn is_keyword(&self, k: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s == k)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        let hit = self.is_punct(p);
        if hit {
            self.next();
        }
        hit
    }

    fn expect_punct(&mut self, p: &str) -> Result<(), ExprError> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            Err(self.expected(&format!("'{p}'")))
        }
    }

    fn expected(&self, what: &str) -> ExprError {
        let t = self.peek();
        ExprError::new(
            t.pos,
            Reason::Expected {
                expected: what.to_string(),
                found: t.tok.describe(),
            },
        )
    }

    /// Counts one level of nesting; every recursive rule goes through here.
    fn nested<T>(
        &mut self,
        rule: impl FnOnce(&mut Self) -> Result<T, ExprError>,
    ) -> Result<T, ExprError> {
        if self.depth >= MAX_DEPTH {
            return Err(ExprError::new(
                self.peek().pos,
                Reason::TooDeep { limit: MAX_DEPTH },
            ));
        }
        self.depth += 1;
        let out = rule(self);
        self.depth -= 1;
        out
    }

    fn expr(&mut self) -> Result<Expr, ExprError> {
        self.nested(Self::or)
    }

    fn binary(pos: Pos, op: BinOp, left: Expr, right: Expr) -> Expr {
        Expr {
            pos,
            kind: ExprKind::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            },
        }
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.and()?;
        while self.is_keyword("or") || self.is_punct("|") {
            let pos = self.next().pos;
            let right = self.and()?;
            left = Self::binary(pos, BinOp::Or, left, right);
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.not()?;
        while self.is_keyword("and") {
            let pos = self.next().pos;
            let right = self.not()?;
            left = Self::binary(pos, BinOp::And, left, right);
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, ExprError> {
        if self.is_keyword("not") {
            let pos = self.next().pos;
            let inner = self.nested(Self::not)?;
            return Ok(Expr {
                pos,
                kind: ExprKind::Not(Box::new(inner)),
            });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, ExprError> {
        let left = self.additive()?;
        let op = match &self.peek().tok {
            Tok::Punct(">") => BinOp::Gt,
            Tok::Punct(">=") => BinOp::Ge,
            Tok::Punct("<") => BinOp::Lt,
            Tok::Punct("<=") => BinOp::Le,
            Tok::Punct("==") => BinOp::Eq,
            Tok::Punct("!=") => BinOp::Ne,
            Tok::Punct("~") => BinOp::Contains,
            Tok::Punct("=~") => BinOp::Matches,
            Tok::Punct("=") => return Err(self.expected("'==' (comparison) or an operator")),
            Tok::Ident(k) if k == "in" => {
                let pos = self.next().pos;
                self.expect_punct("(")?;
                let values = self.list(")")?;
                return Ok(Expr {
                    pos,
                    kind: ExprKind::In {
                        input: Box::new(left),
                        values,
                    },
                });
            }
            _ => return Ok(left),
        };
        let pos = self.next().pos;
        let right = self.additive()?;
        Ok(Self::binary(pos, op, left, right))
    }

    fn additive(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = if self.is_punct("+") {
                BinOp::Add
            } else if self.is_punct("-") {
                BinOp::Sub
            } else {
                return Ok(left);
            };
            let pos = self.next().pos;
            let right = self.multiplicative()?;
            left = Self::binary(pos, op, left, right);
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.is_punct("*") {
                BinOp::Mul
            } else if self.is_punct("/") {
                BinOp::Div
            } else if self.is_punct("%") {
                BinOp::Mod
            } else {
                return Ok(left);
            };
            let pos = self.next().pos;
            let right = self.unary()?;
            left = Self::binary(pos, op, left, right);
        }
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        if self.is_punct("-") {
            let pos = self.next().pos;
            let inner = self.nested(Self::unary)?;
            return Ok(Expr {
                pos,
                kind: ExprKind::Neg(Box::new(inner)),
            });
        }
        if self.eat_punct("+") {
            return self.nested(Self::unary);
        }
        self.power()
    }

    fn power(&mut self) -> Result<Expr, ExprError> {
        let base = self.atom()?;
        if self.is_punct("^") {
            let pos = self.next().pos;
            // Right-associative, and `2 ^ -1` is allowed.
            let exponent = self.nested(Self::unary)?;
            return Ok(Self::binary(pos, BinOp::Pow, base, exponent));
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<Expr, ExprError> {
        let token = self.peek().clone();
        let pos = token.pos;
        let kind = match token.tok {
            Tok::Number(n) => {
                self.next();
                ExprKind::Number(n)
            }
            Tok::Duration(d) => {
                self.next();
                ExprKind::Duration(d)
            }
            Tok::Punct("(") => {
                self.next();
                let inner = self.expr()?;
                self.expect_punct(")")?;
                return Ok(inner);
            }
            Tok::Str(s) => {
                self.next();
                if self.eat_punct(":") {
                    return self.channel(pos, Some(s));
                }
                ExprKind::Str(s)
            }
            Tok::Quoted(_) => return self.channel(pos, None),
            Tok::Ident(name) if !is_keyword(&name) => {
                self.next();
                if self.eat_punct("(") {
                    let args = self.list(")")?;
                    ExprKind::Call { name, args }
                } else {
                    self.at -= 1;
                    return self.channel(pos, None);
                }
            }
            _ => return Err(self.expected("a channel, number, duration, string or '('")),
        };
        Ok(Expr { pos, kind })
    }

    /// `name` or `` `name` `` then optional `{key=value, ...}`.
    fn channel(&mut self, pos: Pos, dataset: Option<String>) -> Result<Expr, ExprError> {
        let name = match self.next().tok {
            Tok::Ident(s) | Tok::Quoted(s) => s,
            _ => {
                self.at -= 1;
                return Err(self.expected("a channel name"));
            }
        };
        let mut tags = Vec::new();
        if self.eat_punct("{") {
            while !self.eat_punct("}") {
                tags.push(self.tag()?);
                if !self.eat_punct(",") {
                    self.expect_punct("}")?;
                    break;
                }
            }
        }
        Ok(Expr {
            pos,
            kind: ExprKind::Channel {
                dataset,
                name,
                tags,
            },
        })
    }

    fn tag(&mut self) -> Result<TagMatch, ExprError> {
        let key = self.word("a tag key")?;
        let negated = if self.eat_punct("!=") {
            true
        } else if self.eat_punct("=") || self.eat_punct("==") {
            false
        } else {
            return Err(self.expected("'=' or '!='"));
        };
        let mut values = vec![self.word("a tag value")?];
        while self.eat_punct("|") {
            values.push(self.word("a tag value")?);
        }
        Ok(TagMatch {
            key,
            values,
            negated,
        })
    }

    /// A name, quoted name, string or number, as text (tag keys and values).
    fn word(&mut self, what: &str) -> Result<String, ExprError> {
        match self.peek().tok.clone() {
            Tok::Ident(s) | Tok::Quoted(s) | Tok::Str(s) => {
                self.next();
                Ok(s)
            }
            Tok::Number(n) => {
                self.next();
                Ok(n.to_string())
            }
            _ => Err(self.expected(what)),
        }
    }

    /// Comma-separated expressions up to `close` (already past the opening bracket).
    fn list(&mut self, close: &str) -> Result<Vec<Expr>, ExprError> {
        let mut items = Vec::new();
        if self.eat_punct(close) {
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            if self.eat_punct(close) {
                return Ok(items);
            }
            if !self.eat_punct(",") {
                return Err(self.expected(&format!("',' or '{close}'")));
            }
        }
    }
}

fn is_keyword(name: &str) -> bool {
    matches!(name, "and" | "or" | "not" | "in")
}
