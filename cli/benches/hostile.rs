//! Peak memory of `trailwatch` on crafted large-value files: what holds
//! rows or findings must hold cut values, so memory stays flat however
//! large the values are.
//!
//! `cargo bench -p trailwatch --bench hostile` (part of `make bench`):
//! writes (once, under target/bench-data/) a log file of 2,000 root calls,
//! each with a 100 KB user agent and 100 KB of request parameters, then runs
//! the release binary on it, each run in a fresh child whose peak RSS
//! (`getrusage`, `ru_maxrss`) is reported:
//!
//! - `query --sort time` of columns holding the large values (CSV): every
//!   row is held for sorting, each value cut at 2 KiB;
//! - `scan` text output: every finding is held to print the most severe
//!   first, each field cut at 2 KiB.
//!
//! Then, on generated ordinary logs of 50,000 and 500,000 records (the
//! synthetic generator, half of the records matching some rule), the
//! commands that read every record with every finding printed (`scan
//! --format jsonl` of every severity, `tune`, `summary`, `query`, `pattern
//! check`): memory must not grow with the number of matches. What grows
//! with distinct values is capped (threshold tallies: 10,000 keys, distinct
//! values as hashes up to twice the count, one budget of 1,000 sample
//! events; see `shared/core/src/tally.rs`).

use std::path::PathBuf;
use std::process::{Command, Stdio};

const RECORDS: usize = 2_000;
const VALUE_BYTES: usize = 100_000;

fn data_file() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench data dir");
    let path = dir.join(format!("123456789012_CloudTrail_us-east-1_20261120T0910Z_Large{RECORDS}x{VALUE_BYTES}.json"));
    if !path.exists() {
        let big = "A".repeat(VALUE_BYTES);
        let mut text = String::from(r#"{"Records":["#);
        for i in 0..RECORDS {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&format!(
                r#"{{"eventVersion":"1.09","userIdentity":{{"type":"Root","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012"}},"eventTime":"2026-11-20T09:{:02}:{:02}Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.45","userAgent":"{big}","requestParameters":{{"p":"{big}"}},"eventID":"e{i}","eventType":"AwsApiCall","recipientAccountId":"123456789012"}}"#,
                i / 60 % 60,
                i % 60
            ));
        }
        text.push_str("]}");
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).expect("write bench file");
        std::fs::rename(&tmp, &path).expect("rename bench file");
    }
    path
}

/// A generated log file of `records` ordinary records (gzip), written once.
fn generated_file(records: usize) -> PathBuf {
    use std::io::Write;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench data dir");
    let path = dir.join(format!("123456789012_CloudTrail_us-east-1_20261120T0910Z_Generated{records}.json.gz"));
    if !path.exists() {
        let tmp = path.with_extension("tmp");
        let file = std::fs::File::create(&tmp).expect("bench file");
        let mut gz = flate2::write::GzEncoder::new(std::io::BufWriter::new(file), flate2::Compression::fast());
        let mut generator = trailwatch_core::synth::Generator::new(20261120);
        gz.write_all(br#"{"Records":["#).expect("write");
        for i in 0..records {
            if i > 0 {
                gz.write_all(b",").expect("write");
            }
            serde_json::to_writer(&mut gz, &generator.record()).expect("write");
        }
        gz.write_all(b"]}").expect("write");
        gz.finish().expect("gzip").flush().expect("flush");
        std::fs::rename(&tmp, &path).expect("rename bench file");
    }
    path
}

/// Child: runs the command, prints its peak RSS in KiB (ru_maxrss of the
/// only child this process waits for).
fn child(args: &[String]) {
    let status = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("trailwatch runs");
    assert!(status.success(), "trailwatch {args:?}: {status}");
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    println!("{}", usage.ru_maxrss);
}

fn peak_rss_kib(args: &[&str]) -> u64 {
    let out = Command::new(std::env::current_exe().expect("bench binary"))
        .arg("--child")
        .args(args)
        .output()
        .expect("child runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("peak RSS")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1..]);
        return;
    }
    let path = data_file();
    let file = path.to_str().expect("UTF-8 path");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "trailwatch on large values ({RECORDS} records, {VALUE_BYTES}-byte user agents and request parameters, {:.0} MB)",
        size as f64 / 1e6
    );
    println!();
    println!("| command | peak RSS | held without cuts (values alone) |");
    println!("|---|---:|---:|");
    let runs: [(&str, Vec<&str>, usize); 2] = [
        (
            "query --sort time --columns time,user_agent,request --format csv",
            vec!["query", file, "--sort", "time", "--columns", "time,user_agent,request", "--format", "csv", "-q"],
            2 * VALUE_BYTES,
        ),
        ("scan (text output)", vec!["scan", file, "--quiet"], 2 * VALUE_BYTES),
    ];
    for (name, args, per_record) in runs {
        let kib = peak_rss_kib(&args);
        println!(
            "| `{name}` | {:.1} MiB | {:.0} MiB |",
            kib as f64 / 1024.0,
            (RECORDS * per_record) as f64 / (1 << 20) as f64
        );
    }

    println!();
    println!("Every command on generated logs (about half the records match some rule), every finding printed");
    println!();
    println!("| command | 50,000 records | 500,000 records |");
    println!("|---|---:|---:|");
    let files = [generated_file(50_000), generated_file(500_000)];
    let commands: [(&str, &[&str]); 5] = [
        ("scan --format jsonl", &["scan", "--format", "jsonl", "--quiet"]),
        ("tune", &["tune"]),
        ("summary", &["summary"]),
        ("query --format jsonl", &["query", "--format", "jsonl", "--quiet"]),
        ("pattern check", &["pattern", "check", r#"{ $.eventName = "Get*" }"#]),
    ];
    for (name, args) in commands {
        let rss: Vec<String> = files
            .iter()
            .map(|path| {
                let mut args = args.to_vec();
                args.push(path.to_str().expect("UTF-8 path"));
                format!("{:.1} MiB", peak_rss_kib(&args) as f64 / 1024.0)
            })
            .collect();
        println!("| `{name}` | {} | {} |", rss[0], rss[1]);
    }
}
