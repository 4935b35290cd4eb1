//! Sigma rule documents read into [`SigmaRule`]s: metadata, logsource,
//! detection, and collections (`action: global`, `reset`, `repeat`).

use super::condition;
use super::expand::Placeholders;
use super::matcher::Detection;
use super::modifiers;
use super::yaml::{Node, Yaml};
use super::{Refused, SigmaRule, Status};
use crate::severity::Severity;

/// What one YAML document is.
#[derive(Debug)]
pub enum Document {
    Rule(Box<SigmaRule>),
    /// A correlation rule (`correlation:`), for [`super::correlation`].
    Correlation(Node),
    /// Not run, and why (another logsource, a construct not supported, a status not asked for).
    Skipped(Refused),
}

/// Reads every document of a Sigma file. A document that is not valid
/// Sigma is an error (line, message); one this engine does not run is
/// [`Document::Skipped`] with its line and reason.
pub fn documents(text: &str, placeholders: &Placeholders) -> Result<Vec<Document>, (usize, String)> {
    let mut out = Vec::new();
    let mut global: Option<Node> = None;
    let mut previous: Option<Node> = None;
    for doc in super::yaml::documents(text)? {
        let action = doc.get("action").and_then(Node::as_str).map(str::to_string);
        match action.as_deref() {
            Some("global") => {
                global = Some(merged(global.as_ref(), &without_action(&doc)));
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => {
                let base = previous.clone().ok_or((doc.line, "action: repeat with no document before it".into()))?;
                let doc = merged(Some(&base), &without_action(&doc));
                previous = Some(doc.clone());
                out.push(document(&doc, placeholders)?);
                continue;
            }
            Some(other) => return Err((doc.line, format!("unknown action '{other}'"))),
            None => {}
        }
        let doc = merged(global.as_ref(), &doc);
        previous = Some(doc.clone());
        out.push(document(&doc, placeholders)?);
    }
    Ok(out)
}

fn without_action(doc: &Node) -> Node {
    match &doc.value {
        Yaml::Map(entries) => {
            Node { line: doc.line, value: Yaml::Map(entries.iter().filter(|(k, _)| k != "action").cloned().collect()) }
        }
        _ => doc.clone(),
    }
}

/// `over` merged onto `base`: mappings merge key by key, anything else is replaced.
fn merged(base: Option<&Node>, over: &Node) -> Node {
    let Some(base) = base else { return over.clone() };
    match (&base.value, &over.value) {
        (Yaml::Map(a), Yaml::Map(b)) => {
            let mut entries = a.clone();
            for (k, v) in b {
                match entries.iter_mut().find(|(key, _)| key == k) {
                    Some((_, existing)) => *existing = merged(Some(existing), v),
                    None => entries.push((k.clone(), v.clone())),
                }
            }
            Node { line: over.line, value: Yaml::Map(entries) }
        }
        _ => over.clone(),
    }
}

fn text(doc: &Node, key: &str) -> Result<Option<String>, (usize, String)> {
    match doc.get(key) {
        None => Ok(None),
        Some(n) => match &n.value {
            Yaml::Str(s) => Ok(Some(s.clone())),
            Yaml::Null => Ok(None),
            _ => Err((n.line, format!("'{key}' is {}, expected a string", n.kind()))),
        },
    }
}

fn texts(doc: &Node, key: &str) -> Result<Vec<String>, (usize, String)> {
    match doc.get(key) {
        None => Ok(Vec::new()),
        Some(n) => match &n.value {
            Yaml::Null => Ok(Vec::new()),
            Yaml::Str(s) => Ok(vec![s.clone()]),
            Yaml::Seq(items) => items
                .iter()
                .map(|i| match &i.value {
                    Yaml::Str(s) => Ok(s.clone()),
                    Yaml::Int(v) => Ok(v.to_string()),
                    _ => Err((i.line, format!("an item of '{key}' is {}", i.kind()))),
                })
                .collect(),
            _ => Err((n.line, format!("'{key}' is {}, expected a list", n.kind()))),
        },
    }
}

fn skipped(line: usize, reason: impl Into<String>) -> Document {
    Document::Skipped(Refused { line, reason: reason.into(), id: None })
}

fn document(doc: &Node, placeholders: &Placeholders) -> Result<Document, (usize, String)> {
    if !matches!(doc.value, Yaml::Map(_)) {
        return Err((doc.line, format!("a Sigma document is a mapping, not {}", doc.kind())));
    }
    if doc.get("correlation").is_some() {
        return Ok(Document::Correlation(doc.clone()));
    }
    if doc.get("filter").is_some() && doc.get("detection").is_none() {
        return Ok(skipped(doc.line, "Sigma filters (meta filters) are not supported"));
    }
    let title = text(doc, "title")?.ok_or((doc.line, "the rule has no title".to_string()))?;
    let id = text(doc, "id")?;
    let refuse = |line: usize, reason: String| Document::Skipped(Refused { line, reason, id: id.clone() });
    let logsource = doc.get("logsource").ok_or((doc.line, "the rule has no logsource".to_string()))?;
    let (product, service) = (text(logsource, "product")?, text(logsource, "service")?);
    let is = |v: &Option<String>, want: &str| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(want));
    if !is(&product, "aws") || !is(&service, "cloudtrail") {
        let shown = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        return Ok(refuse(
            logsource.line,
            format!("logsource product {} service {} is not CloudTrail", shown(product), shown(service)),
        ));
    }
    let status = match text(doc, "status")? {
        None => None,
        Some(s) => Some(s.parse::<Status>().map_err(|e| (doc.get("status").map_or(doc.line, |n| n.line), e))?),
    };
    let level = match text(doc, "level")? {
        None => Severity::Medium,
        Some(l) => level(&l).ok_or((doc.get("level").map_or(doc.line, |n| n.line), format!("unknown level '{l}'")))?,
    };
    let detection_node = doc.get("detection").ok_or((doc.line, "the rule has no detection".to_string()))?;
    let detection = match detection(detection_node, placeholders) {
        Ok(d) => d,
        Err(Bad::Refused(line, reason)) => return Ok(refuse(line, reason)),
        Err(Bad::Invalid(line, reason)) => return Err((line, reason)),
    };
    let Some(id) = id.clone() else {
        return Ok(refuse(
            doc.line,
            "the rule has no id (trailwatch keys alerts, suppressions and the ledger by it)".into(),
        ));
    };
    Ok(Document::Rule(Box::new(SigmaRule {
        id,
        name: text(doc, "name")?,
        title,
        status,
        level,
        description: text(doc, "description")?.unwrap_or_default(),
        references: texts(doc, "references")?,
        falsepositives: texts(doc, "falsepositives")?,
        tags: texts(doc, "tags")?,
        author: text(doc, "author")?,
        line: doc.line,
        detection,
        threshold: None,
        alerts: true,
    })))
}

