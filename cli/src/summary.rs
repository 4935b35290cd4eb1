//! `trailwatch summary`: the periodic report, from local log files, with the
//! same renderer and the same numbers as the summary Lambda.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::ops::ControlFlow;

use anyhow::{bail, Context};
use trailwatch_core::engine::EngineOptions;
use trailwatch_core::key::parse_log_file_name;
use trailwatch_core::layout::Scope;
use trailwatch_core::summary::{coverage, digest_coverage, parse_file_time, render, Delivered, SummaryFile, Window};
use trailwatch_core::{Engine, StatsShard};

use crate::exit::Exit;
use crate::profiles::{time_order, Profiling};
use crate::source::{is_s3, Sources};
use crate::{render as show, SummaryArgs, SummaryFormat};

/// How many unprocessed or incomplete files the report names.
const LIST_CAP: usize = 50;

/// The scan's problems (printed as they come; findings are counted in the
/// statistics, none is kept), and the profiles' matches and sightings.
struct Sink<'p> {
    problems: usize,
    profiling: Option<&'p mut Profiling>,
}

impl trailwatch_core::ScanSink for Sink<'_> {
    fn finding(&mut self, _: trailwatch_core::Hit<'_>) {}

    fn problem(&mut self, error: trailwatch_core::Error) {
        eprintln!("{}", show::problem(&error));
        self.problems += 1;
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
    let length = Window::parse_length(&args.window)?;
    let gap = Window::parse_length(&args.gap)?;
    let remote = args.paths.iter().any(|p| is_s3(p));
    // A bucket is listed only for the window's days: its window must be
    // known first (the last whole one before now, as the scheduled function's).
    let early_at = match &args.at {
        Some(text) => Some(Window::parse_time(text)?),
        None if remote => Some(time::OffsetDateTime::now_utc()),
        None => None,
    };
    let scope = match early_at {
        Some(at) => {
            let window = Window::ending_before(at, length)?;
            Scope { since: Some(window.start), until: Some(window.end), ..Scope::logs() }
        }
        None => Scope::logs(),
    };
    let mut sources = Sources::collect(&args.paths, &scope)?;
    if args.profiles.is_some() {
        // With profiles, the window's files are settled against them in time order.
        time_order(&mut sources.files, |s| &s.file_name);
    }
    let mut problems = sources.report_problems() as usize;

    // Account, region and time from CloudTrail file names, where they follow it.
    let named: Vec<_> = sources
        .files
        .iter()
        .map(|source| {
            let parsed = parse_log_file_name(&source.file_name)
                .and_then(|(account, region, time)| parse_file_time(&time).map(|t| (account, region, t)));
            (source, parsed)
        })
        .collect();
    let at = match early_at {
        Some(at) => at,
        None => match named.iter().filter_map(|(_, p)| p.as_ref().map(|(_, _, t)| *t)).max() {
            Some(latest) => time::Duration::try_from(length)
                .ok()
                .and_then(|length| latest.checked_add(length))
                .with_context(|| format!("a summary window of {} reaches past the year 9999", args.window))?,
            None => bail!("no file name carries a CloudTrail delivery time; pass --at to choose the window"),
        },
    };
    let window = Window::ending_before(at, length)?;

    let mut profiling = args.profiles.as_deref().map(|path| Profiling::open(Some(path), &set)).transpose()?;
    let mut stats = StatsShard::default();
    let mut delivered = Vec::new();
    let mut processed = BTreeSet::new();
    let mut incomplete = Vec::new();
    // Account/regions seen: in file names, and (in a bucket) as folders.
    let mut known: BTreeSet<(String, String)> =
        sources.listing.as_ref().map(|l| l.account_regions.clone()).unwrap_or_default();
    let mut wanted = vec![false; named.len()];
    for (n, (source, parsed)) in named.iter().enumerate() {
        if let Some((account, region, time)) = parsed {
            known.insert((account.clone(), region.clone()));
            if !window.contains(*time) {
                continue;
            }
            delivered.push(Delivered {
                source: source.name.clone(),
                account_id: account.clone(),
                region: region.clone(),
                time: *time,
            });
        }
        wanted[n] = true;
    }
    let mut read = 0;
    sources.read_each(&|n, _| wanted[n], &mut |_, source, body| {
        read += 1;
        let body = match body {
            Ok(body) => body,
            Err(e) => {
                eprintln!("error: {}: {e}", source.name);
                problems += 1;
                return ControlFlow::Continue(());
            }
        };
        let mut sink = Sink { problems: 0, profiling: profiling.as_mut() };
        if let Some(p) = &mut sink.profiling {
            p.start();
        }
        let summary = engine.scan(&source.name, body, &mut sink);
        if let Some(p) = &mut sink.profiling {
            p.finish(&source.name);
        }
        problems += sink.problems;
        if !summary.complete {
            incomplete.push(source.name.clone());
        }
        processed.insert(source.name.clone());
        stats.merge(&summary.stats);
        ControlFlow::Continue(())
    });
    if let Some(listing) = &sources.listing {
        eprintln!(
            "Read {read} of {} {}.",
            show::count(sources.files.len() as u64, "file", "files"),
            listing.describe()
        );
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
    // (Local paths only: digests in a bucket are not read by this command.)
    let local: Vec<_> = args.paths.iter().filter(|p| !is_s3(p)).cloned().collect();
    if !local.is_empty() {
        let found = crate::digests::find(&local, None, None)?;
        let (digests, verified) = crate::validate::vouched(&found, None);
        coverage.digests = digest_coverage(&window, &delivered, digests, &verified, LIST_CAP);
    }
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
