//! Where alerts go: the output port, its adapters, and which alerts each
//! output takes.
//!
//! An [`Output`] turns channel-neutral [`Alert`]s into its own format and
//! sends them: [`sns`] (e-mail-shaped text, `PublishBatch`), [`slack`]
//! (Block Kit through an incoming webhook), [`webhook`] (a documented JSON
//! document, HMAC-signed). A [`Route`] pairs an output with its filter
//! (minimum severity, rule patterns) and its rate cap; [`Outputs`] is the
//! set a function sends to, through the exactly-once ledger ([`deliver`]).

pub mod deliver;
pub mod http;
pub mod setup;
pub mod slack;
pub mod sns;
pub mod webhook;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sha2::{Digest as _, Sha256};
use trailwatch_core::alert::{Alert, AlertKind};
use trailwatch_core::query::Glob;
use trailwatch_core::Severity;

use crate::ports::Result;

/// One alert on its way out, with the id that names this delivery (stable
/// across retries: receivers can drop a repeat they already have).
#[derive(Debug, Clone)]
pub struct Message {
    pub alert: Alert,
    pub delivery_id: String,
}

impl Message {
    /// A message for `alert` about `subject` (the object the alert came
    /// from) to the output `output`.
    pub fn new(alert: Alert, subject: &str, output: &str) -> Message {
        let digest = Sha256::digest(format!("{subject}\n{output}\n{}", alert.id).as_bytes());
        Message { alert, delivery_id: hex::encode(&digest[..16]) }
    }
}

/// What `send` returns: one result per message, in order, or a failure of
/// the whole call.
pub type Sent<'a> = Pin<Box<dyn Future<Output = Result<Vec<Result<()>>>> + Send + 'a>>;

/// An alert channel. Object-safe: a function holds several as `Arc<dyn Output>`.
pub trait Output: Send + Sync {
    /// A short name (`sns`, `slack`, `webhook`): in the ledger, logs and state keys.
    fn name(&self) -> &str;

    /// How many messages one `send` takes.
    fn max_batch(&self) -> usize {
        1
    }

    /// Sends up to [`Output::max_batch`] messages.
    fn send<'a>(&'a self, messages: &'a [Message]) -> Sent<'a>;
}

/// Which alerts an output takes.
#[derive(Debug, Clone)]
pub struct Filter {
    pub min_severity: Severity,
    /// Rule patterns (`*` and `?`, ASCII case ignored); `!pattern` excludes.
    /// Empty: every rule.
    include: Vec<Glob>,
    exclude: Vec<Glob>,
    /// Account ids whose alerts the output takes (a team's accounts).
    /// Empty: every account, and alerts about no account.
    accounts: Vec<String>,
}

impl Default for Filter {
    fn default() -> Self {
        Filter { min_severity: Severity::Info, include: Vec::new(), exclude: Vec::new(), accounts: Vec::new() }
    }
}

impl Filter {
    /// `rules` is a comma-separated list of rule patterns, `!` before one to
    /// exclude it: `cis-*,root-*,!cis-cloudwatch-2-*`.
    pub fn new(min_severity: Severity, rules: &str) -> anyhow::Result<Filter> {
        let mut filter = Filter { min_severity, ..Filter::default() };
        for item in rules.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item.strip_prefix('!') {
                Some(rule) => filter.exclude.push(Glob::new(rule.trim())?),
                None => filter.include.push(Glob::new(item)?),
            }
        }
        Ok(filter)
    }

    /// Only alerts about these accounts (empty: every alert).
    pub fn only_accounts(mut self, accounts: Vec<String>) -> Filter {
        self.accounts = accounts;
        self
    }

    /// Summaries pass the severity floor (a quiet day is news too); rule
    /// patterns apply to them as the rule `summary`.
    pub fn accepts(&self, alert: &Alert) -> bool {
        (alert.severity >= self.min_severity || alert.kind == AlertKind::Summary)
            && (self.include.is_empty() || self.include.iter().any(|g| g.matches(&alert.rule)))
            && !self.exclude.iter().any(|g| g.matches(&alert.rule))
            && (self.accounts.is_empty() || alert.account_id.as_ref().is_some_and(|a| self.accounts.contains(a)))
    }
}

/// An output with its filter and rate cap.
#[derive(Clone)]
pub struct Route {
    pub output: Arc<dyn Output>,
    pub filter: Filter,
    /// Messages per second across every concurrent invocation; 0: no cap.
    pub per_second: u32,
    /// The primary output (SNS): when it cannot take an alert now, the
    /// invocation fails and is retried. Other outputs retry with backoff and
    /// then record the alert as undelivered, so they never hold up or repeat
    /// the primary's alerts.
    pub primary: bool,
}

impl Route {
    pub fn new(output: impl Output + 'static) -> Route {
        Route { output: Arc::new(output), filter: Filter::default(), per_second: 0, primary: false }
    }

    pub fn primary(mut self) -> Route {
        self.primary = true;
        self
    }

    pub fn filtered(mut self, filter: Filter) -> Route {
        self.filter = filter;
        self
    }

    pub fn capped(mut self, per_second: u32) -> Route {
        self.per_second = per_second;
        self
    }

    pub fn name(&self) -> &str {
        self.output.name()
    }
}

/// Every output a function sends to; the primary first.
#[derive(Clone, Default)]
pub struct Outputs {
    routes: Vec<Route>,
}

impl Outputs {
    pub fn new(mut routes: Vec<Route>) -> Outputs {
        routes.sort_by_key(|r| !r.primary);
        Outputs { routes }
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    pub fn names(&self) -> Vec<String> {
        self.routes.iter().map(|r| r.name().to_string()).collect()
    }

    /// Sends one alert to every output that takes it, once, without the
    /// ledger (notices whose once-ness is decided elsewhere). Returns how
    /// many outputs took it.
    pub async fn send_each(&self, alert: &Alert, subject: &str) -> usize {
        let mut taken = 0;
        for route in self.routes.iter().filter(|r| r.filter.accepts(alert)) {
            let message = Message::new(alert.clone(), subject, route.name());
            match route.output.send(std::slice::from_ref(&message)).await {
                Ok(results) if results.iter().all(|r| r.is_ok()) => taken += 1,
                Ok(results) => {
                    let why = results.into_iter().find_map(|r| r.err()).map(|f| f.message).unwrap_or_default();
                    tracing::error!(output = route.name(), alert = %alert.id, error = %why, "the output refused a notice");
                }
                Err(f) => {
                    tracing::error!(output = route.name(), alert = %alert.id, error = %f.message, "could not send a notice")
                }
            }
        }
        taken
    }
}

impl<T: Output + 'static> From<T> for Outputs {
    /// One primary output taking everything, uncapped (tests, the CLI).
    fn from(output: T) -> Outputs {
        Outputs::new(vec![Route::new(output).primary()])
    }
}
