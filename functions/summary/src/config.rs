//! Settings from the environment, read once at cold start.

use std::time::Duration;

use trailwatch_aws::config::required_env;
use trailwatch_core::summary::Window;

/// What the summary function is told by its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub summary: SummarySettings,
}

impl Settings {
    /// `STATE_BUCKET`, `LOG_BUCKET` (required); `LOG_PREFIX` (the trail's key
    /// prefix), `SUMMARY_WINDOW` (default `24h`), `SILENCE_GAP` (default `1h`).
    pub fn from_env() -> anyhow::Result<Settings> {
        let var = |name: &str, default: &str| {
            std::env::var(name).ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.into())
        };
        let mut log_prefix = var("LOG_PREFIX", "");
        if !log_prefix.is_empty() && !log_prefix.ends_with('/') {
            log_prefix.push('/');
        }
        Ok(Settings {
            summary: SummarySettings {
                state_bucket: required_env("STATE_BUCKET")?,
                log_bucket: required_env("LOG_BUCKET")?,
                log_prefix,
                window: Window::parse_length(&var("SUMMARY_WINDOW", "24h"))?,
                gap: Window::parse_length(&var("SILENCE_GAP", "1h"))?,
                concurrency: 16,
                list_cap: 50,
            },
        })
    }
}

/// Settings, fixed at cold start.
#[derive(Debug, Clone)]
pub struct SummarySettings {
    pub state_bucket: String,
    pub log_bucket: String,
    /// The trail's S3 key prefix (with its trailing `/`), or empty.
    pub log_prefix: String,
    pub window: Duration,
    pub gap: Duration,
    /// Shards read at once.
    pub concurrency: usize,
    /// Unprocessed or incomplete files named in the report.
    pub list_cap: usize,
}
