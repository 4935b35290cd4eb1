//! `trailwatch summary`: the periodic report, from local log files, with the
//! same renderer and the same numbers as the summary Lambda.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write as _;

use anyhow::{bail, Context};
use trailwatch_core::engine::{Collect, EngineOptions};
use trailwatch_core::key::parse_log_file_name;
use trailwatch_core::summary::{coverage, digest_coverage, parse_file_time, render, Delivered, SummaryFile, Window};
use trailwatch_core::{Engine, StatsShard};

use crate::exit::Exit;
use crate::profiles::Profiling;
use crate::{inputs, render as show, SummaryArgs, SummaryFormat};

/// How many unprocessed or incomplete files the report names.
const LIST_CAP: usize = 50;

/// The scan's findings and problems, and the profiles' matches and sightings.
struct Sink<'p> {
    collect: Collect,
    profiling: Option<&'p mut Profiling>,
}

impl trailwatch_core::ScanSink for Sink<'_> {
    fn finding(&mut self, finding: trailwatch_core::Finding) {
        self.collect.finding(finding);
    }

    fn problem(&mut self, error: trailwatch_core::Error) {
        self.collect.problem(error);
    }

    fn first_seen(&mut self, finding: trailwatch_core::Finding) {
        if let Some(p) = &mut self.profiling {
            p.finding(&finding);
        }
    }

    fn sighting(&mut self, sighting: &trailwatch_core::profile::Sighting<'_>) {
        if let Some(p) = &mut self.profiling {
            p.sighting(sighting);
        }
    }
}

pub fn run(args: &SummaryArgs) -> anyhow::Result<Exit> {
    let set = args.rules.load()?;
    let engine = Engine::new(&set, EngineOptions { min_severity: args.min_severity, ..Default::default() })?;
    let files = inputs::collect(&args.paths)?;
    let length = Window::parse_length(&args.window)?;
    let gap = Window::parse_length(&args.gap)?;

    // Account, region and time from CloudTrail file names, where they follow it.
    let named: Vec<_> = files
        .iter()
        .map(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let parsed = parse_log_file_name(name)
                .and_then(|(account, region, time)| parse_file_time(&time).map(|t| (account, region, t)));
            (path, parsed)
        })
        .collect();
    let at = match &args.at {
        Some(text) => Window::parse_time(text)?,
        None => match named.iter().filter_map(|(_, p)| p.as_ref().map(|(_, _, t)| *t)).max() {
            Some(latest) => time::Duration::try_from(length)
                .ok()
                .and_then(|length| latest.checked_add(length))
                .with_context(|| format!("a summary window of {} reaches past the year 9999", args.window))?,
            None => bail!("no file name carries a CloudTrail delivery time; pass --at to choose the window"),
        },
    };
    let window = Window::ending_before(at, length)?;

    // With profiles, the window's files are settled against them in time order.
    let mut profiling = args.profiles.as_deref().map(|path| Profiling::open(Some(path), &set)).transpose()?;
    let mut named = named;
    if profiling.is_some() {
        named.sort_by_key(|(_, parsed)| parsed.as_ref().map(|(_, _, time)| *time));
    }
    let mut stats = StatsShard::default();
    let mut delivered = Vec::new();
    let mut processed = BTreeSet::new();
    let mut incomplete = Vec::new();
    let mut known = BTreeSet::new();
    let mut problems = 0;
    for (path, parsed) in &named {
        let source = path.display().to_string();
        if let Some((account, region, time)) = parsed {
            known.insert((account.clone(), region.clone()));
            if !window.contains(*time) {
                continue;
            }
            delivered.push(Delivered {
                source: source.clone(),
                account_id: account.clone(),
                region: region.clone(),
                time: *time,
            });
        }
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) => {
                eprintln!("error: {source}: {e}");
                problems += 1;
                continue;
            }
        };
        let mut sink = Sink { collect: Collect::default(), profiling: profiling.as_mut() };
        if let Some(p) = &mut sink.profiling {
            p.start();
        }
        let summary = engine.scan(&source, file, &mut sink);
        if let Some(p) = &mut sink.profiling {
            p.finish(&source);
        }
        let sink = sink.collect;
        for p in &sink.problems {
            eprintln!("{}", show::problem(p));
        }
        problems += sink.problems.len();
        if !summary.complete {
            incomplete.push(source.clone());
        }
        processed.insert(source);
        stats.merge(&summary.stats);
    }
    if let Some(p) = &profiling {
        stats.new_this_period.merge(&p.news);
    }
    let previous = match &args.previous {
        Some(path) => {
            let text = trailwatch_core::limits::read_regular(path, trailwatch_core::limits::MAX_SUMMARY_BYTES)
                .with_context(|| format!("--previous {}", path.display()))?;
            let file: SummaryFile = serde_json::from_slice(&text)
                .with_context(|| format!("{}: not a summary JSON file", path.display()))?;
            Some(file.stats)
        }
        None => None,
    };
    let mut coverage = coverage(&window, &delivered, &processed, incomplete, &known, gap, LIST_CAP);
    // Digest files among the paths vouch for the log files they list, as the
    // detection function's integrity records do in AWS.
    let found = crate::validate::find(&args.paths, None, None)?;
    let (digests, verified) = crate::validate::vouched(&found, None);
    coverage.digests = digest_coverage(&window, &delivered, digests, &verified, LIST_CAP);
    let mut out = std::io::stdout().lock();
    match args.format {
        SummaryFormat::Json => {
            let json = serde_json::to_string_pretty(&SummaryFile::new(&window, stats, coverage))?;
            writeln!(out, "{}", trailwatch_core::text::json_safe(&json))?
        }
        SummaryFormat::Text => {
            let report = render(&window, &stats, &coverage, previous.as_ref());
            writeln!(out, "Subject: {}\n\n{}", report.subject, report.body)?;
        }
    }
    Ok(Exit::problems(problems as u64))
}
