//! Settings from the environment, read once at cold start.

use std::path::Path;

use anyhow::Context;
use trailwatch_aws::config::{parse_s3_uri, required_env};
use trailwatch_aws::ports::ObjectStore;
use trailwatch_core::{RuleSet, Severity};

/// What the detection function is told by its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `ALERT_TOPIC_ARN` (required): where alerts go.
    pub alert_topic_arn: String,
    /// `STATE_BUCKET` (required): markers and statistics shards.
    pub state_bucket: String,
    /// `MIN_SEVERITY` (default `low`): rules below it do not run.
    pub min_severity: Severity,
    /// `EXTRA_RULES`: a rule file or directory, or an `s3://` URI of a rule
    /// file or of a prefix holding `.toml` rule files.
    pub extra_rules: Option<String>,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Settings> {
        let min_severity = match std::env::var("MIN_SEVERITY") {
            Ok(s) if !s.trim().is_empty() => s.parse().context("MIN_SEVERITY")?,
            _ => Severity::Low,
        };
        Ok(Settings {
            alert_topic_arn: required_env("ALERT_TOPIC_ARN")?,
            state_bucket: required_env("STATE_BUCKET")?,
            min_severity,
            extra_rules: std::env::var("EXTRA_RULES").ok().filter(|s| !s.trim().is_empty()),
        })
    }
}

/// The built-in catalogue plus the extra rules, checked.
pub async fn load_rules(store: &impl ObjectStore, extra: Option<&str>) -> anyhow::Result<RuleSet> {
    let mut set = RuleSet::builtin()?;
    match extra {
        None => {}
        Some(uri) if uri.starts_with("s3://") => {
            let (bucket, key) = parse_s3_uri(uri)?;
            let keys: Vec<String> = if key.is_empty() || key.ends_with('/') {
                let mut keys: Vec<String> = store
                    .list(&bucket, &key)
                    .await
                    .with_context(|| format!("listing rule files under {uri}"))?
                    .into_iter()
                    .map(|l| l.key)
                    .filter(|k| k.ends_with(".toml"))
                    .collect();
                keys.sort();
                keys
            } else {
                vec![key]
            };
            for key in keys {
                let bytes =
                    store.get_small(&bucket, &key).await.with_context(|| format!("reading s3://{bucket}/{key}"))?;
                let text = String::from_utf8(bytes).with_context(|| format!("s3://{bucket}/{key} is not UTF-8"))?;
                set.merge(RuleSet::from_toml(&text, &format!("s3://{bucket}/{key}"))?)?;
            }
        }
        Some(path) => set.merge(RuleSet::load(Path::new(path))?)?,
    }
    set.check_references()?;
    Ok(set)
}
