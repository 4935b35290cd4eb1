//! `|expand`: `%name%` placeholders in values, replaced by the values a
//! placeholder map gives (pySigma's `value_placeholders` transformation).
//!
//! The map is a YAML file, `name: [values]`, or a pySigma processing
//! pipeline, whose `vars:` it reads. A value with several placeholders
//! stands for every combination of theirs, OR'ed, as the reference
//! implementation's expansion does. A placeholder the map lacks refuses the
//! rule (file, line, name), never matches nothing in silence.

use std::collections::BTreeMap;

use super::wildcard::{escape_pieces, pieces, Piece};
use super::yaml::{self, Yaml};

/// Values of each placeholder name, as Sigma strings (`*` and `?` are
/// wildcards in them, as in the rule).
pub type Placeholders = BTreeMap<String, Vec<String>>;

/// The variants one value may expand to, at most.
pub const MAX_VARIANTS: usize = 4096;

/// Reads a placeholder map: `name: value` or `name: [values]`, at the top
/// or under `vars:` (a pySigma pipeline). An error is (line, message).
pub fn parse(text: &str) -> Result<Placeholders, (usize, String)> {
    let docs = yaml::documents(text)?;
    let Some(doc) = docs.first() else { return Ok(Placeholders::new()) };
    let map = doc.get("vars").unwrap_or(doc);
    let Yaml::Map(entries) = &map.value else {
        return Err((map.line, format!("a placeholder map is a mapping of names to values, not {}", map.kind())));
    };
    let mut out = Placeholders::new();
    for (name, node) in entries {
        let values = match &node.value {
            Yaml::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let texts = values
            .into_iter()
            .map(|v| match &v.value {
                Yaml::Str(s) => Ok(s.clone()),
                Yaml::Int(i) => Ok(i.to_string()),
                Yaml::Float(f) => Ok(f.to_string()),
                _ => Err((v.line, format!("placeholder '{name}': a value is {}; expected text or a number", v.kind()))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if texts.is_empty() {
            return Err((node.line, format!("placeholder '{name}' has no values")));
        }
        out.insert(name.clone(), texts);
    }
    Ok(out)
}

/// A value with its placeholders replaced: every variant, as Sigma strings.
pub fn expand(value: &str, placeholders: &Placeholders) -> Result<Vec<String>, String> {
    let all: Vec<Piece> = pieces(value).collect();
    // Literal runs and placeholders, in order.
    let mut parts: Vec<Result<Vec<Piece>, &Vec<String>>> = vec![Ok(Vec::new())];
    let mut i = 0;
    while i < all.len() {
        if let Some((name, end)) = placeholder_at(&all, i) {
            let values = placeholders
                .get(&name)
                .ok_or_else(|| format!("placeholder %{name}% is not in the placeholder map (--sigma-placeholders)"))?;
            parts.push(Err(values));
            parts.push(Ok(Vec::new()));
            i = end + 1;
            continue;
        }
        if let Some(Ok(run)) = parts.last_mut() {
            run.push(all[i]);
        }
        i += 1;
    }
    let mut variants = vec![String::new()];
    for part in &parts {
        variants = match part {
            Ok(run) => variants.into_iter().map(|v| v + &escape_pieces(run)).collect(),
            Err(values) => {
                if variants.len().saturating_mul(values.len()) > MAX_VARIANTS {
                    return Err(format!("expands to more than {MAX_VARIANTS} values"));
                }
                variants.iter().flat_map(|v| values.iter().map(move |x| format!("{v}{x}"))).collect()
            }
        };
    }
    Ok(variants)
}

/// The placeholder starting at `all[i]` (a `%`), and the index of its
/// closing `%`: a non-empty name of plain characters without a backslash,
/// not crossing a wildcard.
fn placeholder_at(all: &[Piece], i: usize) -> Option<(String, usize)> {
    if all[i] != Piece::Char('%') {
        return None;
    }
    let mut name = String::new();
    for (j, piece) in all.iter().enumerate().skip(i + 1) {
        match piece {
            Piece::Char('%') if !name.is_empty() => return Some((name, j)),
            Piece::Char('%' | '\\') | Piece::Any | Piece::One => return None,
            Piece::Char(c) => name.push(*c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GIVEN a map WHEN values with placeholders expand THEN each gives
    /// every combination, wildcards of the map stay wildcards, and a missing
    /// name or a lone `%` is handled as the reference does.
    #[test]
    fn placeholders_expand_to_every_combination() {
        let map = parse("vars:\n  admins: [alice, 'bob*']\n  port: 22\n").unwrap();
        assert_eq!(map["port"], ["22"]);
        assert_eq!(expand("user/%admins%", &map).unwrap(), ["user/alice", "user/bob*"]);
        assert_eq!(expand("%admins%:%port%", &map).unwrap(), ["alice:22", "bob*:22"]);
        assert_eq!(expand("100% sure", &map).unwrap(), ["100% sure"]);
        assert_eq!(expand("%%port%", &map).unwrap(), ["%22"]);
        assert_eq!(expand("a\\*%port%", &map).unwrap(), ["a\\*22"]);
        assert_eq!(expand("%a*b%", &map).unwrap(), ["%a*b%"]);
        assert!(expand("%nobody%", &map).unwrap_err().contains("%nobody%"));
        let flat = parse("admins:\n  - carol\n").unwrap();
        assert_eq!(expand("%admins%", &flat).unwrap(), ["carol"]);
        assert_eq!(parse("[1, 2]").unwrap_err().0, 1);
        assert!(parse("x: []\n").unwrap_err().1.contains("no values"));
        let wide = parse(&format!("a: [{}]\n", (0..50).map(|i| i.to_string()).collect::<Vec<_>>().join(","))).unwrap();
        assert!(expand("%a%%a%", &wide).is_ok());
        assert!(expand("%a%%a%%a%", &wide).unwrap_err().contains("more than"));
    }
}
