//! Flood control across files: the first match of a rule by a principal in
//! an account alerts at once; repeats within the dedup window are folded
//! into one follow-up, sent when the window closes. Nothing is dropped: the
//! follow-up counts every folded event and the summary counts them too.
//!
//! State, in the state bucket (conditional writes only, so concurrent
//! invocations agree without a lock):
//!
//! ```text
//! flood/open/<group>.json               the group's current window (who opened it, when it closes)
//! flood/folded/<window>/<file>.json     one file's findings folded into that window
//! ```
//!
//! `<group>` is a hash of (rule, principal, account). A window is opened by
//! a conditional create (or, once closed, a conditional replace of the one
//! before): exactly one file wins and alerts. Every other file writes its
//! own fold object, so hundreds of files folding at once never contend. A
//! retry of the opening file is recognised and alerts again (the ledger
//! keeps it from sending twice); a retry of a folding file writes the same
//! object again, and the log-file job settles folds in the file's
//! ledger entry so that a retry in a later window does not count them twice.
//!
//! [`FloodControl::flush`] sends the follow-up of each closed window once
//! (a job through the runner, under the window's ledger entry) and then
//! removes its folds. It waits `grace` seconds after a window closes, longer
//! than a detection run may take, so no fold can arrive after its window
//! was flushed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use tracing::{info, warn};
use trailwatch_core::alert::{short_principal, Alert, AlertKind};
use trailwatch_core::text::printable;

use crate::ports::{get_json, Condition, Failure, FailureKind, ObjectStore, Result};
use crate::runner::{Batch, Held, Job, JobError, Ran, Runner, Ticket, Work};

pub const FLOOD: &str = "flood/";
/// The default dedup window: one hour.
pub const DEDUP_WINDOW: u64 = 3600;
/// How long after a window closes its follow-up waits: longer than the
/// detection function's 300-second timeout, so no fold arrives after the flush.
pub const FLUSH_GRACE: u64 = 360;
const OPEN: &str = "flood/open/";
const FOLDED: &str = "flood/folded/";
/// Sample events a follow-up lists.
const SAMPLES: usize = 20;

/// A group's open dedup window (not to be confused with a summary's
/// reporting window).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DedupWindow {
    pub id: String,
    pub opened: u64,
    pub closes: u64,
    /// The file that opened it (and alerted).
    pub opener: String,
}

/// One file's findings folded into a window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Folded {
    pub window: String,
    pub opened: u64,
    pub closes: u64,
    pub source: String,
    pub count: u64,
    /// The rule's title, without counts.
    pub rule_title: String,
    /// The alert the file would have sent (a few events kept).
    pub alert: Alert,
}

/// What flood control decided for one group of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Alert now: this file opened the window.
    First,
    /// Folded into the open window `window`.
    Folded { window: String },
}

/// What a flush sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flushed {
    pub follow_ups: usize,
    pub folded_events: u64,
}

/// Dedup windows in a state bucket.
#[derive(Debug, Clone)]
pub struct FloodControl<S> {
    store: S,
    bucket: String,
    /// The window's length in seconds.
    pub window: u64,
    /// How long after a window closes its follow-up waits for late folds.
    pub grace: u64,
}

fn hash(parts: &[&str]) -> String {
    hex::encode(&Sha256::digest(parts.join("\n").as_bytes())[..16])
}

/// The group an alert belongs to, for finding alerts.
fn group_of(alert: &Alert) -> Option<String> {
    (alert.kind == AlertKind::Finding).then(|| {
        hash(&[&alert.rule, alert.principal.as_deref().unwrap_or(""), alert.account_id.as_deref().unwrap_or("")])
    })
}

fn hh_mm(seconds: u64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds as i64)
        .map_or_else(|_| "an unknown time".into(), |t| format!("{:02}:{:02} UTC", t.hour(), t.minute()))
}

impl<S: ObjectStore> FloodControl<S> {
    pub fn new(store: S, bucket: impl Into<String>, window: u64, grace: u64) -> Self {
        FloodControl { store, bucket: bucket.into(), window, grace }
    }

    async fn read<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<(T, String)>> {
        match get_json(&self.store, &self.bucket, key, "flood state").await {
            Ok(found) => Ok(Some(found)),
            Err(f) if f.kind == FailureKind::NotFound => Ok(None),
            Err(f) => Err(f),
        }
    }

    /// Decides whether `alert` (a group of the file `source`) goes out now or
    /// folds into its group's open window. Alerts other than findings, and
    /// every alert when the window is 0, go out now.
    pub async fn admit(&self, alert: &Alert, rule_title: &str, source: &str, now: u64) -> Result<Admission> {
        let Some(group) = group_of(alert).filter(|_| self.window > 0) else {
            return Ok(Admission::First);
        };
        let file = hash(&[source]);
        let head = format!("{OPEN}{group}.json");
        let fresh =
            DedupWindow { id: format!("{group}-{now}"), opened: now, closes: now + self.window, opener: file.clone() };
        let body = encode(&fresh, "a dedup window")?;
        for _ in 0..5 {
            let condition = match self.read::<DedupWindow>(&head).await? {
                None => Condition::Absent,
                Some((open, _)) if open.opener == file => return Ok(Admission::First),
                Some((open, _)) if now < open.closes => {
                    let mut kept = alert.clone();
                    kept.events.truncate(3);
                    let folded = Folded {
                        window: open.id.clone(),
                        opened: open.opened,
                        closes: open.closes,
                        source: source.to_string(),
                        count: alert.count,
                        rule_title: rule_title.to_string(),
                        alert: kept,
                    };
                    let key = format!("{FOLDED}{}/{file}.json", open.id);
                    let body = encode(&folded, "a fold")?;
                    match self.store.put_if(&self.bucket, &key, body, Condition::Absent).await {
                        Ok(_) => {}
                        // Written by an earlier attempt of this file.
                        Err(f) if f.kind == FailureKind::PreconditionFailed => {}
                        Err(f) => return Err(f),
                    }
                    return Ok(Admission::Folded { window: open.id });
                }
                Some((_, etag)) => Condition::Matches(etag),
            };
            match self.store.put_if(&self.bucket, &head, body.clone(), condition).await {
                Ok(_) => return Ok(Admission::First),
                // Someone else opened it first: read it again.
                Err(f) if f.kind == FailureKind::PreconditionFailed => continue,
                Err(f) => return Err(f),
            }
        }
        Err(Failure::new(FailureKind::Transient, "the dedup window kept changing under this invocation"))
    }

