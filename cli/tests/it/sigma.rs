//! Sigma rules through the CLI: the format column, the placeholder map,
//! the statuses, and conversion to native rules.

use crate::common::{text, trailwatch};

/// GIVEN the construct rules WHEN listed with and without their placeholder
/// map THEN each says its format, and the one using `|expand` loads only
/// with the map (and says why not without it).
#[test]
fn rules_list_shows_the_format_and_expand_needs_the_placeholder_map() {
    let out = trailwatch(&["rules", "list", "--rules", "events/sigma"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let header = stdout.lines().next().unwrap();
    assert!(header.contains(" format ") && header.ends_with("title (origin)"), "{header}");
    let sigma = stdout.lines().find(|l| l.starts_with("0c6d3a57-0001-")).unwrap();
    assert!(sigma.contains(" sigma ") && sigma.contains("(events/sigma/constructs.yml)"), "{sigma}");
    let native = stdout.lines().find(|l| l.starts_with("root-console-login ")).unwrap();
    assert!(native.contains(" toml ") && native.contains("(built-in)"), "{native}");
    assert!(!stdout.contains("0c6d3a57-0011-"));
    assert!(text(&out.stderr).contains("placeholder %break_glass% is not in the placeholder map"));

    let with_map =
        ["rules", "list", "--rules", "events/sigma", "--sigma-placeholders", "events/sigma-placeholders.yml"];
    let out = trailwatch(&with_map);
    assert!(text(&out.stdout).lines().any(|l| l.starts_with("0c6d3a57-0011-") && l.contains(" sigma ")));
    let out = trailwatch(&["rules", "test", "events/sigma", "--sigma-placeholders", "events/sigma-placeholders.yml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains(" 0 failed"));
}

/// GIVEN SigmaHQ's vendored rules WHEN listed with and without
/// `--sigma-experimental` THEN all 57 run with it, and without it the
/// experimental ones are named on stderr.
#[test]
fn sigma_experimental_adds_the_experimental_rules() {
    let count = |args: &[&str]| {
        let out = trailwatch(args);
        let stdout = text(&out.stdout);
        (stdout.lines().filter(|l| l.contains(" sigma ")).count(), text(&out.stderr))
    };
    let (all, _) = count(&["rules", "list", "--rules", "shared/core/rules/sigma", "--sigma-experimental"]);
    assert_eq!(all, 57);
    let (default, stderr) = count(&["rules", "list", "--rules", "shared/core/rules/sigma"]);
    let skipped = stderr.lines().filter(|l| l.contains("status experimental is not loaded")).count();
    assert!(default < 57 && default + skipped == 57, "{default} + {skipped}");
}

/// GIVEN the construct rules WHEN converted THEN the cased one prints as a
/// filter pattern, the others say why not, and the command fails.
#[test]
fn rules_convert_prints_exact_equivalents_and_says_why_not() {
    let out = trailwatch(&["rules", "convert", "events/sigma/constructs.yml"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains(r#"pattern = '{ ($.eventName = "DeleteTrail") }'"#), "{stdout}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("0c6d3a57-0001-4b5e-9a51-000000000001: no exact native equivalent"), "{stderr}");
    assert!(stderr.contains("note: events/sigma/constructs.yml:157: Sigma rule 0c6d3a57-0011-"), "{stderr}");
}
