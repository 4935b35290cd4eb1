//! Running the `trailwatch` binary from the repository root, for the CLI's
//! end-to-end tests.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn trailwatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailwatch")).args(args).current_dir(repo()).output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The README's sample outputs: each `<!-- output of... -->` or
/// `<!-- stderr of... -->` comment (from `of` on) with the text of the code
/// block right after it.
pub fn readme_samples() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut samples = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let marker = line.strip_prefix("<!-- output ").or_else(|| line.strip_prefix("<!-- stderr "));
        let Some(marker) = marker.filter(|m| m.starts_with("of")).and_then(|m| m.strip_suffix("-->")) else {
            continue;
        };
        let marker = if line.starts_with("<!-- stderr ") { format!("stderr {marker}") } else { marker.to_string() };
        let fence = lines.next().unwrap_or_default();
        assert!(fence.starts_with("```"), "a code block follows {line:?}");
        let block: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
        samples.push((marker.trim().to_string(), block.join("\n")));
    }
    samples
}
