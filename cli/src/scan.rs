//! `trailwatch scan`: scan files, print findings as they are found.

use std::io::{BufWriter, Write};
use std::ops::ControlFlow;

use anyhow::Context;
use trailwatch_core::alert::threshold_alert;
use trailwatch_core::alert::Alert;
use trailwatch_core::engine::EngineOptions;
use trailwatch_core::limits::{self, MAX_HELD_BYTES};
use trailwatch_core::tally::{Tallies, Tally};
use trailwatch_core::text::json_safe;
use trailwatch_core::{Engine, Error, Finding, RuleSet, ScanSink, StatsShard};

use crate::exit::Exit;
use crate::profiles::{time_order, Profiling};
use crate::progress::Progress;
use crate::source::Sources;
use crate::{render, Format, ScanArgs};

/// Text output holds this many findings to print them most severe first
/// (each field cut, see [`render::held`]), and at most [`MAX_HELD_BYTES`];
/// past either, they are printed as found (memory stays bounded).
const SORTED_FINDINGS: usize = 10_000;

struct Printer<W: Write> {
    out: W,
    /// Matches of threshold rules, counted across every file scanned.
    tallies: Tallies,
    format: Format,
    /// Text output: findings waiting to be printed in order.
    held: Vec<Finding>,
    /// About the memory they take.
    held_bytes: usize,
    /// Text output: the hold was full once; findings now print as found.
    streaming: bool,
    problems: u64,
    write_error: Option<std::io::Error>,
    /// Profiles, when a first-seen rule runs.
    profiling: Option<Profiling>,
}

impl<W: Write> Printer<W> {
    fn write(&mut self, finding: &Finding) {
        if self.write_error.is_some() {
            return;
        }
        let written = match self.format {
            Format::Text => self.out.write_all(render::finding(finding).as_bytes()),
            Format::Jsonl => match finding.to_json() {
                Ok(json) => writeln!(self.out, "{}", json_safe(&json.to_string())),
                Err(e) => Err(std::io::Error::other(e)),
            },
        };
        if let Err(e) = written {
            self.write_error = Some(e);
        }
    }

    /// Prints the held findings: most severe first, then by event time
    /// (then file and record, so that the order is stable).
    fn flush_held(&mut self) {
        let mut held = std::mem::take(&mut self.held);
        self.held_bytes = 0;
        held.sort_by(|a, b| {
            b.severity()
                .cmp(&a.severity())
                .then_with(|| a.event_time.cmp(&b.event_time))
                .then_with(|| a.file.cmp(&b.file))
                .then_with(|| a.record_index.cmp(&b.record_index))
        });
        for finding in &held {
            self.write(finding);
        }
    }
}

impl<W: Write> ScanSink for Printer<W> {
    fn finding(&mut self, hit: trailwatch_core::Hit<'_>) {
        let finding = hit.finding();
        if finding.rule.threshold.is_some() {
            self.tallies.add(&finding);
        }
        if self.format == Format::Jsonl || self.streaming {
            return self.write(&finding);
        }
        let (finding, bytes) = render::held(finding);
        self.held.push(finding);
        self.held_bytes += bytes;
        if self.held.len() == SORTED_FINDINGS || self.held_bytes > MAX_HELD_BYTES {
            self.flush_held();
            self.streaming = true;
            eprintln!(
                "note: more than {SORTED_FINDINGS} findings or {} of them; those after are printed as found, not by severity (--format jsonl suits large scans)",
                limits::size(MAX_HELD_BYTES as u64)
            );
        }
    }

    fn problem(&mut self, error: Error) {
        self.problems += 1;
        eprintln!("{}", render::problem(&error));
    }

    fn first_seen(&mut self, finding: Finding) {
        if let Some(profiling) = &mut self.profiling {
            profiling.finding(&finding);
        }
    }

    fn sighting(&mut self, sighting: &trailwatch_core::profile::Sighting<'_>) {
        if let Some(profiling) = &mut self.profiling {
            profiling.sighting(sighting);
        }
    }
}

/// The threshold alerts the scanned files add up to, across every file,
/// by rule, values and window.
fn thresholds_reached(set: &RuleSet, tallies: &Tallies) -> Vec<Alert> {
    let mut reached: Vec<&Tally> = tallies.tallies.values().collect();
    reached.sort_by(|a, b| (&a.rule, &a.key, a.window_start).cmp(&(&b.rule, &b.key, b.window_start)));
    reached
        .into_iter()
        .filter_map(|t| {
            let rule = set.all_rules().iter().find(|r| r.id == t.rule)?;
            let threshold = rule.threshold.as_ref()?;
            (t.measure(threshold) >= threshold.count).then(|| threshold_alert(rule, t, "the scanned files")).flatten()
        })
        .collect()
}

