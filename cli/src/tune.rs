//! `trailwatch tune`: what each rule would send over a period of logs, who
//! is behind it, and a suppression for each dominant benign source.
//!
//! Alerts are estimated as the detection function sends them: per (rule,
//! principal, account), the first match opens a dedup window and alerts; any
//! repeats within the window make one follow-up when it closes; the next
//! match after the window opens a new one. Event times stand in for
//! processing times. Rules that do not alert (`alert = false`) are listed as
//! compliance counts; rules in a dry run are estimated like the others.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::File;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use trailwatch_core::alert::dedup_messages;
use trailwatch_core::engine::EngineOptions;
use trailwatch_core::tally::Tallies;
use trailwatch_core::{Engine, Error, Grade, ScanSink, Severity};

use crate::exit::Exit;
use crate::{inputs, render, RuleArgs};

/// Arguments of `trailwatch tune`.
#[derive(clap::Args, Debug)]
pub struct TuneArgs {
    /// Log files (.json, .json.gz) or directories, covering the period to tune on.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<std::path::PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// The dedup window of the detection function, in minutes.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=MAX_DEDUP_MINUTES))]
    pub dedup_window: u64,
    /// The period's length in days (default: from the first to the last finding, at least 1).
    #[arg(long, value_parser = parse_days)]
    pub days: Option<f64>,
    /// A principal behind at least this share of a rule's findings gets a
    /// proposed suppression (when it is a workload, never a person).
    #[arg(long, default_value_t = 0.5, value_parser = parse_share)]
    pub dominant: f64,
    /// ... and only when that principal made at least this many findings
    /// and the rule sends at least one alert a day: rare alerts are not noise.
    #[arg(long, default_value_t = 10)]
    pub min_findings: u64,
}

/// The longest dedup window `--dedup-window` takes: a year, in minutes.
const MAX_DEDUP_MINUTES: u64 = 366 * 24 * 60;

/// A number of days: finite and above zero.
fn parse_days(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(days) if days.is_finite() && days > 0.0 => Ok(days),
        _ => Err(format!("'{text}' is not a number of days above zero")),
    }
}

/// A share: a number from 0 to 1.
fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("'{text}' is not a share from 0 to 1")),
    }
}

#[derive(Default)]
struct RuleTally {
    title: String,
    severity: Option<Severity>,
    alert: bool,
    grade: Grade,
    findings: u64,
    times: HashMap<(String, String), Times>,
    principals: BTreeMap<String, u64>,
    agents: BTreeMap<String, u64>,
    ips: BTreeMap<String, u64>,
}

/// One key's match times. Memory stays flat however many matches a key
/// has: past [`EXACT_TIMES`], times are kept to the minute (dedup windows are
/// whole minutes, so a message count can move only where a window closes
/// inside a minute), each minute once.
#[derive(Default)]
struct Times {
    list: Vec<i64>,
    /// The length at which the list is folded next.
    fold_at: usize,
}

/// Match times one key keeps to the second.
const EXACT_TIMES: usize = 1_024;

impl Times {
    fn push(&mut self, at: i64) {
        self.list.push(at);
        if self.list.len() >= self.fold_at.max(EXACT_TIMES) {
            for t in &mut self.list {
                *t = t.div_euclid(60) * 60;
            }
            self.list.sort_unstable();
            self.list.dedup();
            // Folded again only once it has doubled: each fold pays for itself.
            self.fold_at = self.list.len() * 2;
        }
    }
}

#[derive(Default)]
struct Tuner {
    rules: BTreeMap<String, RuleTally>,
    /// Matches of threshold rules, per key and window.
    tallies: Tallies,
    first: Option<i64>,
    last: Option<i64>,
    problems: u64,
}

fn bump(map: &mut BTreeMap<String, u64>, key: Option<&str>) {
    // Bounded: the long tail is not what tuning is about.
    if map.len() < 10_000 || key.is_some_and(|k| map.contains_key(k)) {
        *map.entry(key.unwrap_or("-").to_string()).or_default() += 1;
    }
}

