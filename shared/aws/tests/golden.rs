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
            serde_json::from_slice(&webhook::render(&message)).unwrap()
        })
        .collect();
    check("signin-webhook.json", serde_json::to_string_pretty(&documents).unwrap() + "\n");
}
