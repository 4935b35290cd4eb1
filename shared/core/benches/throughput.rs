//! End-to-end throughput and peak memory, against the gunzip floor.
//!
//! `cargo bench -p trailwatch-core --bench throughput` (or `make bench`):
//! generates seeded CloudTrail files of ~50k and ~500k records (cached under
//! target/bench-data), then, each in a fresh single-threaded child process so
//! that peak memory is the scan's own:
//!
//! - gunzip only: decompress the file, discard the bytes (the floor);
//! - end to end: decompress, stream records, run the whole built-in catalogue,
//!   group the findings into alerts as the detection function does (a
//!   finding is built when an alert shows it) and keep statistics, on one
//!   thread and on two (reading on a second thread, as the CLI and the
//!   Lambda do with two cores);
//! - the same with SigmaHQ's CloudTrail rules added, and both again building
//!   every finding (as `trailwatch scan` does to print each);
//!
//! A scan's time is the file's: loading and compiling the rules, done once
//! per process (a CLI run, a Lambda cold start), is timed apart.
//! - a plain Python `json` scan of the same file (gzip, `json.load`, count
//!   records by event name), the baseline a script would be;
//! - query (filter, two threads like the scan it is compared with): `trailwatch query --event ConsoleLogin --ip 10.0.0.0/8`
//!   with the default columns, every row rendered;
//! - query (report): `trailwatch query --report active-users`, which groups
//!   every record by day and principal.
//!
//! Then time pruning: how many of a week of five-minute log files (by name)
//! a one-day `--since/--until` query opens.
//!
//! It prints MB/s of uncompressed JSON, records/s, the ratio to the floor and
//! peak RSS (VmHWM). Each figure is the best of five runs (three for Python),
//! taken in rounds so that the floor and the scans meet the same machine.

use std::fs::File;
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use flate2::read::MultiGzDecoder;
use trailwatch_core::alert::AlertLimits;
use trailwatch_core::engine::EngineOptions;
use trailwatch_core::grouped::Grouped;
use trailwatch_core::query::report::{Groups, Shape};
use trailwatch_core::query::{column, Column, Filters, Query, QuerySink, Report, Row};
use trailwatch_core::reader::LogReader;
use trailwatch_core::synth::Generator;
use trailwatch_core::{Engine, Error, RuleSet, ScanSink};

const SEED: u64 = 20261120;
/// The Python baseline: what a short script reading the file would do.
const PYTHON_SCAN: &str = r#"
import gzip, json, sys, time
start = time.perf_counter()
with gzip.open(sys.argv[1], "rb") as f:
    data = f.read()
names = {}
for record in json.loads(data)["Records"]:
    name = record.get("eventName")
    names[name] = names.get(name, 0) + 1
print(time.perf_counter() - start, len(data), sum(names.values()), len(names), 0, 0)
"#;
const SIZES: [usize; 2] = [50_000, 500_000];
/// Runs per figure (the best is kept): shared machines are noisy.
const RUNS: usize = 5;
/// The Python baseline is slow and steady; three runs suffice.
const PYTHON_RUNS: usize = 3;

/// Builds every finding, as `trailwatch scan` does to print each.
struct Built {
    findings: u64,
    problems: u64,
}

impl ScanSink for Built {
    fn finding(&mut self, hit: trailwatch_core::Hit<'_>) {
        std::hint::black_box(hit.finding());
        self.findings += 1;
    }
    fn problem(&mut self, _: Error) {
        self.problems += 1;
    }
}

/// Counts rows, renders their columns, or folds them into groups.
struct Rows {
    columns: Vec<Column>,
    groups: Option<Groups>,
    rows: u64,
    problems: u64,
}

impl QuerySink for Rows {
    fn row(&mut self, row: &Row<'_>) -> std::ops::ControlFlow<()> {
        self.rows += 1;
        match &mut self.groups {
            Some(groups) => groups.add(row).expect("groups under the cap"),
            None => {
                std::hint::black_box(row.owned(&self.columns));
            }
        }
        std::ops::ControlFlow::Continue(())
    }
    fn problem(&mut self, _: Error) {
        self.problems += 1;
    }
}

