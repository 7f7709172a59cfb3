//! Owns turning expression text into tokens with positions: numbers, durations (`250ms`),
//! strings, names, quoted channel names and punctuation. Knows nothing of the grammar.

use crate::error::{ExprError, Pos, Reason};

/// A literal duration: its value in nanoseconds and the unit it was written in, so the
/// graph keeps the author's unit (`2s` stays seconds, `250ms` milliseconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DurationLit {
    pub(crate) nanos: i64,
    pub(crate) unit: DurationUnit,
}

/// The unit a duration was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DurationUnit {
    Nanos,
    Micros,
    Millis,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl DurationUnit {
    fn parse(suffix: &str) -> Option<Self> {
        Some(match suffix {
            "ns" => DurationUnit::Nanos,
            "us" | "µs" => DurationUnit::Micros,
            "ms" => DurationUnit::Millis,
            "s" => DurationUnit::Seconds,
            "m" | "min" => DurationUnit::Minutes,
            "h" => DurationUnit::Hours,
            "d" => DurationUnit::Days,
            _ => return None,
        })
    }

    pub(crate) fn nanos(self) -> i64 {
        match self {
            DurationUnit::Nanos => 1,
            DurationUnit::Micros => 1_000,
            DurationUnit::Millis => 1_000_000,
            DurationUnit::Seconds => 1_000_000_000,
            DurationUnit::Minutes => 60_000_000_000,
            DurationUnit::Hours => 3_600_000_000_000,
            DurationUnit::Days => 86_400_000_000_000,
        }
    }
}

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Number(f64),
    Duration(DurationLit),
    Str(String),
    /// A bare name: function, channel path segment, tag key, keyword.
    Ident(String),
    /// A channel name in backticks, taken verbatim.
    Quoted(String),
    Punct(&'static str),
    End,
}

impl Tok {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Number(n) => format!("number `{n}`"),
            Tok::Duration(_) => "a duration".to_string(),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Quoted(s) => format!("`{s}`"),
            Tok::Punct(p) => format!("'{p}'"),
            Tok::End => "end of input".to_string(),
        }
    }
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: Pos,
}

/// Two-character punctuation first, so `>=` is not read as `>` `=`.
const PUNCT: &[&str] = &[
    ">=", "<=", "==", "!=", "=~", "(", ")", "{", "}", "[", "]", ",", ":", "+", "-", "*", "/", "%",
    "^", ">", "<", "=", "~", "|",
];

/// Splits `text` into tokens, ending with [`Tok::End`].
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = text.chars().collect();
    let mut lexer = Lexer {
        chars: &chars,
        at: 0,
        pos: Pos { line: 1, column: 1 },
    };
    let mut out = Vec::new();
    loop {
        lexer.skip_space();
        let pos = lexer.pos;
        let Some(c) = lexer.peek(0) else {
            out.push(Token { tok: Tok::End, pos });
            return Ok(out);
        };
        let tok = if c.is_ascii_digit()
            || (c == '.' && lexer.peek(1).is_some_and(|d| d.is_ascii_digit()))
        {
            lexer.number(pos)?
        } else if c.is_alphabetic() || c == '_' {
            Tok::Ident(lexer.name())
        } else if c == '"' || c == '\'' {
            Tok::Str(lexer.quoted(c, "string", pos)?)
        } else if c == '`' {
            Tok::Quoted(lexer.quoted('`', "channel name", pos)?)
        } else if let Some(p) = PUNCT.iter().find(|p| lexer.starts_with(p)) {
            for _ in 0..p.chars().count() {
                lexer.bump();
            }
            Tok::Punct(p)
        } else {
            return Err(ExprError::new(pos, Reason::UnexpectedChar { ch: c }));
        };
        out.push(Token { tok, pos });
    }
}

struct Lexer<'a> {
    chars: &'a [char],
    at: usize,
    pos: Pos,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn starts_with(&self, p: &str) -> bool {
        p.chars().enumerate().all(|(i, c)| self.peek(i) == Some(c))
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.at += 1;
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    fn skip_space(&mut self) {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek(0).filter(|c| keep(*c)) {
            s.push(c);
            self.bump();
        }
        s
    }

    /// A name; dots join segments (`chamber.pressure`, `engine.1.temp`) when a name
    /// character follows them.
    fn name(&mut self) -> String {
        let mut s = String::new();
        loop {
            match self.peek(0) {
                Some(c) if c.is_alphanumeric() || c == '_' => s.push(c),
                Some('.')
                    if self
                        .peek(1)
                        .is_some_and(|c| c.is_alphanumeric() || c == '_') =>
                {
                    s.push('.')
                }
                _ => return s,
            }
            self.bump();
        }
    }

    fn number(&mut self, pos: Pos) -> Result<Tok, ExprError> {
        let mut text = self.take_while(|c| c.is_ascii_digit() || c == '.' || c == '_');
        // An exponent only when digits follow, so `2e` is not swallowed as a number.
        if matches!(self.peek(0), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek(1), Some('+' | '-')));
            if self.peek(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                for _ in 0..=sign {
                    text.extend(self.bump());
                }
                text.push_str(&self.take_while(|c| c.is_ascii_digit()));
            }
        }
        let digits: String = text.chars().filter(|c| *c != '_').collect();
        let invalid = || ExprError::new(pos, Reason::InvalidNumber { text: text.clone() });
        let value: f64 = digits.parse().map_err(|_| invalid())?;
        if !value.is_finite() {
            return Err(invalid());
        }
        let suffix = self.take_while(|c| c.is_alphabetic() || c == 'µ');
        if suffix.is_empty() {
            return Ok(Tok::Number(value));
        }
        let Some(unit) = DurationUnit::parse(&suffix) else {
            return Err(ExprError::new(
                pos,
                Reason::UnknownDurationUnit { unit: suffix },
            ));
        };
        let nanos = value * unit.nanos() as f64;
        // Beyond ±2^63 ns (292 years) a duration cannot be represented on the wire.
        let out_of_range = nanos.abs() >= 9.2e18;
        if out_of_range || nanos.fract() != 0.0 {
            return Err(ExprError::new(
                pos,
                if out_of_range {
                    Reason::DurationOutOfRange {
                        text: format!("{text}{suffix}"),
                    }
                } else {
                    Reason::InvalidNumber {
                        text: format!("{text}{suffix} (finer than a nanosecond)"),
                    }
                },
            ));
        }
        Ok(Tok::Duration(DurationLit {
            nanos: nanos as i64,
            unit,
        }))
    }

    fn quoted(&mut self, quote: char, what: &'static str, pos: Pos) -> Result<String, ExprError> {
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump() {
                None => return Err(ExprError::new(pos, Reason::Unterminated { what, quote })),
                Some(c) if c == quote => return Ok(s),
                Some('\\') => match self.bump() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some(c @ ('\\' | '"' | '\'' | '`')) => s.push(c),
                    // Other escapes stay as written, so regexes read naturally: "\d+".
                    Some(c) => {
                        s.push('\\');
                        s.push(c);
                    }
                    None => return Err(ExprError::new(pos, Reason::Unterminated { what, quote })),
                },
                Some(c) => s.push(c),
            }
        }
    }
}
