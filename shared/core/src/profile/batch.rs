//! One log file's worth of profiling: every record's values ([`Batch::sighting`])
//! and the matches of first-seen rules ([`Batch::finding`]), then a
//! [`Plan`] against the stored profiles: which matches are new, still
//! learning or known, and the few writes that bring the store up to date.
//!
//! The plan is pure. A store applies its writes: an [`Write::Add`] is a
//! conditional write (only if the value is absent, aged out, or added by the
//! same batch before), and a new match alerts only when its add took effect
//! ([`Plan::alerts`]). Two batches racing to add one value: one alert.
//! The same batch again (a retry, a redelivery): its values are known, or
//! its own, and the ledger deduplicates the alert by id.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::{Dimension, Profile, ProfileId, Seen, Settings, Sighting, LAST_SEEN_STEP_SECS, MAX_VALUES};
use crate::finding::Finding;
use crate::first_seen::ProfileBy;
use crate::rule::Rule;

/// Profiles one batch holds; values past it are dropped (and counted).
pub const MAX_BATCH_PROFILES: usize = 50_000;
/// First-seen matches one batch holds (the earliest per rule, key and value).
pub const MAX_CANDIDATES: usize = 10_000;

/// A first-seen rule's match, with the profile and value it asks about.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub rule: Arc<Rule>,
    pub profile: ProfileId,
    pub value: String,
    pub time: i64,
    pub finding: Finding,
}

/// What a batch saw.
#[derive(Debug, Clone)]
pub struct Batch {
    settings: Settings,
    horizon: i64,
    /// The batch's name (the log file): the origin of the values it adds.
    origin: String,
    /// Dimensions profiled per account besides regions.
    account_dimensions: Vec<Dimension>,
    keys: HashMap<String, Seen>,
    profiles: HashMap<ProfileId, BTreeMap<String, Seen>>,
    candidates: Vec<Candidate>,
    /// (rule, profile, value) -> index in `candidates`.
    earliest: HashMap<(String, ProfileId, String), usize>,
    /// Values and matches not kept because a cap was reached.
    pub dropped: u64,
}

