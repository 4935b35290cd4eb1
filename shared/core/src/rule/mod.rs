//! Rules are data: a filter pattern with an id, title, severity, description,
//! runbook, tags and examples. Rule files are TOML (see the README); the
//! built-in catalogue is a TOML file compiled into the binary.
//!
//! ```toml
//! disable = ["cis-cloudwatch-10-security-group-changes"]
//! dry_run = ["8ad1600d-e9dc-4251-b0ee-a65268f29add"]   # any rule, a Sigma one too
//!
//! [[rule]]
//! id = "prod-kms-decrypt-denied"
//! title = "KMS decrypt denied"
//! severity = "medium"
//! pattern = '{ ($.eventName = Decrypt) && ($.errorCode = AccessDenied*) }'
//! description = "Someone tried to decrypt with a key they may not use."
//! runbook = "Check who called and whether the key policy is right."
//! tags = ["mitre/T1552"]
//! examples.match = ['{"eventName":"Decrypt","errorCode":"AccessDenied"}']
//! examples.no_match = ['{"eventName":"Decrypt"}']
//!
//! [[suppression]]
//! rules = ["cis-cloudwatch-2-unauthorized-api-calls"]
//! source_cidrs = ["203.0.113.0/24"]
//! reason = "Security scanner probing permissions"
//! ```

use std::collections::BTreeSet;
use std::fmt;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Location, Result};
use crate::facts::Trusted;
use crate::pattern::Pattern;

/// The built-in catalogue's TOML text.
pub const BUILTIN_RULES: &str = include_str!("../../rules/builtin.toml");
/// Detections beyond CIS and alert-grade variants of CIS filters.
pub const DETECTION_RULES: &str = include_str!("../../rules/detections.toml");
/// First-seen detections (profiles per principal and account).
pub const FIRST_SEEN_RULES: &str = include_str!("../../rules/first-seen.toml");
/// The origin recorded for built-in rules.
pub const BUILTIN_ORIGIN: &str = "built-in";

pub use crate::severity::Severity;

/// Records a rule's pattern must and must not match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    #[serde(default, rename = "match")]
    pub matches: Vec<String>,
    #[serde(default)]
    pub no_match: Vec<String>,
}

/// One detection rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// A CloudWatch Logs JSON filter pattern.
    pub pattern: String,
    pub description: String,
    /// What to do when it fires.
    #[serde(default)]
    pub runbook: String,
    /// e.g. `securityhub/CloudWatch.1`, `cis/4.3`, `mitre/T1078`.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub examples: Examples,
    /// Whether a match is sent as an alert (default true). Compliance-grade
    /// rules that are noisy as alerts (several CIS metric filters) say
    /// `alert = false`: their matches are still counted in the statistics
    /// and the summary, exactly as the metric filter would count them.
    /// Written `alert` in rule files.
    #[serde(rename = "alert", default = "yes", skip_serializing_if = "is_true")]
    pub alert_grade: bool,
    /// Trial mode: matches are counted, and `trailwatch tune` reports what
    /// the rule would send, but nothing is sent.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dry_run: bool,
    /// Alert on a count of matches in a window instead of each match
    /// (see [`crate::threshold`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<crate::threshold::Threshold>,
    /// Alert when the value is new for the principal or account, after a
    /// learning period (see [`crate::first_seen`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<crate::first_seen::FirstSeen>,
    /// Fields shown with each finding besides those the pattern tests
    /// (selectors such as `$.requestParameters.keyId`): what a reader needs
    /// to see what happened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub show: Vec<String>,
    /// Where the rule came from: `built-in` or a file path.
    #[serde(skip)]
    pub origin: String,
    /// Set for a Sigma rule: its compiled detection, run instead of `pattern`.
    #[serde(skip)]
    pub sigma: Option<crate::sigma::Compiled>,
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl Rule {
    /// Whether its matches are sent (not compliance-only, not in a dry run).
    pub fn alerts(&self) -> bool {
        self.alert_grade && !self.dry_run
    }
}

/// Silences rules for known-good activity. Every condition given must hold:
/// the pattern (if any) matches and the source IP (if CIDRs are given) is in
/// one of the ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// Rule ids it applies to; `"*"` for every rule.
    pub rules: Vec<String>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub source_cidrs: Vec<IpNet>,
    /// Why this activity is fine; shown in `rules list` and statistics.
    pub reason: String,
    #[serde(skip)]
    pub origin: String,
}

