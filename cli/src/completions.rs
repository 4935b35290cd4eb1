//! `trailwatch completions SHELL` and `trailwatch man DIR`: shell
//! completions and man pages, generated from the clap definitions so that
//! they never drift from the options the command takes.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::exit::Exit;
use crate::Cli;

/// Prints the completion script for `shell` on stdout.
pub fn completions(shell: Shell) -> anyhow::Result<Exit> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "trailwatch", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(Exit::Done)
}

/// Writes `trailwatch.1` and one page per subcommand (`trailwatch-scan.1`,
/// `trailwatch-rules-list.1`, ...) into `dir`.
pub fn man(dir: &Path) -> anyhow::Result<Exit> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut command = Cli::command();
    command.build();
    let mut pages = 0;
    write_pages(dir, &command, "trailwatch", &mut pages)?;
    writeln!(std::io::stderr(), "{pages} man pages in {}", dir.display())?;
    Ok(Exit::Done)
}

fn write_pages(dir: &Path, command: &clap::Command, name: &str, pages: &mut usize) -> anyhow::Result<()> {
    if command.is_hide_set() {
        return Ok(());
    }
    let mut page = Vec::new();
    // Built, a subcommand's display name is `trailwatch-scan`: the page's title.
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
    *pages += 1;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(dir, sub, &format!("{name}-{}", sub.get_name()), pages)?;
    }
    Ok(())
}
