//! First-seen rules in `trailwatch scan` end to end: GIVEN a history file
//! (an instance and a user at work, 19 days earlier) and a new file (the
//! instance's credentials used from outside, the user's first model
//! invocation) WHEN scanned together, or the history first with
//! `--profiles FILE` and the new file later from the saved profiles, THEN
//! the same two first-seen alerts; the new file alone is all learning.

use crate::common::{text, trailwatch};

const HISTORY: &str = "events/first-seen/111122223333_CloudTrail_us-east-1_20261101T0900Z_history.json";
const NEW: &str = "events/first-seen/111122223333_CloudTrail_us-east-1_20261120T0900Z_new.json";

/// The rule ids of the first-seen alerts in a text scan's output.
fn first_seen_rules(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.contains("] First seen: "))
        .filter_map(|l| l.rsplit_once("  (").map(|(_, id)| id.trim_end_matches(')').to_string()))
        .collect()
}

const WANT: [&str; 2] = ["instance-credentials-new-network", "first-sensitive-call"];

#[test]
fn given_history_and_a_new_file_when_scanned_together_or_continued_from_saved_profiles_then_the_same_alerts() {
    let together = trailwatch(&["scan", "-q", NEW, HISTORY]);
    assert!(together.status.success(), "{}", text(&together.stderr));
    assert_eq!(
        first_seen_rules(&text(&together.stdout)),
        WANT,
        "files are read in time order whatever the order given"
    );

    let dir = std::env::temp_dir().join(format!("trailwatch-first-seen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profiles = dir.join("profiles.json");
    let profiles = profiles.to_str().unwrap();
    let first = trailwatch(&["scan", "-q", HISTORY, "--profiles", profiles]);
    assert!(first.status.success() && first_seen_rules(&text(&first.stdout)).is_empty());
    let later = trailwatch(&["scan", NEW, "--profiles", profiles]);
    assert_eq!(first_seen_rules(&text(&later.stdout)), WANT);
    assert!(
        text(&later.stderr).contains("Profiles: 2 first-seen alerts (0 new while learning)."),
        "{}",
        text(&later.stderr)
    );
    // Saved again: the new values are known now.
    let again = trailwatch(&["scan", "-q", NEW, "--profiles", profiles]);
    assert!(first_seen_rules(&text(&again.stdout)).is_empty());

    let alone = trailwatch(&["scan", NEW, "--profiles", dir.join("fresh.json").to_str().unwrap()]);
    assert!(first_seen_rules(&text(&alone.stdout)).is_empty());
    assert!(text(&alone.stderr).contains("0 first-seen alerts (4 new while learning)"), "{}", text(&alone.stderr));

    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{\"format\":\"trailwatch-profiles/1\",\"profiles\":[{]}").unwrap();
    let refused = trailwatch(&["scan", NEW, "--profiles", broken.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("broken.json: not a profile file"), "{}", text(&refused.stderr));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn given_jsonl_output_then_first_seen_alerts_are_json_objects() {
    let out = trailwatch(&["scan", "-q", "--format", "jsonl", HISTORY, NEW]);
    let alerts: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("first_seen").cloned())
        .collect();
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0]["rule"], "instance-credentials-new-network");
    assert!(alerts[0]["details"].as_str().unwrap().contains("network 203.0.113.0/24 is new"));
}

#[test]
fn given_a_window_when_reporting_first_seen_then_each_new_value_says_why_and_which_rule_alerted() {
    let out = trailwatch(&[
        "query",
        "events/first-seen",
        "--report",
        "first-seen",
        "--since",
        "2026-11-15",
        "--format",
        "csv",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "first_seen,account,principal,dimension,value,why,alerted");
    assert!(lines.contains(
        &"2026-11-20T10:14:00Z,111122223333,instance/i-0a1b2c3d4e5f60718,network,203.0.113.0/24,new after 19 days of history,instance-credentials-new-network"
    ), "{stdout}");
    assert!(lines
        .iter()
        .any(|l| l.ends_with("sensitive_event,InvokeModel,new after 19 days of history,first-sensitive-call")));
    assert_eq!(lines.len(), 7, "{stdout}");
    assert!(text(&out.stderr).contains("New networks: 203.0.113.0/24 (instance/i-0a1b2c3d4e5f60718)"));

    // The whole history: the principals and the account are new too.
    let all = trailwatch(&["query", "events/first-seen", "--report", "first-seen", "--format", "csv"]);
    let stderr = text(&all.stderr);
    assert!(
        stderr.contains("New principals: instance/i-0a1b2c3d4e5f60718 in 111122223333, user/alice in 111122223333"),
        "{stderr}"
    );
    assert!(stderr.contains("New regions: us-east-1 in 111122223333"), "{stderr}");
}

#[test]
fn given_saved_profiles_when_summarizing_a_day_then_the_report_names_what_was_new() {
    let dir = std::env::temp_dir().join(format!("trailwatch-first-seen-summary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profiles = dir.join("profiles.json");
    let profiles = profiles.to_str().unwrap();
    assert!(trailwatch(&["scan", "-q", HISTORY, "--profiles", profiles]).status.success());
    let saved = std::fs::read(profiles).unwrap();
    let args = ["summary", "events/first-seen", "--at", "2026-11-21T00:00:00Z"];
    let plain = trailwatch(&args);
    assert!(!text(&plain.stdout).contains("New this period"), "without profiles, nothing is judged new");
    let with = trailwatch(&[&args[..], &["--profiles", profiles]].concat());
    let report = text(&with.stdout);
    assert!(report.contains("New this period (first-seen profiles)"), "{report}");
    assert!(report.contains("New networks: 203.0.113.0/24 (instance/i-0a1b2c3d4e5f60718)"), "{report}");
    assert_eq!(std::fs::read(profiles).unwrap(), saved, "the summary reads the profiles, never writes them");
    std::fs::remove_dir_all(&dir).ok();
}