impl Batch {
    /// A batch for the first-seen rules among `rules`; `origin` names it.
    pub fn new<'r>(settings: &Settings, rules: impl IntoIterator<Item = &'r Rule>, origin: &str) -> Batch {
        let mut account_dimensions = vec![Dimension::Region];
        for rule in rules {
            let Some(fs) = &rule.first_seen else { continue };
            if let (ProfileBy::Account, Ok(dimension)) = (fs.per(), fs.dimension()) {
                if !matches!(dimension, Dimension::Field(_)) && !account_dimensions.contains(&dimension) {
                    account_dimensions.push(dimension);
                }
            }
        }
        Batch {
            settings: settings.clone(),
            horizon: settings.horizon_secs().unwrap_or(super::DEFAULT_HORIZON_SECS),
            origin: origin.to_string(),
            account_dimensions,
            keys: HashMap::new(),
            profiles: HashMap::new(),
            candidates: Vec::new(),
            earliest: HashMap::new(),
            dropped: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The first-seen matches held.
    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// Every profile the plan reads: each key's [`super::SEEN`] and each profile touched.
    pub fn profile_ids(&self) -> Vec<ProfileId> {
        let mut ids: Vec<ProfileId> = self.keys.keys().map(|k| ProfileId::seen(k)).collect();
        ids.extend(self.profiles.keys().cloned());
        ids.sort();
        ids.dedup();
        ids
    }

    /// One record, matched or not.
    pub fn sighting(&mut self, s: &Sighting<'_>) {
        let Some(time) = s.time() else { return };
        if let Some(key) = s.principal() {
            for dimension in &Dimension::PRINCIPAL {
                if let Some(value) = s.value(dimension, &self.settings) {
                    self.note(&key, dimension.name(), value, time);
                }
            }
            self.note_key(key, time);
        }
        if let Some(key) = s.account_key() {
            for i in 0..self.account_dimensions.len() {
                let dimension = &self.account_dimensions[i];
                if let Some(value) = s.value(dimension, &self.settings) {
                    let name = dimension.name().to_string();
                    self.note(&key, &name, value, time);
                }
            }
            self.note_key(key, time);
        }
    }

    /// A finding: held when its rule is a first-seen rule (the earliest per
    /// rule, key and value); its value is learned when it is a selector's.
    pub fn finding(&mut self, finding: &Finding) {
        let Some(fs) = &finding.rule.first_seen else { return };
        let Ok(dimension) = fs.dimension() else { return };
        let s = Sighting::of_finding(finding);
        let Some(time) = s.time() else { return };
        let key = match fs.per() {
            ProfileBy::Principal => s.principal(),
            ProfileBy::Account => s.account_key(),
        };
        let Some(key) = key else { return };
        let value = match &dimension {
            Dimension::Field(selector) => {
                let name = selector.trim_start_matches("$.");
                let found = finding.matched.iter().find(|(field, _)| field == name);
                let Some(first) = found.and_then(|(_, values)| values.first()) else { return };
                let value = super::cut(first).to_string();
                self.note(&key, dimension.name(), value.clone(), time);
                value
            }
            _ => match s.value(&dimension, &self.settings) {
                Some(value) => value,
                None => return,
            },
        };
        let profile = ProfileId::new(&key, dimension.name());
        let slot = (finding.rule.id.clone(), profile.clone(), value.clone());
        match self.earliest.get(&slot) {
            Some(&i) if self.candidates[i].time <= time => {}
            Some(&i) => {
                self.candidates[i].time = time;
                self.candidates[i].finding = finding.clone();
            }
            None if self.candidates.len() >= MAX_CANDIDATES => self.dropped += 1,
            None => {
                self.earliest.insert(slot, self.candidates.len());
                self.candidates.push(Candidate {
                    rule: finding.rule.clone(),
                    profile,
                    value,
                    time,
                    finding: finding.clone(),
                });
            }
        }
    }

    fn note_key(&mut self, key: String, time: i64) {
        self.keys.entry(key).and_modify(|seen| seen.widen(&Seen::at(time))).or_insert_with(|| Seen::at(time));
    }

    fn note(&mut self, key: &str, dimension: &str, value: String, time: i64) {
        let id = ProfileId::new(key, dimension);
        if !self.profiles.contains_key(&id) && self.profiles.len() >= MAX_BATCH_PROFILES {
            self.dropped += 1;
            return;
        }
        let values = self.profiles.entry(id).or_default();
        let full = values.len() >= MAX_VALUES * 4;
        match values.get_mut(&value) {
            Some(seen) => seen.widen(&Seen::at(time)),
            None if full => self.dropped += 1,
            None => {
                values.insert(value, Seen::at(time));
            }
        }
    }

    /// Settles the batch against the stored profiles (`stored` finds one by id).
    pub fn plan<'p>(&self, stored: impl Fn(&ProfileId) -> Option<&'p Profile>) -> Plan {
        let mut plan = Plan::default();
        let mut adds: HashMap<(ProfileId, String), usize> = HashMap::new();
        let mut since: HashMap<&str, i64> = HashMap::new();
        let mut keys: Vec<(&String, &Seen)> = self.keys.iter().collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        for (key, seen) in keys {
            let id = ProfileId::seen(key);
            let first = match stored(&id) {
                Some(p) => {
                    if seen.first < p.since || seen.last - p.last >= LAST_SEEN_STEP_SECS {
                        plan.writes.push(Write::Key { profile: id, seen: seen.clone() });
                    }
                    p.since.min(seen.first)
                }
                None => {
                    plan.writes.push(Write::Key { profile: id, seen: seen.clone() });
                    seen.first
                }
            };
            since.insert(key, first);
        }
        let mut ids: Vec<&ProfileId> = self.profiles.keys().collect();
        ids.sort();
        for id in ids {
            let values = &self.profiles[id];
            let profile = stored(id);
            let mut added: Vec<(&String, &Seen)> = Vec::new();
            for (value, seen) in values {
                let known = profile.and_then(|p| p.known(value, seen.first, self.horizon));
                match known {
                    Some(k) if k.origin != self.origin || k.origin.is_empty() => {
                        if seen.last - k.last >= LAST_SEEN_STEP_SECS {
                            plan.writes.push(Write::Touch {
                                profile: id.clone(),
                                value: value.clone(),
                                last: seen.last,
                            });
                        }
                    }
                    _ => added.push((value, seen)),
                }
            }
            // Past the cap, the most recent values of the batch are kept.
            added.sort_by(|a, b| b.1.last.cmp(&a.1.last).then_with(|| a.0.cmp(b.0)));
            if added.len() > MAX_VALUES {
                plan.dropped += (added.len() - MAX_VALUES) as u64;
                added.truncate(MAX_VALUES);
            }
            let evict = profile.map_or_else(Vec::new, |p| evictions(p, added.len(), seen_first(&added), self.horizon));
            let stale_before = seen_first(&added) - self.horizon;
            for (n, (value, seen)) in added.into_iter().enumerate() {
                adds.insert((id.clone(), value.clone()), plan.writes.len());
                plan.writes.push(Write::Add {
                    profile: id.clone(),
                    value: value.clone(),
                    seen: Seen { origin: self.origin.clone(), ..seen.clone() },
                    stale_before,
                    evict: if n == 0 { evict.clone() } else { Vec::new() },
                });
            }
        }
        for candidate in &self.candidates {
            let key = candidate.profile.key.as_str();
            let from = since.get(key).copied().unwrap_or(candidate.time);
            let learn = candidate.rule.first_seen.as_ref().and_then(|fs| fs.learn_secs().ok()).unwrap_or(0);
            let earlier_in_batch = self
                .profiles
                .get(&candidate.profile)
                .and_then(|values| values.get(&candidate.value))
                .is_some_and(|seen| seen.first < candidate.time);
            let verdict = match adds.get(&(candidate.profile.clone(), candidate.value.clone())) {
                None => Verdict::Known,
                Some(_) if earlier_in_batch => Verdict::Known,
                Some(_) if candidate.time - from < learn => Verdict::Learning { since: from },
                Some(&write) => Verdict::New { write, since: from },
            };
            plan.verdicts.push((candidate.clone(), verdict));
        }
        plan
    }
}

