//! GIVEN the sign-in sample's alerts (as data: events/golden/signin-alerts.json,
//! itself checked against the engine in the core's tests) WHEN each output
//! renders them THEN the result is exactly its golden file. `UPDATE_GOLDEN=1`
//! rewrites them; a change shows up in review as a diff of what people get.

use trailwatch_aws::output::{slack, sns, webhook, Message};
use trailwatch_core::alert::Alert;

fn golden_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/golden")
}

fn alerts() -> Vec<Alert> {
    serde_json::from_slice(&std::fs::read(golden_dir().join("signin-alerts.json")).unwrap()).unwrap()
}

fn check(name: &str, text: String) {
    let path = golden_dir().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let want = std::fs::read_to_string(&path).expect("golden file (run with UPDATE_GOLDEN=1 to create it)");
    assert_eq!(text, want, "rendering differs from {}", path.display());
}

#[test]
fn email_rendering_matches_the_golden_file() {
    let mut text = String::new();
    for a in alerts() {
        let email = sns::render(&a);
        assert!(email.subject.len() <= sns::MAX_SUBJECT && email.subject.is_ascii());
        text.push_str(&format!(
            "===== {}\nSubject: {}\nAttributes: {:?}\n\n{}\n",
            a.id, email.subject, email.attributes, email.body
        ));
    }
    check("signin-email.txt", text);
}

#[test]
fn slack_rendering_matches_the_golden_file() {
    let payloads: Vec<serde_json::Value> = alerts().iter().map(slack::render).collect();
    check("signin-slack.json", serde_json::to_string_pretty(&payloads).unwrap() + "\n");
}

#[test]
fn webhook_rendering_matches_the_golden_file() {
    let documents: Vec<serde_json::Value> = alerts()
        .into_iter()
        .map(|a| {
            let message = Message::new(a, "markers/trailwatch-logs/AWSLogs/sample.json.gz", "webhook");
            serde_json::from_slice(&webhook::render(&message).unwrap()).unwrap()
        })
        .collect();
    check("signin-webhook.json", serde_json::to_string_pretty(&documents).unwrap() + "\n");
}

/// GIVEN the security group opened to the world in the network sample WHEN
/// its alert is rendered THEN the email and the webhook say why it matched:
/// the fact the rule tested (a world-open inbound rule) and its ports.
#[test]
fn why_a_finding_matched_reaches_the_email_and_the_webhook() {
    use trailwatch_core::alert::{alerts_for_file, AlertLimits, FileContext};
    use trailwatch_core::engine::{Collect, Engine, EngineOptions};
    let path =
        golden_dir().join("../cloudtrail/123456789012_CloudTrail_eu-west-1_20261120T0955Z_NetworkEvts00004.json.gz");
    let engine = Engine::new(&trailwatch_core::RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap();
    let mut sink = Collect::default();
    engine.scan("s3://logs/network.json.gz", std::fs::File::open(path).unwrap(), &mut sink);
    let file = FileContext {
        source: "s3://logs/network.json.gz",
        account_id: Some("123456789012"),
        region: Some("eu-west-1"),
    };
    let alert = alerts_for_file(file, &sink.findings, &sink.problems, true, AlertLimits::default())
        .into_iter()
        .find(|a| a.rule == "security-group-open-to-world")
        .expect("the security group alert");

    let body = sns::render(&alert).body;
    assert!(body.contains("     Matched:    facts.sg.worldOpen = true"), "{body}");
    assert!(body.contains("facts.sg.worldOpenPorts = tcp 22"), "{body}");

    let message = Message::new(alert, "markers/logs/network.json.gz", "webhook");
    let document: serde_json::Value = serde_json::from_slice(&webhook::render(&message).unwrap()).unwrap();
    let matched = &document["alert"]["events"][0]["matched"];
    assert_eq!(matched[0]["field"], "facts.sg.worldOpen", "{document}");
    assert_eq!(matched[0]["values"][0], "true");
    assert_eq!(matched[2]["field"], "facts.sg.worldOpenPorts", "{document}");
    assert_eq!(matched[2]["values"][0], "tcp 22");
}
