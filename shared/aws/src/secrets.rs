//! Output URLs and signing secrets, read once at start-up from AWS Secrets
//! Manager or an SSM SecureString parameter: never from plain environment
//! variables, never logged. The environment holds only the secret's ARN.
//!
//! A secret's value is the URL itself, or JSON:
//! `{"url": "https://...", "signing_secret": "..."}` (the webhook output
//! needs both).

use anyhow::Context;
use aws_config::SdkConfig;
use serde::Deserialize;

/// Where a secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// A Secrets Manager secret, by ARN.
    SecretsManager(String),
    /// An SSM parameter, by name (`/trailwatch/slack`), from its ARN.
    Ssm(String),
}

impl SecretRef {
    /// Parses `arn:<partition>:secretsmanager:...:secret:<name>` or
    /// `arn:<partition>:ssm:<region>:<account>:parameter/<name>`.
    pub fn parse(arn: &str) -> anyhow::Result<SecretRef> {
        let parts: Vec<&str> = arn.trim().splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, "secretsmanager", _, _, rest] if rest.starts_with("secret:") => {
                Ok(SecretRef::SecretsManager(arn.trim().to_string()))
            }
            ["arn", _, "ssm", _, _, rest] if rest.starts_with("parameter/") => {
                Ok(SecretRef::Ssm(rest["parameter".len()..].to_string()))
            }
            _ => anyhow::bail!(
                "'{arn}' is not the ARN of a Secrets Manager secret or an SSM parameter \
                 (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME or arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)"
            ),
        }
    }
}

/// An output's URL and, for webhooks, its signing secret.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct OutputSecret {
    pub url: String,
    #[serde(default)]
    pub signing_secret: Option<String>,
}

impl std::fmt::Debug for OutputSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutputSecret(..)")
    }
}

impl OutputSecret {
    /// The URL alone, or the JSON form. Errors never quote the value.
    pub fn parse(value: &str) -> anyhow::Result<OutputSecret> {
        let value = value.trim();
        if value.starts_with('{') {
            return serde_json::from_str(value).map_err(|e| {
                anyhow::anyhow!(
                    "the secret is JSON but not {{\"url\": ..., \"signing_secret\": ...}} (line {}, column {})",
                    e.line(),
                    e.column()
                )
            });
        }
        Ok(OutputSecret { url: value.to_string(), signing_secret: None })
    }
}

/// Reads a secret's value.
pub async fn fetch(config: &SdkConfig, reference: &SecretRef) -> anyhow::Result<String> {
    match reference {
        SecretRef::SecretsManager(arn) => {
            let client = aws_sdk_secretsmanager::Client::new(config);
            let out = client
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("{}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)))
                .with_context(|| format!("reading the secret {arn}"))?;
            out.secret_string().map(str::to_string).with_context(|| format!("the secret {arn} has no string value"))
        }
        SecretRef::Ssm(name) => {
            let client = aws_sdk_ssm::Client::new(config);
            let out = client
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("{}", aws_sdk_ssm::error::DisplayErrorContext(e)))
                .with_context(|| format!("reading the parameter {name}"))?;
            out.parameter()
                .and_then(|p| p.value())
                .map(str::to_string)
                .with_context(|| format!("the parameter {name} has no value"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_arns_of_either_store() {
        let sm = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:trailwatch/slack-AbCdEf";
        assert_eq!(SecretRef::parse(sm).unwrap(), SecretRef::SecretsManager(sm.into()));
        assert_eq!(
            SecretRef::parse("arn:aws:ssm:eu-west-1:123456789012:parameter/trailwatch/slack").unwrap(),
            SecretRef::Ssm("/trailwatch/slack".into())
        );
        assert!(SecretRef::parse("https://hooks.slack.com/services/x").is_err());
        assert!(SecretRef::parse("arn:aws:s3:::bucket").is_err());
    }

    #[test]
    fn values_are_a_url_or_json_and_errors_do_not_quote_them() {
        assert_eq!(OutputSecret::parse(" https://x.example/h \n").unwrap().url, "https://x.example/h");
        let both = OutputSecret::parse(r#"{"url":"https://x.example/h","signing_secret":"s3cr3t"}"#).unwrap();
        assert_eq!(both.signing_secret.as_deref(), Some("s3cr3t"));
        let error = OutputSecret::parse(r#"{"url": 5, "signing_secret": "s3cr3t"}"#).unwrap_err().to_string();
        assert!(!error.contains("s3cr3t"), "{error}");
        assert!(!format!("{both:?}").contains("s3cr3t"));
    }
}
