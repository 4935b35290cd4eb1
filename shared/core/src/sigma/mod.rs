//! Sigma rules, run as they are written.
//!
//! A Sigma file (`.yml`/`.yaml`, one or several documents, `action: global`
//! collections) loads into ordinary [`Rule`]s that carry their compiled
//! detection; the engine runs them beside the native rules, with the same
//! dispatch, suppressions, thresholds and alerts. Sigma's semantics stay
//! Sigma's (case-insensitive unless `|cased`, wildcards, modifiers, null,
//! keywords): they never leak into filter patterns, nor the other way.
//!
//! # Layout
//!
//! - [`yaml`]: YAML documents with the line of every node.
//! - [`parse`]: documents into [`SigmaRule`]s (metadata, logsource, collections).
//! - [`modifiers`]: `field|mods: values` into tests.
//! - [`wildcard`]: Sigma strings (wildcards, escapes) as regular expressions.
//! - [`condition`]: the condition language.
//! - [`matcher`]: evaluating a detection against a record.
//! - [`correlation`]: correlation rules as threshold rules, where the semantics match.
//! - [`native`]: the filter pattern a Sigma detection equals, when one exists.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Location, Result};
use crate::extract::PathTable;
use crate::selector::Step;
use crate::severity::Severity;
use crate::threshold::Threshold;

pub mod condition;
pub mod correlation;
pub mod expand;
pub mod matcher;
pub mod modifiers;
pub mod native;
pub mod parse;
pub mod wildcard;
pub mod yaml;

/// A Sigma rule's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Stable,
    Test,
    Experimental,
    Deprecated,
    Unsupported,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Test => "test",
            Status::Experimental => "experimental",
            Status::Deprecated => "deprecated",
            Status::Unsupported => "unsupported",
        }
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        [Status::Stable, Status::Test, Status::Experimental, Status::Deprecated, Status::Unsupported]
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown status '{s}' (expected stable, test, experimental, deprecated or unsupported)")
            })
    }
}

/// Which Sigma rules load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigmaOptions {
    /// Statuses that load (default: stable and test). A rule without a
    /// status loads.
    pub statuses: Vec<Status>,
    /// What `|expand` replaces `%name%` with (none by default: a rule that
    /// uses it is refused).
    pub placeholders: expand::Placeholders,
}

impl Default for SigmaOptions {
    fn default() -> Self {
        SigmaOptions { statuses: vec![Status::Stable, Status::Test], placeholders: Default::default() }
    }
}

impl SigmaOptions {
    /// The default statuses plus `experimental`.
    pub fn with_experimental() -> Self {
        SigmaOptions { statuses: vec![Status::Stable, Status::Test, Status::Experimental], ..Default::default() }
    }
}

/// A Sigma rule read from a file.
#[derive(Debug, Clone)]
pub struct SigmaRule {
    pub id: String,
    /// `name`, which correlation rules may refer to.
    pub name: Option<String>,
    pub title: String,
    pub status: Option<Status>,
    pub level: Severity,
    pub description: String,
    pub references: Vec<String>,
    pub falsepositives: Vec<String>,
    pub tags: Vec<String>,
    /// `author`: the Detection Rule License asks that alerts name it.
    pub author: Option<String>,
    /// The line its document starts on.
    pub line: usize,
    pub detection: matcher::Detection,
    /// Set by a correlation rule (see [`correlation`]).
    pub threshold: Option<Threshold>,
    /// False when a correlation counts its matches without generating them.
    pub alerts: bool,
}

impl SigmaRule {
    /// Whether one JSON record matches (standalone: examples, tests, tools).
    pub fn matches_json(&self, json: &str) -> std::result::Result<bool, String> {
        let mut table = PathTable::new();
        let slots = bind(&self.detection, &mut table);
        let values = table.extract(json).map_err(|e| format!("not valid JSON: {e}"))?;
        Ok(self.detection.matches(&matcher::RecordEvent::new(crate::extract::Tables::first(&values), json, &slots)))
    }
}

fn steps(field: &str) -> Vec<Step> {
    field.split('.').map(|k| Step::Key(k.to_string())).collect()
}

/// Interns every field the detection reads; returns their slots, by index.
pub fn bind(detection: &matcher::Detection, table: &mut PathTable) -> Vec<usize> {
    detection.fields.iter().map(|field| table.intern(&steps(field))).collect()
}

