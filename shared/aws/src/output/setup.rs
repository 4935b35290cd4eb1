//! Building a function's outputs from its environment, once per cold start.
//!
//! | Variable | Meaning |
//! |---|---|
//! | `ALERT_TOPIC_ARN` (`SUMMARY_TOPIC_ARN` for the summary) | the SNS topic (required): the primary output, every alert |
//! | `SNS_PER_SECOND` | SNS messages per second across invocations (default 10: SNS's e-mail rate; 0: no cap) |
//! | `SLACK_SECRET_ARN` | Secrets Manager secret or SSM parameter holding the Slack incoming-webhook URL |
//! | `SLACK_MIN_SEVERITY`, `SLACK_RULES` | which alerts go to Slack (default `medium`, every rule) |
//! | `SLACK_PER_SECOND` | default 1 (Slack's rate for incoming webhooks) |
//! | `WEBHOOK_SECRET_ARN` | secret holding `{"url": ..., "signing_secret": ...}` |
//! | `WEBHOOK_MIN_SEVERITY`, `WEBHOOK_RULES`, `WEBHOOK_PER_SECOND` | default `low`, every rule, no cap |
//! | `ACCOUNT_ALERT_ROUTES` | per-team topics: `team=account,account;team=account`; each team's accounts' alerts also go to the topic `TEAM_TOPIC_PREFIX` + team (output `sns-team`), capped like SNS |
//!
//! Rule filters are comma-separated patterns, `!` to exclude:
//! `root-*,cis-*,!cis-cloudwatch-2-*`. `ALLOW_LOOPBACK_HTTP=1` lets an
//! output URL be plain `http://` to a loopback address, for local runs only.

use anyhow::Context;
use aws_config::SdkConfig;
use trailwatch_core::Severity;

use super::http::{check_url, Endpoint};
use super::slack::SlackOutput;
use super::sns::SnsSink;
use super::webhook::WebhookOutput;
use super::{Filter, Outputs, Route};
use crate::config::{required_env, sns_client};
use crate::secrets::{fetch, OutputSecret, SecretRef};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn number(name: &str, default: u32) -> anyhow::Result<u32> {
    env(name).map_or(Ok(default), |v| v.parse().with_context(|| format!("{name} must be a whole number")))
}

fn filter(prefix: &str, default: Severity) -> anyhow::Result<Filter> {
    let min = env(&format!("{prefix}_MIN_SEVERITY"))
        .map_or(Ok(default), |v| v.parse())
        .with_context(|| format!("{prefix}_MIN_SEVERITY"))?;
    Filter::new(min, &env(&format!("{prefix}_RULES")).unwrap_or_default()).with_context(|| format!("{prefix}_RULES"))
}

async fn endpoint(config: &SdkConfig, variable: &str, label: &str) -> anyhow::Result<Option<(Endpoint, OutputSecret)>> {
    let Some(arn) = env(variable) else { return Ok(None) };
    let reference = SecretRef::parse(&arn).with_context(|| variable.to_string())?;
    let secret =
        OutputSecret::parse(&fetch(config, &reference).await?).with_context(|| format!("the secret in {variable}"))?;
    let allow_loopback = env("ALLOW_LOOPBACK_HTTP").as_deref() == Some("1");
    let url = check_url(&secret.url, allow_loopback).with_context(|| format!("the URL in the secret of {variable}"))?;
    Ok(Some((Endpoint::new(label, url)?, secret)))
}

/// A team's name and its account ids.
pub type Team = (String, Vec<String>);

/// Parses `ACCOUNT_ALERT_ROUTES`: `team=account,account;team=account`, team
/// names of `a-z0-9-`, accounts of 12 digits; empty is no team.
pub fn account_routes(spec: &str) -> anyhow::Result<Vec<Team>> {
    let mut teams = Vec::new();
    for part in spec.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let (team, accounts) = part.split_once('=').with_context(|| format!("`{part}` is not team=account,..."))?;
        let team = team.trim();
        anyhow::ensure!(
            !team.is_empty() && team.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "team name `{team}` must be lowercase letters, digits and '-'"
        );
        let accounts: Vec<String> = accounts.split(',').map(|a| a.trim().to_string()).collect();
        for account in &accounts {
            anyhow::ensure!(
                account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()),
                "`{account}` (team {team}) is not a 12-digit account id"
            );
        }
        teams.push((team.to_string(), accounts));
    }
    Ok(teams)
}

/// One SNS route per team of `ACCOUNT_ALERT_ROUTES`, to `TEAM_TOPIC_PREFIX` + team.
fn team_routes(config: &SdkConfig, per_second: u32) -> anyhow::Result<Vec<Route>> {
    let Some(spec) = env("ACCOUNT_ALERT_ROUTES") else { return Ok(Vec::new()) };
    let prefix = required_env("TEAM_TOPIC_PREFIX")?;
    let teams = account_routes(&spec).context("ACCOUNT_ALERT_ROUTES")?;
    Ok(teams
        .into_iter()
        .map(|(team, accounts)| {
            let sink = SnsSink::new(sns_client(config), format!("{prefix}{team}")).named(format!("sns-{team}"));
            Route::new(sink).filtered(Filter::default().only_accounts(accounts)).capped(per_second)
        })
        .collect())
}

/// SNS (the topic in `topic_variable`), the teams' topics, plus Slack and
/// the webhook when their secrets are configured.
pub async fn outputs_from_env(config: &SdkConfig, topic_variable: &str) -> anyhow::Result<Outputs> {
    let topic = required_env(topic_variable)?;
    let per_second = number("SNS_PER_SECOND", 10)?;
    let mut routes = vec![Route::new(SnsSink::new(sns_client(config), topic)).primary().capped(per_second)];
    routes.extend(team_routes(config, per_second)?);
    if let Some((endpoint, _)) = endpoint(config, "SLACK_SECRET_ARN", "slack webhook").await? {
        routes.push(
            Route::new(SlackOutput::new(endpoint))
                .filtered(filter("SLACK", Severity::Medium)?)
                .capped(number("SLACK_PER_SECOND", 1)?),
        );
    }
    if let Some((endpoint, secret)) = endpoint(config, "WEBHOOK_SECRET_ARN", "webhook").await? {
        let signing = secret
            .signing_secret
            .filter(|s| s.len() >= 16)
            .context("the webhook secret needs a signing_secret of at least 16 characters")?;
        routes.push(
            Route::new(WebhookOutput::new(endpoint, signing.into_bytes()))
                .filtered(filter("WEBHOOK", Severity::Low)?)
                .capped(number("WEBHOOK_PER_SECOND", 0)?),
        );
    }
    Ok(Outputs::new(routes))
}

#[cfg(test)]
mod tests {
    use super::account_routes;

    #[test]
    fn account_routes_parse_or_say_what_is_wrong() {
        let ok = |s: &str| account_routes(s).unwrap();
        let err = |s: &str| account_routes(s).unwrap_err().to_string();
        assert!(ok("").is_empty());
        assert_eq!(ok("payments=111111111111"), vec![("payments".into(), vec!["111111111111".into()])]);
        assert_eq!(
            ok(" data = 111111111111, 222222222222 ; ml-2=333333333333;"),
            vec![
                ("data".into(), vec!["111111111111".into(), "222222222222".into()]),
                ("ml-2".into(), vec!["333333333333".into()])
            ]
        );
        assert!(err("payments").contains("team=account"));
        assert!(err("Pay=111111111111").contains("team name"));
        assert!(err("pay=11111111111").contains("12-digit"));
        assert!(err("pay=").contains("12-digit"));
    }
}
