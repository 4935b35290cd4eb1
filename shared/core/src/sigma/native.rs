//! The filter pattern a Sigma detection equals, when one exists.
//!
//! Only an exact equivalent is given; the two languages differ where most
//! rules live, so this says why when there is none:
//!
//! - Sigma compares text case-insensitively, filter patterns exactly: a
//!   value converts only under `|cased`, or when it has no letter with case;
//! - Sigma compares a number's text and an object's JSON text; a filter
//!   pattern's `=` is false on objects, arrays and null: values that look
//!   like numbers, booleans or JSON do not convert;
//! - `*` converts only as the first or last character (as filter patterns
//!   allow), `?` not at all;
//! - `null` converts to `NOT EXISTS || IS NULL`, `|exists: false` to
//!   `NOT EXISTS`; `not`, `|exists: true`, keywords, `re`, `cidr`, `base64`,
//!   `fieldref` and comparisons do not convert (their filter-pattern
//!   counterparts differ on missing fields, nulls or strings).

use super::condition::Cond;
use super::matcher::Detection;
use super::modifiers::{Item, Test};

/// The pattern, or why there is none.
pub fn pattern(detection: &Detection) -> Result<String, String> {
    Ok(format!("{{ {} }}", cond(detection, &detection.condition)?))
}

fn cond(d: &Detection, c: &Cond) -> Result<String, String> {
    match c {
        Cond::Search(i) => {
            let name = &d.names[*i];
            let ors = d.searches[*i]
                .iter()
                .map(|and| join(and.iter().map(|item| self::item(item, name)).collect::<Result<_, _>>()?, "&&"))
                .collect::<Result<Vec<_>, String>>()?;
            join(ors, "||")
        }
        Cond::Not(_) => Err("'not' has no exact filter-pattern equivalent (a missing field makes `!=` false)".into()),
        Cond::And(parts) => join(parts.iter().map(|p| cond(d, p)).collect::<Result<_, _>>()?, "&&"),
        Cond::Or(parts) => join(parts.iter().map(|p| cond(d, p)).collect::<Result<_, _>>()?, "||"),
    }
}

fn join(mut parts: Vec<String>, op: &str) -> Result<String, String> {
    Ok(if parts.len() == 1 { parts.remove(0) } else { format!("({})", parts.join(&format!(" {op} "))) })
}

fn item(item: &Item, search: &str) -> Result<String, String> {
    let field = item.field.as_ref().ok_or(format!("{search}: keyword searches have no filter-pattern equivalent"))?;
    if item.negated {
        return Err(format!(
            "{search}: {field}: neq has no exact filter-pattern equivalent (a missing field makes `!=` false)"
        ));
    }
    let selector = format!("$.{field}");
    if item.tests.iter().all(|t| matches!(t, Test::Text(_))) {
        let values = item
            .raw
            .as_ref()
            .ok_or(format!("{search}: {field}: modifiers other than cased have no exact filter-pattern equivalent"))?;
        let parts =
            values.iter().map(|v| literal(v, item.cased, &selector, search, field)).collect::<Result<Vec<_>, _>>()?;
        return join(parts, if item.all { "&&" } else { "||" });
    }
    let tests = item.tests.iter().map(|t| test(item, t, &selector, search)).collect::<Result<Vec<_>, _>>()?;
    join(tests, if item.all { "&&" } else { "||" })
}

fn test(item: &Item, t: &Test, selector: &str, search: &str) -> Result<String, String> {
    let field = item.field.as_deref().unwrap_or_default();
    match t {
        Test::Null => Ok(format!("(({selector} NOT EXISTS) || ({selector} IS NULL))")),
        Test::Exists(false) => Ok(format!("({selector} NOT EXISTS)")),
        other => Err(format!("{search}: {field}: {} has no exact filter-pattern equivalent", describe(other))),
    }
}

fn describe(t: &Test) -> &'static str {
    match t {
        Test::Exists(_) => "exists: true (`= *` is false on null and objects)",
        Test::Num(_) => "a number (Sigma also matches its text in a string)",
        Test::Bool(_) => "a boolean",
        Test::Cmp(..) => "a comparison (Sigma also compares numeric strings)",
        Test::Cidr(_) => "cidr",
        Test::TimePart(..) => "a time part",
        Test::FieldRef { .. } => "fieldref",
        Test::Null | Test::Text(_) => "this value",
    }
}

