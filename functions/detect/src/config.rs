//! Settings from the environment, read once at cold start.

use std::path::Path;

use anyhow::Context;
use sha2::{Digest as _, Sha256};
use trailwatch_aws::config::{parse_s3_uri, required_env};
use trailwatch_aws::flood::FLUSH_GRACE;
use trailwatch_aws::output::Outputs;
use trailwatch_aws::ports::{Condition, Failure, FailureKind, ObjectStore};
use trailwatch_aws::state::ONCE;
use trailwatch_core::alert::{notice, Alert};
use trailwatch_core::text::printable;
use trailwatch_core::{RuleSet, Severity};

/// What the detection function is told by its environment (the outputs'
/// settings are read by [`trailwatch_aws::output::setup`]).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `STATE_BUCKET` (required): markers and statistics shards.
    pub state_bucket: String,
    /// `MIN_SEVERITY` (default `low`): rules below it do not run.
    pub min_severity: Severity,
    /// The user's rules and how their Sigma files load.
    pub rules: UserRules,
    /// `DEDUP_WINDOW_MINUTES` (default 60; 0 sends every repeat at once).
    pub dedup_minutes: u64,
    /// `FLUSH_GRACE_SECONDS` (default [`FLUSH_GRACE`], past the function's
    /// timeout): how long after a window ends its follow-up waits for late
    /// folds. Only a local run sets it lower, to see follow-ups at once.
    pub flush_grace: u64,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Settings> {
        let min_severity = match std::env::var("MIN_SEVERITY") {
            Ok(s) if !s.trim().is_empty() => s.parse().context("MIN_SEVERITY")?,
            _ => Severity::Low,
        };
        Ok(Settings {
            state_bucket: required_env("STATE_BUCKET")?,
            min_severity,
            rules: UserRules {
                extra: env_text("EXTRA_RULES"),
                sigma_experimental: match env_text("SIGMA_EXPERIMENTAL").as_deref() {
                    None | Some("false") => false,
                    Some("true") => true,
                    Some(other) => anyhow::bail!("SIGMA_EXPERIMENTAL is {other:?}: expected true or false"),
                },
                sigma_placeholders: env_text("SIGMA_PLACEHOLDERS"),
            },
            dedup_minutes: match std::env::var("DEDUP_WINDOW_MINUTES") {
                Ok(s) if !s.trim().is_empty() => s.trim().parse().context("DEDUP_WINDOW_MINUTES")?,
                _ => 60,
            },
            flush_grace: match std::env::var("FLUSH_GRACE_SECONDS") {
                Ok(s) if !s.trim().is_empty() => s.trim().parse().context("FLUSH_GRACE_SECONDS")?,
                _ => FLUSH_GRACE,
            },
        })
    }
}

fn env_text(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Where the user's rules come from, and how their Sigma files load.
#[derive(Debug, Clone, Default)]
pub struct UserRules {
    /// `EXTRA_RULES`: a rule file or directory, or an `s3://` URI of a rule
    /// file or of a prefix holding rule files (`.toml`, `.yml`, `.yaml`).
    pub extra: Option<String>,
    /// `SIGMA_EXPERIMENTAL` (`true` or `false`, the default): Sigma rules of
    /// status `experimental` load too.
    pub sigma_experimental: bool,
    /// `SIGMA_PLACEHOLDERS`: a placeholder map for Sigma's `|expand`, an
    /// `s3://` URI or a bundled file.
    pub sigma_placeholders: Option<String>,
}

/// Reads a small UTF-8 object or bundled file; returns its origin and text.
async fn read_text(store: &impl ObjectStore, uri: &str) -> anyhow::Result<(String, String)> {
    if !uri.starts_with("s3://") {
        return Ok((uri.to_string(), trailwatch_core::rule::files::read_text(Path::new(uri))?));
    }
    let (bucket, key) = parse_s3_uri(uri)?;
    let bytes = store.get_small(&bucket, &key).await.with_context(|| format!("reading s3://{bucket}/{key}"))?;
    let text = String::from_utf8(bytes).with_context(|| format!("s3://{bucket}/{key} is not UTF-8"))?;
    Ok((format!("s3://{bucket}/{key}"), text))
}

/// How the user's Sigma files load.
async fn sigma_options(
    store: &impl ObjectStore,
    user: &UserRules,
) -> anyhow::Result<trailwatch_core::sigma::SigmaOptions> {
    let mut options = if user.sigma_experimental {
        trailwatch_core::sigma::SigmaOptions::with_experimental()
    } else {
        trailwatch_core::sigma::SigmaOptions::default()
    };
    if let Some(uri) = &user.sigma_placeholders {
        let (origin, text) = read_text(store, uri).await?;
        options.placeholders = trailwatch_core::sigma::placeholders(&text, &origin)?;
    }
    Ok(options)
}

/// The built-in catalogue plus the extra rules, checked.
pub async fn load_rules(store: &impl ObjectStore, user: &UserRules) -> anyhow::Result<RuleSet> {
    let options = sigma_options(store, user).await?;
    let extra = user.extra.as_deref();
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
                    .filter(|k| trailwatch_core::rule::files::is_rule_file(k))
                    .collect();
                keys.sort();
                keys
            } else {
                vec![key]
            };
            for key in keys {
                let (origin, text) = read_text(store, &format!("s3://{bucket}/{key}")).await?;
                set.merge(RuleSet::from_text(&text, &origin, &options)?)?;
            }
        }
        Some(path) => set.merge(RuleSet::load_with(Path::new(path), &options)?)?,
    }
    set.check_references()?;
    for note in set.notes() {
        tracing::warn!(note = %note, "a Sigma rule does not run");
    }
    Ok(set)
}

