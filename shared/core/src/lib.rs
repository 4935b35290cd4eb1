//! trailwatch's core: everything that reads, matches and counts, with no AWS
//! SDK in sight. Binaries (the Lambda functions, the CLI) feed it bytes and
//! take findings and statistics out.
//!
//! # Layout
//!
//! - [`reader`]: streams `{"Records":[...]}` (gzip or plain) one record at a
//!   time; one walk per record finds its end and extracts its fields, with a
//!   careful path for what the walk declines, on a second thread if there is one.
//! - [`extract`]: pulls the fields rules need out of a record in one pass
//!   (a hand-written walker; serde_json for what it declines).
//! - [`selector`]: property selectors (`$.a.b[0]`), shared by patterns and the extractor.
//! - [`pattern`]: the CloudWatch Logs JSON filter-pattern language.
//! - [`facts`]: what a change did, normalized from every shape AWS records
//!   it in (security-group rules, policies, sharing, credential targets,
//!   instance types), as `$.facts.*` fields rules and queries match.
//! - [`rule`]: rules, rule files (TOML and Sigma), suppressions and the built-in catalogue.
//! - [`severity`]: how bad a finding is.
//! - [`sigma`]: Sigma rules, with Sigma's semantics.
//! - [`digest`]: log file integrity: digest files, signatures, chains, log hashes.
//! - [`engine`]: runs a rule set over a log file and reports findings.
//! - [`realtime`]: which rules alert in real time, and their EventBridge pattern.
//! - [`query`]: investigation: filters, columns and named reports over records.
//! - [`record`]: the key facts of a record that findings and statistics use.
//! - [`finding`]: what a match produces.
//! - [`event`]: one event as alerts and tallies list it, display-safe.
//! - [`threshold`]: a rule's threshold as written; [`tally`]: counting it.
//! - [`first_seen`]: a rule's first-seen clause as written; [`profile`]:
//!   per-principal profiles (dimensions, keys, caps) and settling a file's
//!   sightings against them.
//! - [`grouped`]: findings grouped as they are found, with caps (flat memory).
//! - [`alert`]: grouped findings and reached thresholds turned into readable,
//!   size-bounded alerts.
//! - [`stats`]: mergeable per-file statistics.
//! - [`summary`]: summary windows, coverage and the periodic report.
//! - [`key`]: S3 key decoding and classification.
//! - [`latency`]: time to alert per lane, as mergeable histograms.
//! - [`layout`]: the key layout's folders, for listing a bucket only where it matters.
//! - [`limits`]: the bound on every file read whole, and regular files only.
//! - `synth` (feature `synth`): seeded generator of realistic CloudTrail logs,
//!   for benchmarks and tests.
//! - [`text`]: making attacker-controlled text safe to display.
//! - [`error`]: the one error type, with file, byte offset and record index.

pub mod alert;
pub mod digest;
pub mod engine;
pub mod error;
pub mod event;
pub mod extract;
pub mod facts;
pub mod finding;
pub mod first_seen;
pub mod grade;
pub mod grouped;
pub mod key;
pub mod latency;
pub mod layout;
pub mod limits;
pub mod pattern;
pub mod profile;
pub mod query;
pub mod reader;
pub mod realtime;
pub mod record;
pub mod rule;
pub mod selector;
pub mod severity;
pub mod sigma;
pub mod stats;
pub mod summary;
#[cfg(any(test, feature = "synth"))]
pub mod synth;
pub mod tally;
pub mod text;
pub mod threshold;

pub use engine::{Engine, Hit, ScanSink, ScanSummary};
pub use error::{Error, ErrorKind, Location, Result};
pub use finding::{Finding, Outcome};
pub use grade::Grade;
pub use pattern::Pattern;
pub use rule::{Rule, RuleSet, Severity};
pub use stats::StatsShard;