fn query_file(path: &Path, report: Option<Report>) -> (u64, u64) {
    let mut filters = Filters::default();
    let columns = match &report {
        Some(report) => {
            report.apply(&mut filters);
            report.columns()
        }
        None => {
            filters.events.push("ConsoleLogin".into());
            filters.ips.push("10.0.0.0/8".into());
            column::DEFAULT.to_vec()
        }
    };
    let query = Query::new(&filters, &columns).expect("query");
    let groups = match report.as_ref().map(Report::shape) {
        Some(Shape::Groups(grouping)) => Some(Groups::new(grouping, 1_000_000)),
        _ => None,
    };
    let mut sink = Rows { columns: query.columns().to_vec(), groups, rows: 0, problems: 0 };
    let summary = query.scan("bench", File::open(path).expect("bench file"), &mut sink);
    assert_eq!(sink.problems, 0, "the generated file reads cleanly");
    let rows = sink.groups.map_or(sink.rows, |g| g.into_rows().len() as u64);
    (summary.records, rows)
}

/// A week of five-minute files in two regions; a one-day query. Returns
/// (files, files the query opens).
fn pruning() -> (usize, usize) {
    let since = time::macros::datetime!(2026-11-18 00:00 UTC);
    let filters = Filters { since: Some(since), until: Some(since + time::Duration::DAY), ..Filters::default() };
    let query = Query::new(&filters, &[]).expect("query");
    let mut names = Vec::new();
    for day in 15..22 {
        for minute in (0..24 * 60).step_by(5) {
            for region in ["us-east-1", "eu-west-1"] {
                names.push(format!(
                    "123456789012_CloudTrail_{region}_202611{day}T{:02}{:02}Z_AbCdEfGhIjKlMnOp.json.gz",
                    minute / 60,
                    minute % 60
                ));
            }
        }
    }
    let opened = names.iter().filter(|n| query.may_hold(n)).count();
    (names.len(), opened)
}

/// Peak resident set size of this process, in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// Child: one measurement, printed as `seconds bytes records findings rss_kib`.
fn child(mode: &str, path: &Path) {
    let mut start = Instant::now();
    // Compiling the rules happens once per process (a CLI run, a Lambda
    // cold start), not once per file: scans time the file alone.
    let mut setup = 0.0;
    let (bytes, records, findings) = match mode {
        "gunzip" => {
            let mut decoder = MultiGzDecoder::new(File::open(path).expect("bench file"));
            let mut buf = vec![0u8; 64 * 1024];
            let mut total = 0u64;
            loop {
                let n = decoder.read(&mut buf).expect("gunzip");
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
            (total, 0, 0)
        }
        "read" => {
            // Stage: gunzip + record splitting (+ UTF-8 check), no parsing.
            let mut reader = LogReader::new("bench", File::open(path).expect("bench file"));
            let mut records = 0;
            while let Some(next) = reader.next_record() {
                std::hint::black_box(next.expect("clean record").json.len());
                records += 1;
            }
            (0, records, 0)
        }
        "query-filter" => {
            let (records, rows) = query_file(path, None);
            (0, records, rows)
        }
        "query-report" => {
            let (records, rows) = query_file(path, Some(Report::ActiveUsers));
            (0, records, rows)
        }
        _ => {
            let threads = if mode == "scan-2" { 2 } else { 1 };
            let options = EngineOptions { threads, ..EngineOptions::default() };
            let mut rules = RuleSet::builtin().expect("catalogue");
            if mode.starts_with("scan-sigma") {
                rules.merge(sigma_rules()).expect("no id clashes");
            }
            let engine = Engine::new(&rules, options).expect("engine");
            setup = start.elapsed().as_secs_f64();
            start = Instant::now();
            let file = File::open(path).expect("bench file");
            let summary = if mode.ends_with("-built") {
                let mut sink = Built { findings: 0, problems: 0 };
                let summary = engine.scan("bench", file, &mut sink);
                assert_eq!((sink.problems, sink.findings), (0, summary.findings));
                summary
            } else {
                // What the detection function does with a file.
                let mut sink = Grouped::new(AlertLimits::default());
                let summary = engine.scan("bench", file, &mut sink);
                assert_eq!(sink.problem_count, 0, "the generated file reads cleanly");
                std::hint::black_box(&sink);
                summary
            };
            (0, summary.records, summary.findings)
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    println!("{seconds} {bytes} {records} {findings} {} {setup}", peak_rss_kib());
}

/// SigmaHQ's 57 CloudTrail rules (vendored), every status.
fn sigma_rules() -> RuleSet {
    // SIGMA_DIR measures another directory of Sigma rules instead.
    let dir = std::env::var("SIGMA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules/sigma"));
    RuleSet::load_with(&dir, &trailwatch_core::sigma::SigmaOptions::with_experimental()).expect("Sigma rules")
}

fn data_file(records: usize) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench data dir");
    let path = dir.join(format!("cloudtrail-{records}-{SEED}.json.gz"));
    if !path.exists() {
        eprintln!("generating {} ...", path.display());
        let tmp = path.with_extension("tmp");
        let file = BufWriter::new(File::create(&tmp).expect("create bench file"));
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::new(6));
        Generator::new(SEED).write_log(records, &mut gz).expect("write bench file");
        gz.finish().expect("finish gzip");
        std::fs::rename(&tmp, &path).expect("rename bench file");
    }
    path
}

