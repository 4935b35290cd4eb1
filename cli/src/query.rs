//! `trailwatch query`: ask questions of local CloudTrail files.
//!
//! Filters and reports come from the core ([`trailwatch_core::query`]); this
//! module reads the options, prunes files by name, streams rows to the
//! output (or buffers them, boundedly, when they must be sorted or grouped)
//! and reports what it skipped and what it could not read.

use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use time::OffsetDateTime;
use trailwatch_core::layout::Scope;
use trailwatch_core::limits::{self, MAX_HELD_BYTES};
use trailwatch_core::query::filter::{parse_bool, parse_time};
use trailwatch_core::query::report::{Groups, Shape, REPORTS};
use trailwatch_core::query::{column, held_size, Column, Filters, Query, QuerySink, Report, Row};
use trailwatch_core::{Error, ErrorKind, Location, RuleSet};

use crate::exit::Exit;
use crate::output::{QueryFormat, RowWriter};
use crate::progress::Progress;
use crate::render;
use crate::source::Sources;

/// Without --limit, sorting and grouping keep at most this many rows or groups.
pub const MAX_BUFFERED: usize = 200_000;

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// Log files (.json, .json.gz), directories to search recursively, or
    /// s3://bucket/prefix (listed only where the key layout allows matches).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Events at or after: RFC 3339, a date (2026-11-20) or a time ago (7d, 2h).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Events before: RFC 3339, a date or a time ago.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// eventName; wildcards * and ? anywhere (Describe*, *SecurityGroup*).
    #[arg(long = "event", value_name = "NAME")]
    events: Vec<String>,
    /// eventSource: ec2 or ec2.amazonaws.com.
    #[arg(long = "source", value_name = "SERVICE")]
    sources: Vec<String>,
    /// A user name, ARN, principal ID, role name or session name.
    #[arg(long = "user", value_name = "WHO")]
    users: Vec<String>,
    /// userIdentity.accessKeyId.
    #[arg(long = "access-key", value_name = "KEY_ID")]
    access_keys: Vec<String>,
    /// The account the event belongs to (recipientAccountId).
    #[arg(long = "account", value_name = "ID")]
    accounts: Vec<String>,
    /// awsRegion.
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,
    /// sourceIPAddress: an address, a CIDR range (IPv4 or IPv6), or a name (*.amazonaws.com).
    #[arg(long = "ip", value_name = "ADDRESS|CIDR")]
    ips: Vec<String>,
    /// An ARN or name in resources[], requestParameters or responseElements.
    #[arg(long = "resource", value_name = "ARN|NAME")]
    resources: Vec<String>,
    /// Only calls that failed (errorCode, or a failed console sign-in).
    #[arg(long, conflicts_with = "no_error")]
    error: bool,
    /// Only calls that succeeded.
    #[arg(long)]
    no_error: bool,
    /// readOnly: true or false.
    #[arg(long, value_name = "BOOL")]
    read_only: Option<String>,
    /// A CloudWatch Logs filter pattern the record must match (repeatable).
    #[arg(long = "where", value_name = "PATTERN")]
    patterns: Vec<String>,
    /// Accounts that are not "outside" for the facts (`$.facts.*`) in
    /// --where and --columns. Comma-separated 12-digit ids; repeatable.
    #[arg(long = "trusted-accounts", value_name = "IDS")]
    trusted_accounts: Vec<String>,
    /// A named report (see below); key-activity takes the key: key-activity=AKIA...
    #[arg(long, value_name = "NAME")]
    report: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
    format: QueryFormat,
    /// Columns, comma-separated (see below), or selectors such as $.requestParameters.groupId.
    #[arg(long, value_name = "LIST")]
    columns: Option<String>,
    /// Print at most N rows (and, unsorted, stop reading once they are found).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Order rows by event time (time) or newest first (-time).
    #[arg(long, value_enum, allow_hyphen_values = true)]
    sort: Option<Sort>,
    /// --report first-seen: the profiles to start from (saved by `trailwatch scan --profiles`).
    #[arg(long, value_name = "FILE")]
    profiles: Option<PathBuf>,
    /// Open every file, even those whose names say they cannot match.
    #[arg(long)]
    no_prune: bool,
    /// No progress line or closing line on stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Sort {
    /// Oldest first.
    #[value(name = "time")]
    Oldest,
    /// Newest first.
    #[value(name = "-time")]
    Newest,
}

