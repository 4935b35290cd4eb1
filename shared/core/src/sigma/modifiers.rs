//! A detection item (`field|mod1|mod2: values`) turned into tests, with
//! Sigma's value semantics: case-insensitive unless `|cased`, `*` and `?`
//! wildcards with backslash escapes, lists OR'ed unless `|all`, and the
//! value modifiers. A modifier this engine cannot run is refused with the
//! reason, never approximated.

use base64::Engine as _;
use ipnet::IpNet;
use regex::Regex;

use super::expand::{expand, Placeholders};
pub use super::wildcard::Anchor;
use super::wildcard::{escape, unescape, wildcard_regex, TextMatch};
use super::yaml::{Node, Yaml};

/// How a field value is compared with a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Lte,
    Gt,
    Gte,
}

impl Cmp {
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Lte => a <= b,
            Cmp::Gt => a > b,
            Cmp::Gte => a >= b,
        }
    }
}

/// One test of a field's value.
#[derive(Debug, Clone)]
pub enum Test {
    /// The field is absent or JSON null (`field: null`).
    Null,
    /// `|exists: true` / `false`: the field is present (null included) or not.
    Exists(bool),
    /// The value's text matches (wildcards, `contains`, ..., `re`).
    Text(TextMatch),
    /// The value is this number (a JSON number, or text that reads as one).
    Num(f64),
    /// The value is this boolean (or its text, any case).
    Bool(bool),
    /// `|gt`, `|gte`, `|lt`, `|lte`.
    Cmp(Cmp, f64),
    /// `|cidr`: the value is an IP address in the range.
    Cidr(IpNet),
    /// `|minute`, `|hour`, `|day`, `|month`, `|year`: the value is an RFC
    /// 3339 timestamp whose part (in UTC) is this number.
    TimePart(TimePart, i64),
    /// `|fieldref`: the value equals (starts, ends, contains) another field's.
    /// `id` is the field's index in its detection's field list.
    FieldRef { field: String, id: usize, anchor: Anchor, cased: bool },
}

/// A part of a timestamp (`|hour` and the others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePart {
    Minute,
    Hour,
    Day,
    Month,
    Year,
}

impl TimePart {
    /// The part of an RFC 3339 timestamp, in UTC (None if `text` is not one).
    pub fn of(self, text: &str) -> Option<i64> {
        let at = time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok()?;
        let at = at.to_offset(time::UtcOffset::UTC);
        Some(match self {
            TimePart::Minute => at.minute().into(),
            TimePart::Hour => at.hour().into(),
            TimePart::Day => at.day().into(),
            TimePart::Month => u8::from(at.month()).into(),
            TimePart::Year => at.year().into(),
        })
    }
}

/// A detection item: a field (or, for keywords, none), its tests, and how
/// they combine.
#[derive(Debug, Clone)]
pub struct Item {
    /// A dotted CloudTrail path; `None` for a keyword (any value anywhere).
    pub field: Option<String>,
    /// The field's index in its detection's field list.
    pub id: usize,
    /// `|all`: every test must hold (otherwise one is enough).
    pub all: bool,
    pub tests: Vec<Test>,
    /// For plain equality (no modifier but `cased`, no wildcard), the
    /// values as text: the engine dispatches on them.
    pub literals: Option<Vec<String>>,
    /// The values as written (wildcards and escapes kept), when the only
    /// modifiers are `cased` and `all` and every value is a string.
    pub raw: Option<Vec<String>>,
    /// `|cased`.
    pub cased: bool,
    /// `|neq`: the item holds when its tests do not (a missing field is
    /// "different", as `not` in a condition has it).
    pub negated: bool,
}

/// Why an item cannot be compiled: (line, reason).
pub type Refusal = (usize, String);

const REFUSED: &[(&str, &str)] = &[
    ("wide", "UTF-16 encodings match binary Windows data, never CloudTrail's JSON text"),
    ("utf16", "UTF-16 encodings match binary Windows data, never CloudTrail's JSON text"),
    ("utf16le", "UTF-16 encodings match binary Windows data, never CloudTrail's JSON text"),
    ("utf16be", "UTF-16 encodings match binary Windows data, never CloudTrail's JSON text"),
    ("week", "leaves the week's numbering open (ISO 8601, or weeks from the first Monday as SQLite's %W)"),
];

