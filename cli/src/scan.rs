//! `trailwatch scan`: scan files, print findings as they are found.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;
use trailwatch_core::alert::Alert;
use trailwatch_core::engine::EngineOptions;
use trailwatch_core::threshold::{threshold_alert, Tallies};
use trailwatch_core::{Engine, Error, Finding, RuleSet, ScanSink, StatsShard};

use crate::progress::Progress;
use crate::{inputs, render, Format, ScanArgs};

/// Exit status when some input could not be read completely.
pub const EXIT_PROBLEMS: u8 = 3;

struct Printer<W: Write> {
    out: W,
    /// Matches of threshold rules, counted across every file scanned.
    tallies: Tallies,
    format: Format,
    problems: u64,
    write_error: Option<std::io::Error>,
}

impl<W: Write> ScanSink for Printer<W> {
    fn finding(&mut self, finding: Finding) {
        if finding.rule.threshold.is_some() {
            self.tallies.add(&finding);
        }
        if self.write_error.is_some() {
            return;
        }
        let written = match self.format {
            Format::Text => self.out.write_all(render::finding(&finding).as_bytes()),
            Format::Jsonl => writeln!(self.out, "{}", finding.to_json()),
        };
        if let Err(e) = written {
            self.write_error = Some(e);
        }
    }

    fn problem(&mut self, error: Error) {
        self.problems += 1;
        eprintln!("{}", render::problem(&error));
    }
}

/// The threshold alerts the scanned files add up to, across every file.
fn thresholds_reached(set: &RuleSet, tallies: &Tallies) -> Vec<Alert> {
    tallies
        .tallies
        .values()
        .filter_map(|t| {
            let rule = set.all_rules().iter().find(|r| r.id == t.rule)?;
            let threshold = rule.threshold.as_ref()?;
            (t.measure(threshold) >= threshold.count).then(|| threshold_alert(rule, t, "the scanned files")).flatten()
        })
        .collect()
}

pub fn run(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let set = args.rules.load()?;
    let engine = Engine::new(&set, EngineOptions { min_severity: args.min_severity, ..Default::default() })?;
    let files = inputs::collect(&args.paths)?;
    let stdout = std::io::stdout();
    let mut printer = Printer {
        out: BufWriter::new(stdout.lock()),
        tallies: Tallies::default(),
        format: args.format,
        problems: 0,
        write_error: None,
    };
    let mut progress = Progress::new(args.quiet);
    let mut stats = StatsShard::default();
    let (mut records, mut findings, mut suppressed) = (0, 0, 0);
    for (n, path) in files.iter().enumerate() {
        let name = path.display().to_string();
        let summary = match File::open(path) {
            Ok(file) => engine.scan(&name, file, &mut printer),
            Err(e) => {
                printer.problem(trailwatch_core::Error::at(
                    trailwatch_core::ErrorKind::Io(e.to_string()),
                    trailwatch_core::Location { source: Some(name), ..Default::default() },
                ));
                continue;
            }
        };
        records += summary.records;
        findings += summary.findings;
        suppressed += summary.suppressed;
        stats.merge(&summary.stats);
        progress.update(n + 1, files.len(), records, "findings", findings);
        if let Some(e) = printer.write_error.take() {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::SUCCESS);
            }
            return Err(e).context("writing findings");
        }
    }
    progress.clear();
    let reached = thresholds_reached(&set, &printer.tallies);
    for alert in &reached {
        let _ = match args.format {
            Format::Text => printer.out.write_all(render::threshold(alert).as_bytes()),
            Format::Jsonl => writeln!(printer.out, "{}", serde_json::json!({ "threshold": alert })),
        };
    }
    printer.out.flush().context("writing findings")?;
    drop(printer.out);
    if args.stats {
        let text = render::stats(&stats);
        match args.format {
            Format::Text => print!("\n{text}"),
            Format::Jsonl => eprint!("\n{text}"),
        }
    }
    if !args.quiet {
        eprintln!(
            "Scanned {} file(s), {records} record(s): {findings} finding(s){}, {suppressed} suppressed, {} problem(s).",
            files.len(),
            render::by_severity(&stats),
            printer.problems
        );
    }
    Ok(if printer.problems > 0 { ExitCode::from(EXIT_PROBLEMS) } else { ExitCode::SUCCESS })
}
