//! `trailwatch rules convert FILE.yml`: the native rule a Sigma rule
//! equals, when there is an exact one (see `trailwatch_core::sigma::native`).

use std::io::Write as _;
use std::path::Path;

use serde::Serialize;
use trailwatch_core::rule::Rule;
use trailwatch_core::sigma::{native, SigmaOptions};
use trailwatch_core::text::printable;
use trailwatch_core::RuleSet;

use crate::exit::Exit;

#[derive(Serialize)]
struct RuleFile<'a> {
    rule: Vec<&'a Rule>,
}

/// Prints a TOML rule file with every rule of the Sigma file that has an
/// exact native equivalent; names the others and why on stderr. Fails when
/// any has none.
pub fn convert(path: &Path, placeholders: Option<&Path>) -> anyhow::Result<Exit> {
    if !trailwatch_core::rule::files::is_sigma(&path.display().to_string()) {
        anyhow::bail!("{}: not a Sigma file (.yml, .yaml)", path.display());
    }
    let mut options = SigmaOptions::with_experimental();
    if let Some(map) = placeholders {
        options.placeholders = crate::read_placeholders(map)?;
    }
    let set = RuleSet::load_with(path, &options)?;
    let mut err = std::io::stderr().lock();
    for note in set.notes() {
        writeln!(err, "note: {}", printable(note, 2000))?;
    }
    let mut converted = Vec::new();
    let mut refused = 0;
    for rule in set.all_rules() {
        let Some(sigma) = &rule.sigma else { continue };
        match native::pattern(&sigma.0.detection) {
            Ok(pattern) => {
                let mut native = rule.clone();
                native.pattern = pattern;
                native.sigma = None;
                // The pattern must be one the native engine runs.
                RuleSet::default().add(native.clone())?;
                converted.push(native);
            }
            Err(why) => {
                refused += 1;
                writeln!(err, "{}: no exact native equivalent: {}", printable(&rule.id, 200), printable(&why, 2000))?;
            }
        }
    }
    if !converted.is_empty() {
        let text = toml::to_string(&RuleFile { rule: converted.iter().collect() })?;
        write!(std::io::stdout().lock(), "{text}")?;
    }
    Ok(if refused == 0 && !converted.is_empty() { Exit::Done } else { Exit::Failed })
}
