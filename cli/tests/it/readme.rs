//! README.md is true: each block marked `<!-- output of: trailwatch ARGS -->`
//! is the whole output of that command (stdout, then stderr), each block
//! marked `<!-- stderr of: trailwatch ARGS -->` its whole stderr, line for
//! line; `<varies>` in a shown line stands for any text (a value that changes
//! from run to run). And every repository path it names in backticks exists.

use crate::common::{readme_samples, repo, text, trailwatch};

/// In a README sample line, stands for any text.
const VARIES: &str = "<varies>";

/// Whether `line` is what the README shows as `want`.
fn line_matches(want: &str, line: &str) -> bool {
    let mut parts = want.split(VARIES);
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = line.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

#[test]
fn given_a_placeholder_when_lines_are_compared_then_it_stands_for_any_text_and_nothing_else_does() {
    for (want, line, same) in [
        ("Scanned 6 files", "Scanned 6 files", true),
        ("Scanned 6 files", "Scanned 6 files, more", false),
        ("Scanned 6 files", "Scanned 7 files", false),
        ("took <varies> s", "took 1.25 s", true),
        ("took <varies> s", "took 1.25 ms", false),
        ("<varies>", "", true),
        ("a <varies> b <varies> c", "a 1 b 2 c", true),
        ("a <varies> b <varies> c", "a 1 c", false),
    ] {
        assert_eq!(line_matches(want, line), same, "{want:?} vs {line:?}");
    }
}

#[test]
fn readme_sample_outputs_are_the_whole_output_of_their_commands() {
    let samples = readme_samples();
    let commands: Vec<_> = samples
        .iter()
        .filter_map(|(marker, block)| {
            let (stderr_only, args) = match marker.strip_prefix("stderr of: trailwatch ") {
                Some(args) => (true, args),
                None => (false, marker.strip_prefix("of: trailwatch ")?),
            };
            Some((stderr_only, args, block))
        })
        .collect();
    assert!(commands.len() >= 2, "the README's samples are marked: {samples:?}");
    for (stderr_only, args, block) in commands {
        let args: Vec<&str> = args.split_whitespace().collect();
        let out = trailwatch(&args);
        let printed =
            if stderr_only { text(&out.stderr) } else { format!("{}{}", text(&out.stdout), text(&out.stderr)) };
        let (want, got): (Vec<&str>, Vec<&str>) = (block.lines().collect(), printed.lines().collect());
        let same = want.len() == got.len() && want.iter().zip(&got).all(|(w, g)| line_matches(w, g));
        assert!(same, "README.md shows for `trailwatch {}`:\n{block}\n\nIt printed:\n{printed}", args.join(" "));
    }
}

#[test]
fn every_repository_path_the_readme_names_exists() {
    let root = repo();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    // Paths are told apart from other code spans by their first component:
    // an entry at the top of the repository (`cli/...`, `events/...`, `Makefile`).
    let top: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "target" && !name.starts_with('.'))
        .collect();
    let mut checked = 0;
    let mut missing = Vec::new();
    for span in readme.split('`').skip(1).step_by(2) {
        let first = span.split('/').next().unwrap_or_default();
        if span.contains(char::is_whitespace) || !top.iter().any(|t| t == first) {
            continue;
        }
        checked += 1;
        if !root.join(span).exists() {
            missing.push(span);
        }
    }
    assert!(checked >= 20, "the README names paths in backticks ({checked} found)");
    assert!(missing.is_empty(), "README.md names paths that do not exist: {missing:?}");
}

/// A command line as a shell splits it, for the README's examples: words,
/// and single-quoted text taken as is.
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    for (i, piece) in line.split('\'').enumerate() {
        if i % 2 == 1 {
            words.push(piece.to_string());
        } else {
            words.extend(piece.split_whitespace().map(String::from));
        }
    }
    words
}

#[test]
fn given_the_readme_query_examples_when_run_on_the_samples_today_then_each_finds_rows() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let examples: Vec<&str> = readme.lines().filter(|l| l.starts_with("trailwatch query events/")).collect();
    assert!(examples.len() >= 5, "{examples:?}");
    for example in examples {
        // What the shell would hand the command: before any pipe or redirection.
        let command = example.split(" | ").next().unwrap().split(" > ").next().unwrap();
        let words = shell_words(command.strip_prefix("trailwatch ").unwrap());
        let args: Vec<&str> = words.iter().map(String::as_str).chain(["--quiet"]).collect();
        let out = trailwatch(&args);
        let stdout = text(&out.stdout);
        // Tables and CSV open with a header line; JSON lines do not.
        let header = usize::from(!words.iter().any(|w| w == "jsonl"));
        let rows = stdout.lines().count().saturating_sub(header);
        assert_eq!(out.status.code(), Some(0), "{example}\n{}", text(&out.stderr));
        assert!(rows > 0, "`{example}` finds nothing on the samples:\n{stdout}");
    }
}