/// The list of reports and columns shown under `trailwatch query --help`.
pub fn help() -> String {
    let mut text = String::from(
        "Examples:\n  trailwatch query logs/ --since 7d --event ConsoleLogin --no-error\n  \
         trailwatch query logs/ --user alice --ip 203.0.113.0/24 --format csv\n  \
         trailwatch query logs/ --report sg-history\n  \
         trailwatch query logs/ --report key-activity=AKIAIOSFODNN7EXAMPLE\n\nReports (--report NAME):\n",
    );
    for (name, about) in REPORTS {
        text.push_str(&format!("  {name:<15} {about}\n"));
    }
    text.push_str(&format!(
        "  {:<15} values new for a principal or account in --since/--until (networks, agents, regions, \
         sources, sensitive calls), why, and the rule that alerted\n",
        "first-seen"
    ));
    text.push_str("\nColumns (--columns a,b,c; default: ");
    text.push_str(&column::DEFAULT.iter().map(Column::name).collect::<Vec<_>>().join(","));
    text.push_str("):\n");
    for (_, name, about) in column::NAMED {
        text.push_str(&format!("  {name:<15} {about}\n"));
    }
    text.push_str(
        "\nExit status: 0 when every file was read completely (with or without matches), 3 when some file or \
         record could not be read (each problem is printed on stderr; the rest is still read), 1 on bad options.",
    );
    text
}

/// What the rows are made of and how they come out.
struct Plan {
    columns: Vec<Column>,
    /// JSON lines of whole records (no report, no --columns).
    whole_records: bool,
    /// Indexes of the columns to sort by, and whether newest first.
    sort: Option<(Vec<usize>, bool)>,
    groups: Option<Groups>,
}

impl QueryArgs {
    fn filters(&self, now: OffsetDateTime) -> anyhow::Result<Filters> {
        let time = |t: &Option<String>| t.as_deref().map(|t| parse_time(t, now)).transpose();
        let filters = Filters {
            since: time(&self.since)?,
            until: time(&self.until)?,
            events: self.events.clone(),
            sources: self.sources.clone(),
            users: self.users.clone(),
            access_keys: self.access_keys.clone(),
            accounts: self.accounts.clone(),
            regions: self.regions.clone(),
            ips: self.ips.clone(),
            resources: self.resources.clone(),
            error: if self.error {
                Some(true)
            } else if self.no_error {
                Some(false)
            } else {
                None
            },
            read_only: self.read_only.as_deref().map(parse_bool).transpose()?,
            patterns: self.patterns.clone(),
            trusted: trailwatch_core::facts::Trusted::parse_list(&self.trusted_accounts.join(","))?,
        };
        if let (Some(since), Some(until)) = (filters.since, filters.until) {
            if since >= until {
                bail!("--since must be before --until");
            }
        }
        Ok(filters)
    }

    fn report(&self) -> anyhow::Result<Option<Report>> {
        let Some(text) = &self.report else { return Ok(None) };
        let (name, argument) = match text.split_once('=') {
            Some((name, argument)) => (name, Some(argument.to_string())),
            None => (text.as_str(), None),
        };
        // `--report key-activity --access-key KEY` works too.
        let argument = argument
            .or_else(|| (name == "key-activity" && self.access_keys.len() == 1).then(|| self.access_keys[0].clone()));
        Ok(Some(Report::parse(name, argument.as_deref())?))
    }

    fn plan(&self, report: Option<&Report>) -> anyhow::Result<Plan> {
        let asked = self.columns.as_deref().map(Column::parse_list).transpose()?;
        let columns = match (&asked, report) {
            (Some(columns), _) => columns.clone(),
            (None, Some(report)) => report.columns(),
            (None, None) => column::DEFAULT.to_vec(),
        };
        let whole_records = self.format == QueryFormat::Jsonl && asked.is_none() && report.is_none();
        let by_time = |columns: &[Column]| columns.iter().position(|c| *c == Column::Time);
        let mut plan = Plan { columns, whole_records, sort: None, groups: None };
        match report.map(Report::shape) {
            Some(Shape::Groups(grouping)) if asked.is_none() => {
                plan.groups = Some(Groups::new(grouping, MAX_BUFFERED));
            }
            Some(Shape::Rows { sort_by }) if self.sort.is_none() && asked.is_none() => {
                plan.sort = Some((sort_by, false));
            }
            _ => {}
        }
        if let Some(sort) = self.sort {
            let mut columns = plan.columns.clone();
            let at = by_time(&columns).unwrap_or_else(|| {
                columns.push(Column::Time);
                columns.len() - 1
            });
            if plan.groups.is_some() {
                bail!("--sort does not apply to grouped reports (they are ordered by their keys)");
            }
            plan.sort = Some((vec![at], sort == Sort::Newest));
            if plan.whole_records {
                bail!("--sort with --format jsonl needs --columns (whole records are not kept in memory)");
            }
            plan.columns = columns;
        }
        Ok(plan)
    }
}