impl ScanSink for Tuner {
    fn finding(&mut self, hit: trailwatch_core::Hit<'_>) {
        let f = hit.finding();
        let tally = self.rules.entry(f.rule.id.clone()).or_default();
        if tally.findings == 0 {
            tally.title = f.rule.title.clone();
            tally.severity = Some(f.rule.severity);
            tally.alert = f.rule.alert_grade;
            tally.grade = Grade::of(&f.rule);
        }
        tally.findings += 1;
        if f.rule.threshold.is_some() {
            self.tallies.add(&f);
        }
        let principal = f.principal_arn.clone().unwrap_or_else(|| "-".into());
        bump(&mut tally.principals, Some(&who(&principal)));
        bump(&mut tally.agents, f.user_agent.as_deref());
        bump(&mut tally.ips, f.source_ip.as_deref());
        let at =
            f.event_time.as_deref().and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok()).map(|t| t.unix_timestamp());
        if let Some(at) = at {
            self.first = Some(self.first.map_or(at, |v| v.min(at)));
            self.last = Some(self.last.map_or(at, |v| v.max(at)));
            tally.times.entry((principal, f.account_id.unwrap_or_default())).or_default().push(at);
        }
    }

    fn problem(&mut self, error: Error) {
        self.problems += 1;
        eprintln!("{}", render::problem(&error));
    }
}

/// Who is behind a finding: a workload role with any session
/// (`assumed-role/deploy/*`: sessions are per run), or the principal itself.
fn who(principal: &str) -> String {
    match principal.split_once(":assumed-role/").and_then(|(head, rest)| Some((head, rest.split_once('/')?.0))) {
        Some((head, role)) if !role.starts_with("AWSReservedSSO_") => format!("{head}:assumed-role/{role}/*"),
        _ => principal.to_string(),
    }
}

fn top(map: &BTreeMap<String, u64>, n: usize) -> Vec<(&str, u64)> {
    let mut all: Vec<(&str, u64)> = map.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    all.truncate(n);
    all
}

