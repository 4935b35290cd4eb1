//! What the detection function does with a rule's matches, in one word
//! each, the words every command and report uses.

use serde::{Deserialize, Serialize};

use crate::rule::Rule;

/// A rule's grade: whether and how its matches become alerts.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// Each match is sent (after dedup and the rate cap).
    #[default]
    Alerts,
    /// Matches are tallied; an alert is sent when a key reaches the count
    /// within the window.
    Threshold,
    /// Matches are checked against the key's profile; an alert is sent
    /// when the value is new after the learning period.
    FirstSeen,
    /// `dry_run = true`: counted, and `trailwatch tune` says what it would
    /// send, but nothing is sent.
    DryRun,
    /// `alert = false` (compliance grade): counted in the statistics and the
    /// summary only.
    CountedOnly,
}

impl Grade {
    /// The grade of a rule: `alert = false` first, then a dry run, then a
    /// threshold.
    pub fn of(rule: &Rule) -> Grade {
        if !rule.alert_grade {
            Grade::CountedOnly
        } else if rule.dry_run {
            Grade::DryRun
        } else if rule.threshold.is_some() {
            Grade::Threshold
        } else if rule.first_seen.is_some() {
            Grade::FirstSeen
        } else {
            Grade::Alerts
        }
    }

    /// The word for it, the same in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Alerts => "alerts",
            Grade::Threshold => "threshold",
            Grade::FirstSeen => "first-seen",
            Grade::DryRun => "dry run",
            Grade::CountedOnly => "counted only",
        }
    }

    /// Whether matches (or a reached threshold) are sent.
    pub fn sends(self) -> bool {
        matches!(self, Grade::Alerts | Grade::Threshold | Grade::FirstSeen)
    }
}

impl std::fmt::Display for Grade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Grade;
    use crate::rule::RuleSet;

    #[test]
    fn given_the_built_in_rules_when_graded_then_each_flag_gives_its_one_word() {
        let set = RuleSet::builtin().unwrap();
        let grade = |id: &str| Grade::of(set.all_rules().iter().find(|r| r.id == id).unwrap()).as_str();
        // One rule of each grade, as the catalogue ships them.
        for (id, want) in [
            ("root-console-login", "alerts"),
            ("cis-cloudwatch-4-iam-policy-changes", "counted only"),
            ("discovery-burst", "dry run"),
        ] {
            assert_eq!(grade(id), want, "{id}");
        }
        assert!(set.all_rules().iter().any(|r| Grade::of(r) == Grade::Threshold), "a threshold rule ships");
    }
}
