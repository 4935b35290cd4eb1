//! Recursive-descent parser for JSON filter patterns. Errors carry the
//! 1-based column of the character where something else was expected.

use super::eval::{parse_number, Matcher};
use super::{Expr, NumOp, Op, Selector, Step, Test};
use crate::error::{Error, ErrorKind, Result};

/// CloudWatch Logs allows at most two regex terms in one pattern.
const MAX_REGEX_TERMS: usize = 2;
/// CloudWatch Logs accepts patterns of at most this many characters.
pub const MAX_PATTERN_CHARS: usize = 1024;
/// Parentheses nest at most this deep (the parser recurses on each level).
pub const MAX_NESTING: usize = 32;

pub(super) fn parse(text: &str) -> Result<Expr> {
    let chars = text.chars().count();
    if chars > MAX_PATTERN_CHARS {
        return Err(Error::new(ErrorKind::Pattern {
            column: MAX_PATTERN_CHARS + 1,
            message: format!("the pattern is {chars} characters; CloudWatch Logs accepts at most {MAX_PATTERN_CHARS}"),
        }));
    }
    let mut p = Parser { chars: text.chars().collect(), pos: 0, regexes: 0, depth: 0 };
    p.ws();
    p.expect('{', "'{' to open a JSON filter pattern")?;
    let expr = p.or_expr()?;
    p.ws();
    p.expect('}', "'&&', '||' or '}'")?;
    p.ws();
    if p.pos < p.chars.len() {
        return Err(p.error("end of pattern after '}'"));
    }
    Ok(expr)
}