/// Binds the fields the detection reads, for an engine with two tables: a
/// field `first` holds already is read from it; another goes to `second`
/// (its slot marked [`crate::extract::SECOND_TABLE`]) when the rule is
/// `narrowed` (dispatch hands it few records, and those are walked again
/// only if an item reads such a field), else to `first`.
pub fn bind_split(
    detection: &matcher::Detection,
    first: &mut PathTable,
    second: &mut PathTable,
    narrowed: bool,
) -> Vec<usize> {
    let bind = |field: &String| {
        let steps = steps(field);
        match first.find(&steps) {
            Some(slot) => slot,
            None if narrowed => second.intern(&steps) | crate::extract::SECOND_TABLE,
            None => first.intern(&steps),
        }
    };
    detection.fields.iter().map(bind).collect()
}

/// A compiled Sigma rule carried by a [`Rule`]; two are equal when they are the same one.
#[derive(Debug, Clone)]
pub struct Compiled(pub Arc<SigmaRule>);

impl PartialEq for Compiled {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Compiled {}

/// A rule document that does not run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub line: usize,
    pub reason: String,
    /// The rule's id, when it has one.
    pub id: Option<String>,
}

/// What a Sigma file gave: rules to run, and notes on the documents skipped.
#[derive(Debug, Default)]
pub struct Loaded {
    pub rules: Vec<Arc<SigmaRule>>,
    /// `origin:line: why`, one per skipped document.
    pub notes: Vec<String>,
    /// The ids of the skipped rules that have one.
    pub skipped: Vec<String>,
}

impl Loaded {
    fn skip(&mut self, origin: &str, refused: &Refused) {
        self.notes.push(note(origin, refused));
        self.skipped.extend(refused.id.clone());
    }
}

/// Reads a Sigma file's text. `origin` names it in rules, notes and errors.
/// A document that is not valid Sigma is an error with its line; one that
/// does not run (another logsource, a construct not supported, a status
/// not asked for) is a note.
/// Reads a placeholder map for `|expand` (see [`expand::parse`]); `origin`
/// names it in errors.
pub fn placeholders(text: &str, origin: &str) -> Result<expand::Placeholders> {
    expand::parse(text).map_err(|(line, message)| {
        Error::at(ErrorKind::Rule(message), Location { source: Some(format!("{origin}:{line}")), ..Default::default() })
    })
}

pub fn load(text: &str, origin: &str, options: &SigmaOptions) -> Result<Loaded> {
    let at = |line: usize, message: String| {
        Error::at(ErrorKind::Rule(message), Location { source: Some(format!("{origin}:{line}")), ..Default::default() })
    };
    let documents = parse::documents(text, &options.placeholders).map_err(|(line, message)| at(line, message))?;
    let mut loaded = Loaded::default();
    let mut sigma_rules = Vec::new();
    let mut correlations = Vec::new();
    for doc in documents {
        match doc {
            parse::Document::Rule(rule) => sigma_rules.push(*rule),
            parse::Document::Correlation(node) => correlations.push(node),
            parse::Document::Skipped(refused) => loaded.skip(origin, &refused),
        }
    }
    let mut rules: Vec<SigmaRule> = Vec::new();
    for sigma in sigma_rules {
        if let Some(status) = sigma.status.filter(|s| !options.statuses.contains(s)) {
            let reason = format!("status {} is not loaded (statuses loaded: {})", status.as_str(), statuses(options));
            loaded.skip(origin, &Refused { line: sigma.line, reason, id: Some(sigma.id.clone()) });
            continue;
        }
        rules.push(sigma);
    }
    for node in &correlations {
        match correlation::apply(node, &mut rules, options) {
            Ok(()) => {}
            Err(correlation::Problem::Refused(refused)) => loaded.skip(origin, &refused),
            Err(correlation::Problem::Invalid(line, message)) => return Err(at(line, message)),
        }
    }
    loaded.rules = rules.into_iter().map(Arc::new).collect();
    Ok(loaded)
}

fn statuses(options: &SigmaOptions) -> String {
    options.statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

fn note(origin: &str, refused: &Refused) -> String {
    match &refused.id {
        Some(id) => format!("{origin}:{}: Sigma rule {id} not loaded: {}", refused.line, refused.reason),
        None => format!("{origin}:{}: Sigma document not loaded: {}", refused.line, refused.reason),
    }
}

/// Sigma tags as trailwatch tags: `attack.t1078.004` → `mitre/T1078.004`,
/// `attack.persistence` → `mitre/persistence`, others → `sigma/<tag>`.
pub fn tag(sigma: &str) -> String {
    match sigma.strip_prefix("attack.") {
        Some(t) if t.starts_with(['t', 'T']) && t[1..].starts_with(|c: char| c.is_ascii_digit()) => {
            format!("mitre/T{}", &t[1..])
        }
        Some(t) => format!("mitre/{t}"),
        None => format!("sigma/{sigma}"),
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

#[cfg(test)]
mod tests;
