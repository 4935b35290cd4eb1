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

#[cfg(test)]
mod tests {
    use super::*;
    use trailwatch_aws::memory::MemoryStore;

    #[test]
    fn a_missing_required_setting_is_named() {
        // The only test in this binary that touches the environment.
        std::env::remove_var("ALERT_TOPIC_ARN");
        std::env::set_var("STATE_BUCKET", "state");
        let err = Settings::from_env().unwrap_err();
        assert!(err.to_string().contains("ALERT_TOPIC_ARN"), "{err}");
        std::env::set_var("ALERT_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:t");
        std::env::set_var("MIN_SEVERITY", "urgent");
        let err = Settings::from_env().unwrap_err();
        assert!(format!("{err:#}").contains("MIN_SEVERITY"), "{err:#}");
        std::env::set_var("MIN_SEVERITY", "high");
        assert_eq!(Settings::from_env().unwrap().min_severity, Severity::High);
    }

    #[tokio::test]
    async fn extra_rules_load_from_an_s3_object_or_prefix_and_errors_name_the_object() {
        let store = MemoryStore::default();
        let rule = "[[rule]]\nid='mine'\ntitle='t'\nseverity='low'\npattern='{ $.a = 1 }'\ndescription='d'\n";
        store.insert("rules", "team/a.toml", rule);
        store.insert("rules", "team/b.toml", "disable = ['cis-cloudwatch-10-security-group-changes']");
        store.insert("rules", "team/readme.txt", "ignored");
        let set = load_rules(&store, Some("s3://rules/team/")).await.unwrap();
        assert!(set.active_rules().any(|r| r.id == "mine"));
        assert!(set.is_disabled("cis-cloudwatch-10-security-group-changes"));
        let one = load_rules(&store, Some("s3://rules/team/a.toml")).await.unwrap();
        assert!(one.active_rules().any(|r| r.id == "mine"));

        store.insert(
            "rules",
            "bad.toml",
            "[[rule]]\nid='x'\ntitle='t'\nseverity='low'\npattern='{ $.a }'\ndescription='d'\n",
        );
        let err = load_rules(&store, Some("s3://rules/bad.toml")).await.unwrap_err();
        assert!(format!("{err:#}").contains("s3://rules/bad.toml"), "{err:#}");
        assert!(load_rules(&store, Some("s3://rules/missing.toml")).await.is_err());
    }
}
