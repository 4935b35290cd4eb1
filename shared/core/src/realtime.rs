//! Which rules can alert in real time, and the EventBridge event pattern
//! that carries exactly the events they can match.
//!
//! CloudTrail sends each management event to the default event bus as it
//! happens. The events worth a Lambda invocation are those an *alerting*
//! rule can match: rules whose pattern requires `$.eventName` to be one of a
//! few literals (what the engine's dispatch already knows). The others stay
//! on the file lane, named, never widened into the pattern:
//!
//! - threshold rules (a count across events needs every event: the file);
//! - first-seen rules (a profile learns from every record: the file);
//! - rules that match without a literal event name (`*`, a negation).
//!
//! The pattern filters `detail.eventName`, and `detail.eventSource` too when
//! every real-time rule names its sources (a name and a source from two
//! different rules may pair up: the pattern can let a few more events in
//! than the rules match, never fewer).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::engine::Engine;

/// The `detail-type` of the CloudTrail events a rule can match (Insights
/// events are about rates, not calls: the file lane reads them).
pub const DETAIL_TYPES: [&str; 4] = [
    "AWS API Call via CloudTrail",
    "AWS Console Action via CloudTrail",
    "AWS Console Signin via CloudTrail",
    "AWS Service Event via CloudTrail",
];

/// EventBridge's default quota on an event pattern, in characters.
pub const PATTERN_MAX: usize = 2048;

/// The rules split by lane, and what the real-time ones need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Rules that alert in real time.
    pub realtime: Vec<String>,
    /// Alerting rules that stay on the file lane, each with why.
    pub file_only: Vec<(String, &'static str)>,
    /// Event names the real-time rules require.
    pub names: BTreeSet<String>,
    /// Event sources, when every real-time rule requires some.
    pub sources: Option<BTreeSet<String>>,
}

impl Plan {
    /// The plan for the alerting rules of `engine`.
    pub fn of(engine: &Engine) -> Plan {
        let mut plan = Plan { sources: Some(BTreeSet::new()), ..Default::default() };
        for (rule, names, sources) in engine.narrowing() {
            if !rule.alerts() {
                continue;
            }
            let why = match (&rule.threshold, names) {
                (Some(_), _) => "a threshold counts events across the file",
                (None, _) if rule.first_seen.is_some() => "a first-seen profile learns from every record of the file",
                (None, None) if rule.sigma.is_some() => {
                    "a Sigma rule matches event names in any case, which an EventBridge pattern cannot"
                }
                (None, None) => "its pattern does not name the event names it matches",
                (None, Some(names)) => {
                    plan.realtime.push(rule.id.clone());
                    plan.names.extend(names);
                    match (sources, plan.sources.as_mut()) {
                        (Some(sources), Some(all)) => all.extend(sources),
                        _ => plan.sources = None,
                    }
                    continue;
                }
            };
            plan.file_only.push((rule.id.clone(), why));
        }
        if plan.realtime.is_empty() {
            plan.sources = None;
        }
        plan
    }

    /// Whether `rule` alerts in real time.
    pub fn is_realtime(&self, rule: &str) -> bool {
        self.realtime.iter().any(|r| r == rule)
    }

    /// The event names AWS counts as read-only (`Get`, `List`, `Describe`):
    /// they reach an EventBridge rule only in the state
    /// `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`.
    pub fn read_only_names(&self) -> Vec<&str> {
        let read_only = |n: &&String| ["Get", "List", "Describe"].iter().any(|p| n.starts_with(p));
        self.names.iter().filter(read_only).map(String::as_str).collect()
    }

    /// The EventBridge event pattern (`None` when no rule is real-time: an
    /// empty list would match nothing, and no rule is better than that).
    pub fn event_pattern(&self) -> Option<Value> {
        (!self.names.is_empty()).then(|| self.pattern(self.names.iter()))
    }