#[derive(Clone)]
struct Run {
    /// The file's scan (rules compiled before, see `setup`).
    seconds: f64,
    /// Loading and compiling the rules (scans only).
    setup: f64,
    bytes: u64,
    records: u64,
    findings: u64,
    rss_kib: u64,
}

/// Best of [`RUNS`] runs of each mode, taken in rounds (every mode once per
/// round), so that a slow spell of a shared machine hits the floor and the
/// scans alike instead of skewing their ratio.
fn measure(modes: &[&str], path: &Path) -> Vec<Run> {
    let mut best: Vec<Option<Run>> = modes.iter().map(|_| None).collect();
    for _ in 0..RUNS {
        for (mode, best) in modes.iter().zip(best.iter_mut()) {
            let run = run_once(mode, path).expect("child run");
            if best.as_ref().is_none_or(|b| run.seconds < b.seconds) {
                *best = Some(run);
            }
        }
    }
    best.into_iter().map(|b| b.expect("runs")).collect()
}

/// The Python baseline, best of [`PYTHON_RUNS`], if `python3` is on the PATH.
fn measure_python(path: &Path) -> Option<Run> {
    (0..PYTHON_RUNS)
        .map(|_| run_once("python", path))
        .collect::<Option<Vec<Run>>>()?
        .into_iter()
        .min_by(|a, b| a.seconds.total_cmp(&b.seconds))
}

