//! Shell completions and man pages come from the clap definitions: every
//! subcommand and option is in them.

use crate::common::{text, trailwatch};

#[test]
fn given_each_shell_when_completions_are_asked_then_the_script_names_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        // WHEN asked for the shell's script
        let out = trailwatch(&["completions", shell]);
        // THEN it is printed, with the subcommands and their options
        let script = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        for word in ["scan", "query", "summary", "tune", "validate", "rules", "pattern", "min-severity", "report"] {
            assert!(script.contains(word), "{shell}: no {word} in the script");
        }
    }
    let out = trailwatch(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(1), "an unknown shell is a usage error");
}

#[test]
fn given_a_directory_when_man_pages_are_written_then_there_is_one_per_subcommand() {
    let dir = std::env::temp_dir().join(format!("trailwatch-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // WHEN the pages are written
    let out = trailwatch(&["man", &dir.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // THEN the main page and each subcommand's are roff, with their options
    for (page, option) in [
        ("trailwatch.1", "completions"),
        ("trailwatch-scan.1", "min\\-severity"),
        ("trailwatch-query.1", "report"),
        ("trailwatch-rules-list.1", "json"),
        ("trailwatch-pattern-check.1", "PATTERN"),
    ] {
        let roff = std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(roff.starts_with(".ie") || roff.contains(".TH"), "{page} is not a man page");
        assert!(roff.contains(option), "{page} does not mention {option}");
    }
    assert!(!dir.join("trailwatch-man.1").exists(), "the hidden man subcommand has no page");
    std::fs::remove_dir_all(&dir).unwrap();
}
