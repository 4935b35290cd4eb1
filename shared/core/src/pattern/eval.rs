//! Evaluation of parsed patterns against extracted record values.

use super::{Expr, NumOp, Op, Test};
use crate::extract::{Scalar, Values};

/// The right-hand side of `=` / `!=`.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// `*`: any present scalar value.
    Any,
    Exact(String),
    /// `abc*`
    Prefix(String),
    /// `*abc`
    Suffix(String),
    /// `*abc*`
    Contains(String),
    /// A bare number: numeric equality with numbers, text equality with strings.
    Number {
        value: f64,
        text: String,
    },
    /// `%regex%`: a match anywhere in the value unless anchored.
    Regex(regex::Regex),
}

impl Matcher {
    /// Builds a matcher from a value's text; `*` first and/or last is a wildcard.
    pub(super) fn from_text(text: &str, bare: bool) -> Matcher {
        if text == "*" {
            return Matcher::Any;
        }
        let (head, tail) = (text.starts_with('*'), text.ends_with('*') && text.len() > 1);
        match (head, tail) {
            (true, true) => Matcher::Contains(text[1..text.len() - 1].to_string()),
            (true, false) => Matcher::Suffix(text[1..].to_string()),
            (false, true) => Matcher::Prefix(text[..text.len() - 1].to_string()),
            (false, false) => match parse_number(text).filter(|_| bare) {
                Some(value) => Matcher::Number { value, text: text.to_string() },
                None => Matcher::Exact(text.to_string()),
            },
        }
    }

    fn matches_text(&self, s: &str) -> bool {
        match self {
            Matcher::Any => true,
            Matcher::Exact(t) | Matcher::Number { text: t, .. } => s == t,
            Matcher::Prefix(t) => s.starts_with(t.as_str()),
            Matcher::Suffix(t) => s.ends_with(t.as_str()),
            Matcher::Contains(t) => s.contains(t.as_str()),
            Matcher::Regex(r) => r.is_match(s),
        }
    }

    /// Whether a scalar value matches. Objects, arrays and null never match.
    fn matches(&self, value: &Scalar<'_>) -> bool {
        match value {
            Scalar::Str(s) => self.matches_text(s),
            Scalar::Num(n) => match self {
                Matcher::Number { value, .. } => n == value,
                _ => self.matches_text(&number_text(*n)),
            },
            Scalar::Bool(b) => self.matches_text(if *b { "true" } else { "false" }),
            Scalar::Null | Scalar::Container => false,
        }
    }
}

/// The text a JSON number is compared as: integers without a fraction.
fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn is_comparable(value: &Scalar<'_>) -> bool {
    matches!(value, Scalar::Str(_) | Scalar::Num(_) | Scalar::Bool(_))
}

pub(super) fn eval(expr: &Expr, values: &Values<'_>) -> bool {
    match expr {
        Expr::And(parts) => parts.iter().all(|p| eval(p, values)),
        Expr::Or(parts) => parts.iter().any(|p| eval(p, values)),
        Expr::Test(test) => eval_test(test, values.get(test.slot)),
    }
}

fn eval_test(test: &Test, reached: &[Scalar<'_>]) -> bool {
    match &test.op {
        Op::Eq(m) => reached.iter().any(|v| m.matches(v)),
        Op::Ne(m) => reached.iter().any(|v| is_comparable(v) && !m.matches(v)),
        Op::Num(op, rhs) => reached.iter().any(|v| match v {
            Scalar::Num(n) => match op {
                NumOp::Lt => n < rhs,
                NumOp::Gt => n > rhs,
                NumOp::Le => n <= rhs,
                NumOp::Ge => n >= rhs,
            },
            _ => false,
        }),
        Op::IsNull => reached.iter().any(|v| matches!(v, Scalar::Null)),
        Op::NotExists => reached.is_empty(),
        Op::IsTrue => reached.iter().any(|v| matches!(v, Scalar::Bool(true))),
        Op::IsFalse => reached.iter().any(|v| matches!(v, Scalar::Bool(false))),
    }
}

/// A JSON-style number: integer, decimal or exponent form.
pub(super) fn parse_number(text: &str) -> Option<f64> {
    let body = text.strip_prefix('-').unwrap_or(text);
    let starts_ok = body.chars().next().is_some_and(|c| c.is_ascii_digit());
    let chars_ok = body.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    if !starts_ok || !chars_ok {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}