/// One Sigma string (wildcards as `*` at the ends only) as `selector = "..."`.
fn literal(value: &str, cased: bool, selector: &str, search: &str, field: &str) -> Result<String, String> {
    let no = |why: &str| Err(format!("{search}: {field}: '{value}' {why}"));
    let (lead, rest) = match value.strip_prefix('*') {
        Some(rest) => ("*", rest),
        None => ("", value),
    };
    let (body, trail) = match rest.strip_suffix('*').filter(|r| !r.ends_with('\\')) {
        Some(body) => (body, "*"),
        None => (rest, ""),
    };
    let Some(plain) = super::wildcard::unescape(body) else {
        return no("has a wildcard inside, which filter patterns do not have");
    };
    if plain.contains('*') {
        return no("has a literal '*', which a filter pattern reads as a wildcard");
    }
    if !lead.is_empty() && !trail.is_empty() || plain.is_empty() && !(lead.is_empty() && trail.is_empty()) {
        return no("also matches inside objects' JSON text, which filter patterns never do");
    }
    let numeric = !plain.is_empty() && plain.chars().all(|c| c.is_ascii_digit() || ".eE+-".contains(c));
    let words = ["true", "false", "null"];
    if numeric
        || !trail.is_empty() && words.iter().any(|w| w.starts_with(plain.as_str()))
        || !lead.is_empty() && (words.iter().any(|w| w.ends_with(plain.as_str())) || plain.ends_with(['}', ']']))
    {
        return no("can match a number's, boolean's or object's text, which filter patterns do not compare as text");
    }
    if !cased && plain.chars().any(|c| c.is_lowercase() || c.is_uppercase()) {
        return no("matches in any case; filter patterns compare case-sensitively (with |cased it would convert)");
    }
    let trimmed = plain.trim();
    if trimmed.parse::<f64>().is_ok() || matches!(trimmed, "true" | "false" | "null") || trimmed.starts_with(['{', '['])
    {
        return no("reads as a number, boolean or JSON, which Sigma compares as text and filter patterns do not");
    }
    let quoted: String =
        plain.chars().flat_map(|c| if matches!(c, '"' | '\\') { vec!['\\', c] } else { vec![c] }).collect();
    Ok(format!("({selector} = \"{lead}{quoted}{trail}\")"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::PathTable;
    use crate::pattern::Pattern;
    use crate::sigma::{load, SigmaOptions};

    fn detection(body: &str) -> crate::sigma::SigmaRule {
        let text = format!("title: t\nid: n-1\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n{body}\n");
        let loaded = load(&text, "n.yml", &SigmaOptions::default()).unwrap();
        assert!(loaded.notes.is_empty(), "{:?}", loaded.notes);
        (*loaded.rules[0]).clone()
    }

    #[test]
    fn a_converted_rule_gives_the_same_verdicts_as_the_sigma_rule() {
        let rule = detection(
            "  s:\n    eventName|cased: [DeleteTrail, StopLogging]\n    errorCode: null\n  t:\n    requestParameters.name|cased: 'prod-*'\n    x|exists: false\n  condition: s or t",
        );
        let text = pattern(&rule.detection).unwrap();
        let mut p = Pattern::parse(&text).unwrap();
        let mut table = PathTable::new();
        p.bind(&mut table);
        let records = [
            r#"{"eventName":"DeleteTrail"}"#,
            r#"{"eventName":"deletetrail"}"#,
            r#"{"eventName":"StopLogging","errorCode":null}"#,
            r#"{"eventName":"StopLogging","errorCode":"AccessDenied"}"#,
            r#"{"eventName":"X","requestParameters":{"name":"prod-1"}}"#,
            r#"{"eventName":"X","requestParameters":{"name":"prod-1"},"x":null}"#,
            r#"{"eventName":"X","requestParameters":{"name":"Prod-1"}}"#,
            r#"{"eventName":"X","requestParameters":{"name":{"prod-":1}}}"#,
        ];
        for record in records {
            let values = table.extract(record).unwrap();
            assert_eq!(p.matches(&values), rule.matches_json(record).unwrap(), "{text} on {record}");
        }
    }

    #[test]
    fn no_equivalent_says_why() {
        let cases = [
            ("  s:\n    eventName: DeleteTrail\n  condition: s", "matches in any case"),
            ("  s:\n    a|contains: x\n  condition: s", "modifiers other than cased"),
            ("  s:\n    a|cased: 'x*y'\n  condition: s", "wildcard inside"),
            ("  s:\n    a|cased: '*x*'\n  condition: s", "objects' JSON text"),
            ("  s:\n    a: '12'\n  condition: s", "number"),
            ("  s:\n    a|cased: x\n  condition: not s", "'not'"),
            ("  s:\n    - evil\n  condition: s", "keyword"),
            ("  s:\n    a|neq: x\n  condition: s", "neq has no exact"),
            ("  s:\n    a|cased|neq: x\n  condition: s", "neq has no exact"),
        ];
        for (body, needle) in cases {
            let err = pattern(&detection(body).detection).unwrap_err();
            assert!(err.contains(needle), "{body}: {err}");
        }
    }
}
