//! First-seen rules: a pattern, plus "alert when the value is one this
//! principal (or account) has never had, once its learning period is over".
//!
//! ```toml
//! [[rule]]
//! id = "console-login-new-network"
//! pattern = '{ ($.eventName = ConsoleLogin) && ($.responseElements.ConsoleLogin = Success) }'
//! first_seen = { by = ["principal"], value = "network", learn = "14d" }
//! ```
//!
//! Semantics, exactly: a key (`by`: the principal, see
//! [`crate::profile::principal_key`], or the account) has a profile per
//! dimension, built from every record of the key, matched or not: the
//! values it has had, each with a first and a last time. A match of the rule
//! whose value is not in the key's profile (never seen, or last seen longer
//! ago than the horizon, default 90 days) is new. It alerts when the key was
//! first seen at least `learn` before the match; before that it is counted
//! (the statistics, `trailwatch query --report first-seen`) and learned.
//! A match whose value the key had earlier in the same file is not new.
//!
//! `value` is a dimension ([`crate::profile::Dimension`]: `network`,
//! `user_agent`, `region`, `event_source`, `sensitive_event`) or a selector
//! (`$.requestParameters.modelId`), whose values are learned from the
//! rule's own matches only.
//!
//! This module is the rule's first-seen clause as written; profiles are in
//! [`crate::profile`].

use serde::{Deserialize, Serialize};

use crate::profile::Dimension;

/// What a first-seen rule keeps a profile per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileBy {
    /// The principal (role, instance, user, Identity Center person, root),
    /// within its account.
    Principal,
    /// The account.
    Account,
}

fn default_by() -> Vec<ProfileBy> {
    vec![ProfileBy::Principal]
}

/// The longest learning period.
pub const MAX_LEARN_SECS: i64 = 365 * 86_400;

/// A rule's first-seen clause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstSeen {
    /// `["principal"]` (the default; `["principal", "account"]` is the
    /// same, principals being per account) or `["account"]`.
    #[serde(default = "default_by")]
    pub by: Vec<ProfileBy>,
    /// A dimension name or a selector.
    pub value: String,
    /// How long after a key is first seen its new values only count: `14d`.
    pub learn: String,
}

impl FirstSeen {
    /// Per principal unless `by` names the account alone.
    pub fn per(&self) -> ProfileBy {
        if self.by.contains(&ProfileBy::Principal) {
            ProfileBy::Principal
        } else {
            ProfileBy::Account
        }
    }

    /// The learning period in seconds, checked: 0 to 365 days.
    pub fn learn_secs(&self) -> Result<i64, String> {
        let text = self.learn.trim();
        if text == "0" {
            return Ok(0);
        }
        crate::threshold::duration_secs("first_seen learn", &self.learn, 0..=MAX_LEARN_SECS, "at most 365d")
    }

    /// The dimension `value` names.
    pub fn dimension(&self) -> Result<Dimension, String> {
        Dimension::parse(&self.value)
    }

    pub fn validate(&self) -> Result<(), String> {
        self.learn_secs()?;
        self.dimension()?;
        if self.by.is_empty() {
            return Err("first_seen `by` needs principal or account".into());
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::rule::RuleSet;

    pub(crate) const RULE: &str = r#"[[rule]]
id = "new-network"
title = "New network"
severity = "high"
pattern = '{ $.userIdentity.type = IAMUser }'
first_seen = { by = ["principal"], value = "network", learn = "14d" }
description = "d"
examples.match = ['{"userIdentity":{"type":"IAMUser"}}']
examples.no_match = ['{"eventName":"X"}']
"#;

    #[test]
    fn bad_first_seen_clauses_are_refused_when_rules_load() {
        let clause = r#"{ by = ["principal"], value = "network", learn = "14d" }"#;
        for (bad, problem) in [
            (r#"{ value = "network", learn = "soon" }"#, "first_seen learn"),
            (r#"{ value = "network", learn = "400d" }"#, "at most 365d"),
            (r#"{ value = "colour", learn = "1d" }"#, "unknown dimension 'colour'"),
            (r#"{ value = "$.a[", learn = "1d" }"#, "selector"),
            (r#"{ by = [], value = "region", learn = "1d" }"#, "needs principal or account"),
            (r#"{ by = ["ip"], value = "region", learn = "1d" }"#, "unknown variant"),
            (r#"{ value = "region" }"#, "missing field `learn`"),
        ] {
            let text = RULE.replace(clause, bad);
            let error = RuleSet::from_toml(&text, "t.toml").unwrap_err().to_string();
            assert!(error.contains(problem), "{bad}: {error}");
        }
        let set = RuleSet::from_toml(RULE, "t.toml").unwrap();
        let rule = &set.all_rules()[0];
        assert_eq!(rule.first_seen.as_ref().unwrap().learn_secs(), Ok(14 * 86_400));
        assert_eq!(crate::Grade::of(rule), crate::Grade::FirstSeen);
    }

    #[test]
    fn a_rule_is_a_threshold_or_first_seen_not_both() {
        let both = RULE.replace("first_seen =", "threshold = { count = 3, window = \"10m\" }\nfirst_seen =");
        let error = RuleSet::from_toml(&both, "t.toml").unwrap_err().to_string();
        assert!(error.contains("threshold or first_seen, not both"), "{error}");
    }
}
