//! Where a scan's findings, problems and sightings go.

use std::sync::Arc;

use crate::error::Error;
use crate::extract::{Tables, Values};
use crate::finding::{CaseSensitive, Finding};
use crate::record::RecordFacts;
use crate::rule::Rule;

/// Receives what a scan produces, as it happens.
pub trait ScanSink {
    /// A rule matched a record. The finding is built only by a sink that
    /// keeps or shows it ([`Hit::finding`]): one that counts does not pay
    /// for a dozen strings per match.
    fn finding(&mut self, hit: Hit<'_>);
    fn problem(&mut self, error: Error);
    /// A match of a first-seen rule: not a finding (not counted, not sent
    /// one by one) but a question for the profiles ([`crate::profile::Batch::finding`]).
    fn first_seen(&mut self, _finding: Finding) {}
    /// Every record, matched or not, after its findings, when the rule set
    /// has first-seen rules (profiles learn from every record).
    fn sighting(&mut self, _sighting: &crate::profile::Sighting<'_>) {}
}

/// One rule matching one record, before anything is copied out of it.
pub struct Hit<'h> {
    pub rule: &'h Arc<Rule>,
    pub(super) facts: &'h RecordFacts<'h, 'h>,
    pub(super) json: &'h str,
    pub(super) file: &'h str,
    pub(super) index: usize,
    /// The fields shown as why it matched, and the values they are read from.
    pub(super) why: &'h [(String, usize)],
    pub(super) tables: Tables<'h, 'h>,
    pub(super) case_sensitive: &'h [CaseSensitive],
    pub(super) values: &'h Values<'h>,
}

impl Hit<'_> {
    /// Who acted (as [`Finding::principal_arn`] will say).
    pub fn principal(&self) -> Option<&str> {
        self.facts.principal()
    }

    /// The finding, with everything an alert shows.
    pub fn finding(&self) -> Finding {
        let mut finding = self.unnoted();
        crate::finding::note_case(&mut finding.matched, self.case_sensitive, self.values);
        finding
    }

    /// The finding without the notes on values that differ only in case
    /// (a first-seen question, which no one reads as an alert).
    pub(super) fn unnoted(&self) -> Finding {
        let mut finding = Finding::new(self.rule.clone(), self.facts, self.json, self.file, self.index);
        finding.matched = crate::finding::matched(self.why, self.tables);
        finding
    }
}

/// A sink that keeps everything (tests, small files).
#[derive(Debug, Default)]
pub struct Collect {
    pub findings: Vec<Finding>,
    pub problems: Vec<Error>,
}

impl ScanSink for Collect {
    fn finding(&mut self, hit: Hit<'_>) {
        self.findings.push(hit.finding());
    }
    fn problem(&mut self, error: Error) {
        self.problems.push(error);
    }
}

/// A sink that hands each finding and each problem to a closure as it
/// comes, keeping nothing (memory stays flat however many match).
pub struct Each<F, P> {
    pub finding: F,
    pub problem: P,
}

impl<F: FnMut(Finding), P: FnMut(Error)> ScanSink for Each<F, P> {
    fn finding(&mut self, hit: Hit<'_>) {
        (self.finding)(hit.finding())
    }
    fn problem(&mut self, error: Error) {
        (self.problem)(error)
    }
}
