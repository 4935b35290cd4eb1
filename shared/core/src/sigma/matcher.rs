//! Evaluating a Sigma detection against one record.
//!
//! Field names are CloudTrail's dotted paths through objects
//! (`userIdentity.sessionContext.sessionIssuer.type`); a path does not step
//! into arrays. A field holding an object or array is matched against its
//! compact JSON text (keys in record order), as the reference backends do
//! with a flattened record. A number's text is its JSON text. A keyword
//! (field-less value) is looked for in every scalar value of the record.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;

use serde_json::value::RawValue;

use super::condition::Cond;
use super::modifiers::{Anchor, Item, Test};
use crate::extract::{Scalar, Tables};

/// One value a field holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Text(Cow<'a, str>),
    Num(f64),
    Bool(bool),
    /// An object or array, as compact JSON text.
    Json(String),
}

impl Value<'_> {
    /// The text string tests compare with (None for null).
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Null => None,
            Value::Text(s) => Some(Cow::Borrowed(s)),
            Value::Num(n) => Some(Cow::Owned(number_text(*n))),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Value::Json(s) => Some(Cow::Borrowed(s)),
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Text(s) if looks_numeric(s) => s.parse().ok(),
            _ => None,
        }
    }
}

fn looks_numeric(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && s.bytes().any(|b| b.is_ascii_digit())
}