fn run_once(mode: &str, path: &Path) -> Option<Run> {
    let mut command = if mode == "python" {
        let mut c = Command::new("python3");
        c.args(["-c", PYTHON_SCAN]);
        c
    } else {
        let mut c = Command::new(std::env::current_exe().expect("bench binary"));
        c.args(["--child", mode]);
        c
    };
    let out = command.arg(path).output().ok().filter(|out| out.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<f64> = text.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    (f.len() == 6).then(|| Run {
        seconds: f[0],
        bytes: f[1] as u64,
        records: f[2] as u64,
        findings: f[3] as u64,
        rss_kib: f[4] as u64,
        setup: f[5],
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1], Path::new(&args[i + 2]));
        return;
    }
    let rules = RuleSet::builtin().expect("catalogue").active_rules().count();
    println!(
        "trailwatch throughput ({rules} built-in rules, statistics on, best of {RUNS}, Python best of {PYTHON_RUNS})"
    );
    println!();
    println!(
        "| records | uncompressed MB | gunzip floor MB/s | gunzip + record split MB/s | end-to-end MB/s, 1 thread | ratio to floor | end-to-end MB/s, 2 threads | ratio to floor | Python json MB/s | 1 thread / Python | records/s, 2 threads | findings | peak RSS gunzip | peak RSS 1 thread | peak RSS 2 threads |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut queries = Vec::new();
    let mut sigma = Vec::new();
    for records in SIZES {
        let path = data_file(records);
        let modes = ["gunzip", "read", "scan", "scan-2", "scan-sigma", "scan-built", "scan-sigma-built"];
        let [floor, read, scan, scan2, with_sigma, built, sigma_built] =
            <[Run; 7]>::try_from(measure(&modes, &path)).ok().expect("seven figures");
        assert_eq!(with_sigma.records as usize, records);
        assert_eq!((built.findings, sigma_built.findings), (scan.findings, with_sigma.findings));
        sigma.push((records, floor.bytes as f64 / 1e6, scan.clone(), with_sigma, built, sigma_built));
        let python = measure_python(&path);
        assert_eq!(scan.records as usize, records);
        assert_eq!((scan2.records, scan2.findings), (scan.records, scan.findings));
        let mb = floor.bytes as f64 / 1e6;
        let floor_rate = mb / floor.seconds;
        let scan_rate = mb / scan.seconds;
        let scan2_rate = mb / scan2.seconds;
        let (python_rate, to_python) = match &python {
            Some(run) => (format!("{:.0}", mb / run.seconds), format!("{:.1}x", run.seconds / scan.seconds)),
            None => ("n/a (no python3)".into(), "n/a".into()),
        };
        println!(
            "| {records} | {mb:.1} | {floor_rate:.0} | {:.0} | {scan_rate:.0} | {:.2} | {scan2_rate:.0} | {:.2} | {python_rate} | {to_python} | {:.0} | {} | {:.1} MiB | {:.1} MiB | {:.1} MiB |",
            mb / read.seconds,
            scan_rate / floor_rate,
            scan2_rate / floor_rate,
            scan2.records as f64 / scan2.seconds,
            scan.findings,
            floor.rss_kib as f64 / 1024.0,
            scan.rss_kib as f64 / 1024.0,
            scan2.rss_kib as f64 / 1024.0,
        );
        for (mode, run) in
            ["query-filter", "query-report"].into_iter().zip(measure(&["query-filter", "query-report"], &path))
        {
            assert_eq!(run.records as usize, records);
            queries.push((
                records,
                mode,
                mb / run.seconds,
                run.records as f64 / run.seconds,
                floor_rate,
                scan2_rate,
                run,
            ));
        }
    }
    println!();
    println!("| records | query | MB/s | records/s | ratio to floor | ratio to scan | rows | peak RSS |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for (records, mode, rate, per_second, floor_rate, scan_rate, run) in queries {
        println!(
            "| {records} | {mode} | {rate:.0} | {per_second:.0} | {:.2} | {:.2} | {} | {:.1} MiB |",
            rate / floor_rate,
            rate / scan_rate,
            run.findings,
            run.rss_kib as f64 / 1024.0
        );
    }
    println!();
    let count = sigma_rules().all_rules().len();
    println!("Sigma: the built-in rules alone, and with SigmaHQ's {count} CloudTrail rules added (1 thread): findings grouped");
    println!(
        "into alerts as the detection function does, and every finding built as `trailwatch scan` does to print each."
    );
    println!();
    println!("| records | built-in MB/s | built-in + Sigma MB/s | slower by | every finding built: slower by | findings built-in | findings with Sigma | peak RSS with Sigma | rules compiled, built-in | with Sigma |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (records, mb, scan, run, built, sigma_built) in sigma {
        println!(
            "| {records} | {:.0} | {:.0} | {:.1} % | {:.1} % | {} | {} | {:.1} MiB | {:.1} ms | {:.1} ms |",
            mb / scan.seconds,
            mb / run.seconds,
            (run.seconds / scan.seconds - 1.0) * 100.0,
            (sigma_built.seconds / built.seconds - 1.0) * 100.0,
            scan.findings,
            run.findings,
            run.rss_kib as f64 / 1024.0,
            scan.setup * 1000.0,
            run.setup * 1000.0,
        );
    }
    let (files, opened) = pruning();
    println!();
    println!(
        "Time pruning: a one-day query over a week of five-minute files in two regions opens {opened} of {files} files ({} skipped by name).",
        files - opened
    );
}