/// Parses a lone selector such as `$.requestParameters.groupId` or `$.resources[*].ARN`.
pub(super) fn parse_selector(text: &str) -> Result<Selector> {
    let mut p = Parser { chars: text.trim().chars().collect(), pos: 0, regexes: 0, depth: 0 };
    let selector = p.selector()?;
    if p.pos < p.chars.len() {
        return Err(p.error("'.', '[' or the end of the selector"));
    }
    Ok(selector)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    regexes: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn looking_at(&self, s: &str) -> bool {
        let mut rest = self.chars[self.pos.min(self.chars.len())..].iter();
        s.chars().all(|c| rest.next() == Some(&c))
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.looking_at(s) {
            self.pos += s.chars().count();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char, what: &str) -> Result<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// "expected WHAT at column N" (with what was found instead).
    fn error(&self, what: &str) -> Error {
        let found = match self.peek() {
            Some(c) => format!(", found '{c}'"),
            None => ", found the end of the pattern".to_string(),
        };
        self.error_at(self.pos, format!("expected {what}{found}"))
    }

    fn error_at(&self, pos: usize, message: String) -> Error {
        Error::new(ErrorKind::Pattern { column: pos + 1, message })
    }

    fn or_expr(&mut self) -> Result<Expr> {
        let mut parts = vec![self.and_expr()?];
        loop {
            self.ws();
            if !self.eat("||") {
                break;
            }
            parts.push(self.and_expr()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Expr::Or(parts) })
    }

    fn and_expr(&mut self) -> Result<Expr> {
        let mut parts = vec![self.term()?];
        loop {
            self.ws();
            if !self.eat("&&") {
                break;
            }
            parts.push(self.term()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Expr::And(parts) })
    }

    fn term(&mut self) -> Result<Expr> {
        self.ws();
        if self.eat("(") {
            self.depth += 1;
            if self.depth > MAX_NESTING {
                return Err(self.error_at(self.pos - 1, format!("parentheses nest deeper than {MAX_NESTING} levels")));
            }
            let inner = self.or_expr()?;
            self.ws();
            self.expect(')', "'&&', '||' or ')'")?;
            self.depth -= 1;
            return Ok(inner);
        }
        if self.peek() != Some('$') {
            return Err(self.error("a selector starting with '$' or '('"));
        }
        self.test()
    }

    fn selector(&mut self) -> Result<Selector> {
        self.expect('$', "'$'")?;
        let mut steps = Vec::new();
        loop {
            match self.peek() {
                Some('.') => {
                    self.pos += 1;
                    if self.eat("*") {
                        steps.push(Step::AnyChild);
                        continue;
                    }
                    let start = self.pos;
                    while self.peek().is_some_and(is_key_char) {
                        self.pos += 1;
                    }
                    if self.pos == start {
                        return Err(self.error("a property name after '.'"));
                    }
                    steps.push(Step::Key(self.chars[start..self.pos].iter().collect()));
                }
                Some('[') => {
                    self.pos += 1;
                    if self.eat("*") {
                        steps.push(Step::AnyChild);
                    } else {
                        let start = self.pos;
                        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                            self.pos += 1;
                        }
                        let digits: String = self.chars[start..self.pos].iter().collect();
                        let index =
                            digits.parse::<usize>().map_err(|_| self.error("an array index or '*' after '['"))?;
                        steps.push(Step::Index(index));
                    }
                    self.expect(']', "']'")?;
                }
                _ => break,
            }
        }
        if steps.is_empty() {
            return Err(self.error("'.' or '[' after '$'"));
        }
        Ok(Selector { steps })
    }

    fn test(&mut self) -> Result<Expr> {
        let selector = self.selector()?;
        self.ws();
        let op_pos = self.pos;
        let op = if self.eat("!=") {
            Op::Ne(self.value()?)
        } else if self.eat("<=") {
            Op::Num(NumOp::Le, self.number(op_pos)?)
        } else if self.eat(">=") {
            Op::Num(NumOp::Ge, self.number(op_pos)?)
        } else if self.eat("<") {
            Op::Num(NumOp::Lt, self.number(op_pos)?)
        } else if self.eat(">") {
            Op::Num(NumOp::Gt, self.number(op_pos)?)
        } else if self.eat("=") {
            Op::Eq(self.value()?)
        } else if self.eat("IS") {
            self.ws();
            if self.eat("NULL") {
                Op::IsNull
            } else if self.eat("TRUE") {
                Op::IsTrue
            } else if self.eat("FALSE") {
                Op::IsFalse
            } else {
                return Err(self.error("NULL, TRUE or FALSE after IS"));
            }
        } else if self.eat("NOT") {
            self.ws();
            if !self.eat("EXISTS") {
                return Err(self.error("EXISTS after NOT"));
            }
            Op::NotExists
        } else {
            return Err(self.error("'=', '!=', '<', '>', '<=', '>=', IS or NOT EXISTS after selector"));
        };
        if matches!(op, Op::IsNull | Op::IsTrue | Op::IsFalse | Op::NotExists) && self.peek().is_some_and(is_bare_char)
        {
            return Err(self.error("white space, ')', '&&', '||' or '}' after the keyword"));
        }
        Ok(Expr::Test(Test { selector, op, slot: usize::MAX }))
    }

    fn number(&mut self, op_pos: usize) -> Result<f64> {
        self.ws();
        let start = self.pos;
        let text = self.bare();
        parse_number(&text).ok_or_else(|| {
            self.pos = start;
            let op: String = self.chars[op_pos..start].iter().collect();
            self.error(&format!("a number after '{}'", op.trim()))
        })
    }

    /// The value after `=` or `!=`: quoted string, `%regex%`, or a bare word.
    fn value(&mut self) -> Result<Matcher> {
        self.ws();
        let start = self.pos;
        match self.peek() {
            Some('"') => {
                self.pos += 1;
                let mut text = String::new();
                loop {
                    match self.peek() {
                        None => return Err(self.error_at(start, "unterminated string".into())),
                        Some('"') => {
                            self.pos += 1;
                            break;
                        }
                        Some('\\') if matches!(self.chars.get(self.pos + 1), Some('"' | '\\')) => {
                            text.push(self.chars[self.pos + 1]);
                            self.pos += 2;
                        }
                        Some(c) => {
                            text.push(c);
                            self.pos += 1;
                        }
                    }
                }
                Ok(Matcher::from_text(&text, false))
            }
            Some('%') => {
                self.pos += 1;
                let body_start = self.pos;
                while self.peek().is_some_and(|c| c != '%') {
                    let c = self.peek().unwrap_or_default();
                    if !is_regex_char(c) {
                        return Err(self.error_at(self.pos, format!("'{c}' is not allowed in a filter-pattern regex")));
                    }
                    self.pos += 1;
                }
                if self.peek().is_none() {
                    return Err(self.error_at(start, "unterminated regex (missing closing '%')".into()));
                }
                let body: String = self.chars[body_start..self.pos].iter().collect();
                self.pos += 1;
                self.regexes += 1;
                if self.regexes > MAX_REGEX_TERMS {
                    return Err(self.error_at(start, "a third regex term (CloudWatch allows two per pattern)".into()));
                }
                if body.is_empty() {
                    return Err(self.error_at(start, "an empty regex".into()));
                }
                let regex = crate::limits::regex(&body)
                    .map_err(|e| self.error_at(body_start, format!("invalid regex: {e}")))?;
                Ok(Matcher::Regex(regex))
            }
            _ => {
                let text = self.bare();
                if text.is_empty() {
                    return Err(self.error("a value (quoted string, bare word, number or %regex%)"));
                }
                Ok(Matcher::from_text(&text, true))
            }
        }
    }

    /// A bare word: runs to white space, ')', '}', '&&' or '||'.
    fn bare(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if !is_bare_char(c) || self.looking_at("&&") || self.looking_at("||") {
                break;
            }
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }
}

fn is_key_char(c: char) -> bool {
    !c.is_whitespace()
        && !matches!(c, '.' | '[' | ']' | '(' | ')' | '{' | '}' | '=' | '!' | '<' | '>' | '&' | '|' | '"' | '%')
}

fn is_bare_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, ')' | '}')
}

/// The characters CloudWatch allows in a regex term: alphanumerics, the
/// symbols `:_#=@/;,-`, and the operators `^$?[]{}|\*+.`. No `(` `)`.
fn is_regex_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || ":_#=@/;,-^$?[]{}|\\*+.".contains(c)
}
