//! Profiles in the CLI: built in time order over the files a command
//! reads, one batch per file, optionally loaded from and saved to a file
//! (`--profiles FILE`) so that a later run continues where this one stopped.

use std::path::{Path, PathBuf};

use anyhow::Context;
use trailwatch_core::alert::{first_seen_alert, Alert};
use trailwatch_core::key::parse_log_file_name;
use trailwatch_core::profile::report::NewThisPeriod;
use trailwatch_core::profile::{Batch, Book, ProfileId, Sighting};
use trailwatch_core::{Finding, RuleSet};

/// First-seen alerts held to print after the findings; past it they are counted.
pub const MAX_HELD_ALERTS: usize = 10_000;

/// The profiles of one run.
pub struct Profiling {
    book: Book,
    batch: Batch,
    set: RuleSet,
    /// First-seen alerts, in the order found.
    pub alerts: Vec<Alert>,
    /// What each alert was about: (profile, value, rule id).
    pub alerted: Vec<(ProfileId, String, String)>,
    /// Alerts past [`MAX_HELD_ALERTS`].
    pub more_alerts: u64,
    /// New values still in their key's learning period.
    pub learning: u64,
    /// Values and matches past a cap.
    pub dropped: u64,
    /// The principals, regions and networks the files added.
    pub news: NewThisPeriod,
}

impl Profiling {
    /// The profiles in `path` (a missing file is an empty start).
    pub fn open(path: Option<&Path>, set: &RuleSet) -> anyhow::Result<Profiling> {
        let book = match path {
            Some(path) if path.exists() => {
                let file = std::fs::File::open(path).with_context(|| path.display().to_string())?;
                Book::load(file).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            }
            _ => Book::default(),
        };
        Ok(Profiling {
            book,
            batch: Batch::new(set.profiles(), set.active_rules(), ""),
            set: set.clone(),
            alerts: Vec::new(),
            alerted: Vec::new(),
            more_alerts: 0,
            learning: 0,
            dropped: 0,
            news: NewThisPeriod::default(),
        })
    }

    /// Starts a file. (Values carry no origin: a run reads each file once,
    /// and a retry of a batch is the detection function's concern.)
    pub fn start(&mut self) {
        self.batch = Batch::new(self.set.profiles(), self.set.active_rules(), "");
    }

    pub fn finding(&mut self, finding: &Finding) {
        self.batch.finding(finding);
    }

    pub fn sighting(&mut self, sighting: &Sighting<'_>) {
        self.batch.sighting(sighting);
    }

    /// Ends a file: settles its batch against the profiles.
    pub fn finish(&mut self, source: &str) {
        let plan = self.batch.plan(|id| self.book.get(id));
        let absent: std::collections::BTreeSet<ProfileId> =
            plan.writes.iter().map(|w| w.profile()).filter(|id| self.book.get(id).is_none()).cloned().collect();
        let applied = self.book.apply(&plan);
        self.news.merge(&NewThisPeriod::of_plan(&plan, &applied, |id| absent.contains(id)));
        let alerts: Vec<_> = plan.alerts(&applied).map(|(c, since)| (c.clone(), since)).collect();
        self.learning += plan.learning() as u64;
        self.dropped += plan.dropped + self.batch.dropped;
        for (candidate, since) in alerts {
            if self.alerts.len() < MAX_HELD_ALERTS {
                self.alerts.push(first_seen_alert(&candidate, since, source));
                self.alerted.push((candidate.profile.clone(), candidate.value.clone(), candidate.rule.id.clone()));
            } else {
                self.more_alerts += 1;
            }
        }
    }

    /// The profiles built.
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// Writes the profiles to `path` (through a temporary file, renamed).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut temporary = PathBuf::from(path);
        temporary.as_mut_os_string().push(".partial");
        let file = std::fs::File::create(&temporary).with_context(|| temporary.display().to_string())?;
        self.book.save(file).with_context(|| temporary.display().to_string())?;
        std::fs::rename(&temporary, path).with_context(|| path.display().to_string())
    }
}

/// Files in time order: by the time in a CloudTrail log file's name, then
/// by path (names without a time keep their order, first).
pub fn time_order<T>(files: &mut [T], file_name: impl Fn(&T) -> &str) {
    files.sort_by_cached_key(|f| parse_log_file_name(file_name(f)).map(|(_, _, time)| time));
}