/// A suppression pattern for a workload principal: the role (any session)
/// for assumed roles. Only ARNs of a strict shape are proposed, since the
/// text ends up in a rule file.
pub fn workload_pattern(principal: &str) -> Option<String> {
    let safe = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    let rest = principal.strip_prefix("arn:aws:sts::")?;
    let (account, role_session) = rest.split_once(":assumed-role/")?;
    let (role, _) = role_session.split_once('/')?;
    // Identity Center roles are people signing in, not workloads.
    let person = role.starts_with("AWSReservedSSO_");
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && safe(role) && !person)
        .then(|| format!(r#"{{ $.userIdentity.arn = "arn:aws:sts::{account}:assumed-role/{role}/*" }}"#))
}

pub fn run(args: &TuneArgs) -> anyhow::Result<Exit> {
    let set = args.rules.load()?;
    let engine = Engine::new(&set, EngineOptions::default())?;
    let files = inputs::collect(&args.paths)?;
    let mut tuner = Tuner::default();
    for path in &files {
        let name = path.display().to_string();
        match File::open(path) {
            Ok(file) => {
                engine.scan(&name, file, &mut tuner);
            }
            Err(e) => eprintln!("{name}: {e}"),
        }
    }
    let rules: BTreeMap<&str, &trailwatch_core::Rule> = set.all_rules().iter().map(|r| (r.id.as_str(), r)).collect();
    std::io::Write::write_all(&mut std::io::stdout().lock(), report(&mut tuner, args, &rules).as_bytes())?;
    Ok(Exit::problems(tuner.problems))
}

fn report(tuner: &mut Tuner, args: &TuneArgs, rules: &BTreeMap<&str, &trailwatch_core::Rule>) -> String {
    let span = tuner.first.zip(tuner.last).map_or(0.0, |(a, b)| (b - a) as f64 / 86_400.0);
    let days = args.days.unwrap_or(span.ceil().max(1.0));
    let window = (args.dedup_window * 60) as i64;
    let mut out = String::new();
    let days_text = if days == 1.0 { "1 day".to_string() } else { format!("{days} days") };
    let _ = writeln!(out, "Over {days_text}, dedup window {} min:\n", args.dedup_window);
    let _ = writeln!(out, "{:<46} {:<8} {:>9} {:>11}  grade", "rule", "severity", "findings", "alerts/day");
    let mut proposals = String::new();
    let tallies = &tuner.tallies;
    if let Some(note) = tallies.dropped_note() {
        eprintln!("{note}");
    }
    let mut rows: Vec<(&String, &mut RuleTally)> = tuner.rules.iter_mut().collect();
    rows.sort_by_key(|(id, t)| (!t.alert, std::cmp::Reverse(t.severity), (*id).clone()));
    for (id, t) in rows {
        // Threshold rules send one alert per key and window that reached the count.
        let threshold = rules.get(id.as_str()).and_then(|r| r.threshold.as_ref());
        let sent: u64 = match threshold {
            Some(th) => tallies.tallies.values().filter(|x| &x.rule == id && x.measure(th) >= th.count).count() as u64,
            None => t.times.values_mut().map(|times| dedup_messages(&mut times.list, window)).sum(),
        };
        let mode = t.grade.as_str();
        let per_day = if t.alert { format!("{:.1}", sent as f64 / days) } else { "-".into() };
        let severity = t.severity.map_or("-", |s| s.as_str());
        let _ = writeln!(out, "{id:<46} {severity:<8} {:>9} {per_day:>11}  {mode}", t.findings);
        for (label, map) in [("principals", &t.principals), ("user agents", &t.agents), ("source IPs", &t.ips)] {
            let list: Vec<String> = top(map, 3)
                .into_iter()
                .map(|(k, n)| format!("{} ({n})", trailwatch_core::text::printable(k, 120)))
                .collect();
            let _ = writeln!(out, "    {label:<12} {}", list.join(", "));
        }
        let Some((principal, n)) = top(&t.principals, 1).first().copied() else { continue };
        let share = n as f64 / t.findings as f64;
        let critical = t.severity == Some(Severity::Critical);
        let noisy = sent as f64 / days >= 1.0 && n >= args.min_findings;
        if t.alert && !critical && noisy && share >= args.dominant {
            if let Some(pattern) = workload_pattern(principal) {
                let _ = writeln!(
                    proposals,
                    "# {id}: {n} of {} findings ({:.0}%) by this role.\n[[suppression]]\nrules = [\"{id}\"]\n\
                     pattern = '{pattern}'\nreason = \"workload role behind {:.0}% of matches (proposed by trailwatch tune; confirm before use)\"\n",
                    t.findings,
                    share * 100.0,
                    share * 100.0
                );
            }
        }
    }
    let _ = writeln!(out);
    if proposals.is_empty() {
        let _ = writeln!(out, "No suppression to propose: no rule is dominated by one workload role.");
    } else {
        let _ = writeln!(out, "Proposed suppressions (review each, then paste into your rule file):\n\n{proposals}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_with_a_match_every_second_for_a_day_keeps_minutes_and_the_same_message_count() {
        let mut times = Times::default();
        let mut exact: Vec<i64> = (0..86_400).collect();
        for &t in &exact {
            times.push(t);
        }
        // At most twice the minutes of the day (folded again when it doubles).
        assert!(times.list.len() <= (2 * 1_440).max(EXACT_TIMES), "{} times kept", times.list.len());
        // An alert and a follow-up per hour, whichever way the times are kept.
        assert_eq!(dedup_messages(&mut times.list, 3600), dedup_messages(&mut exact, 3600));
        assert_eq!(dedup_messages(&mut exact, 3600), 48);
    }

    #[test]
    fn only_strict_role_arns_become_suppressions() {
        assert_eq!(
            workload_pattern("arn:aws:sts::123456789012:assumed-role/deploy/ci-run-1").unwrap(),
            r#"{ $.userIdentity.arn = "arn:aws:sts::123456789012:assumed-role/deploy/*" }"#
        );
        assert!(workload_pattern("arn:aws:iam::123456789012:user/alice").is_none(), "people are not suppressed");
        assert!(workload_pattern("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0a1b/carol").is_none());
        assert!(workload_pattern("arn:aws:sts::123456789012:assumed-role/de\"ploy/x").is_none());
        assert!(workload_pattern("arn:aws:sts::123456789012:assumed-role/de'ploy/x").is_none());
    }
}
