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
    for (args, want) in cases {
        let out = trailwatch(args);
        let stderr = text(&out.stderr);
        assert!(matches!(out.status.code(), Some(1 | 2)), "{args:?}: {:?}\n{stderr}", out.status.code());
        assert!(stderr.contains(want), "{args:?}: want {want:?} in\n{stderr}");
    }
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