#[derive(Default)]
struct Mods {
    contains: bool,
    starts: bool,
    ends: bool,
    all: bool,
    cased: bool,
    exists: bool,
    re: bool,
    re_flags: String,
    cidr: bool,
    base64: bool,
    base64offset: bool,
    cmp: Option<Cmp>,
    fieldref: bool,
    windash: bool,
    neq: bool,
    expand: bool,
    time: Option<TimePart>,
}

impl Mods {
    /// Where the value must sit in the field's (or another field's) text.
    fn anchor(&self) -> Anchor {
        match (self.contains, self.starts, self.ends) {
            (true, _, _) => Anchor::Anywhere,
            (_, true, _) => Anchor::Start,
            (_, _, true) => Anchor::End,
            _ => Anchor::Whole,
        }
    }
}

fn parse_mods(names: &[&str], line: usize) -> Result<Mods, Refusal> {
    let mut m = Mods::default();
    for name in names {
        match *name {
            "contains" => m.contains = true,
            "startswith" => m.starts = true,
            "endswith" => m.ends = true,
            "all" => m.all = true,
            "cased" => m.cased = true,
            "exists" => m.exists = true,
            "re" => m.re = true,
            "i" | "m" | "s" if m.re => m.re_flags.push_str(name),
            "cidr" => m.cidr = true,
            "base64" => m.base64 = true,
            "base64offset" => m.base64offset = true,
            "gt" => m.cmp = Some(Cmp::Gt),
            "gte" => m.cmp = Some(Cmp::Gte),
            "lt" => m.cmp = Some(Cmp::Lt),
            "lte" => m.cmp = Some(Cmp::Lte),
            "fieldref" => m.fieldref = true,
            "windash" => m.windash = true,
            "neq" => m.neq = true,
            "expand" => m.expand = true,
            "minute" => m.time = Some(TimePart::Minute),
            "hour" => m.time = Some(TimePart::Hour),
            "day" => m.time = Some(TimePart::Day),
            "month" => m.time = Some(TimePart::Month),
            "year" => m.time = Some(TimePart::Year),
            other => {
                let why = REFUSED.iter().find(|(n, _)| *n == other).map(|(_, why)| *why);
                return Err((
                    line,
                    match why {
                        Some(why) => format!("modifier '{other}' {why}"),
                        None => format!("unknown modifier '{other}'"),
                    },
                ));
            }
        }
    }
    let anchors = [m.contains, m.starts, m.ends].iter().filter(|b| **b).count();
    let kinds = [m.re, m.cidr, m.cmp.is_some(), m.exists, m.fieldref && anchors == 0].iter().filter(|b| **b).count();
    if anchors > 1 || kinds > 1 || (kinds == 1 && anchors == 1 && !m.fieldref) {
        return Err((line, format!("modifiers {} cannot be combined", names.join("|"))));
    }
    // Modifiers that make the value something other than a plain string.
    let not_text = m.re || m.cidr || m.cmp.is_some() || m.exists || m.fieldref;
    let encoded = m.base64 || m.base64offset;
    let combined = |why: &str| Err((line, format!("modifiers {} cannot be combined{why}", names.join("|"))));
    if encoded && not_text {
        return combined("");
    }
    if m.windash && (encoded || not_text) {
        return combined(" (windash rewrites plain strings)");
    }
    if m.expand && (encoded || not_text) {
        return combined(" (expand replaces placeholders in plain strings)");
    }
    let parts = names.iter().filter(|n| matches!(**n, "minute" | "hour" | "day" | "month" | "year")).count();
    if parts > 0 && (parts > 1 || names.len() > parts + usize::from(m.neq)) {
        return Err((
            line,
            format!("modifiers {} cannot be combined (a time part compares a number)", names.join("|")),
        ));
    }
    if m.base64offset && m.all {
        return Err((
            line,
            "base64offset with all: each value expands to three alternatives, which all cannot AND".into(),
        ));
    }
    Ok(m)
}