/// A JSON number's text: integers without a fraction.
pub fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// The values a field holds: most hold one, so one is kept inline.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValues<'a> {
    None,
    One(Value<'a>),
    Many(Vec<Value<'a>>),
}

impl<'a> FieldValues<'a> {
    pub fn as_slice(&self) -> &[Value<'a>] {
        match self {
            FieldValues::None => &[],
            FieldValues::One(v) => std::slice::from_ref(v),
            FieldValues::Many(v) => v,
        }
    }

    fn push(&mut self, value: Value<'a>) {
        *self = match std::mem::replace(self, FieldValues::None) {
            FieldValues::None => FieldValues::One(value),
            FieldValues::One(first) => FieldValues::Many(vec![first, value]),
            FieldValues::Many(mut all) => {
                all.push(value);
                FieldValues::Many(all)
            }
        };
    }
}

/// A record as a Sigma detection sees it.
pub trait Event {
    /// The values field `id` (named `path`) holds (none when absent).
    fn field(&self, id: usize, path: &str) -> FieldValues<'_>;
    /// Whether `f` holds for the text of any scalar value in the record.
    fn any_text(&self, f: &mut dyn FnMut(&str) -> bool) -> bool;
    /// Whether `f` holds for any value of field `id`, when all it holds are
    /// strings, read in place (`None`: ask [`Event::field`]).
    fn any_string(&self, _id: usize, _f: &mut dyn FnMut(&str) -> bool) -> Option<bool> {
        None
    }
}

/// A compiled detection: its search identifiers (each an OR of ANDs of
/// items) and its condition.
#[derive(Debug, Clone)]
pub struct Detection {
    pub names: Vec<String>,
    pub searches: Vec<Vec<Vec<Item>>>,
    pub condition: Cond,
    /// Every field it reads (fieldref targets included); items refer to
    /// them by index.
    pub fields: Vec<String>,
}

impl Detection {
    pub fn matches(&self, event: &dyn Event) -> bool {
        let searches = &self.searches;
        self.condition.eval(&mut |i| searches[i].iter().any(|all| all.iter().all(|item| item_matches(item, event))))
    }

    /// A detection over `searches`, its items' fields numbered.
    pub fn new(names: Vec<String>, mut searches: Vec<Vec<Vec<Item>>>, condition: Cond) -> Detection {
        let mut fields: Vec<String> = Vec::new();
        let mut id = |f: &str| match fields.iter().position(|known| known == f) {
            Some(i) => i,
            None => {
                fields.push(f.to_string());
                fields.len() - 1
            }
        };
        for item in searches.iter_mut().flatten().flatten() {
            if let Some(f) = &item.field {
                item.id = id(f);
            }
            for test in &mut item.tests {
                if let Test::FieldRef { field, id: target, .. } = test {
                    *target = id(field);
                }
            }
        }
        Detection { names, searches, condition, fields }
    }

    /// The values (ASCII, lowercased) one of which `field` must equal for
    /// the detection to match, when the condition requires that: what the
    /// engine dispatches on. `None` when it does not (or a value is not ASCII).
    pub fn required(&self, field: &str) -> Option<Vec<String>> {
        let mut out = self.required_in(&self.condition, field)?;
        out.sort();
        out.dedup();
        Some(out)
    }

    fn required_in(&self, cond: &Cond, field: &str) -> Option<Vec<String>> {
        match cond {
            Cond::Search(i) => {
                let mut all = Vec::new();
                for and in &self.searches[*i] {
                    let options = and.iter().filter_map(|item| {
                        let literals = item.literals.as_ref().filter(|_| item.field.as_deref() == Some(field))?;
                        literals.iter().all(|l| l.is_ascii()).then(|| literals.iter().map(|l| l.to_ascii_lowercase()))
                    });
                    all.extend(options.map(|o| o.collect::<Vec<_>>()).min_by_key(Vec::len)?);
                }
                Some(all)
            }
            Cond::Not(_) => None,
            Cond::And(parts) => parts.iter().filter_map(|p| self.required_in(p, field)).min_by_key(Vec::len),
            Cond::Or(parts) => {
                let mut all = Vec::new();
                for part in parts {
                    all.extend(self.required_in(part, field)?);
                }
                Some(all)
            }
        }
    }

    /// This detection with the items of each AND that read only `cheap`
    /// fields (by index) first: an AND stops at its first false item, so
    /// the others are often never read. Items are pure tests, so their
    /// order never changes a verdict.
    pub fn cheap_first(&self, cheap: impl Fn(usize) -> bool) -> Detection {
        let reads_dear = |item: &Item| {
            item.field.is_some() && !cheap(item.id)
                || item.tests.iter().any(|t| matches!(t, Test::FieldRef { id, .. } if !cheap(*id)))
        };
        let mut out = self.clone();
        for and in out.searches.iter_mut().flatten() {
            and.sort_by_key(|item| reads_dear(item));
        }
        out
    }

    /// Whether a keyword (field-less) search is used: it reads the whole record.
    pub fn has_keywords(&self) -> bool {
        self.searches.iter().flatten().flatten().any(|i| i.field.is_none())
    }
}

fn item_matches(item: &Item, event: &dyn Event) -> bool {
    item_holds(item, event) != item.negated
}

fn item_holds(item: &Item, event: &dyn Event) -> bool {
    let Some(field) = &item.field else {
        let hit = |t: &Test| match t {
            Test::Text(re) => event.any_text(&mut |s| re.is_match(s)),
            _ => false,
        };
        return if item.all { item.tests.iter().all(hit) } else { item.tests.iter().any(hit) };
    };
    if let Some(verdict) = strings_only(item, event) {
        return verdict;
    }
    let values = event.field(item.id, field);
    let values = values.as_slice();
    let hit = |t: &Test| match t {
        Test::Null => values.iter().all(|v| *v == Value::Null),
        Test::Exists(present) => values.is_empty() != *present,
        Test::FieldRef { field: other, id, anchor, cased } => {
            let others = event.field(*id, other);
            values.iter().any(|v| others.as_slice().iter().any(|o| refers(v, o, *anchor, *cased)))
        }
        t => values.iter().any(|v| value_matches(t, v)),
    };
    if item.all {
        item.tests.iter().all(hit)
    } else {
        item.tests.iter().any(hit)
    }
}

/// An item of text tests on a field holding only strings, decided without
/// building its values (most items of most rules).
fn strings_only(item: &Item, event: &dyn Event) -> Option<bool> {
    let hit = |t: &Test| match t {
        Test::Text(re) => event.any_string(item.id, &mut |s| re.is_match(s)),
        _ => None,
    };
    for test in &item.tests {
        match hit(test)? {
            false if item.all => return Some(false),
            true if !item.all => return Some(true),
            _ => {}
        }
    }
    Some(item.all)
}

fn value_matches(test: &Test, value: &Value<'_>) -> bool {
    match test {
        Test::Text(re) => value.text().is_some_and(|t| re.is_match(&t)),
        Test::Num(n) => value.number() == Some(*n),
        Test::Bool(b) => match value {
            Value::Bool(v) => v == b,
            Value::Text(s) => s.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
            _ => false,
        },
        Test::Cmp(op, n) => value.number().is_some_and(|v| op.holds(v, *n)),
        Test::Cidr(net) => {
            value.text().and_then(|t| t.trim().parse::<std::net::IpAddr>().ok()).is_some_and(|ip| net.contains(&ip))
        }
        Test::TimePart(part, n) => value.text().and_then(|t| part.of(&t)) == Some(*n),
        Test::Null | Test::Exists(_) | Test::FieldRef { .. } => false,
    }
}

fn refers(value: &Value<'_>, other: &Value<'_>, anchor: Anchor, cased: bool) -> bool {
    let (Some(v), Some(o)) = (value.text(), other.text()) else { return false };
    let (v, o) = if cased { (v, o) } else { (Cow::Owned(v.to_lowercase()), Cow::Owned(o.to_lowercase())) };
    match anchor {
        Anchor::Whole => v == o,
        Anchor::Start => v.starts_with(o.as_ref()),
        Anchor::End => v.ends_with(o.as_ref()),
        Anchor::Anywhere => v.contains(o.as_ref()),
    }
}

/// Compact JSON text of an object or array, keys in their order.
pub fn compact(raw: &str) -> Option<String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut de = serde_json::Deserializer::from_str(raw);
    serde_transcode::transcode(&mut de, &mut serde_json::Serializer::new(&mut out)).ok()?;
    String::from_utf8(out).ok()
}