    /// The pattern split by event name so that each, as compact JSON, holds
    /// at most `max_chars` characters (EventBridge's default quota is
    /// [`PATTERN_MAX`]): one EventBridge rule each. Empty when no rule is
    /// real-time; a single name too long for a pattern gets one of its own.
    pub fn event_patterns(&self, max_chars: usize) -> Vec<Value> {
        let mut patterns = Vec::new();
        let mut names: Vec<&String> = Vec::new();
        for name in &self.names {
            names.push(name);
            if names.len() > 1 && self.pattern(names.iter().copied()).to_string().len() > max_chars {
                names.pop();
                patterns.push(self.pattern(names.drain(..)));
                names.push(name);
            }
        }
        if !names.is_empty() {
            patterns.push(self.pattern(names.into_iter()));
        }
        patterns
    }

    fn pattern<'a>(&self, names: impl Iterator<Item = &'a String>) -> Value {
        let mut detail = json!({ "eventName": names.collect::<Vec<_>>() });
        if let Some(sources) = &self.sources {
            detail["eventSource"] = json!(sources);
        }
        json!({ "detail-type": DETAIL_TYPES, "detail": detail })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineOptions;
    use crate::rule::RuleSet;

    fn plan(rules: &str) -> Plan {
        let set = RuleSet::from_toml(rules, "test.toml").unwrap();
        Plan::of(&Engine::new(&set, EngineOptions::default()).unwrap())
    }

    const RULES: &str = r#"
[[rule]]
id = "root"
title = "Root"
severity = "critical"
description = "d"
pattern = '{ $.userIdentity.type = "Root" && ($.eventName = "ConsoleLogin" || $.eventName = "GetSessionToken") }'

[[rule]]
id = "keys"
title = "Keys"
severity = "high"
description = "d"
pattern = '{ $.eventSource = "iam.amazonaws.com" && $.eventName = "CreateAccessKey" }'

[[rule]]
id = "errors"
title = "Errors"
severity = "low"
description = "d"
pattern = '{ $.errorCode = "AccessDenied" }'

[[rule]]
id = "quiet"
title = "Quiet"
severity = "low"
description = "d"
alert = false
pattern = '{ $.eventName = "StopLogging" }'
"#;

    #[test]
    fn rules_split_by_lane() {
        let plan = plan(RULES);
        assert_eq!(plan.realtime, ["root", "keys"]);
        assert_eq!(plan.file_only, [("errors".to_string(), "its pattern does not name the event names it matches")]);
        assert_eq!(plan.names.iter().collect::<Vec<_>>(), ["ConsoleLogin", "CreateAccessKey", "GetSessionToken"]);
        assert_eq!(plan.sources, None, "`root` names no source: sources are not filtered");
        let pattern = plan.event_pattern().unwrap();
        assert_eq!(pattern["detail-type"][0], "AWS API Call via CloudTrail");
        assert!(pattern["detail"].get("eventSource").is_none());
    }

    #[test]
    fn sources_filter_when_every_realtime_rule_names_them() {
        let only_keys: String =
            RULES.split("[[rule]]").filter(|r| !r.contains("\"root\"")).collect::<Vec<_>>().join("[[rule]]");
        let plan = plan(&only_keys);
        assert_eq!(plan.event_pattern().unwrap()["detail"]["eventSource"], json!(["iam.amazonaws.com"]));
    }

    #[test]
    fn the_builtin_set_has_realtime_rules_and_names_the_rest() {
        let engine = Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
        let plan = Plan::of(&engine);
        assert!(plan.is_realtime("root-account-usage") || !plan.realtime.is_empty());
        assert!(plan.names.contains("ConsoleLogin"));
        let patterns = plan.event_patterns(PATTERN_MAX);
        assert!(patterns.iter().all(|p| p.to_string().len() <= PATTERN_MAX));
        let split: usize = patterns.iter().map(|p| p["detail"]["eventName"].as_array().unwrap().len()).sum();
        assert_eq!(split, plan.names.len(), "every name in one pattern");
        let alerting = engine.rules().filter(|r| r.alerts()).count();
        assert_eq!(plan.realtime.len() + plan.file_only.len(), alerting, "every alerting rule is in one lane");
    }
}
