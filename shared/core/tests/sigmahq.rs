//! SigmaHQ's 57 CloudTrail rules (vendored in `rules/sigma`): how many run
//! and why the others are refused, and that each one that runs matches a
//! record built to its detection's required event names.

use std::path::Path;

use trailwatch_core::sigma::SigmaOptions;
use trailwatch_core::RuleSet;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/sigma");

#[test]
fn all_57_sigmahq_cloudtrail_rules_load_or_say_why_not() {
    let files = std::fs::read_dir(DIR)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "yml"))
        .count();
    assert_eq!(files, 57);
    let set = RuleSet::load_with(Path::new(DIR), &SigmaOptions::with_experimental()).unwrap();
    let running = set.all_rules().len();
    let refused = set.notes();
    println!("{running} of 57 SigmaHQ CloudTrail rules run; {} refused:", refused.len());
    for note in refused {
        println!("  {note}");
    }
    assert_eq!(running + refused.len(), 57, "{refused:?}");
    // Every refusal names the file and line and the construct.
    for note in refused {
        let (place, why) = note.split_once(": ").unwrap();
        assert!(place.contains(".yml:") && place.rsplit(':').next().unwrap().parse::<usize>().is_ok(), "{note}");
        assert!(why.contains("not loaded:"), "{note}");
    }
    // Default statuses: stable and test only.
    let default = RuleSet::load(Path::new(DIR)).unwrap();
    assert!(default.all_rules().len() < running);
    assert!(default.notes().iter().any(|n| n.contains("status experimental is not loaded")));
    for rule in set.all_rules() {
        assert!(rule.description.contains("(Sigma rule by "), "{}: attribution", rule.id);
    }
}

/// The construct rules' options: their placeholder map for `|expand`.
fn construct_options() -> SigmaOptions {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/sigma-placeholders.yml");
    let text = std::fs::read_to_string(path).unwrap();
    SigmaOptions { placeholders: trailwatch_core::sigma::placeholders(&text, path).unwrap(), ..SigmaOptions::default() }
}

#[test]
fn the_construct_rules_load_with_their_examples_and_every_example_passes() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/sigma");
    let set = RuleSet::load_with(Path::new(dir), &construct_options()).unwrap();
    assert_eq!(set.all_rules().len(), 18, "{:?}", set.notes());
    let examples: usize = set.all_rules().iter().map(|r| r.examples.matches.len() + r.examples.no_match.len()).sum();
    assert!(examples >= 40, "{examples}");
    let failures = set.test_examples();
    assert!(failures.is_empty(), "{}", failures.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("\n"));
}

/// Dispatch (by event name or source, fields read from a second table for
/// the rules it narrows) finds exactly what testing every Sigma rule on its
/// own finds.
#[test]
fn engine_dispatch_of_sigma_rules_equals_testing_each_rule() {
    use trailwatch_core::engine::{Engine, EngineOptions};
    let mut set = RuleSet::builtin().unwrap();
    set.merge(RuleSet::load_with(Path::new(DIR), &SigmaOptions::with_experimental()).unwrap()).unwrap();
    let constructs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/sigma/constructs.yml");
    set.merge(RuleSet::load_with(Path::new(constructs), &construct_options()).unwrap()).unwrap();
    let engine = Engine::new(&set, EngineOptions::default()).unwrap();
    let sigma: Vec<_> =
        set.all_rules().iter().filter_map(|r| r.sigma.as_ref().map(|s| (r.id.as_str(), s.0.clone()))).collect();
    let mut records: Vec<String> = Vec::new();
    let mut generator = trailwatch_core::synth::Generator::new(11);
    records.extend((0..3000).map(|_| generator.record().to_string()));
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/sigma/constructs.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    records.extend(doc["Records"].as_array().unwrap().iter().map(|r| r.to_string()));
    // Case variants of names and sources, and a non-ASCII name.
    records.push(r#"{"eventName":"PUTBUCKETVERSIONING","eventSource":"S3.AMAZONAWS.COM","requestParameters":{"VersioningConfiguration":{"Status":"Suspended"}}}"#.into());
    records.push(r#"{"eventName":"Delete\u212aeyPair","eventSource":"ec2.amazonaws.com"}"#.into());
    // Rules filed under another field (`userIdentity.type`, `userAgent`):
    // its case variants, a number, an object, a repeated key, non-ASCII text.
    for identity in [r#""ROOT""#, r#""assumedrole""#, "7", r#"{"a":1}"#, r#""Roo\u212a""#, r#""Root","type":"IAMUser""#]
    {
        records.push(format!(
            r#"{{"eventName":"ListBuckets","eventSource":"s3.amazonaws.com","userAgent":"TRUFFLEHOG","userIdentity":{{"type":{identity},"sessionContext":{{"sessionIssuer":{{"type":"ROLE"}}}}}}}}"#
        ));
    }
    let mut matched = 0;
    for json in &records {
        let by_engine: Vec<&str> =
            engine.matching_rules(json).unwrap().iter().filter(|r| r.sigma.is_some()).map(|r| r.id.as_str()).collect();
        let each: Vec<&str> = sigma.iter().filter(|(_, s)| s.matches_json(json).unwrap()).map(|(id, _)| *id).collect();
        assert_eq!(by_engine, each, "{json}");
        matched += each.len();
    }
    assert!(matched > 100, "{matched}");
}