    /// Sends the follow-up of every window closed at least `grace` seconds
    /// before `now`, once (each through the runner, under the entry
    /// `flood/<window>`), and removes its folds.
    pub async fn flush(&self, runner: &Runner<S>, now: u64, lease: u64) -> std::result::Result<Flushed, JobError>
    where
        S: Clone,
    {
        let listing = self.store.list(&self.bucket, FOLDED).await;
        let mut windows: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for listed in listing.map_err(|f| JobError::call("listing the folds failed", f))? {
            if let Some((window, _)) = listed.key[FOLDED.len()..].split_once('/') {
                windows.entry(window.to_string()).or_default().push(listed.key.clone());
            }
        }
        let mut flushed = Flushed::default();
        for (window, keys) in windows {
            let folds = self.folds(&keys).await.map_err(|f| JobError::call("reading the folds failed", f))?;
            let Some(first) = folds.first() else { continue };
            if first.closes + self.grace > now {
                continue;
            }
            let follow_up = follow_up(&window, &folds);
            let count = follow_up.count;
            match runner.run(Ticket::new(FLOOD, &window, lease), &FollowUp(follow_up)).await? {
                Ran::Done(()) => {
                    flushed.follow_ups += 1;
                    flushed.folded_events += count;
                    info!(window, events = count, files = folds.len(), "follow-up sent");
                }
                // Sent already; the folds are what a removal left behind.
                Ran::Duplicate => {}
            }
            self.remove(&keys).await;
        }
        Ok(flushed)
    }

    /// The folds at `keys`; one that does not parse is logged and skipped.
    async fn folds(&self, keys: &[String]) -> Result<Vec<Folded>> {
        let mut folds = Vec::new();
        for key in keys {
            match self.read::<Folded>(key).await {
                Ok(Some((folded, _))) => folds.push(folded),
                Ok(None) => {}
                Err(f) if f.kind == FailureKind::Permanent => warn!(key, error = %f.message, "unreadable fold"),
                Err(f) => return Err(f),
            }
        }
        Ok(folds)
    }

    async fn remove(&self, keys: &[String]) {
        for key in keys {
            if let Err(f) = self.store.delete(&self.bucket, key).await {
                warn!(key, error = %f.message, "could not remove a fold; the next flush removes it");
            }
        }
    }
}

/// The job of a closed window: send its follow-up.
struct FollowUp(Alert);

impl<S: ObjectStore> Job<S> for FollowUp {
    type Outcome = ();

    async fn work(&self, _: &mut Held<'_, S>) -> std::result::Result<Work<()>, JobError> {
        Ok(Batch::new(vec![self.0.clone()], ()).counting(0, self.0.count).into())
    }
}

fn encode<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>> {
    serde_json::to_vec(value)
        .map_err(|e| Failure::new(FailureKind::Permanent, format!("{what} would not serialize: {e}")))
}

/// "37 more ConsoleLogin failures by alice since 10:02 UTC": every folded
/// event of a window in one alert.
pub fn follow_up(window: &str, folds: &[Folded]) -> Alert {
    let first = &folds[0];
    let count: u64 = folds.iter().map(|f| f.count).sum();
    let who = first.alert.principal.as_deref().map(short_principal).unwrap_or("an unknown principal");
    let minutes = first.closes.saturating_sub(first.opened) / 60;
    let mut alert = first.alert.clone();
    alert.id = format!("follow-up|{window}");
    alert.kind = AlertKind::FollowUp;
    alert.title = format!("{count} more {} by {who} since {}", first.rule_title, hh_mm(first.opened));
    alert.severity = folds.iter().map(|f| f.alert.severity).max().unwrap_or(first.alert.severity);
    alert.count = count;
    alert.what_happened = format!(
        "The first of these alerted at {}. The repeats in the {minutes} minute{} after it were folded into this \
         one message instead of one alert per log file.\n{}",
        hh_mm(first.opened),
        if minutes == 1 { "" } else { "s" },
        first.alert.what_happened
    );
    alert.events = folds.iter().flat_map(|f| f.alert.events.iter().cloned()).take(SAMPLES).collect();
    alert.more_events = count.saturating_sub(alert.events.len() as u64);
    let mut details = format!("Log files ({}), with the events each held:\n", folds.len());
    for f in folds.iter().take(200) {
        let _ = writeln!(details, "  {:>5}  {}", f.count, printable(&f.source, 2000));
    }
    if folds.len() > 200 {
        let _ = writeln!(details, "  ... and {} more files.", folds.len() - 200);
    }
    alert.details = details;
    alert.source = None;
    alert.possible_repeat = false;
    alert
}
