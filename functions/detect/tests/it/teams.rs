//! Per-account routing: a file of the organization layout alerts the
//! security topic with everything and each team's topic with its own
//! accounts' alerts only, once, also when the file is delivered again.

use std::sync::Arc;

use trailwatch_aws::memory::{MemorySink, MemoryStore};
use trailwatch_aws::output::setup::account_routes;
use trailwatch_aws::output::{Filter, Outputs, Route};
use trailwatch_core::engine::{Engine, EngineOptions};
use trailwatch_core::RuleSet;
use trailwatch_detect::envelope::ObjectRef;
use trailwatch_detect::handler::{Detector, Handled};

const LOGS: &str = "org-trail-logs";
const STATE: &str = "trailwatch-state";
const SAMPLE: &str = "123456789012_CloudTrail_us-east-1_20261120T0910Z_Sg1nInEvents0001.json.gz";
const FAR: u64 = 4_000_000_000;

#[tokio::test]
async fn each_team_gets_its_own_accounts_alerts_and_the_security_topic_gets_all() {
    // GIVEN an organization-layout file of account 123456789012, and two teams.
    let key = format!("AWSLogs/o-abc123def4/123456789012/CloudTrail/us-east-1/2026/11/20/{SAMPLE}");
    let store = MemoryStore::default();
    let body = std::fs::read(format!("{}/../../events/cloudtrail/{SAMPLE}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    store.insert(LOGS, &key, body);
    let (security, payments, data) =
        (MemorySink::default(), MemorySink::named("sns-payments", 10), MemorySink::named("sns-data", 10));
    let teams = account_routes("payments=123456789012,210987654321;data=333333333333").unwrap();
    let team = |sink: &MemorySink, i: usize| {
        Route::new(sink.clone()).filtered(Filter::default().only_accounts(teams[i].1.clone()))
    };
    let outputs = Outputs::new(vec![Route::new(security.clone()).primary(), team(&payments, 0), team(&data, 1)]);
    let engine = Arc::new(Engine::new(&RuleSet::builtin().unwrap(), EngineOptions::default()).unwrap());
    let detector = Detector::new(engine, store, outputs, STATE);
    let object = ObjectRef { bucket: LOGS.into(), key, size: None, etag: None };

    // WHEN the file is processed, then delivered again.
    detector.process(&object, FAR).await.unwrap();
    assert_eq!(detector.process(&object, FAR).await.unwrap(), Handled::Duplicate);

    // THEN payments has exactly the security topic's alerts about its account; data has none.
    let all = security.published();
    let ours: Vec<_> = all.iter().filter(|p| p.alert.account_id.as_deref() == Some("123456789012")).collect();
    assert!(ours.len() >= 4, "{}", ours.len());
    let got = payments.published();
    assert_eq!(got.len(), ours.len());
    assert!(got.iter().all(|p| p.alert.account_id.as_deref() == Some("123456789012")));
    assert!(data.published().is_empty());
}
