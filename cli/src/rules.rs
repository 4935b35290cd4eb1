//! `trailwatch rules list`, `trailwatch rules test` and `trailwatch rules
//! eventbridge-pattern`.

use std::io::Write as _;
use std::path::PathBuf;

use trailwatch_core::engine::{Engine, EngineOptions};
use trailwatch_core::realtime::{Plan, PATTERN_MAX};
use trailwatch_core::rule::Severity;
use trailwatch_core::text::printable;
use trailwatch_core::{Grade, RuleSet};

use crate::exit::Exit;
use crate::{RuleArgs, SigmaArgs};

pub fn list(args: &RuleArgs, json: bool) -> anyhow::Result<Exit> {
    let mut out = std::io::stdout().lock();
    let set = args.load()?;
    if json {
        let rules = set
            .all_rules()
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r)?;
                if let Some(map) = v.as_object_mut() {
                    map.insert("origin".into(), r.origin.clone().into());
                    map.insert("format".into(), if r.sigma.is_some() { "sigma" } else { "toml" }.into());
                    if r.sigma.is_some() {
                        map.remove("pattern");
                    }
                    map.insert("enabled".into(), (!set.is_disabled(&r.id)).into());
                    map.insert("grade".into(), Grade::of(r).as_str().into());
                }
                Ok(v)
            })
            .collect::<serde_json::Result<Vec<serde_json::Value>>>()?;
        let doc = serde_json::json!({ "rules": rules, "suppressions": set.suppressions(), "notes": set.notes() });
        writeln!(out, "{}", trailwatch_core::text::json_safe(&serde_json::to_string_pretty(&doc)?))?;
        return Ok(Exit::Done);
    }
    let width = set.all_rules().iter().map(|r| r.id.len()).max().unwrap_or(0);
    writeln!(out, "{:<width$}  {:<8}  {:<12}  {:<6}  title (origin)", "rule", "severity", "grade", "format")?;
    for rule in set.all_rules() {
        let state = if set.is_disabled(&rule.id) { ", disabled" } else { "" };
        let (id, title) = (printable(&rule.id, 200), printable(&rule.title, 500));
        let grade = Grade::of(rule).as_str();
        let origin = printable(&rule.origin, 500);
        let format = if rule.sigma.is_some() { "sigma" } else { "toml" };
        writeln!(
            out,
            "{id:<width$}  {:<8}  {grade:<12}  {format:<6}  {title} ({origin}{state})",
            rule.severity.as_str()
        )?;
        if !rule.tags.is_empty() {
            writeln!(out, "{:<width$}  {:<8}  {:<12}  tags: {}", "", "", "", printable(&rule.tags.join(", "), 500))?;
        }
    }
    let mut grades: std::collections::BTreeMap<Grade, usize> = Default::default();
    for rule in set.active_rules() {
        *grades.entry(Grade::of(rule)).or_default() += 1;
    }
    let grades: Vec<String> = grades.iter().map(|(g, n)| format!("{n} {g}")).collect();
    let active = set.active_rules().count();
    writeln!(out, "\n{} rules, {active} enabled: {}.", set.all_rules().len(), grades.join(", "))?;
    if !set.suppressions().is_empty() {
        writeln!(out, "\nSuppressions:")?;
        for s in set.suppressions() {
            let mut what = Vec::new();
            if let Some(p) = &s.pattern {
                what.push(format!("pattern {p}"));
            }
            if !s.source_cidrs.is_empty() {
                let cidrs: Vec<String> = s.source_cidrs.iter().map(|c| c.to_string()).collect();
                what.push(format!("source IP in {}", cidrs.join(", ")));
            }
            let line = format!("{} -- {} when {} ({})", s.rules.join(", "), s.reason, what.join(" and "), s.origin);
            writeln!(out, "  {}", printable(&line, 2000))?;
        }
    }
    Ok(Exit::Done)
}

pub fn test(paths: &[PathBuf], sigma: SigmaArgs) -> anyhow::Result<Exit> {
    let mut out = std::io::stdout().lock();
    let args = RuleArgs { rules: paths.to_vec(), trusted_accounts: Vec::new(), sigma };
    let set: RuleSet = args.load()?;
    let failures = set.test_examples();
    let examples: usize = set.active_rules().map(|r| r.examples.matches.len() + r.examples.no_match.len()).sum();
    let without: Vec<&str> =
        set.active_rules().filter(|r| r.examples.matches.is_empty()).map(|r| r.id.as_str()).collect();
    for failure in &failures {
        writeln!(out, "FAIL {failure}")?;
    }
    if !without.is_empty() {
        writeln!(out, "note: rules without a `match` example: {}", without.join(", "))?;
    }
    writeln!(out, "{} rules, {examples} examples", set.active_rules().count())?;
    writeln!(out, "examples: {} passed, {} failed", examples - failures.len(), failures.len())?;
    Ok(if failures.is_empty() { Exit::Done } else { Exit::Failed })
}

/// The EventBridge pattern of the real-time rules on stdout; which rules
/// alert in real time, and which stay on the file lane and why, on stderr.
pub fn eventbridge_pattern(args: &RuleArgs, min_severity: Severity) -> anyhow::Result<Exit> {
    let engine = Engine::new(&args.load()?, EngineOptions { min_severity, ..Default::default() })?;
    let plan = Plan::of(&engine);
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "{} rules alert in real time: {}",
        plan.realtime.len(),
        printable(&plan.realtime.join(", "), 20_000)
    )?;
    if !plan.file_only.is_empty() {
        writeln!(err, "{} alerting rules stay on the file lane (not in the pattern):", plan.file_only.len())?;
        for (id, why) in &plan.file_only {
            writeln!(err, "  {}: {why}", printable(id, 200))?;
        }
    }
    let read_only = plan.read_only_names();
    if !read_only.is_empty() {
        writeln!(
            err,
            "read-only events some rules need ({}): the EventBridge rule's state must be \
             ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS for them to arrive",
            read_only.join(", ")
        )?;
    }
    let patterns = plan.event_patterns(PATTERN_MAX);
    if patterns.is_empty() {
        writeln!(err, "no rule alerts in real time: no pattern")?;
        return Ok(Exit::Failed);
    }
    if patterns.len() > 1 {
        writeln!(
            err,
            "{} patterns, one EventBridge rule each: a pattern holds at most {PATTERN_MAX} characters by default",
            patterns.len()
        )?;
    }
    writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(&patterns)?)?;
    Ok(Exit::Done)
}
