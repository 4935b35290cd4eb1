//! `trailwatch pattern check`.

use std::fs::File;
use std::io::Write as _;
use std::path::PathBuf;

use trailwatch_core::engine::{Each, EngineOptions};
use trailwatch_core::rule::{Examples, Rule};
use trailwatch_core::text::printable;
use trailwatch_core::{Engine, ErrorKind, Finding, Pattern, RuleSet, ScanSink, Severity};

use crate::exit::Exit;
use crate::{inputs, render};

pub fn check(text: &str, paths: &[PathBuf]) -> anyhow::Result<Exit> {
    if let Err(e) = Pattern::parse(text) {
        eprintln!("error: {}", e.kind);
        if let ErrorKind::Pattern { column, .. } = e.kind {
            eprintln!("  {}", printable(text, 2000));
            eprintln!("  {}^", " ".repeat(column.saturating_sub(1)));
        }
        return Ok(Exit::Failed);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "pattern OK")?;
    if paths.is_empty() {
        return Ok(Exit::Done);
    }
    let rule = Rule {
        id: "pattern".into(),
        title: "pattern".into(),
        severity: Severity::Info,
        pattern: text.to_string(),
        description: String::new(),
        runbook: String::new(),
        tags: Vec::new(),
        examples: Examples::default(),
        alert_grade: true,
        dry_run: false,
        threshold: None,
        first_seen: None,
        show: Vec::new(),
        origin: "command line".into(),
        sigma: None,
    };
    let mut set = RuleSet::default();
    set.add(rule)?;
    let engine = Engine::new(&set, EngineOptions::default())?;
    let (mut records, mut matches, mut problems) = (0, 0, 0);
    for path in inputs::collect(paths)? {
        let name = path.display().to_string();
        let mut written = Ok(());
        let mut sink = Each {
            finding: |f: Finding| {
                matches += 1;
                if written.is_ok() {
                    written = writeln!(
                        out,
                        "{}  {}  {} record {}",
                        printable(f.event_id.as_deref().unwrap_or("-"), 200),
                        printable(f.event_name.as_deref().unwrap_or("-"), 200),
                        printable(&f.file, 500),
                        f.record_index
                    );
                }
            },
            problem: |p: trailwatch_core::Error| {
                eprintln!("{}", render::problem(&p));
                problems += 1;
            },
        };
        match File::open(&path) {
            Ok(file) => records += engine.scan(&name, file, &mut sink).records,
            Err(e) => sink.problem(trailwatch_core::Error::new(ErrorKind::Io(e.to_string())).in_source(&name)),
        }
        written?;
    }
    writeln!(out, "{matches} of {records} records match")?;
    Ok(Exit::problems(problems as u64))
}