/// Compiles `key: value` of a selection (key `field|mods`, or `|all` alone
/// for keywords).
pub fn item(key: &str, value: &Node, key_line: usize, placeholders: &Placeholders) -> Result<Item, Refusal> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default().trim();
    let names: Vec<&str> = parts.collect();
    let mut m = parse_mods(&names, key_line)?;
    if field.is_empty() && !(m.starts || m.ends || m.re) {
        // A keyword is searched for anywhere in a value (full-text search).
        m.contains = true;
    }
    let values: Vec<&Node> = match &value.value {
        Yaml::Seq(items) if items.is_empty() => return Err((value.line, "an empty list of values".into())),
        Yaml::Seq(items) => items.iter().collect(),
        Yaml::Map(_) => return Err((value.line, "a field's value is a mapping; expected a value or a list".into())),
        _ => vec![value],
    };
    if m.all && values.len() < 2 {
        return Err((key_line, "all on a single value (the specification forbids it)".into()));
    }
    if values.len() > 1 && values.iter().any(|v| v.value == Yaml::Null) {
        return Err((
            value.line,
            "null in a list of values (the specification forbids it; use its own selection)".into(),
        ));
    }
    if m.neq && field.is_empty() {
        return Err((key_line, "neq needs a field".into()));
    }
    let field = (!field.is_empty()).then(|| field.to_string());
    let mut tests = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let literal = |v: &Node| match &v.value {
        Yaml::Str(s) => unescape(s),
        _ => None,
    };
    let plain_only = !m.all && names.iter().all(|n| *n == "cased") && field.is_some();
    let literals: Option<Vec<String>> = if plain_only { values.iter().map(|v| literal(v)).collect() } else { None };
    let raw_only = names.iter().all(|n| matches!(*n, "cased" | "all")) && field.is_some();
    let raw: Option<Vec<String>> =
        if raw_only { values.iter().map(|v| v.as_str().map(str::to_string)).collect() } else { None };
    for v in values.iter().copied() {
        let line = v.line;
        if m.exists {
            match (&v.value, &field) {
                (Yaml::Bool(b), Some(_)) => tests.push(Test::Exists(*b)),
                (_, Some(_)) => return Err((line, "exists takes true or false".into())),
                (_, None) => return Err((line, "exists needs a field".into())),
            }
            continue;
        }
        if let Some(part) = m.time {
            match (&v.value, &field) {
                (Yaml::Int(n), Some(_)) => tests.push(Test::TimePart(part, *n)),
                (_, Some(_)) => return Err((line, "a time part takes a whole number".into())),
                (_, None) => return Err((line, "a time part needs a field".into())),
            }
            continue;
        }
        if let Some(cmp) = m.cmp {
            match v.value {
                Yaml::Int(i) => tests.push(Test::Cmp(cmp, i as f64)),
                Yaml::Float(f) => tests.push(Test::Cmp(cmp, f)),
                _ => return Err((line, "gt, gte, lt and lte take a number".into())),
            }
            continue;
        }
        let text = match &v.value {
            Yaml::Null if !(m.contains || m.starts || m.ends || m.re || m.cidr || m.base64 || m.base64offset) => {
                tests.push(Test::Null);
                continue;
            }
            Yaml::Int(i) if plain(&m) => {
                tests.push(Test::Num(*i as f64));
                continue;
            }
            Yaml::Float(f) if plain(&m) => {
                tests.push(Test::Num(*f));
                continue;
            }
            Yaml::Bool(b) if plain(&m) => {
                tests.push(Test::Bool(*b));
                continue;
            }
            Yaml::Str(s) => s.clone(),
            Yaml::Int(i) => i.to_string(),
            Yaml::Float(f) => f.to_string(),
            Yaml::Bool(b) => b.to_string(),
            _ => return Err((line, format!("a value is {}", v.kind()))),
        };
        if m.fieldref {
            if field.is_none() {
                return Err((line, "fieldref needs a field".into()));
            }
            tests.push(Test::FieldRef { field: text, id: 0, anchor: m.anchor(), cased: m.cased });
            continue;
        }
        if m.cidr {
            let net: IpNet = text.trim().parse().map_err(|e| (line, format!("cidr '{text}': {e}")))?;
            tests.push(Test::Cidr(net));
            continue;
        }
        if m.re {
            // Case-sensitive unless the `i` flag is given, as the specification says.
            let flags = &m.re_flags;
            let source = if flags.is_empty() { text.clone() } else { format!("(?{flags}){text}") };
            let re = Regex::new(&source)
                .map_err(|e| (line, format!("re '{text}' is not a regular expression this engine runs: {e}")))?;
            tests.push(Test::Text(TextMatch::new(re)));
            continue;
        }
        let patterns = if m.expand {
            expand(&text, placeholders).map_err(|why| (line, why))?
        } else if m.base64 || m.base64offset {
            let plain_text = unescape(&text).ok_or((line, format!("base64 of a value with wildcards: '{text}'")))?;
            let encoded =
                if m.base64offset { base64_offsets(plain_text.as_bytes()) } else { vec![b64(plain_text.as_bytes())] };
            encoded.into_iter().map(|e| escape(&e)).collect()
        } else {
            vec![text]
        };
        // One text per value, its variants (expand, base64offset) OR'ed:
        // `|all` then needs each value, whichever variant.
        let mut bodies: Vec<String> = patterns
            .into_iter()
            .map(|p| match (m.contains, m.starts, m.ends) {
                (true, _, _) => format!("*{p}*"),
                (_, true, _) => format!("{p}*"),
                (_, _, true) => format!("*{p}"),
                _ => p,
            })
            .map(|p| wildcard_regex(&p, m.windash))
            .collect();
        texts.push(if bodies.len() == 1 { bodies.remove(0) } else { format!("(?:{})", bodies.join("|")) });
    }
    if !texts.is_empty() {
        let flags = if m.cased { "(?s)" } else { "(?si)" };
        let compile = |body: String| {
            Regex::new(&format!("{flags}(?:{body})")).map_err(|e| (key_line, format!("value too complex: {e}")))
        };
        // Plain ASCII text, whole or anchored: compared without a regex
        // (compiled only if a non-ASCII text comes).
        let plain_mods = names.iter().all(|n| matches!(*n, "cased" | "contains" | "startswith" | "endswith" | "all"));
        let plain: Option<Vec<String>> = plain_mods
            .then(|| values.iter().map(|v| v.as_str().and_then(unescape).filter(|t| t.is_ascii())).collect())
            .flatten();
        let literal = |source: String, values: Vec<String>| TextMatch::literal(source, values, m.cased, m.anchor());
        if let (true, Some(plain)) = (m.all, &plain) {
            for (t, value) in texts.into_iter().zip(plain) {
                tests.push(Test::Text(literal(format!("{flags}(?:{t})"), vec![value.clone()])));
            }
        } else if m.all {
            for t in texts {
                tests.push(Test::Text(TextMatch::new(compile(t)?)));
            }
        } else if let Some(values) = plain {
            tests.push(Test::Text(literal(format!("{flags}(?:{})", texts.join("|")), values)));
        } else {
            tests.push(Test::Text(TextMatch::new(compile(texts.join("|"))?)));
        }
    }
    if field.is_none() && tests.iter().any(|t| !matches!(t, Test::Text(_))) {
        return Err((key_line, "a keyword must be a string".into()));
    }
    Ok(Item { field, id: 0, all: m.all, tests, literals, raw, cased: m.cased, negated: m.neq })
}

/// Whether a YAML number or boolean keeps its type (no string modifier).
fn plain(m: &Mods) -> bool {
    !(m.contains || m.starts || m.ends || m.re || m.cidr || m.base64 || m.base64offset || m.fieldref)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The three encodings of `value` at offsets 0, 1 and 2 of a base64 stream,
/// trimmed to the characters that do not depend on its neighbours (as the
/// specification's reference implementation does).
fn base64_offsets(value: &[u8]) -> Vec<String> {
    let starts = [0usize, 2, 3];
    let ends = [0usize, 3, 2];
    (0..3)
        .map(|i| {
            let mut padded = vec![b' '; i];
            padded.extend_from_slice(value);
            let encoded = b64(&padded);
            let cut = ends[(value.len() + i) % 3];
            encoded.get(starts[i]..encoded.len().saturating_sub(cut)).unwrap_or_default().to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests;
