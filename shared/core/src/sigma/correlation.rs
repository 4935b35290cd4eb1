//! Sigma correlation rules as trailwatch threshold rules, where the
//! semantics are the same; the rest are refused with the reason.
//!
//! | Sigma | trailwatch |
//! | --- | --- |
//! | `type: event_count`, one rule, `condition: gte: N` (or `gt: N-1`) | threshold `count = N` |
//! | `type: value_count`, `field` below, same condition | threshold `distinct = field` |
//! | `group-by` of the fields below | threshold `by` |
//! | `timespan` (1m to 24h) | threshold `window` (fixed windows, as the specification allows) |
//! | `generate: false` (the default) | the referenced rule counts but does not alert alone |
//!
//! Fields: `userIdentity.arn` → principal, `recipientAccountId` → account,
//! `awsRegion` → region, `sourceIPAddress` → source_ip, `userAgent` →
//! user_agent, `eventName` → event_name, `requestParameters` → request.
//! Refused: `temporal` and `temporal_ordered` (several rules in one
//! window), several rules in one count, `lt`/`lte`/`eq`/`neq` (a count that
//! alerts while it stays low cannot alert as events arrive), `aliases`,
//! other group-by fields.

use super::yaml::{Node, Yaml};
use super::{Refused, SigmaOptions, SigmaRule};
use crate::threshold::{GroupField, Threshold};

/// Why a correlation is not applied.
#[derive(Debug)]
pub enum Problem {
    Refused(Refused),
    /// Not a valid correlation rule: (line, message).
    Invalid(usize, String),
}

fn group_field(name: &str) -> Option<GroupField> {
    Some(match name {
        "userIdentity.arn" => GroupField::Principal,
        "recipientAccountId" => GroupField::Account,
        "awsRegion" => GroupField::Region,
        "sourceIPAddress" => GroupField::SourceIp,
        "userAgent" => GroupField::UserAgent,
        "eventName" => GroupField::EventName,
        "requestParameters" => GroupField::Request,
        _ => return None,
    })
}

fn text<'n>(node: &'n Node, key: &str) -> Option<&'n str> {
    node.get(key).and_then(Node::as_str)
}

/// Adds the threshold rule a correlation document stands for to `rules`
/// (which hold the rules of the same file it may refer to).
pub fn apply(doc: &Node, rules: &mut Vec<SigmaRule>, options: &SigmaOptions) -> Result<(), Problem> {
    let id = text(doc, "id").map(str::to_string);
    let refuse = |line: usize, reason: String| Problem::Refused(Refused { line, reason, id: id.clone() });
    let invalid = |line: usize, message: &str| Problem::Invalid(line, message.to_string());
    let corr = doc.get("correlation").ok_or(invalid(doc.line, "no correlation section"))?;
    let title = text(doc, "title").ok_or(invalid(doc.line, "the correlation has no title"))?;
    let Some(id) = id.clone() else {
        return Err(refuse(doc.line, "the correlation has no id".into()));
    };
    if let Some(status) = text(doc, "status") {
        let status = status.parse::<super::Status>().map_err(|e| invalid(doc.line, &e))?;
        if !options.statuses.contains(&status) {
            return Err(refuse(doc.line, format!("status {} is not loaded", status.as_str())));
        }
    }
    let kind = text(corr, "type").ok_or(invalid(corr.line, "the correlation has no type"))?;
    if kind != "event_count" && kind != "value_count" {
        return Err(refuse(corr.line, format!("correlation type {kind} has no threshold equivalent")));
    }
    if let Some(aliases) = corr.get("aliases") {
        return Err(refuse(aliases.line, "aliases are not supported".into()));
    }
    let referenced: Vec<String> = match corr.get("rules").map(|n| &n.value) {
        Some(Yaml::Seq(items)) => items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect(),
        Some(Yaml::Str(s)) => vec![s.clone()],
        _ => return Err(invalid(corr.line, "the correlation has no rules")),
    };
    if referenced.len() != 1 {
        return Err(refuse(corr.line, "a count over several rules has no threshold equivalent".into()));
    }
    let base = rules
        .iter()
        .position(|r| r.id == referenced[0] || r.name.as_deref() == Some(referenced[0].as_str()))
        .ok_or_else(|| refuse(corr.line, format!("rule '{}' is not in this file", referenced[0])))?;
    let mut by = Vec::new();
    let group = corr.get("group-by").ok_or_else(|| {
        refuse(
            corr.line,
            "a count without group-by (over every account and principal) has no threshold equivalent".into(),
        )
    })?;
    {
        let names: Vec<&str> = match &group.value {
            Yaml::Seq(items) => items.iter().filter_map(Node::as_str).collect(),
            Yaml::Str(s) => vec![s.as_str()],
            _ => return Err(invalid(group.line, "group-by is not a list")),
        };
        for name in names {
            by.push(
                group_field(name)
                    .ok_or_else(|| refuse(group.line, format!("group-by field {name} has no threshold equivalent")))?,
            );
        }
    }
    let span = corr.get("timespan").ok_or(invalid(corr.line, "the correlation has no timespan"))?;
    let window = span.as_str().ok_or(invalid(span.line, "timespan is not a duration"))?.to_string();
    let cond = corr.get("condition").ok_or(invalid(corr.line, "the correlation has no condition"))?;
    let Yaml::Map(entries) = &cond.value else { return Err(invalid(cond.line, "condition is not a mapping")) };
    let mut count = None;
    let mut field = None;
    for (k, v) in entries {
        let n = match v.value {
            Yaml::Int(n) if n >= 0 => n as u64,
            _ if k == "field" => {
                field = v.as_str().map(str::to_string);
                continue;
            }
            _ => return Err(invalid(v.line, "a count is not a whole number")),
        };
        count = Some(match k.as_str() {
            "gte" => n,
            "gt" => n + 1,
            other => return Err(refuse(v.line, format!("condition {other} has no threshold equivalent"))),
        });
    }
    let count = count.ok_or(invalid(cond.line, "the condition has no count"))?;
    let distinct = match (kind, field) {
        ("value_count", Some(f)) => Some(
            group_field(&f)
                .ok_or_else(|| refuse(cond.line, format!("value_count field {f} has no threshold equivalent")))?,
        ),
        ("value_count", None) => return Err(invalid(cond.line, "value_count needs a field")),
        _ => None,
    };
    let threshold = Threshold { by, count, distinct, window };
    threshold.validate().map_err(|e| refuse(span.line, e))?;
    let generate = matches!(corr.get("generate").map(|n| &n.value), Some(Yaml::Bool(true)));
    let mut rule = rules[base].clone();
    if !generate {
        rules[base].alerts = false;
    }
    rule.id = id;
    rule.title = title.to_string();
    rule.name = None;
    if let Some(level) = text(doc, "level").and_then(super::parse::level) {
        rule.level = level;
    }
    if let Some(description) = text(doc, "description") {
        rule.description = description.to_string();
    }
    rule.line = doc.line;
    rule.threshold = Some(threshold);
    rule.alerts = true;
    rules.push(rule);
    Ok(())
}