fn seen_first(added: &[(&String, &Seen)]) -> i64 {
    added.iter().map(|(_, s)| s.first).min().unwrap_or(0)
}

/// The stored values to drop when `adding` more arrive: every aged one,
/// then the least recently seen past [`MAX_VALUES`].
fn evictions(profile: &Profile, adding: usize, now: i64, horizon: i64) -> Vec<String> {
    let mut by_age: Vec<(&String, &Seen)> = profile.values.iter().collect();
    by_age.sort_by(|a, b| a.1.last.cmp(&b.1.last).then_with(|| a.0.cmp(b.0)));
    let aged = by_age.iter().take_while(|(_, s)| s.last < now - horizon).count();
    let over = (profile.values.len() + adding).saturating_sub(MAX_VALUES);
    by_age.into_iter().take(aged.max(over)).map(|(v, _)| v.clone()).collect()
}

/// One write a plan needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// When the key was first and last seen (the first time only ever goes back).
    Key { profile: ProfileId, seen: Seen },
    /// A value new to the profile: written only if it is absent, last seen
    /// before `stale_before` (aged out), or added by this same batch;
    /// `evict` makes room.
    Add { profile: ProfileId, value: String, seen: Seen, stale_before: i64, evict: Vec<String> },
    /// A known value's last-seen time moved past [`LAST_SEEN_STEP_SECS`].
    Touch { profile: ProfileId, value: String, last: i64 },
}

impl Write {
    pub fn profile(&self) -> &ProfileId {
        match self {
            Write::Key { profile, .. } | Write::Add { profile, .. } | Write::Touch { profile, .. } => profile,
        }
    }
}

/// What became of a first-seen match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The key had the value already.
    Known,
    /// New, but the key was first seen at `since`, less than `learn` ago: counted and learned.
    Learning { since: i64 },
    /// New after learning: alerts if the add (`writes[write]`) takes effect.
    New { write: usize, since: i64 },
}

/// A batch settled against the stored profiles.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub writes: Vec<Write>,
    pub verdicts: Vec<(Candidate, Verdict)>,
    /// New values past a profile's cap in this one batch, not written.
    pub dropped: u64,
}

impl Plan {
    /// The matches that alert, given which writes took effect (`applied[i]`
    /// for `writes[i]`), with when their key was first seen.
    pub fn alerts<'a>(&'a self, applied: &'a [bool]) -> impl Iterator<Item = (&'a Candidate, i64)> + 'a {
        self.verdicts.iter().filter_map(move |(candidate, verdict)| match verdict {
            Verdict::New { write, since } if applied.get(*write).copied().unwrap_or(false) => Some((candidate, *since)),
            _ => None,
        })
    }

    /// How many matches were new but still learning.
    pub fn learning(&self) -> usize {
        self.verdicts.iter().filter(|(_, v)| matches!(v, Verdict::Learning { .. })).count()
    }
}
