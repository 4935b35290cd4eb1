//! `trailwatch validate`: CloudTrail log file integrity, on local copies or
//! straight from `s3://bucket/prefix`.
//!
//! Finds the digest files and log files under the paths given (see
//! [`crate::digests`]), checks the digests with the core
//! ([`trailwatch_core::digest`]), hashes every log file a digest lists at
//! the place it lists it (in a copy, the copy's trail root plus the key
//! below it, `AWSLogs/…`; in a bucket, the object it names), and reports
//! log files no digest lists and copies of listed files in other places.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use serde::Serialize;
use time::OffsetDateTime;
use trailwatch_core::digest::chain::{self, DigestReport, FoundDigest, Gap};
use trailwatch_core::digest::listing::{self, LogStatus};
use trailwatch_core::digest::PublicKeys;
use trailwatch_core::limits;
use trailwatch_core::query::filter::parse_time;
use trailwatch_core::text::{json_safe, printable};

use crate::digests::{self, Found, Logs, Reading};
use crate::exit::Exit;
use crate::render::count;

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Directories (a synced bucket), files, or s3://bucket/prefix locations
    /// holding digest and log files.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// CloudTrail's public keys: the output of `aws cloudtrail list-public-keys`.
    /// Without it, signatures are not checked (chains and log hashes are).
    #[arg(long, value_name = "FILE")]
    public_keys: Option<PathBuf>,
    /// Only digests ending at or after this time (RFC 3339, a date, or 7d, 2h ago).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only digests starting before this time.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// text: one line per digest, gap and log file; json: one document.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
    format: ValidateFormat,
    /// Print only what is wrong (and the closing line).
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    Text,
    Json,
}

/// The verdict on one log file.
#[derive(Debug, Serialize)]
struct LogReport {
    file: String,
    status: LogStatus,
}

#[derive(Debug, Default, Serialize)]
struct Totals {
    digests: usize,
    digests_valid: usize,
    digests_failed: usize,
    digests_unverified: usize,
    gaps: usize,
    log_files: usize,
    log_files_valid: usize,
    log_files_failed: usize,
    unreadable: usize,
}

#[derive(Debug, Serialize)]
struct Output<'a> {
    digests: &'a [DigestReport],
    gaps: &'a [Gap],
    log_files: &'a [LogReport],
    unreadable_digests: &'a [String],
    totals: &'a Totals,
}

/// Every log file the given digests list, hashed and compared where the
/// digest lists it (reported by local path, or by S3 URI when the digest
/// places it nowhere), then every other log file: unexpected copies of
/// listed files and files no digest lists.
fn check_logs(digests: &[FoundDigest], logs: &Logs) -> Vec<LogReport> {
    let listed = listing::listed_logs(digests);
    let mut reports: Vec<LogReport> =
        listed.iter().map(|l| LogReport { file: l.shown().to_string(), status: LogStatus::Deleted }).collect();
    let placed: Vec<(usize, &str)> =
        listed.iter().enumerate().filter_map(|(n, l)| Some((n, l.location.as_deref()?))).collect();
    let locations: Vec<&str> = placed.iter().map(|(_, at)| *at).collect();
    logs.read_each(&locations, &mut |i, reading| {
        let n = placed[i].0;
        reports[n].status = match reading {
            Reading::Missing => LogStatus::Deleted,
            Reading::Failed(e) => LogStatus::Unreadable(e),
            Reading::Body(body) => match trailwatch_core::digest::log_file_sha256(body) {
                Ok(hash) if hash.eq_ignore_ascii_case(&listed[n].hash) => LogStatus::Valid,
                Ok(_) => LogStatus::Modified,
                Err(e) => LogStatus::Unreadable(e.to_string()),
            },
        };
    });
    let mut paths: Vec<&str> = logs.present.iter().map(String::as_str).collect();
    paths.sort_unstable();
    paths.dedup();
    for (path, status) in listing::unlisted(&paths, &listed, digests) {
        reports.push(LogReport { file: path.to_string(), status });
    }
    reports
}

/// For `trailwatch summary`: how many digests vouch for log files, and the
/// paths of the log files whose hash one of them records. A digest that
/// fails a check (chain, move; signature when keys are given) vouches for
/// nothing.
pub fn vouched(found: &Found, keys: Option<&PublicKeys>) -> (u64, BTreeSet<String>) {
    let (reports, _) = chain::check(&found.digests, keys);
    let good: Vec<FoundDigest> = found
        .digests
        .iter()
        .filter(|d| reports.iter().any(|r| r.location == d.location && !r.is_failure()))
        .cloned()
        .collect();
    let verified =
        check_logs(&good, &found.logs).into_iter().filter(|l| l.status == LogStatus::Valid).map(|l| l.file).collect();
    (good.len() as u64, verified)
}

