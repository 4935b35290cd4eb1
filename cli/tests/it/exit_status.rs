//! The exit statuses README.md documents, in one table, are the ones every
//! subcommand returns: each example in the table is run, and a usage error
//! of every subcommand ends as the table says.

use crate::common::{repo, text, trailwatch};

/// The rows of the README's exit-status table: (status, example arguments).
fn documented() -> Vec<(i32, Vec<String>)> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let table = readme.split("<!-- exit statuses -->").nth(1).expect("README.md marks its exit-status table");
    table
        .lines()
        .skip(3)
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            let cells: Vec<&str> = row.split(" | ").collect();
            let status = cells[0].trim_start_matches("| ").parse().unwrap();
            let example = cells.last().unwrap().split('`').nth(1).expect("each row has an example in backticks");
            let args = example.strip_prefix("trailwatch ").unwrap().split_whitespace().map(String::from).collect();
            (status, args)
        })
        .collect()
}

#[test]
fn given_each_documented_exit_status_when_its_example_runs_then_it_exits_with_that_status() {
    let rows = documented();
    let statuses: Vec<i32> = rows.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [0, 1, 3, 4], "the table lists every status the code returns (cli/src/exit.rs)");
    for (status, args) in rows {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = trailwatch(&args);
        assert_eq!(out.status.code(), Some(status), "trailwatch {}\n{}", args.join(" "), text(&out.stderr));
    }
}

#[test]
fn given_a_usage_error_in_any_subcommand_when_run_then_it_exits_1_with_the_usage() {
    let commands: &[&[&str]] = &[
        &[],
        &["scan", "events/cloudtrail"],
        &["query", "events/cloudtrail"],
        &["summary", "events/cloudtrail"],
        &["tune", "events/cloudtrail"],
        &["validate", "events/digest/chain"],
        &["rules", "list"],
        &["rules", "test"],
        &["pattern", "check", "{ $.a = 1 }"],
        &["completions", "bash"],
    ];
    for command in commands {
        let args: Vec<&str> = command.iter().copied().chain(["--no-such-option"]).collect();
        let out = trailwatch(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}\n{stderr}");
        assert!(stderr.contains("Usage: trailwatch"), "{args:?}\n{stderr}");
    }
}

#[test]
fn given_help_or_version_when_asked_then_it_prints_to_stdout_and_exits_0() {
    for args in [&["--help"][..], &["--version"], &["scan", "--help"]] {
        let out = trailwatch(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
}
