//! GIVEN the same sample logs, WHEN the summary Lambda (over the shards the
//! detection Lambda wrote) and `trailwatch summary` (over the files) report
//! the same window, THEN the reports and the aggregates are identical, but
//! for the time to alert of the alerts the detection Lambda sent (the CLI
//! sends none).

use std::sync::Arc;

use trailwatch_aws::memory::{MemorySink, MemoryStore};
use trailwatch_aws::ports::ObjectStore;
use trailwatch_core::alert::AlertKind;
use trailwatch_core::engine::{Engine, EngineOptions};
use trailwatch_core::summary::SummaryFile;
use trailwatch_core::{RuleSet, Severity};
use trailwatch_detect::envelope::ObjectRef;
use trailwatch_detect::handler::Detector;
use trailwatch_summary::handler::{Summarizer, SummarySettings};

#[tokio::test]
async fn lambda_and_cli_summaries_agree() {
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let store = MemoryStore::default();
    let engine =
        Engine::new(&RuleSet::builtin().unwrap(), EngineOptions { min_severity: Severity::Low, ..Default::default() })
            .unwrap();
    let alerts = MemorySink::default();
    let detector = Detector::new(Arc::new(engine), store.clone(), alerts.clone(), "state").with_dedup(0, 0);
    for entry in std::fs::read_dir(repo.join("events/cloudtrail")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let mut parts = name.split('_');
        let (account, _, region, stamp) =
            (parts.next().unwrap(), parts.next(), parts.next().unwrap(), parts.next().unwrap());
        let key =
            format!("AWSLogs/{account}/CloudTrail/{region}/{}/{}/{}/{name}", &stamp[0..4], &stamp[4..6], &stamp[6..8]);
        store.put("logs", &key, std::fs::read(&path).unwrap(), false).await.unwrap();
        detector
            .process(&ObjectRef { bucket: "logs".into(), key, size: None, etag: None }, 4_000_000_000)
            .await
            .unwrap();
    }
    let sink = MemorySink::default();
    let settings = SummarySettings {
        state_bucket: "state".into(),
        log_bucket: "logs".into(),
        log_prefix: String::new(),
        window: std::time::Duration::from_secs(86400),
        gap: std::time::Duration::from_secs(3600),
        concurrency: 4,
        list_cap: 50,
    };
    let summarizer = Summarizer { store: store.clone(), outputs: sink.clone().into(), settings };
    summarizer.handle(&serde_json::json!({"time": "2026-11-21T00:05:00Z"})).await.unwrap();
    let lambda: SummaryFile =
        serde_json::from_slice(&store.object("state", "summaries/2026-11-20T00:00Z-24h.json").unwrap()).unwrap();

    let cli = |format: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailwatch"))
            .args(["summary", "events/cloudtrail", "--at", "2026-11-21T00:05:00Z", "--format", format])
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let local: SummaryFile = serde_json::from_str(&cli("json")).unwrap();
    let mut stats = lambda.stats.clone();
    let sent = stats.time_to_alert.remove("file").expect("the time to alert of the file lane's alerts");
    let findings = alerts.published().iter().filter(|p| p.alert.kind == AlertKind::Finding).count() as u64;
    assert_eq!(sent.alerts, findings, "each finding alert sent, counted once");
    assert!(stats.time_to_alert.is_empty() && local.stats.time_to_alert.is_empty());
    assert_eq!(local.stats, stats);
    assert_eq!(
        (local.coverage.delivered, local.coverage.processed),
        (lambda.coverage.delivered, lambda.coverage.processed)
    );
    assert_eq!(local.coverage.silent, lambda.coverage.silent);

    let published = &sink.published()[0];
    let body = &published.body;
    let section = body.find("\nTime to alert (").expect("the Lambda's report has the time to alert");
    let end = section + body[section..].find("\nCoverage\n").unwrap();
    let without = format!("{}{}", &body[..section], &body[end..]);
    let text = cli("text");
    assert_eq!(text, format!("Subject: {}\n\n{}\n", published.subject, without));
}