/// The rules to run: the built-in ones plus the user's. When the user's
/// rules cannot be used (a syntax error, a bad pattern, a missing file), the
/// function runs with the built-in rules rather than failing every
/// invocation, logs why, and sends one alert saying so (once per distinct
/// problem: a conditional write in the state bucket under `once/` decides
/// which cold start sends it). A failure a retry can fix (throttling) still
/// fails the start, so Lambda tries again.
pub async fn rules_or_builtin(
    store: &impl ObjectStore,
    outputs: &Outputs,
    state_bucket: &str,
    user: &UserRules,
) -> anyhow::Result<RuleSet> {
    let extra = user.extra.as_deref();
    let error = match load_rules(store, user).await {
        Ok(set) => return Ok(set),
        Err(e) => e,
    };
    let transient =
        error.chain().any(|c| c.downcast_ref::<Failure>().is_some_and(|f| f.kind == FailureKind::Transient));
    if transient {
        return Err(error);
    }
    let reason = format!("{error:#}");
    let source = extra.unwrap_or("-");
    tracing::error!(rules = source, error = %reason, "your rules did not load; running with the built-in rules only");
    let digest = hex::encode(&Sha256::digest(format!("{source}\n{reason}").as_bytes())[..12]);
    let key = format!("{ONCE}rules-load-failed-{digest}.json");
    match store.put_if(state_bucket, &key, reason.clone().into_bytes(), Condition::Absent).await {
        Ok(_) => {
            if outputs.send_each(&rules_alert(source, &reason), &key).await == 0 {
                tracing::error!("could not send the alert about the rules that did not load");
            }
        }
        Err(f) if f.kind == FailureKind::PreconditionFailed => {}
        Err(f) => tracing::warn!(error = %f.message, "could not record the rules problem; not alerting"),
    }
    Ok(RuleSet::builtin()?)
}

