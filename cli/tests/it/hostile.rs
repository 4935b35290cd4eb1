//! Hostile input costs nothing: extreme and random arguments end with a
//! message or a bounded result, never a panic (exit 101), and every
//! subcommand leaves quietly when the reader of its output goes away.

use std::process::{Command, Stdio};

use proptest::prelude::*;

use crate::common::{repo, text, trailwatch};

/// The exit status Rust gives a panic.
const PANIC: i32 = 101;

fn assert_no_panic(args: &[String]) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = trailwatch(&args);
    let stderr = text(&out.stderr);
    assert!(out.status.code().is_some(), "{args:?}: killed by a signal\n{stderr}");
    assert_ne!(out.status.code(), Some(PANIC), "{args:?}: panicked\n{stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: panicked\n{stderr}");
}

/// Each command line fails with one of `codes` and says what is wrong.
fn assert_each_fails(cases: &[(&[&str], &str)], codes: &[i32]) {
    for (args, want) in cases {
        let out = trailwatch(args);
        let stderr = text(&out.stderr);
        assert!(out.status.code().is_some_and(|c| codes.contains(&c)), "{args:?}: {:?}\n{stderr}", out.status.code());
        assert!(stderr.contains(want), "{args:?}: want {want:?} in\n{stderr}");
    }
}

#[test]
fn given_extreme_times_and_windows_when_parsed_then_each_is_refused_with_a_message() {
    let cases: &[(&[&str], &str)] = &[
        (&["query", "events/cloudtrail", "--since", "99999999999999d"], "before the earliest time"),
        (&["query", "events/cloudtrail", "--until", "18446744073709551615s"], "before the earliest time"),
        (&["validate", "events/digest/chain", "--since", "99999999999999d"], "before the earliest time"),
        (&["summary", "events/cloudtrail", "--window", "99999999999999h"], "reaches past the year 9999"),
        (&["tune", "events/cloudtrail", "--dedup-window", "999999999999999999"], "not in 0..="),
        (&["tune", "events/cloudtrail", "--days", "NaN"], "not a number of days"),
        (&["tune", "events/cloudtrail", "--dominant", "inf"], "not a share"),
    ];
    assert_each_fails(cases, &[1]);
}

/// A value as a hostile user would type it: numbers and durations at the
/// edges, dates, words, filter-pattern fragments, any printable text.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,22}(s|m|h|d|w|y|ms|days)?",
        "-?[0-9]{1,20}(\\.[0-9]{1,4})?(e[0-9]{1,3})?",
        "-?[0-9]{1,6}-[0-9]{1,2}-[0-9]{1,2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2}))?",
        prop::sample::select(vec!["NaN", "inf", "-inf", "-time", "time", "", "0", "-0", "csv", "jsonl", "json"])
            .prop_map(str::to_string),
        "[{}$.=*?a-zA-Z0-9 \"!<>&|()\\[\\],%-]{0,24}",
        "\\PC{0,16}",
    ]
}

/// The options each subcommand takes (`None`: a flag without value).
fn options(command: &str) -> &'static [&'static str] {
    match command {
        "scan" => &["--min-severity", "--format", "--stats", "--quiet", "--rules"],
        "query" => &[
            "--since",
            "--until",
            "--event",
            "--source",
            "--user",
            "--access-key",
            "--account",
            "--region",
            "--ip",
            "--resource",
            "--error",
            "--no-error",
            "--read-only",
            "--where",
            "--report",
            "--format",
            "--columns",
            "--limit",
            "--sort",
            "--no-prune",
            "--quiet",
        ],
        "summary" => &["--min-severity", "--window", "--at", "--gap", "--previous", "--format", "--rules"],
        "tune" => &["--dedup-window", "--days", "--dominant", "--min-findings", "--rules"],
        "validate" => &["--public-keys", "--since", "--until", "--format", "--quiet"],
        "rules list" => &["--json", "--rules"],
        _ => &[],
    }
}

const FLAGS: &[&str] = &["--stats", "--quiet", "--error", "--no-error", "--no-prune", "--json"];