/// Sigma's `level` as a severity.
pub fn level(text: &str) -> Option<Severity> {
    Some(match text.trim().to_ascii_lowercase().as_str() {
        "informational" => Severity::Info,
        "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        _ => return None,
    })
}

enum Bad {
    /// Valid Sigma this engine does not run.
    Refused(usize, String),
    /// Not valid Sigma.
    Invalid(usize, String),
}

fn detection(node: &Node, placeholders: &Placeholders) -> Result<Detection, Bad> {
    let Yaml::Map(entries) = &node.value else {
        return Err(Bad::Invalid(node.line, "detection is not a mapping".into()));
    };
    let mut names = Vec::new();
    let mut searches = Vec::new();
    let mut condition_node = None;
    for (name, value) in entries {
        match name.as_str() {
            "condition" => condition_node = Some(value),
            "timeframe" => {
                return Err(Bad::Refused(
                    value.line,
                    "timeframe (Sigma 1 aggregation) is not supported; write a correlation rule".into(),
                ))
            }
            _ => {
                names.push(name.clone());
                searches.push(
                    search(value, placeholders).map_err(|(line, why)| Bad::Refused(line, format!("{name}: {why}")))?,
                );
            }
        }
    }
    let cond_node = condition_node.ok_or(Bad::Invalid(node.line, "detection has no condition".into()))?;
    let cond_text = match &cond_node.value {
        Yaml::Str(s) => s.clone(),
        Yaml::Seq(items) if items.len() == 1 => items[0].as_str().unwrap_or_default().to_string(),
        Yaml::Seq(_) => return Err(Bad::Refused(cond_node.line, "a list of conditions is not supported".into())),
        _ => return Err(Bad::Invalid(cond_node.line, "condition is not a string".into())),
    };
    let condition = condition::parse(&cond_text, &names).map_err(|why| {
        let refused = why.contains("not supported");
        if refused {
            Bad::Refused(cond_node.line, why)
        } else {
            Bad::Invalid(cond_node.line, why)
        }
    })?;
    Ok(Detection::new(names, searches, condition))
}

/// A mapping's entries.
type Entries<'a> = &'a [(String, Node)];

/// A search identifier's value: a mapping (AND of its items), a list of
/// mappings (OR), or keywords (a string or a list of them, OR).
fn search(node: &Node, placeholders: &Placeholders) -> Result<Vec<Vec<modifiers::Item>>, (usize, String)> {
    let map_items = |line: usize, entries: &[(String, Node)]| -> Result<Vec<modifiers::Item>, (usize, String)> {
        if entries.is_empty() {
            return Err((line, "an empty selection".into()));
        }
        entries.iter().map(|(k, v)| modifiers::item(k, v, v.line, placeholders)).collect()
    };
    let maps: Option<Vec<(usize, Entries<'_>)>> = match &node.value {
        Yaml::Seq(items) if !items.is_empty() => items
            .iter()
            .map(|i| match &i.value {
                Yaml::Map(entries) => Some((i.line, entries.as_slice())),
                _ => None,
            })
            .collect(),
        _ => None,
    };
    match &node.value {
        Yaml::Map(entries) => Ok(vec![map_items(node.line, entries)?]),
        Yaml::Seq(_) if maps.is_some() => maps.unwrap_or_default().into_iter().map(|(l, e)| map_items(l, e)).collect(),
        Yaml::Seq(items) if items.iter().all(|i| !matches!(i.value, Yaml::Map(_) | Yaml::Seq(_))) => {
            Ok(vec![vec![modifiers::item("", node, node.line, placeholders)?]])
        }
        Yaml::Str(_) => Ok(vec![vec![modifiers::item("", node, node.line, placeholders)?]]),
        _ => Err((node.line, format!("a search identifier's value is {} of mixed shape", node.kind()))),
    }
}
