//! Which rules can match a record, by its `eventName` (and, for Sigma
//! rules, its `eventSource`).
//!
//! Most rules require the event name to be one of a few literals; a record
//! is only tested against those rules whose set holds its name, plus the
//! rules that have no such requirement. This is exact: a skipped rule could
//! not have matched. Filter patterns compare case-sensitively, so their
//! names are looked up as they are; Sigma compares case-insensitively, so
//! its names (and sources, for Sigma rules that name no event) are looked up
//! lowercased, and a record whose name or source is not ASCII is tested
//! against every rule.

use rustc_hash::FxHashMap;

use super::{CompiledRule, Detect};
use crate::extract::{Scalar, Values};
use crate::pattern::{Expr, Matcher, Op, Test};

#[derive(Default)]
pub(super) struct Dispatch {
    by_name: FxHashMap<Box<str>, Vec<usize>>,
    by_lower_name: FxHashMap<Box<str>, Vec<usize>>,
    by_lower_source: FxHashMap<Box<str>, Vec<usize>>,
    always: Vec<usize>,
    all: Vec<usize>,
    name_slot: usize,
    source_slot: usize,
}

fn file(map: &mut FxHashMap<Box<str>, Vec<usize>>, keys: Vec<String>, i: usize) {
    for key in keys {
        let list = map.entry(key.into()).or_default();
        if list.last() != Some(&i) {
            list.push(i);
        }
    }
}

impl Dispatch {
    pub(super) fn new(rules: &[CompiledRule], name_slot: usize, source_slot: usize) -> Self {
        let mut dispatch = Dispatch { all: (0..rules.len()).collect(), name_slot, source_slot, ..Default::default() };
        for (i, rule) in rules.iter().enumerate() {
            match &rule.detect {
                Detect::Pattern(pattern) => match required_names(pattern.expr(), name_slot) {
                    Some(names) => file(&mut dispatch.by_name, names, i),
                    None => dispatch.always.push(i),
                },
                Detect::Sigma(sigma) => {
                    let detection = &sigma.rule.detection;
                    if let Some(names) = detection.required("eventName") {
                        file(&mut dispatch.by_lower_name, names, i);
                    } else if let Some(sources) = detection.required("eventSource") {
                        file(&mut dispatch.by_lower_source, sources, i);
                    } else {
                        dispatch.always.push(i);
                    }
                }
            }
        }
        dispatch
    }

    /// Calls `f` with the index of every rule that may match, in rule order.
    pub(super) fn candidates(&self, values: &Values<'_>, mut f: impl FnMut(usize)) {
        let name: &str = match values.get(self.name_slot) {
            [] => "",
            [Scalar::Str(name)] => name,
            // A number or other odd value: test every rule.
            _ => return self.all.iter().for_each(|&i| f(i)),
        };
        let source: &str = match values.get(self.source_slot) {
            [Scalar::Str(source)] => source,
            _ => "",
        };
        if !name.is_ascii() || !source.is_ascii() {
            return self.all.iter().for_each(|&i| f(i));
        }
        let named: &[usize] = self.by_name.get(name).map_or(&[], Vec::as_slice);
        let mut lists: [&[usize]; 4] =
            [&self.always, named, lowered(&self.by_lower_name, name), lowered(&self.by_lower_source, source)];
        loop {
            let mut best: Option<(usize, usize)> = None;
            for (k, list) in lists.iter().enumerate() {
                if let Some(&x) = list.first() {
                    if best.is_none_or(|(_, b)| x < b) {
                        best = Some((k, x));
                    }
                }
            }
            let Some((k, x)) = best else { return };
            lists[k] = &lists[k][1..];
            f(x);
        }
    }
}

/// The rules filed under `key` lowercased (ASCII).
fn lowered<'m>(map: &'m FxHashMap<Box<str>, Vec<usize>>, key: &str) -> &'m [usize] {
    if map.is_empty() || key.is_empty() {
        return &[];
    }
    let mut buf = [0u8; 128];
    let found = match buf.get_mut(..key.len()) {
        Some(bytes) => {
            bytes.copy_from_slice(key.as_bytes());
            bytes.make_ascii_lowercase();
            std::str::from_utf8(bytes).ok().and_then(|k| map.get(k))
        }
        None => map.get(key.to_ascii_lowercase().as_str()),
    };
    found.map_or(&[], Vec::as_slice)
}

/// The event names a pattern requires, if it can only match when
/// `$.eventName` equals one of them.
pub(super) fn required_names(expr: &Expr, name_slot: usize) -> Option<Vec<String>> {
    match expr {
        Expr::Test(Test { slot, op: Op::Eq(Matcher::Exact(name)), .. }) if *slot == name_slot => {
            Some(vec![name.clone()])
        }
        Expr::Test(_) => None,
        Expr::Or(parts) => {
            let mut all = Vec::new();
            for part in parts {
                all.extend(required_names(part, name_slot)?);
            }
            Some(all)
        }
        Expr::And(parts) => parts.iter().filter_map(|p| required_names(p, name_slot)).min_by_key(Vec::len),
    }
}
