//! Building SDK clients once, at start-up.

use aws_config::BehaviorVersion;
/// The SDK configuration clients are built from.
pub use aws_config::SdkConfig;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

/// The shared SDK configuration: credentials, region and endpoint from the
/// environment (`AWS_ENDPOINT_URL` points every client at a local emulator),
/// one HTTPS client (rustls with ring).
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client()).load().await
}

/// The one HTTP client: rustls with the ring provider (no C crypto library to
/// build), plain HTTP allowed for local emulators.
pub fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// An S3 client; path-style addressing when an endpoint override is set
/// (local emulators do not resolve bucket subdomains).
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = config.endpoint_url().is_some();
    let s3 = aws_sdk_s3::config::Builder::from(config).force_path_style(path_style).build();
    aws_sdk_s3::Client::from_conf(s3)
}

pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

pub fn sns_client(config: &SdkConfig) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(config)
}

/// JSON logs for Lambda, at `LOG_LEVEL` (default `info`).
pub fn init_logging() {
    let filter = std::env::var("LOG_LEVEL").unwrap_or_else(|_| "info".into());
    // Fails only if logging was already set up; the first setup stays.
    let _ = tracing::subscriber::set_global_default(json_logs(&filter, std::io::stdout));
}

/// The functions' log format: one JSON object per line, fields under
/// `fields` (the template's metric filters read `$.level` and `$.fields.*`).
pub fn json_logs<W>(filter: &str, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_current_span(false)
        .with_target(false)
        .with_writer(writer)
        .finish()
}

/// A required setting; the error names the variable.
pub fn required_env(name: &str) -> anyhow::Result<String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value.trim().to_string()),
        _ => anyhow::bail!("the environment variable {name} must be set"),
    }
}

/// Splits `s3://bucket/key` into its parts.
pub fn parse_s3_uri(uri: &str) -> anyhow::Result<(String, String)> {
    let rest = uri.strip_prefix("s3://").ok_or_else(|| anyhow::anyhow!("'{uri}' is not an s3:// URI"))?;
    match rest.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() => Ok((bucket.to_string(), key.to_string())),
        _ => anyhow::bail!("'{uri}' has no bucket and key"),
    }
}