fn command_line() -> impl Strategy<Value = Vec<String>> {
    let commands = vec!["scan", "query", "summary", "tune", "validate", "rules list", "rules test", "pattern check"];
    (prop::sample::select(commands), prop::collection::vec((any::<prop::sample::Index>(), value()), 0..6), value())
        .prop_map(|(command, picked, free)| {
            let mut args: Vec<String> = command.split(' ').map(str::to_string).collect();
            match command {
                "validate" => args.push("events/digest/chain".into()),
                "rules test" => args.push(free),
                "pattern check" => args.extend([free, "events/cloudtrail".into()]),
                "rules list" => {}
                _ => args.push("events/cloudtrail".into()),
            }
            let names = options(command);
            for (index, value) in picked.into_iter().filter(|_| !names.is_empty()) {
                let name = names[index.index(names.len())];
                args.push(if FLAGS.contains(&name) { name.to_string() } else { format!("{name}={value}") });
            }
            args
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    /// GIVEN any subcommand with random options WHEN it runs THEN it ends
    /// with an answer or a message, never a panic.
    #[test]
    fn no_argument_makes_any_subcommand_panic(args in command_line()) {
        assert_no_panic(&args);
    }
}

#[test]
fn given_a_reader_that_closed_when_any_subcommand_writes_then_it_exits_quietly_with_status_0() {
    let cases: &[&[&str]] = &[
        &["scan", "events/cloudtrail"],
        &["scan", "events/cloudtrail", "--format", "jsonl", "--stats"],
        &["query", "events/cloudtrail"],
        &["query", "events/cloudtrail", "--format", "jsonl"],
        &["query", "events/cloudtrail", "--format", "csv", "--sort", "time"],
        &["query", "events/cloudtrail", "--report", "root-activity"],
        &["summary", "events/cloudtrail"],
        &["summary", "events/cloudtrail", "--format", "json"],
        &["tune", "events/cloudtrail"],
        &["validate", "events/digest/chain"],
        &["validate", "events/digest/chain", "--format", "json"],
        &["rules", "list"],
        &["rules", "list", "--json"],
        &["rules", "test"],
        &["pattern", "check", "{ $.eventName = * }", "events/cloudtrail"],
        &["completions", "bash"],
    ];
    for args in cases {
        let mut child = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
            .args(*args)
            .current_dir(repo())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader leaves before the first line is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}\n{stderr}");
        assert!(!stderr.contains("Broken pipe") && !stderr.contains("panicked"), "{args:?}\n{stderr}");
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("trailwatch-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[cfg(unix)]
#[test]
fn given_fifos_devices_and_link_loops_when_read_then_each_is_refused_with_a_message() {
    let dir = temp_dir("special");
    let fifo = dir.join("fifo.json");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let fifo_toml = dir.join("rules.toml");
    assert!(Command::new("mkfifo").arg(&fifo_toml).status().unwrap().success());
    let looped = dir.join("loop.json");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    let (fifo, fifo_toml, looped) =
        (fifo.display().to_string(), fifo_toml.display().to_string(), looped.display().to_string());
    let cases: &[(&[&str], &str)] = &[
        (&["scan", &fifo], "a FIFO, not a regular file: refused"),
        (&["query", &fifo], "a FIFO, not a regular file: refused"),
        (&["scan", &looped], "symbolic links"),
        (&["scan", "/dev/zero"], "a device, not a regular file: refused"),
        (&["scan", "events/cloudtrail", "--rules", &fifo_toml], "a FIFO, not a regular file: refused"),
        (&["validate", "events/digest/chain", "--public-keys", "/dev/zero"], "a device, not a regular file"),
        (&["validate", "events/digest/chain", "--public-keys", &fifo], "a FIFO, not a regular file"),
        (&["summary", "events/cloudtrail", "--previous", "/dev/zero"], "a device, not a regular file"),
        (&["summary", "events/cloudtrail", "--previous", &fifo], "a FIFO, not a regular file"),
    ];
    assert_each_fails(cases, &[1]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn given_oversized_key_and_summary_files_when_read_then_they_are_refused_past_their_bound() {
    let dir = temp_dir("oversized");
    let big = dir.join("big.json");
    std::fs::write(&big, vec![b' '; (64 << 20) + 1]).unwrap();
    let big = big.display().to_string();
    let cases: &[(&[&str], &str)] = &[
        (&["validate", "events/digest/chain", "--public-keys", &big], "larger than 1 MiB: refused"),
        (&["summary", "events/cloudtrail", "--previous", &big], "larger than 64 MiB: refused"),
    ];
    assert_each_fails(cases, &[1]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn given_a_digest_that_inflates_past_its_bound_when_validated_then_it_is_an_invalid_digest() {
    use std::io::Write as _;
    let dir = temp_dir("bomb");
    let at = dir.join("AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/11/20");
    std::fs::create_dir_all(&at).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..65 {
        gz.write_all(&[b' '; 1 << 20]).unwrap();
    }
    let name = "123456789012_CloudTrail-Digest_us-east-1_trail_us-east-1_20261120T100000Z.json.gz";
    std::fs::write(at.join(name), gz.finish().unwrap()).unwrap();
    let out = trailwatch(&["validate", &dir.display().to_string()]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(4), "{all}");
    assert!(all.contains("invalid format") && all.contains("larger than 64 MiB: refused"), "{all}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn given_a_regex_too_large_once_compiled_when_checked_then_it_is_refused_at_its_position() {
    let out = trailwatch(&["pattern", "check", r"{ $.userAgent = %\w{1000}\w{1000}% }"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("column 18") && stderr.contains("larger than 1 MiB once compiled"), "{stderr}");
    let out = trailwatch(&["query", "events/cloudtrail", "--where", r"{ $.userAgent = %\w{1000}\w{1000}% }"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

/// A log file of `records` records, each with a `size`-byte user agent and
/// request parameter, all matching the root-activity rules.
fn large_values(dir: &std::path::Path, records: usize, size: usize) -> String {
    let big = "A".repeat(size);
    let record = format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"Root","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012"}},"eventTime":"2026-11-20T09:05:06Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.45","userAgent":"{big}","requestParameters":{{"p":"{big}"}},"eventID":"e","eventType":"AwsApiCall","recipientAccountId":"123456789012"}}"#
    );
    let records: Vec<&str> = std::iter::repeat_n(record.as_str(), records).collect();
    let path = dir.join("123456789012_CloudTrail_us-east-1_20261120T0910Z_LargeValues00001.json");
    std::fs::write(&path, format!(r#"{{"Records":[{}]}}"#, records.join(","))).unwrap();
    path.display().to_string()
}

#[test]
fn given_large_values_when_rows_are_sorted_then_each_held_value_is_cut_and_says_so() {
    let dir = temp_dir("large-values");
    let file = large_values(&dir, 3, 100_000);
    let out = trailwatch(&["query", &file, "--columns", "time,user_agent", "--sort", "time", "--format", "csv"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(stdout.matches("…(+97952 bytes)").count(), 3, "{}", &stdout[..200]);
    // Unsorted rows are not held: they print whole.
    let out = trailwatch(&["query", &file, "--columns", "time,user_agent", "--format", "csv"]);
    assert!(text(&out.stdout).lines().nth(1).is_some_and(|l| l.len() > 100_000));
    std::fs::remove_dir_all(&dir).unwrap();
}
