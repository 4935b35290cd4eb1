//! The sample outputs in README.md are what the commands print: each block
//! marked `<!-- output of: trailwatch ARGS -->` is run, and its lines must
//! appear in the command's output (stdout, then stderr), in order.

use crate::common::{readme_samples, text, trailwatch};

#[test]
fn readme_sample_outputs_are_what_the_commands_print() {
    let samples = readme_samples();
    let commands: Vec<_> = samples.iter().filter_map(|(m, b)| Some((m.strip_prefix(": trailwatch ")?, b))).collect();
    assert!(commands.len() >= 2, "the README's samples are marked: {samples:?}");
    for (args, block) in commands {
        let args: Vec<&str> = args.split_whitespace().collect();
        let out = trailwatch(&args);
        let printed = format!("{}{}", text(&out.stdout), text(&out.stderr));
        let mut rest = printed.lines();
        for want in block.lines() {
            assert!(
                rest.any(|line| line == want),
                "`trailwatch {}` does not print, in this order, the README line\n{want}\n\nIt printed:\n{printed}",
                args.join(" ")
            );
        }
    }
}