fn rules_alert(source: &str, reason: &str) -> Alert {
    let mut alert = notice(
        "rules-load-failed",
        Severity::High,
        "rules-load-failed",
        "trailwatch could not load your rules: running with the built-in rules only",
        "Until the rules are fixed, only the built-in rules run: your own rules do not alert, and your \
         suppressions and disabled rules do not apply.",
        "Run `trailwatch rules test` on the rule files, fix what it names, upload them again. The next cold start \
         of the detection function loads them.",
    );
    alert.details = format!("Rules: {}\nProblem: {}\n", printable(source, 500), printable(reason, 2000));
    alert
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailwatch_aws::memory::MemoryStore;

    #[test]
    fn a_missing_required_setting_is_named() {
        // The only test in this binary that touches the environment.
        std::env::remove_var("STATE_BUCKET");
        let err = Settings::from_env().unwrap_err();
        assert!(err.to_string().contains("STATE_BUCKET"), "{err}");
        std::env::set_var("STATE_BUCKET", "state");
        std::env::set_var("MIN_SEVERITY", "urgent");
        let err = Settings::from_env().unwrap_err();
        assert!(format!("{err:#}").contains("MIN_SEVERITY"), "{err:#}");
        std::env::set_var("MIN_SEVERITY", "high");
        assert_eq!(Settings::from_env().unwrap().min_severity, Severity::High);
    }

    fn extra(uri: &str) -> UserRules {
        UserRules { extra: Some(uri.to_string()), ..UserRules::default() }
    }

    /// GIVEN an experimental Sigma rule that uses `|expand` under the rules
    /// prefix WHEN loaded without, then with, SIGMA_EXPERIMENTAL and a
    /// placeholder map in S3 THEN it runs only with both.
    #[tokio::test]
    async fn sigma_settings_load_experimental_rules_and_placeholders_from_s3() {
        let store = MemoryStore::default();
        let rule = "title: t\nid: s-1\nstatus: experimental\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s:\n    userIdentity.userName|expand: '%admins%'\n  condition: s\n";
        store.insert("rules", "team/s.yml", rule);
        store.insert("rules", "maps/placeholders.yml", "vars:\n  admins: [alice]\n");
        let loads = |set: &RuleSet| set.active_rules().any(|r| r.id == "s-1");
        assert!(!loads(&load_rules(&store, &extra("s3://rules/team/")).await.unwrap()));
        let experimental = UserRules { sigma_experimental: true, ..extra("s3://rules/team/") };
        assert!(!loads(&load_rules(&store, &experimental).await.unwrap()));
        let both = UserRules { sigma_placeholders: Some("s3://rules/maps/placeholders.yml".into()), ..experimental };
        let set = load_rules(&store, &both).await.unwrap();
        assert!(loads(&set), "{:?}", set.notes());
        let missing = UserRules { sigma_placeholders: Some("s3://rules/maps/none.yml".into()), ..both };
        assert!(format!("{:#}", load_rules(&store, &missing).await.unwrap_err()).contains("s3://rules/maps/none.yml"));
    }

    #[tokio::test]
    async fn extra_rules_load_from_an_s3_object_or_prefix_and_errors_name_the_object() {
        let store = MemoryStore::default();
        let rule = "[[rule]]\nid='mine'\ntitle='t'\nseverity='low'\npattern='{ $.a = 1 }'\ndescription='d'\n";
        store.insert("rules", "team/a.toml", rule);
        store.insert("rules", "team/b.toml", "disable = ['cis-cloudwatch-10-security-group-changes']");
        store.insert("rules", "team/readme.txt", "ignored");
        let set = load_rules(&store, &extra("s3://rules/team/")).await.unwrap();
        assert!(set.active_rules().any(|r| r.id == "mine"));
        assert!(set.is_disabled("cis-cloudwatch-10-security-group-changes"));
        let one = load_rules(&store, &extra("s3://rules/team/a.toml")).await.unwrap();
        assert!(one.active_rules().any(|r| r.id == "mine"));

        store.insert(
            "rules",
            "bad.toml",
            "[[rule]]\nid='x'\ntitle='t'\nseverity='low'\npattern='{ $.a }'\ndescription='d'\n",
        );
        let err = load_rules(&store, &extra("s3://rules/bad.toml")).await.unwrap_err();
        assert!(format!("{err:#}").contains("s3://rules/bad.toml"), "{err:#}");
        assert!(load_rules(&store, &extra("s3://rules/missing.toml")).await.is_err());
    }

    #[tokio::test]
    async fn bad_rules_fall_back_to_the_built_in_ones_and_alert_once() {
        use trailwatch_aws::memory::MemorySink;
        let store = MemoryStore::default();
        let sink = MemorySink::default();
        store.insert(
            "rules",
            "bad.toml",
            "[[rule]]\nid='x'\ntitle='t'\nseverity='low'\npattern='{ $.a }'\ndescription='d'\n",
        );
        for _cold_start in 0..3 {
            let set =
                rules_or_builtin(&store, &sink.clone().into(), "state", &extra("s3://rules/bad.toml")).await.unwrap();
            assert_eq!(set.active_rules().count(), RuleSet::builtin().unwrap().active_rules().count());
        }
        let sent = sink.published();
        assert_eq!(sent.len(), 1, "one alert, not one per cold start");
        assert!(sent[0].body.contains("s3://rules/bad.toml"), "{}", sent[0].body);
        // A throttled read is not a bad rule file: the start fails and is retried.
        store.fail("get", "bad.toml", FailureKind::Transient, 1);
        assert!(rules_or_builtin(&store, &sink.clone().into(), "state", &extra("s3://rules/bad.toml")).await.is_err());
    }
}