/// Collects rows: straight to the writer, into a bounded buffer for
/// sorting, or into groups.
struct Rows<'w, W: Write> {
    writer: &'w mut RowWriter<W>,
    plan: Plan,
    limit: Option<usize>,
    written: usize,
    buffer: Vec<Vec<Option<String>>>,
    /// About the memory the buffer takes, held under [`MAX_HELD_BYTES`].
    buffered_bytes: usize,
    matched: u64,
    problems: u64,
    failure: Option<anyhow::Error>,
}

impl<W: Write> Rows<'_, W> {
    fn sort_buffer(&mut self) {
        if let Some((keys, newest)) = &self.plan.sort {
            let key = |row: &Vec<Option<String>>| keys.iter().map(|&k| row[k].clone()).collect::<Vec<_>>();
            self.buffer.sort_by_cached_key(key);
            if *newest {
                self.buffer.reverse();
            }
        }
    }

    fn take(&mut self, row: &Row<'_>) -> anyhow::Result<ControlFlow<()>> {
        self.matched += 1;
        if let Some(groups) = &mut self.plan.groups {
            groups.add(row)?;
            return Ok(ControlFlow::Continue(()));
        }
        if self.plan.sort.is_some() {
            let held = row.held(&self.plan.columns);
            self.buffered_bytes += held_size(&held);
            self.buffer.push(held);
            let full = self.buffered_bytes > MAX_HELD_BYTES;
            match self.limit {
                // Keep the best `limit` rows: memory stays within 2 × limit
                // rows, and within the byte cap.
                Some(limit) if full || self.buffer.len() >= limit.max(1).saturating_mul(2).min(2 * MAX_BUFFERED) => {
                    self.sort_buffer();
                    self.buffer.truncate(limit);
                    self.buffered_bytes = self.buffer.iter().map(|r| held_size(r)).sum();
                    if self.buffered_bytes > MAX_HELD_BYTES / 2 || self.buffer.len() > MAX_BUFFERED {
                        bail!(
                            "the {} rows --limit keeps for sorting take more than {} or {MAX_BUFFERED} rows: \
                             lower --limit or narrow the query",
                            self.buffer.len(),
                            limits::size((MAX_HELD_BYTES / 2) as u64)
                        );
                    }
                }
                None if full || self.buffer.len() > MAX_BUFFERED => bail!(
                    "more than {MAX_BUFFERED} rows or {} to sort: add --limit N (keeps the first N in memory) or \
                     narrow the query",
                    limits::size(MAX_HELD_BYTES as u64)
                ),
                _ => {}
            }
            return Ok(ControlFlow::Continue(()));
        }
        if self.plan.whole_records {
            self.writer.record(row.json)?;
        } else {
            self.writer.row(&row.owned(&self.plan.columns))?;
        }
        self.written += 1;
        Ok(if self.limit.is_some_and(|n| self.written >= n) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        })
    }
}

impl<W: Write> QuerySink for Rows<'_, W> {
    fn row(&mut self, row: &Row<'_>) -> ControlFlow<()> {
        match self.take(row) {
            Ok(flow) => flow,
            Err(e) => {
                self.failure = Some(e);
                ControlFlow::Break(())
            }
        }
    }

    fn problem(&mut self, error: Error) {
        self.problems += 1;
        eprintln!("{}", render::problem(&error));
    }
}