/// The JSON text at a dotted path, through objects only.
fn raw_at<'a>(json: &'a str, path: &str) -> Option<&'a str> {
    let mut at = json;
    for key in path.split('.') {
        let map: HashMap<String, &RawValue> = serde_json::from_str(at).ok()?;
        at = map.get(key)?.get();
    }
    Some(at)
}

/// A record seen through the engine's extracted values: the detection's
/// fields are slots of the shared path table; objects and arrays and
/// keywords read the record's text.
pub struct RecordEvent<'r, 'a> {
    pub values: Tables<'r, 'a>,
    pub json: &'a str,
    /// The slot of each field of the detection, by index (marked
    /// [`crate::extract::SECOND_TABLE`] for a field of the second table).
    pub slots: &'r [usize],
    parsed: OnceCell<Option<serde_json::Value>>,
}

impl<'r, 'a> RecordEvent<'r, 'a> {
    pub fn new(values: Tables<'r, 'a>, json: &'a str, slots: &'r [usize]) -> Self {
        RecordEvent { values, json, slots, parsed: OnceCell::new() }
    }
}

impl Event for RecordEvent<'_, '_> {
    fn field(&self, id: usize, path: &str) -> FieldValues<'_> {
        let mut out = FieldValues::None;
        let Some(&slot) = self.slots.get(id) else { return out };
        for s in self.values.get(slot) {
            let value = match s {
                Scalar::Str(text) => Value::Text(Cow::Borrowed(text.as_ref())),
                Scalar::Num(n) => Value::Num(*n),
                Scalar::Bool(b) => Value::Bool(*b),
                Scalar::Null => Value::Null,
                Scalar::Container => {
                    match self.values.raw(slot).or_else(|| raw_at(self.json, path)).and_then(compact) {
                        Some(text) => Value::Json(text),
                        None => continue,
                    }
                }
            };
            out.push(value);
        }
        out
    }

    fn any_string(&self, id: usize, f: &mut dyn FnMut(&str) -> bool) -> Option<bool> {
        let scalars = self.values.get(*self.slots.get(id)?);
        if !scalars.iter().all(|s| matches!(s, Scalar::Str(_))) {
            return None;
        }
        Some(scalars.iter().any(|s| matches!(s, Scalar::Str(text) if f(text))))
    }

    fn any_text(&self, f: &mut dyn FnMut(&str) -> bool) -> bool {
        let parsed = self.parsed.get_or_init(|| serde_json::from_str(self.json).ok());
        parsed.as_ref().is_some_and(|v| any_leaf(v, f))
    }
}

fn any_leaf(value: &serde_json::Value, f: &mut dyn FnMut(&str) -> bool) -> bool {
    match value {
        serde_json::Value::Null => false,
        serde_json::Value::Bool(b) => f(if *b { "true" } else { "false" }),
        serde_json::Value::Number(n) => f(&n.as_f64().map(number_text).unwrap_or_else(|| n.to_string())),
        serde_json::Value::String(s) => f(s),
        serde_json::Value::Array(items) => items.iter().any(|v| any_leaf(v, f)),
        serde_json::Value::Object(map) => map.values().any(|v| any_leaf(v, f)),
    }
}
