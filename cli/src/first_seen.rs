//! `trailwatch query --report first-seen`: what was new in a window and
//! why. The files are read in time order through the built-in (and given)
//! first-seen rules, profiles built as the detection function builds them
//! (from `--profiles FILE` when given); the rows are the values first seen
//! in the window, with the rule that alerted on each, if any.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use time::OffsetDateTime;
use trailwatch_core::alert::when;
use trailwatch_core::engine::EngineOptions;
use trailwatch_core::profile::report::{new_in, NewThisPeriod};
use trailwatch_core::profile::Sighting;
use trailwatch_core::{Engine, Error, Finding, RuleSet, ScanSink};

use crate::exit::Exit;
use crate::output::{QueryFormat, RowWriter};
use crate::profiles::{time_order, Profiling};
use crate::render;

/// The report's columns.
pub const COLUMNS: [&str; 7] = ["first_seen", "account", "principal", "dimension", "value", "why", "alerted"];

/// What the report needs of `trailwatch query`'s options.
pub struct Options<'a> {
    pub paths: &'a [PathBuf],
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub format: QueryFormat,
    pub limit: Option<usize>,
    pub profiles: Option<&'a Path>,
    pub quiet: bool,
}

struct Sink<'p> {
    profiling: &'p mut Profiling,
    problems: u64,
}

impl ScanSink for Sink<'_> {
    fn finding(&mut self, _hit: trailwatch_core::Hit<'_>) {}

    fn problem(&mut self, error: Error) {
        self.problems += 1;
        eprintln!("{}", render::problem(&error));
    }

    fn first_seen(&mut self, finding: Finding) {
        self.profiling.finding(&finding);
    }

    fn sighting(&mut self, sighting: &Sighting<'_>) {
        self.profiling.sighting(sighting);
    }
}

pub fn run(set: &RuleSet, options: &Options<'_>) -> anyhow::Result<Exit> {
    let engine = Engine::new(set, EngineOptions::default())?;
    let mut files = crate::inputs::collect(options.paths)?;
    time_order(&mut files, |p| p.file_name().and_then(|n| n.to_str()).unwrap_or_default());
    let mut profiling = Profiling::open(options.profiles, set)?;
    let mut problems = 0;
    for path in &files {
        let name = path.display().to_string();
        profiling.start();
        let mut sink = Sink { profiling: &mut profiling, problems: 0 };
        match File::open(path) {
            Ok(file) => {
                engine.scan(&name, file, &mut sink);
            }
            Err(e) => {
                eprintln!("error: {name}: {e}");
                sink.problems += 1;
            }
        }
        problems += sink.problems;
        profiling.finish(&name);
    }
    // Which rule alerted on each new value.
    let mut alerted: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    for (profile, value, rule) in &profiling.alerted {
        let entry = alerted.entry((profile.key.clone(), profile.dimension.clone(), value.clone())).or_default();
        entry.push(rule.clone());
    }
    let from = options.since.map_or(i64::MIN, OffsetDateTime::unix_timestamp);
    let to = options.until.map_or(i64::MAX, OffsetDateTime::unix_timestamp);
    let rows = new_in(profiling.book(), from, to);
    let stdout = std::io::stdout();
    let mut writer =
        RowWriter::new(BufWriter::new(stdout.lock()), options.format, COLUMNS.iter().map(|c| c.to_string()).collect());
    writer.header().context("writing the report")?;
    for row in rows.iter().take(options.limit.unwrap_or(usize::MAX)) {
        let key =
            if row.principal.is_empty() { row.account.clone() } else { format!("{}|{}", row.account, row.principal) };
        let rules = alerted.get(&(key, row.dimension.clone(), row.value.clone())).map(|r| r.join(","));
        let cells = [
            Some(when(row.first)),
            Some(row.account.clone()),
            Some(row.principal.clone()).filter(|p| !p.is_empty()),
            Some(row.dimension.clone()),
            Some(row.value.clone()),
            Some(row.why.clone()),
            rules,
        ];
        match writer.row(&cells) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(Exit::Done),
            other => other.context("writing the report")?,
        }
    }
    writer.flush().context("writing the report")?;
    if !options.quiet {
        let period = NewThisPeriod::of(&rows);
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "{} first seen in the window, {} of them alerted.",
            render::count(rows.len() as u64, "value", "values"),
            profiling.alerts.len()
        )?;
        for line in period.lines(10) {
            writeln!(err, "{line}")?;
        }
    }
    Ok(Exit::problems(problems))
}