impl Suppression {
    pub fn applies_to(&self, rule_id: &str) -> bool {
        self.rules.iter().any(|r| r == "*" || r == rule_id)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    disable: Vec<String>,
    /// Rules (of any file or format, Sigma ones included) put in a dry run.
    #[serde(default)]
    dry_run: Vec<String>,
    #[serde(default)]
    rule: Vec<Rule>,
    #[serde(default)]
    suppression: Vec<Suppression>,
    /// Accounts that are not "outside" for the facts (`$.facts.*`).
    #[serde(default)]
    trusted_accounts: Vec<String>,
    /// Behavioural profiles: the horizon and the sensitive event names.
    #[serde(default)]
    profiles: Option<crate::profile::Settings>,
}

/// An example that did not behave as its rule says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFailure {
    pub rule_id: String,
    pub origin: String,
    /// True for a `match` example, false for `no_match`.
    pub should_match: bool,
    pub example: String,
    /// Set when the example is not valid JSON or the pattern does not parse.
    pub error: Option<String>,
}

impl fmt::Display for ExampleFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let example: String = self.example.chars().take(160).collect();
        match &self.error {
            Some(e) => write!(f, "{} ({}): {e}: {example}", self.rule_id, self.origin),
            None if self.should_match => {
                write!(f, "{} ({}): should match but does not: {example}", self.rule_id, self.origin)
            }
            None => write!(f, "{} ({}): should not match but does: {example}", self.rule_id, self.origin),
        }
    }
}

/// The rules and suppressions in force.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    disabled: BTreeSet<String>,
    /// Ids put in a dry run by a rule file's `dry_run` list.
    dry_runs: BTreeSet<String>,
    suppressions: Vec<Suppression>,
    trusted: Trusted,
    profiles: crate::profile::Settings,
    /// Rule documents that were read but do not run, and why (`file:line: ...`).
    notes: Vec<String>,
    /// The ids of those (Sigma rules) that have one.
    skipped: BTreeSet<String>,
}

impl RuleSet {
    /// The built-in catalogue.
    pub fn builtin() -> Result<RuleSet> {
        let mut set = RuleSet::from_toml(BUILTIN_RULES, BUILTIN_ORIGIN)?;
        set.merge(RuleSet::from_toml(DETECTION_RULES, BUILTIN_ORIGIN)?)?;
        set.merge(RuleSet::from_toml(FIRST_SEEN_RULES, BUILTIN_ORIGIN)?)?;
        Ok(set)
    }