pub fn run(args: &ScanArgs) -> anyhow::Result<Exit> {
    let set = args.rules.load()?;
    let engine = Engine::new(&set, EngineOptions { min_severity: args.min_severity, ..Default::default() })?;
    let mut sources = Sources::collect(&args.paths, &trailwatch_core::layout::Scope::logs())?;
    let profiling = match engine.has_first_seen() {
        true => Some(Profiling::open(args.profiles.as_deref(), &set)?),
        false => None,
    };
    if profiling.is_some() {
        time_order(&mut sources.files, |s| &s.file_name);
    }
    let stdout = std::io::stdout();
    let mut printer = Printer {
        out: BufWriter::new(stdout.lock()),
        tallies: Tallies::default(),
        format: args.format,
        held: Vec::new(),
        held_bytes: 0,
        streaming: false,
        problems: sources.report_problems(),
        write_error: None,
        profiling,
    };
    let mut progress = Progress::new(args.quiet).with_bytes(sources.total_bytes());
    let mut stats = StatsShard::default();
    let (mut records, mut findings, mut suppressed) = (0, 0, 0);
    let total = sources.files.len();
    sources.read_each(&|_, _| true, &mut |n, source, body| {
        let summary = match body {
            Ok(body) => {
                if let Some(profiling) = &mut printer.profiling {
                    profiling.start();
                }
                engine.scan(&source.name, body, &mut printer)
            }
            Err(e) => {
                printer.problem(trailwatch_core::Error::at(
                    trailwatch_core::ErrorKind::Io(e),
                    trailwatch_core::Location { source: Some(source.name.clone()), ..Default::default() },
                ));
                return ControlFlow::Continue(());
            }
        };
        if let Some(profiling) = &mut printer.profiling {
            profiling.finish(&source.name);
        }
        records += summary.records;
        findings += summary.findings;
        suppressed += summary.suppressed;
        stats.merge(&summary.stats);
        progress.read(source.size);
        progress.update(n + 1, total, records, "findings", findings);
        // Stop at the first write error; it is reported below.
        if printer.write_error.is_some() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    progress.clear();
    printer.flush_held();
    if let Some(e) = printer.write_error.take() {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(Exit::Done);
        }
        return Err(e).context("writing findings");
    }
    let reached = thresholds_reached(&set, &printer.tallies);
    if let Some(note) = printer.tallies.dropped_note() {
        eprintln!("{note}");
    }
    for alert in &reached {
        let _ = match args.format {
            Format::Text => printer.out.write_all(render::threshold(alert).as_bytes()),
            Format::Jsonl => {
                writeln!(printer.out, "{}", json_safe(&serde_json::json!({ "threshold": alert }).to_string()))
            }
        };
    }
    let profiling = printer.profiling.take();
    for alert in profiling.iter().flat_map(|p| &p.alerts) {
        let _ = match args.format {
            Format::Text => printer.out.write_all(render::first_seen(alert).as_bytes()),
            Format::Jsonl => {
                writeln!(printer.out, "{}", json_safe(&serde_json::json!({ "first_seen": alert }).to_string()))
            }
        };
    }
    printer.out.flush().context("writing findings")?;
    drop(printer.out);
    if let (Some(profiling), Some(path)) = (&profiling, &args.profiles) {
        profiling.save(path)?;
    }
    if args.stats {
        let text = render::stats(&stats);
        match args.format {
            Format::Text => write!(std::io::stdout().lock(), "\n{text}").context("writing statistics")?,
            Format::Jsonl => eprint!("\n{text}"),
        }
    }
    if !args.quiet {
        let listed = sources.listing.as_ref().map(|l| format!(" {}", l.describe())).unwrap_or_default();
        eprintln!(
            "Scanned {}{listed}, {}: {}{}, {suppressed} suppressed, {}.",
            render::count(total as u64, "file", "files"),
            render::count(records, "record", "records"),
            render::count(findings, "finding", "findings"),
            render::by_severity(&stats),
            render::count(printer.problems, "problem", "problems"),
        );
        if let Some(p) = profiling.as_ref().filter(|p| args.profiles.is_some() || !p.alerts.is_empty()) {
            eprintln!(
                "Profiles: {} ({} new while learning){}{}.",
                render::count(p.alerts.len() as u64 + p.more_alerts, "first-seen alert", "first-seen alerts"),
                p.learning,
                if p.more_alerts > 0 { format!(", {} not printed", p.more_alerts) } else { String::new() },
                if p.dropped > 0 { format!(", {} values past the caps", p.dropped) } else { String::new() },
            );
        }
    }
    Ok(Exit::problems(printer.problems))
}
