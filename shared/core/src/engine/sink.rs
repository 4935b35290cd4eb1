//! Where a scan's findings, problems and sightings go.

use crate::error::Error;
use crate::finding::Finding;

/// Receives what a scan produces, as it happens.
pub trait ScanSink {
    fn finding(&mut self, finding: Finding);
    fn problem(&mut self, error: Error);
    /// A match of a first-seen rule: not a finding (not counted, not sent
    /// one by one) but a question for the profiles ([`crate::profile::Batch::finding`]).
    fn first_seen(&mut self, _finding: Finding) {}
    /// Every record, matched or not, after its findings, when the rule set
    /// has first-seen rules (profiles learn from every record).
    fn sighting(&mut self, _sighting: &crate::profile::Sighting<'_>) {}
}

/// A sink that keeps everything (tests, small files).
#[derive(Debug, Default)]
pub struct Collect {
    pub findings: Vec<Finding>,
    pub problems: Vec<Error>,
}

impl ScanSink for Collect {
    fn finding(&mut self, finding: Finding) {
        self.findings.push(finding);
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
    fn finding(&mut self, finding: Finding) {
        (self.finding)(finding)
    }
    fn problem(&mut self, error: Error) {
        (self.problem)(error)
    }
}
