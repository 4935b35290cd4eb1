//! Which rules can match a record, by the value of one field each.
//!
//! Most rules require a field to be one of a few literals: filter patterns
//! their `eventName`, Sigma rules their `eventName`, `eventSource` or
//! another field (`userIdentity.type: Root`). A record is only tested
//! against the rules filed under its values of those fields, plus the rules
//! with no such requirement. This is exact: a skipped rule could not have
//! matched. Values are filed and looked up lowercased (ASCII): Sigma
//! compares case-insensitively, and a filter pattern, which does not, is
//! merely tested on a case variant it then rejects. A record whose value
//! there is not one ASCII string (a number, several values, non-ASCII text)
//! is tested against every rule filed under that field.

use rustc_hash::FxHashMap;

use super::{CompiledRule, Detect};
use crate::extract::{Scalar, Values};
use crate::pattern::{Expr, Matcher, Op, Test};

/// Fields rules are filed under, at most: a record looks each up.
const MAX_FIELDS: usize = 6;
/// Rule sets up to this many 64-rule words are put in order by a bitset.
const BITSET_WORDS: usize = 8;

/// Rules filed under one field's lowercased values.
#[derive(Default)]
struct ByField {
    slot: usize,
    by_value: FxHashMap<Box<str>, Vec<usize>>,
    /// A 256-bit sketch of the values filed (see [`sketch`]): most records'
    /// values are not filed, and are not looked up at all.
    sketches: [u64; 4],
    /// Every rule filed here, for a value that cannot be looked up.
    all: Vec<usize>,
}

/// A bit for `text`'s length and first and last bytes, the same for its
/// ASCII case variants.
fn sketch(text: &str) -> usize {
    let bytes = text.as_bytes();
    let fold = |b: Option<&u8>| usize::from(b.copied().unwrap_or(0) | 0x20);
    (bytes.len().wrapping_mul(31) ^ fold(bytes.first()).wrapping_mul(7) ^ fold(bytes.last()).rotate_left(4)) & 255
}

#[derive(Default)]
pub(super) struct Dispatch {
    fields: Vec<ByField>,
    always: Vec<usize>,
    rules: usize,
}

impl Dispatch {
    /// `name_slot` and `source_slot` are the record's event name and
    /// source in the first path table (the one `candidates` is given).
    pub(super) fn new(rules: &[CompiledRule], name_slot: usize, source_slot: usize) -> Self {
        let mut dispatch = Dispatch { rules: rules.len(), ..Default::default() };
        for (i, rule) in rules.iter().enumerate() {
            let filed = match &rule.detect {
                Detect::Pattern(pattern) => {
                    required_names(pattern.expr(), name_slot).is_some_and(|names| dispatch.file(name_slot, names, i))
                }
                Detect::Sigma(sigma) => {
                    let detection = &sigma.detection;
                    // The event name, the source, then any field the first table holds.
                    let first_table = detection
                        .fields
                        .iter()
                        .zip(&sigma.slots)
                        .filter(|(_, &slot)| slot & crate::extract::SECOND_TABLE == 0)
                        .map(|(field, &slot)| (field.as_str(), slot));
                    [("eventName", name_slot), ("eventSource", source_slot)]
                        .into_iter()
                        .chain(first_table)
                        .find_map(|(field, slot)| Some((slot, detection.required(field)?)))
                        .is_some_and(|(slot, values)| dispatch.file(slot, values, i))
                }
            };
            if !filed {
                dispatch.always.push(i);
            }
        }
        dispatch
    }

    /// Files rule `i` under `values` of `slot`; false when too many fields
    /// are filed under already.
    fn file(&mut self, slot: usize, values: Vec<String>, i: usize) -> bool {
        let k = match self.fields.iter().position(|f| f.slot == slot) {
            Some(k) => k,
            None if self.fields.len() < MAX_FIELDS => {
                self.fields.push(ByField { slot, ..Default::default() });
                self.fields.len() - 1
            }
            None => return false,
        };
        let by = &mut self.fields[k];
        for value in values {
            let value = value.to_ascii_lowercase();
            let bit = sketch(&value);
            by.sketches[bit / 64] |= 1 << (bit % 64);
            let list = by.by_value.entry(value.into()).or_default();
            if list.last() != Some(&i) {
                list.push(i);
            }
        }
        by.all.push(i);
        true
    }

    /// Calls `f` with the index of every rule that may match, in rule order.
    pub(super) fn candidates(&self, values: &Values<'_>, mut f: impl FnMut(usize)) {
        let mut lists: [&[usize]; MAX_FIELDS + 1] = [&[]; MAX_FIELDS + 1];
        lists[0] = &self.always;
        for (list, by) in lists[1..].iter_mut().zip(&self.fields) {
            *list = by.filed(values.get(by.slot));
        }
        if self.rules > 64 * BITSET_WORDS {
            return merge(lists, f);
        }
        // A set of rule indexes, walked in order.
        let mut set = [0u64; BITSET_WORDS];
        for &i in lists.iter().flat_map(|list| list.iter()) {
            set[i / 64] |= 1 << (i % 64);
        }
        for (w, mut word) in set.into_iter().enumerate() {
            while word != 0 {
                f(w * 64 + word.trailing_zeros() as usize);
                word &= word - 1;
            }
        }
    }
}

/// Calls `f` with every index of the sorted `lists`, in order.
fn merge(mut lists: [&[usize]; MAX_FIELDS + 1], mut f: impl FnMut(usize)) {
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

impl ByField {
    /// The rules filed under a record's values of this field.
    fn filed(&self, values: &[Scalar<'_>]) -> &[usize] {
        match values {
            [] => &[],
            [Scalar::Str(text)] if text.is_ascii() => {
                let bit = sketch(text);
                if self.sketches[bit / 64] & (1 << (bit % 64)) == 0 {
                    return &[];
                }
                lowered(&self.by_value, text)
            }
            _ => &self.all,
        }
    }
}

/// The rules filed under `key` lowercased (ASCII).
fn lowered<'m>(map: &'m FxHashMap<Box<str>, Vec<usize>>, key: &str) -> &'m [usize] {
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
