//! Profiles in memory: the CLI's store and the tests'. Saved to a file and
//! loaded back, so that a later run continues where one stopped, and the
//! detection function can import what the CLI learned from past logs.
//!
//! The file is JSON: `{"format": "trailwatch-profiles/1", "profiles": [...]}`,
//! each profile `{"key", "dimension", "since", "last", "values": {value:
//! {"first", "last"}}}`.

use std::collections::BTreeMap;
use std::io::{Read, Write as _};

use serde::{Deserialize, Serialize};

use super::batch::{Plan, Write};
use super::{Profile, ProfileId, Seen};

/// Profiles a book holds; past it, new profiles are not kept (and counted).
pub const MAX_PROFILES: usize = 500_000;
/// The largest profile file read.
pub const MAX_FILE_BYTES: u64 = 1 << 30;
/// The file format's name and version.
pub const FORMAT: &str = "trailwatch-profiles/1";

/// Profiles by key and dimension.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Book {
    profiles: BTreeMap<ProfileId, Profile>,
    /// Profiles not kept because [`MAX_PROFILES`] was reached.
    pub dropped: u64,
}

#[derive(Serialize, Deserialize)]
struct File {
    format: String,
    profiles: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    dimension: String,
    #[serde(flatten)]
    profile: Profile,
}

impl Book {
    pub fn get(&self, id: &ProfileId) -> Option<&Profile> {
        self.profiles.get(id)
    }

    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// Every profile, by key and dimension.
    pub fn iter(&self) -> impl Iterator<Item = (&ProfileId, &Profile)> {
        self.profiles.iter()
    }

    /// Puts a profile as a store holds it (`None`: absent), for a cache
    /// that follows a store's writes.
    pub fn restore(&mut self, id: ProfileId, profile: Option<Profile>) {
        match profile {
            Some(p) => self.profiles.insert(id, p),
            None => self.profiles.remove(&id),
        };
    }

    /// Settles a batch: plans it, applies the writes, and returns the plan
    /// with the matches that alert (and when their key was first seen).
    pub fn settle(&mut self, batch: &super::Batch) -> (Plan, Vec<(super::batch::Candidate, i64)>) {
        let plan = batch.plan(|id| self.get(id));
        let applied = self.apply(&plan);
        let alerts = plan.alerts(&applied).map(|(c, since)| (c.clone(), since)).collect();
        (plan, alerts)
    }

    /// Applies a plan's writes with the store's conditions; returns which took effect.
    pub fn apply(&mut self, plan: &Plan) -> Vec<bool> {
        plan.writes.iter().map(|w| self.write(w)).collect()
    }

    /// One write, as a conditional store would make it.
    pub fn write(&mut self, write: &Write) -> bool {
        let id = write.profile();
        if !self.profiles.contains_key(id) && self.profiles.len() >= MAX_PROFILES {
            self.dropped += 1;
            return false;
        }
        match write {
            Write::Key { profile, seen } => {
                let p = self.profiles.entry(profile.clone()).or_insert_with(|| fresh(seen.first));
                p.since = p.since.min(seen.first);
                p.last = p.last.max(seen.last);
                true
            }
            Write::Add { profile, value, seen, stale_before, evict } => {
                let p = self.profiles.entry(profile.clone()).or_insert_with(|| fresh(seen.first));
                let own = |old: &Seen| !seen.origin.is_empty() && old.origin == seen.origin;
                let free = p.values.get(value).is_none_or(|old| old.last < *stale_before || own(old));
                if !free {
                    return false;
                }
                for old in evict {
                    p.values.remove(old);
                }
                p.values.insert(value.clone(), seen.clone());
                p.since = p.since.min(seen.first);
                p.last = p.last.max(seen.last);
                true
            }
            Write::Touch { profile, value, last } => {
                let Some(p) = self.profiles.get_mut(profile) else { return false };
                let Some(seen) = p.values.get_mut(value) else { return false };
                seen.last = seen.last.max(*last);
                p.last = p.last.max(*last);
                true
            }
        }
    }

    /// Writes the book as JSON.
    pub fn save(&self, out: impl std::io::Write) -> std::io::Result<()> {
        let file = File {
            format: FORMAT.into(),
            profiles: self
                .profiles
                .iter()
                .map(|(id, p)| Entry { key: id.key.clone(), dimension: id.dimension.clone(), profile: p.clone() })
                .collect(),
        };
        let mut out = std::io::BufWriter::new(out);
        serde_json::to_writer(&mut out, &file)?;
        out.flush()
    }

    /// Reads a book saved by [`Book::save`]; the error says what is wrong.
    pub fn load(input: impl Read) -> Result<Book, String> {
        let mut text = Vec::new();
        input.take(MAX_FILE_BYTES + 1).read_to_end(&mut text).map_err(|e| e.to_string())?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
        }
        let file: File = serde_json::from_slice(&text).map_err(|e| format!("not a profile file: {e}"))?;
        if file.format != FORMAT {
            return Err(format!("format '{}' is not {FORMAT}", crate::text::printable(&file.format, 60)));
        }
        let mut book = Book::default();
        for entry in file.profiles {
            if book.profiles.len() >= MAX_PROFILES {
                book.dropped += 1;
                continue;
            }
            let mut profile = entry.profile;
            while profile.values.len() > super::MAX_VALUES {
                let oldest = profile.values.iter().min_by_key(|(_, s)| s.last).map(|(v, _)| v.clone());
                oldest.map(|v| profile.values.remove(&v));
            }
            book.profiles.insert(ProfileId { key: entry.key, dimension: entry.dimension }, profile);
        }
        Ok(book)
    }
}

fn fresh(since: i64) -> Profile {
    Profile { since, last: since, values: BTreeMap::new() }
}

/// The values first seen in `[from, to)` per profile: what a window added.
pub fn new_in(book: &Book, from: i64, to: i64) -> Vec<(&ProfileId, &String, &Seen)> {
    book.iter()
        .flat_map(|(id, p)| p.values.iter().map(move |(v, s)| (id, v, s)))
        .filter(|(_, _, s)| (from..to).contains(&s.first))
        .collect()
}
