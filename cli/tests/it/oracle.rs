//! Differential test: for every CIS / Security Hub CloudWatch.1-14 rule (and
//! CIS 4.15), trailwatch finds exactly the records that an independent
//! implementation of the filter-pattern semantics (tests/oracle/cwl_filter.py,
//! Python) finds, on the sample logs and on generated logs.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use trailwatch_core::synth::Generator;

type Hit = (String, String, u64);

fn hits(stdout: &[u8], only: &BTreeSet<String>) -> BTreeSet<Hit> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .filter(|v| only.contains(v["rule"].as_str().unwrap()))
        .map(|v| {
            (
                v["rule"].as_str().unwrap().into(),
                v["file"].as_str().unwrap().into(),
                v["record_index"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn cis_rules_match_exactly_what_an_independent_implementation_matches() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::temp_dir().join(format!("trailwatch-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(repo.join("events/cloudtrail"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    for seed in 1..=3u64 {
        let path = dir.join(format!("generated-{seed}.json"));
        let mut file = std::fs::File::create(&path).unwrap();
        Generator::new(seed).write_log(4000, &mut file).unwrap();
        files.push(path.display().to_string());
    }
    files.sort();

    let cis: BTreeSet<String> = trailwatch_core::RuleSet::builtin()
        .unwrap()
        .all_rules()
        .iter()
        .filter(|r| r.tags.iter().any(|t| t.starts_with("securityhub/CloudWatch.") || t == "cis/4.15"))
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(cis.len(), 15);

    let ours = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(["scan", "--format", "jsonl", "--quiet"])
        .args(&files)
        .output()
        .unwrap();
    assert!(ours.status.success(), "{}", String::from_utf8_lossy(&ours.stderr));
    let oracle = Command::new("python3")
        .arg(repo.join("cli/tests/oracle/cwl_filter.py"))
        .arg(repo.join("shared/core/rules/builtin.toml"))
        .args(&files)
        .output()
        .expect("python3 (3.11 or later) is needed for the differential test");
    assert!(oracle.status.success(), "{}", String::from_utf8_lossy(&oracle.stderr));

    let (ours, theirs) = (hits(&ours.stdout, &cis), hits(&oracle.stdout, &cis));
    let only_ours: Vec<_> = ours.difference(&theirs).take(10).collect();
    let only_theirs: Vec<_> = theirs.difference(&ours).take(10).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "only trailwatch: {only_ours:?}\nonly oracle: {only_theirs:?}"
    );
    // Every CIS rule matched something, so the comparison is not vacuous.
    let fired: BTreeSet<&str> = ours.iter().map(|(rule, _, _)| rule.as_str()).collect();
    assert_eq!(
        fired.len(),
        cis.len(),
        "rules that never fired: {:?}",
        cis.iter().filter(|r| !fired.contains(r.as_str())).collect::<Vec<_>>()
    );
    assert!(ours.len() > 500, "{} matches", ours.len());
}