pub fn run(args: &QueryArgs) -> anyhow::Result<Exit> {
    if args.report.as_deref() == Some("first-seen") {
        let filters = args.filters(OffsetDateTime::now_utc())?;
        let options = crate::first_seen::Options {
            paths: &args.paths,
            since: filters.since,
            until: filters.until,
            format: args.format,
            limit: args.limit,
            profiles: args.profiles.as_deref(),
            quiet: args.quiet,
        };
        let mut set = RuleSet::builtin()?;
        set.trust(&filters.trusted);
        return crate::first_seen::run(&set, &options);
    }
    let mut filters = args.filters(OffsetDateTime::now_utc())?;
    let report = args.report()?;
    if let Some(report) = &report {
        report.apply(&mut filters);
    }
    let plan = args.plan(report.as_ref())?;
    let query = Query::new(&filters, &plan.columns)?;
    let scope = if args.no_prune { Scope::logs() } else { Scope::of_query(&query) };
    let sources = Sources::collect(&args.paths, &scope)?;
    let listing_problems = sources.report_problems();
    let header: Vec<String> = match &plan.groups {
        Some(groups) => groups.header(),
        None => plan.columns.iter().map(|c| c.name().to_string()).collect(),
    };
    let stdout = std::io::stdout();
    let mut writer = RowWriter::new(BufWriter::new(stdout.lock()), args.format, header);
    let mut rows = Rows {
        writer: &mut writer,
        plan: Plan { columns: query.columns().to_vec(), ..plan },
        limit: args.limit,
        written: 0,
        buffer: Vec::new(),
        buffered_bytes: 0,
        matched: 0,
        problems: 0,
        failure: None,
    };
    let result = query_files(&query, &sources, args, &mut rows);
    let (matched, problems) = (rows.matched, rows.problems + listing_problems);
    let outcome = result.and_then(|counts| {
        if let Some(e) = rows.failure.take() {
            return Err(e);
        }
        finish(&mut rows, args.limit)?;
        Ok(counts)
    });
    let (records, read, skipped) = match outcome {
        Ok(counts) => counts,
        Err(e) if crate::is_broken_pipe(&e) => return Ok(Exit::Done),
        Err(e) => return Err(e),
    };
    if !args.quiet {
        let pruned = if skipped > 0 {
            format!(" ({skipped} more skipped: their names put them outside the time range, account or region)")
        } else {
            String::new()
        };
        let listed = sources.listing.as_ref().map(|l| format!(" {}", l.describe())).unwrap_or_default();
        eprintln!(
            "Read {read} of {}{listed}{pruned}, {}: {}, {}.",
            render::count(sources.files.len() as u64, "file", "files"),
            render::count(records, "record", "records"),
            render::count(matched, "match", "matches"),
            render::count(problems, "problem", "problems"),
        );
    }
    Ok(Exit::problems(problems))
}

/// Reads every file that may hold matches; returns (records read, files
/// read, files skipped by name).
fn query_files<W: Write>(
    query: &Query,
    sources: &Sources,
    args: &QueryArgs,
    rows: &mut Rows<'_, W>,
) -> anyhow::Result<(u64, usize, usize)> {
    let mut progress = Progress::new(args.quiet).with_bytes(sources.total_bytes());
    let (mut records, mut read) = (0, 0);
    if rows.plan.groups.is_none() && rows.plan.sort.is_none() {
        rows.writer.header()?;
    }
    let wanted = |source: &crate::source::Source| args.no_prune || query.may_hold(&source.file_name);
    let skipped = sources.files.iter().filter(|s| !wanted(s)).count();
    let wanted = |_: usize, source: &crate::source::Source| wanted(source);
    let total = sources.files.len();
    sources.read_each(&wanted, &mut |n, source, body| {
        read += 1;
        let summary = match body {
            Ok(body) => query.scan(&source.name, body, rows),
            Err(e) => {
                let location = Location { source: Some(source.name.clone()), ..Default::default() };
                rows.problem(Error::at(ErrorKind::Io(e), location));
                return ControlFlow::Continue(());
            }
        };
        records += summary.records;
        progress.read(source.size);
        progress.update(n + 1, total, records, "matches", rows.matched);
        if summary.stopped {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    progress.clear();
    Ok((records, read, skipped))
}

/// Writes what was buffered (sorted rows, groups) and flushes.
fn finish<W: Write>(rows: &mut Rows<'_, W>, limit: Option<usize>) -> anyhow::Result<()> {
    let limit = limit.unwrap_or(usize::MAX);
    if let Some(groups) = rows.plan.groups.take() {
        rows.writer.header()?;
        for row in groups.into_rows().into_iter().take(limit) {
            rows.writer.row(&row)?;
        }
    } else if rows.plan.sort.is_some() {
        rows.sort_buffer();
        rows.writer.header()?;
        for row in std::mem::take(&mut rows.buffer).into_iter().take(limit) {
            rows.writer.row(&row)?;
        }
    }
    rows.writer.flush().context("writing rows")
}
