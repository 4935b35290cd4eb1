//! CloudWatch Logs JSON filter patterns, with AWS's semantics.
//!
//! `{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != "Yes") }`
//! is parsed once ([`Pattern::parse`]) into an [`Expr`] tree whose tests read
//! values that the record extractor ([`crate::extract`]) pulled out of a record
//! in a single pass. The semantics that surprise, kept on purpose:
//!
//! - a missing field makes both `=` and `!=` false (`!=` is "present and
//!   different"); a field holding an object, an array or `null` too;
//! - `*` is a wildcard only as the first or last character, quoted or not;
//!   `= *` matches any present value; matching is case-sensitive;
//! - a number literal compares numerically with JSON numbers, and as text with
//!   JSON strings (`$.recipientAccountId = 123456789012` matches the string);
//! - `<`, `>`, `<=`, `>=` need a JSON number;
//! - `&&` binds tighter than `||`;
//! - `[*]` and `.*` reach every child; a test is true if any reached value passes.

mod eval;
mod parse;

use std::fmt;

use crate::error::Result;
use crate::extract::PathTable;

pub use self::eval::Matcher;
pub use crate::selector::{Selector, Step};

/// Parses a selector: `$.a.b[0]`, `$.a[*].b`, `$.a.*`; errors name the column.
pub fn parse_selector(text: &str) -> Result<Selector> {
    parse::parse_selector(text)
}

/// Numeric comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumOp {
    Lt,
    Gt,
    Le,
    Ge,
}

/// What a test checks about the values its selector reaches.
#[derive(Debug, Clone)]
pub enum Op {
    Eq(Matcher),
    Ne(Matcher),
    Num(NumOp, f64),
    IsNull,
    NotExists,
    IsTrue,
    IsFalse,
}

/// A comparison of one selector's values.
#[derive(Debug, Clone)]
pub struct Test {
    pub selector: Selector,
    pub op: Op,
    /// Index of the selector's values in the record's extracted values;
    /// assigned by [`Pattern::bind`].
    pub slot: usize,
}

/// A boolean expression over tests.
#[derive(Debug, Clone)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Test(Test),
}

/// A parsed filter pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    expr: Expr,
}

impl Pattern {
    /// Parses a JSON filter pattern; errors name what was expected and the column.
    pub fn parse(text: &str) -> Result<Pattern> {
        let expr = parse::parse(text)?;
        Ok(Pattern { text: text.to_string(), expr })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Registers every selector in `table`, so that the table's extractor pulls
    /// the values this pattern needs.
    pub fn bind(&mut self, table: &mut PathTable) {
        fn walk(expr: &mut Expr, table: &mut PathTable) {
            match expr {
                Expr::And(parts) | Expr::Or(parts) => parts.iter_mut().for_each(|p| walk(p, table)),
                Expr::Test(test) => test.slot = table.intern(&test.selector.steps),
            }
        }
        walk(&mut self.expr, table);
    }

    /// The fields the pattern tests, each once, in the order written, with
    /// the slots [`Pattern::bind`] gave them.
    pub fn fields(&self) -> Vec<(&Selector, usize)> {
        fn walk<'p>(expr: &'p Expr, out: &mut Vec<(&'p Selector, usize)>) {
            match expr {
                Expr::And(parts) | Expr::Or(parts) => parts.iter().for_each(|p| walk(p, out)),
                Expr::Test(test) => {
                    if !out.iter().any(|(s, _)| *s == &test.selector) {
                        out.push((&test.selector, test.slot));
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.expr, &mut out);
        out
    }

    /// The exact texts the pattern's `=` and `!=` tests compare with, each
    /// with its selector and slot. CloudWatch Logs compares them
    /// case-sensitively (`"YES"` is not `"Yes"`).
    pub fn exact_texts(&self) -> Vec<(&Selector, usize, &str)> {
        fn walk<'p>(expr: &'p Expr, out: &mut Vec<(&'p Selector, usize, &'p str)>) {
            match expr {
                Expr::And(parts) | Expr::Or(parts) => parts.iter().for_each(|p| walk(p, out)),
                Expr::Test(Test {
                    selector,
                    op: Op::Eq(Matcher::Exact(text)) | Op::Ne(Matcher::Exact(text)),
                    slot,
                }) => out.push((selector, *slot, text)),
                Expr::Test(_) => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.expr, &mut out);
        out
    }

    /// Matches one JSON record on its own (binds to a private table).
    /// For the hot path, bind many patterns to one table and use [`Pattern::matches`].
    pub fn matches_json(&self, json: &str) -> Result<bool, serde_json::Error> {
        let mut pattern = self.clone();
        let mut table = PathTable::new();
        pattern.bind(&mut table);
        let values = table.extract(json)?;
        Ok(pattern.matches(&values))
    }

    /// Evaluates the bound pattern against values extracted by its table.
    pub fn matches(&self, values: &crate::extract::Values<'_>) -> bool {
        eval::eval(&self.expr, values)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests;
