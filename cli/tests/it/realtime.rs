//! The real-time lane's EventBridge patterns: the template (its
//! `RealTimeRule<n>`) and the forwarder of other regions and accounts (its
//! `ForwardRule<n>`) ship exactly what `trailwatch rules eventbridge-pattern`
//! derives from the built-in rules at the template's default severity, so a
//! rule change that is not carried into both fails here.

use std::process::Command;

use serde_json::Value;

/// The `EventPattern` JSON of each `<resource><n>` of `file`, in order.
fn template_patterns(file: &str, resource: &str) -> Vec<Value> {
    let path = format!("{}/../{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let mut patterns = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if !(line.starts_with(&format!("  {resource}")) && line.ends_with(':')) {
            continue;
        }
        let mut json = String::new();
        let mut inside = false;
        for line in lines.by_ref() {
            if inside {
                json.push_str(line);
                if line == "        }" {
                    break;
                }
            } else if line.trim() == "EventPattern:" {
                inside = true;
            }
        }
        patterns.push(serde_json::from_str(&json).unwrap_or_else(|e| panic!("{line} EventPattern: {e}")));
    }
    patterns
}

#[test]
fn the_templates_eventbridge_patterns_are_the_rules_patterns() {
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(["rules", "eventbridge-pattern", "--min-severity", "low"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let derived: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stay on the file lane"), "the rules left out are named: {stderr}");
    assert!(derived.iter().all(|p| p.to_string().len() <= 2048), "each within EventBridge's default quota");
    for (file, resource) in [("template.yaml", "RealTimeRule"), ("forwarder.yaml", "ForwardRule")] {
        assert_eq!(
            template_patterns(file, resource),
            derived,
            "{file}'s {resource} patterns are stale: paste `trailwatch rules eventbridge-pattern` into them \
             (one {resource}<n> per pattern)"
        );
    }
}