pub fn run(args: &ValidateArgs) -> anyhow::Result<Exit> {
    let now = OffsetDateTime::now_utc();
    let since = args.since.as_deref().map(|t| parse_time(t, now)).transpose()?;
    let until = args.until.as_deref().map(|t| parse_time(t, now)).transpose()?;
    let keys = match &args.public_keys {
        Some(path) => {
            let bytes = limits::read_regular(path, limits::MAX_PUBLIC_KEYS_BYTES)
                .with_context(|| format!("--public-keys {}", path.display()))?;
            Some(PublicKeys::from_list_json(&bytes).with_context(|| format!("{}", path.display()))?)
        }
        None => None,
    };
    let Found { digests: found, unreadable: unreadable_digests, logs, problems } =
        digests::find(&args.paths, since, until)?;
    for problem in &problems {
        eprintln!("error: {}", printable(problem, 1000));
    }
    if found.is_empty() && unreadable_digests.is_empty() {
        bail!("no CloudTrail digest files (*_CloudTrail-Digest_*.json.gz) in the given range under the paths given");
    }

    let (digests, gaps) = chain::check(&found, keys.as_ref());
    let log_reports = check_logs(&found, &logs);

    let mut totals =
        Totals { digests: digests.len(), gaps: gaps.len(), log_files: log_reports.len(), ..Totals::default() };
    for d in &digests {
        match (d.problems.is_empty(), d.is_failure()) {
            (true, _) => totals.digests_valid += 1,
            (false, true) => totals.digests_failed += 1,
            (false, false) => totals.digests_unverified += 1,
        }
    }
    for l in &log_reports {
        match l.status {
            LogStatus::Valid => totals.log_files_valid += 1,
            LogStatus::Unreadable(_) => totals.unreadable += 1,
            _ => totals.log_files_failed += 1,
        }
    }
    totals.digests_failed += unreadable_digests.len();

    match args.format {
        ValidateFormat::Json => {
            let output = Output {
                digests: &digests,
                gaps: &gaps,
                log_files: &log_reports,
                unreadable_digests: &unreadable_digests,
                totals: &totals,
            };
            writeln!(std::io::stdout().lock(), "{}", json_safe(&serde_json::to_string_pretty(&output)?))?;
        }
        ValidateFormat::Text => {
            let mut out = std::io::stdout().lock();
            print_text(&mut out, args.quiet, &digests, &gaps, &log_reports, &unreadable_digests, &totals)?
        }
    }
    let tampered = totals.digests_failed > 0 || totals.log_files_failed > 0 || totals.gaps > 0;
    Ok(if tampered { Exit::Tampered } else { Exit::problems(totals.unreadable as u64 + problems.len() as u64) })
}

fn print_text(
    out: &mut impl Write,
    quiet: bool,
    digests: &[DigestReport],
    gaps: &[Gap],
    logs: &[LogReport],
    unreadable: &[String],
    totals: &Totals,
) -> std::io::Result<()> {
    let show = |s: &str| printable(s, 500).into_owned();
    for d in digests {
        if quiet && !d.is_failure() {
            continue;
        }
        let detail: Vec<String> = d
            .problems
            .iter()
            .filter_map(|p| match p {
                chain::DigestProblem::BrokenChain(why) | chain::DigestProblem::Moved(why) => Some(show(why)),
                chain::DigestProblem::UnknownKey(fp) => Some(format!("no public key with fingerprint {}", show(fp))),
                chain::DigestProblem::MalformedSignature(why) => Some(show(why)),
                _ => None,
            })
            .collect();
        let detail = if detail.is_empty() { String::new() } else { format!("  ({})", detail.join("; ")) };
        writeln!(
            out,
            "digest  {:<22} {}  {} to {}, {}{detail}",
            d.status(),
            show(&d.location),
            show(&d.digest_start_time),
            show(&d.digest_end_time),
            count(d.log_files as u64, "log file", "log files")
        )?;
    }
    for e in unreadable {
        writeln!(out, "digest  {:<22} {}", "invalid format", show(e))?;
    }
    for g in gaps {
        let why = if g.restarted { "the chain starts again: logging or validation was off" } else { "no digest" };
        writeln!(out, "gap     {} to {}  {}: {why}", show(&g.from), show(&g.to), show(&g.chain))?;
    }
    for l in logs {
        if quiet && l.status == LogStatus::Valid {
            continue;
        }
        let detail = match &l.status {
            LogStatus::Unreadable(e) => format!("  ({})", show(e)),
            _ => String::new(),
        };
        writeln!(out, "log     {:<22} {}{detail}", l.status.as_str(), show(&l.file))?;
    }
    eprintln!(
        "{}: {} valid, {} failed, {} not verified; {}; {}: {} valid, {} failed, {} unreadable.",
        count(totals.digests as u64, "digest", "digests"),
        totals.digests_valid,
        totals.digests_failed,
        totals.digests_unverified,
        count(totals.gaps as u64, "gap", "gaps"),
        count(totals.log_files as u64, "log file", "log files"),
        totals.log_files_valid,
        totals.log_files_failed,
        totals.unreadable
    );
    Ok(())
}