    /// Parses one rule file's text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<RuleSet> {
        let located = |message: String, rule: Option<&str>| {
            let message = match rule {
                Some(id) => format!("rule '{id}': {message}"),
                None => message,
            };
            Error::at(ErrorKind::Rule(message), Location { source: Some(origin.into()), ..Default::default() })
        };
        let file: RuleFile = toml::from_str(text).map_err(|e| located(e.to_string(), None))?;
        let mut set = RuleSet::default();
        for mut rule in file.rule {
            rule.origin = origin.to_string();
            set.add(rule)?;
        }
        for mut s in file.suppression {
            s.origin = origin.to_string();
            if s.rules.is_empty() {
                return Err(located("a suppression needs `rules` (ids, or \"*\")".into(), None));
            }
            if s.pattern.is_none() && s.source_cidrs.is_empty() {
                return Err(located(
                    format!("the suppression '{}' needs a `pattern` or `source_cidrs`", s.reason),
                    None,
                ));
            }
            if let Some(p) = &s.pattern {
                Pattern::parse(p).map_err(|e| located(format!("suppression pattern: {}", e.kind), None))?;
            }
            set.suppressions.push(s);
        }
        set.disabled = file.disable.into_iter().collect();
        set.dry_runs = file.dry_run.into_iter().collect();
        set.apply_dry_runs();
        set.trusted = Trusted::new(&file.trusted_accounts).map_err(|e| located(e.kind.to_string(), None))?;
        if let Some(profiles) = file.profiles {
            profiles.horizon_secs().map_err(|e| located(e, None))?;
            set.profiles = profiles;
        }
        Ok(set)
    }

    /// Adds one rule. A rule id that is already present is an error (disable
    /// the built-in one and use a new id).
    pub fn add(&mut self, rule: Rule) -> Result<()> {
        let located = |message: String| {
            Error::at(ErrorKind::Rule(message), Location { source: Some(rule.origin.clone()), ..Default::default() })
        };
        validate_rule(&rule).map_err(|m| located(format!("rule '{}': {m}", rule.id)))?;
        if let Some(existing) = self.rules.iter().find(|r| r.id == rule.id) {
            let where_ = if existing.origin == rule.origin { "this file".to_string() } else { existing.origin.clone() };
            return Err(located(format!("rule '{}' is already defined in {where_}; give it another id", rule.id)));
        }
        self.rules.push(rule);
        Ok(())
    }

    /// Adds another set's rules, disables and suppressions (see [`RuleSet::add`]).
    pub fn merge(&mut self, other: RuleSet) -> Result<()> {
        for rule in other.rules {
            self.add(rule)?;
        }
        self.disabled.extend(other.disabled);
        self.dry_runs.extend(other.dry_runs);
        self.apply_dry_runs();
        self.suppressions.extend(other.suppressions);
        self.trusted.extend(&other.trusted);
        self.profiles.merge(&other.profiles);
        self.notes.extend(other.notes);
        self.skipped.extend(other.skipped);
        Ok(())
    }

    fn apply_dry_runs(&mut self) {
        for rule in self.rules.iter_mut().filter(|r| self.dry_runs.contains(&r.id)) {
            rule.dry_run = true;
        }
    }

    /// Checks that every disable, dry run and suppression names a known rule.
    pub fn check_references(&self) -> Result<()> {
        let known = |id: &str| id == "*" || self.rules.iter().any(|r| r.id == id);
        let unknown = self
            .disabled
            .iter()
            .map(|id| (id.as_str(), "disable"))
            .chain(self.dry_runs.iter().map(|id| (id.as_str(), "dry_run")))
            .chain(self.suppressions.iter().flat_map(|s| s.rules.iter().map(|id| (id.as_str(), "suppression"))))
            .find(|(id, _)| !known(id));
        match unknown {
            Some((id, what)) => Err(Error::new(ErrorKind::Rule(format!("{what} names an unknown rule id '{id}'")))),
            None => Ok(()),
        }
    }

    /// Every rule, disabled ones included.
    pub fn all_rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rules that run.
    pub fn active_rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(|r| !self.disabled.contains(&r.id))
    }

    pub fn is_disabled(&self, id: &str) -> bool {
        self.disabled.contains(id)
    }

    /// Rule documents read but not run (Sigma rules for another logsource,
    /// with a construct not supported, of a status not asked for).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    pub fn suppressions(&self) -> &[Suppression] {
        &self.suppressions
    }

    /// Trusts more accounts (a CLI flag, the function's setting).
    pub fn trust(&mut self, accounts: &Trusted) {
        self.trusted.extend(accounts);
    }

    /// The profile settings of the rule files (`[profiles]`).
    pub fn profiles(&self) -> &crate::profile::Settings {
        &self.profiles
    }

    /// Whether an active rule is a first-seen rule (profiles are then kept).
    pub fn has_first_seen(&self) -> bool {
        self.active_rules().any(|r| r.first_seen.is_some())
    }

    /// The accounts the rule files trust (`trusted_accounts`).
    pub fn trusted(&self) -> &Trusted {
        &self.trusted
    }

    /// Runs every active rule's examples; returns the ones that fail.
    pub fn test_examples(&self) -> Vec<ExampleFailure> {
        let mut failures = Vec::new();
        for rule in self.active_rules() {
            let fail = |example: &str, should_match: bool, error: Option<String>| ExampleFailure {
                rule_id: rule.id.clone(),
                origin: rule.origin.clone(),
                should_match,
                example: example.to_string(),
                error,
            };
            if let Some(sigma) = &rule.sigma {
                let cases = rule.examples.matches.iter().map(|e| (e, true));
                for (example, should_match) in cases.chain(rule.examples.no_match.iter().map(|e| (e, false))) {
                    match sigma.0.matches_json(example) {
                        Ok(m) if m == should_match => {}
                        Ok(_) => failures.push(fail(example, should_match, None)),
                        Err(e) => failures.push(fail(example, should_match, Some(e))),
                    }
                }
                continue;
            }
            let pattern = match Pattern::parse(&rule.pattern) {
                Ok(p) => p,
                Err(e) => {
                    failures.push(fail(&rule.pattern, true, Some(e.to_string())));
                    continue;
                }
            };
            let cases = rule.examples.matches.iter().map(|e| (e, true));
            for (example, should_match) in cases.chain(rule.examples.no_match.iter().map(|e| (e, false))) {
                match crate::facts::pattern_matches(&pattern, example, &self.trusted) {
                    Ok(m) if m == should_match => {}
                    Ok(_) => failures.push(fail(example, should_match, None)),
                    Err(e) => failures.push(fail(example, should_match, Some(e))),
                }
            }
        }
        failures
    }
}

fn validate_rule(rule: &Rule) -> std::result::Result<(), String> {
    let id_ok = !rule.id.is_empty()
        && rule.id.len() <= 128
        && rule.id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !id_ok {
        return Err("the id must be 1-128 characters of letters, digits, '-', '_' or '.'".into());
    }
    if rule.title.trim().is_empty() {
        return Err("the title is empty".into());
    }
    if rule.sigma.is_some() {
        return rule.threshold.as_ref().map_or(Ok(()), |t| t.validate());
    }
    let pattern = Pattern::parse(&rule.pattern).map_err(|e| format!("pattern {}: {}", rule.pattern, e.kind))?;
    crate::facts::check_names(&pattern).map_err(|e| e.kind.to_string())?;
    if let Some(threshold) = &rule.threshold {
        threshold.validate()?;
    }
    if let Some(first_seen) = &rule.first_seen {
        if rule.threshold.is_some() {
            return Err("a rule is a threshold or first_seen, not both".into());
        }
        first_seen.validate()?;
    }
    Ok(())
}

pub mod files;

#[cfg(test)]
mod tests;
