//! Rule files on disk: TOML (`.toml`) and Sigma (`.yml`, `.yaml`), alone or
//! mixed in a directory, and the examples file beside a Sigma file.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::{Examples, Rule, RuleSet};
use crate::error::{Error, ErrorKind, Location, Result};
use crate::sigma::{Compiled, SigmaOptions, SigmaRule};

/// Whether a file name is a Sigma rule file's.
pub fn is_sigma(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yml") || lower.ends_with(".yaml")
}

/// Whether a file name is a rule file's (TOML or Sigma).
pub fn is_rule_file(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".toml") || is_sigma(name)
}

/// The examples file of a Sigma file: `x.yml` → `x.examples.json`, a JSON
/// object from rule id to `{"match": [records], "no_match": [records]}`.
pub fn examples_path(path: &Path) -> std::path::PathBuf {
    path.with_extension("examples.json")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExampleRecords {
    #[serde(default, rename = "match")]
    matches: Vec<serde_json::Value>,
    #[serde(default)]
    no_match: Vec<serde_json::Value>,
}

/// The rule the engine runs for a Sigma rule: its id, title, level, tags,
/// description; false positives and references as the runbook.
pub fn sigma_rule(sigma: Arc<SigmaRule>, origin: &str) -> Rule {
    let mut runbook = Vec::new();
    if !sigma.falsepositives.is_empty() {
        runbook.push(format!("Known false positives: {}.", sigma.falsepositives.join("; ")));
    }
    if !sigma.references.is_empty() {
        runbook.push(format!("References: {}", sigma.references.join(" ")));
    }
    let mut description = if sigma.description.is_empty() { sigma.title.clone() } else { sigma.description.clone() };
    if let Some(author) = &sigma.author {
        description.push_str(&format!(" (Sigma rule by {author})"));
    }
    Rule {
        id: sigma.id.clone(),
        title: sigma.title.clone(),
        severity: sigma.level,
        pattern: String::new(),
        description,
        runbook: runbook.join("\n"),
        tags: sigma.tags.iter().map(|t| crate::sigma::tag(t)).collect(),
        examples: Examples::default(),
        alert_grade: sigma.alerts,
        dry_run: false,
        threshold: sigma.threshold.clone(),
        first_seen: None,
        show: Vec::new(),
        origin: origin.to_string(),
        sigma: Some(Compiled(sigma)),
    }
}

impl RuleSet {
    /// Parses a rule file's text, Sigma when `origin` ends in `.yml` or
    /// `.yaml`, TOML otherwise.
    pub fn from_text(text: &str, origin: &str, options: &SigmaOptions) -> Result<RuleSet> {
        if is_sigma(origin) {
            RuleSet::from_sigma(text, origin, options)
        } else {
            RuleSet::from_toml(text, origin)
        }
    }

    /// Parses a Sigma file's text (see [`crate::sigma`]).
    pub fn from_sigma(text: &str, origin: &str, options: &SigmaOptions) -> Result<RuleSet> {
        let loaded = crate::sigma::load(text, origin, options)?;
        let mut set = RuleSet::default();
        for sigma in loaded.rules {
            set.add(sigma_rule(sigma, origin))?;
        }
        set.notes = loaded.notes;
        set.skipped = loaded.skipped.into_iter().collect();
        Ok(set)
    }

    /// Gives this set's Sigma rules the examples of an examples file's text.
    pub fn add_examples(&mut self, text: &str, origin: &str) -> Result<()> {
        let bad = |message: String| {
            Error::at(ErrorKind::Rule(message), Location { source: Some(origin.into()), ..Default::default() })
        };
        let file: BTreeMap<String, ExampleRecords> = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        // A rule that did not load (noted already) has nothing to test.
        for (id, records) in file.into_iter().filter(|(id, _)| !self.skipped.contains(id)) {
            let rule = self.rules.iter_mut().find(|r| r.id == id && r.sigma.is_some());
            let rule =
                rule.ok_or_else(|| bad(format!("examples for '{id}', which is not a Sigma rule of this file")))?;
            let text = |v: &serde_json::Value| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            rule.examples.matches.extend(records.matches.iter().map(text));
            rule.examples.no_match.extend(records.no_match.iter().map(text));
        }
        Ok(())
    }

    /// Loads a rule file, or every rule file (`*.toml`, `*.yml`, `*.yaml`)
    /// in a directory, sorted by name; Sigma rules of the default statuses.
    pub fn load(path: &Path) -> Result<RuleSet> {
        RuleSet::load_with(path, &SigmaOptions::default())
    }

    /// [`RuleSet::load`] with the Sigma statuses to load.
    pub fn load_with(path: &Path, options: &SigmaOptions) -> Result<RuleSet> {
        let io_error = |e: std::io::Error| {
            Error::at(
                ErrorKind::Io(e.to_string()),
                Location { source: Some(path.display().to_string()), ..Default::default() },
            )
        };
        if path.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(path)
                .map_err(io_error)?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.file_name().is_some_and(|n| is_rule_file(&n.to_string_lossy())) && p.is_file())
                .collect();
            files.sort();
            let mut set = RuleSet::default();
            for file in files {
                set.merge(RuleSet::load_with(&file, options)?)?;
            }
            return Ok(set);
        }
        let text = read_text(path)?;
        let origin = path.display().to_string();
        let mut set = RuleSet::from_text(&text, &origin, options)?;
        let sidecar = examples_path(path);
        if is_sigma(&origin) && sidecar.is_file() {
            set.add_examples(&read_text(&sidecar)?, &sidecar.display().to_string())?;
        }
        Ok(set)
    }
}

/// A rule-sized text file (rules, examples, placeholder maps), read whole.
pub fn read_text(path: &Path) -> Result<String> {
    let io_error = |e: std::io::Error| {
        Error::at(
            ErrorKind::Io(e.to_string()),
            Location { source: Some(path.display().to_string()), ..Default::default() },
        )
    };
    let bytes = crate::limits::read_regular(path, crate::limits::MAX_RULE_FILE_BYTES).map_err(io_error)?;
    String::from_utf8(bytes).map_err(|e| io_error(std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error())))
}
