//! `trailwatch`: run trailwatch's detection engine on local CloudTrail files.
//!
//! # Layout
//!
//! - `scan`: scan files and directories, print findings.
//! - `query`: filter records, show columns, run named reports.
//! - `rules`: list the rules in force, run their examples.
//! - `pattern`: check a filter pattern and try it on files.
//! - `summary`: the periodic report from local files.
//! - `validate`: log file integrity from digest files.
//! - `digests`: the digest and log files validate reads, local or in S3.
//! - `completions`: shell completions and man pages from these definitions.
//! - `exit`: the exit statuses, one table for every subcommand.
//! - `first_seen`: `query --report first-seen`, what was new and why.
//! - `inputs`: finding log files under the paths given.
//! - `source`: the log files to read, local or in S3, opened in order.
//! - `bucket` (feature `s3`): listing and reading a bucket by its key layout.
//! - `listing`: what a bucket's listing found and did; an opened file's types.
//! - `render`: human-readable output of findings and problems.
//! - `output`: query rows as a table, CSV or JSON lines.
//! - `progress`: the progress line on a terminal.
//! - `profiles`: first-seen profiles over the files read, saved and loaded.

#[cfg(feature = "s3")]
mod bucket;
mod completions;
mod convert;
mod digests;
mod exit;
mod first_seen;
mod inputs;
mod listing;
mod output;
mod pattern;
mod profiles;
mod progress;
mod query;
mod render;
mod rules;
mod scan;
mod source;
mod summary;
mod tune;
mod validate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use trailwatch_core::{RuleSet, Severity};

use crate::exit::Exit;

/// Watch AWS CloudTrail for dangerous activity.
///
/// trailwatch matches every CloudTrail record against rules written in the
/// CloudWatch Logs filter-pattern language: the CIS AWS Foundations
/// monitoring set (Security Hub CloudWatch.1-14), further built-in
/// detections, and your own rules. This command runs the same engine as the
/// Lambda functions on local log files (.json or .json.gz).
#[derive(Parser, Debug)]
#[command(name = "trailwatch", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Scan CloudTrail log files and print findings.
    ///
    /// Exit status: 0 when every file was read completely (with or without
    /// findings), 3 when some file or record could not be read (each problem
    /// is printed on stderr with the file, byte offset and record index; the
    /// rest is still scanned), 1 when nothing could be scanned (bad options
    /// or rules, no such path).
    Scan(ScanArgs),
    /// Ask questions of CloudTrail files: filter records, pick columns, run
    /// named reports.
    ///
    /// Filters of different kinds are ANDed; a repeated filter is ORed
    /// (--event ConsoleLogin --event SwitchRole). Text filters ignore ASCII
    /// case and take * and ? anywhere; --where patterns keep CloudWatch Logs'
    /// exact semantics. Files whose CloudTrail names put them outside
    /// --since/--until (allowing an hour of late delivery), --account or
    /// --region are not opened.
    #[command(after_long_help = query::help())]
    Query(Box<query::QueryArgs>),
    /// The periodic summary report from local log files: the same report, and
    /// the same numbers, as the summary Lambda sends for the same files.
    ///
    /// The window is the full period of --window (UTC-aligned) that ends
    /// before --at; without --at, the one holding the latest file (by the
    /// delivery time in CloudTrail file names). Files outside it are left out.
    Summary(SummaryArgs),
    /// Tune before alerting: per rule, how many alerts it would send per day
    /// over these logs (with the detection function's dedup window), the top
    /// principals, user agents and source IPs behind them, and a proposed
    /// suppression (rule-file TOML) for each rule dominated by one workload
    /// role. Use it on a week of logs before turning a rule on, or on a rule
    /// with `dry_run = true`.
    Tune(tune::TuneArgs),
    /// Verify CloudTrail log file integrity on local copies (a synced bucket):
    /// digest signatures and chains, hours without a digest, and every log
    /// file's hash.
    ///
    /// Prints per digest: valid, invalid signature, broken chain, missing,
    /// moved, unknown key, or not verifiable (the newest digest of a copy,
    /// whose signature only its S3 metadata holds: save it next to the file
    /// as NAME.json.gz.signature). Per log file: valid, modified, deleted,
    /// not listed in any digest, or unexpected copy. Each listed log file is
    /// looked for only at the digest's trail root plus its key (AWSLogs/...),
    /// as `aws s3 sync` lays out a bucket; a file of the same name anywhere
    /// else never stands for it.
    ///
    /// Exit status: 0 when everything checked is intact; 4 when something was
    /// changed, deleted, added or is missing (including gaps between
    /// digests); 3 when some log file could not be read; 1 on bad options or
    /// when no digest file is found.
    ///
    #[command(
        after_long_help = "Example:\n  aws cloudtrail list-public-keys --region us-east-1 > keys.json\n  trailwatch validate copy/ --public-keys keys.json"
    )]
    Validate(validate::ValidateArgs),
    /// List the rules in force or run their examples.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Work with a single filter pattern.
    #[command(subcommand)]
    Pattern(PatternCommand),
    /// Print the completion script for a shell.
    ///
    /// Example: trailwatch completions bash > ~/.local/share/bash-completion/completions/trailwatch
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (trailwatch.1 and one per subcommand) into DIR
    /// (`make man` writes them into target/man).
    #[command(hide = true)]
    Man {
        /// Where to write them.
        dir: PathBuf,
    },
}

/// How Sigma rule files load.
#[derive(Args, Debug, Default, Clone)]
pub struct SigmaArgs {
    /// Also load Sigma rules of status `experimental` (by default only
    /// `stable` and `test` ones, and those without a status, load).
    #[arg(long = "sigma-experimental")]
    sigma_experimental: bool,
    /// Placeholder map for Sigma's `|expand` (`%name%` in values): a YAML
    /// file of `name: [values]`, or a pySigma pipeline whose `vars:` it
    /// reads. Without it, rules that use `|expand` do not load.
    #[arg(long = "sigma-placeholders", value_name = "FILE")]
    sigma_placeholders: Option<PathBuf>,
}

impl SigmaArgs {
    pub fn options(&self) -> anyhow::Result<trailwatch_core::sigma::SigmaOptions> {
        let mut options = if self.sigma_experimental {
            trailwatch_core::sigma::SigmaOptions::with_experimental()
        } else {
            trailwatch_core::sigma::SigmaOptions::default()
        };
        if let Some(path) = &self.sigma_placeholders {
            options.placeholders = read_placeholders(path)?;
        }
        Ok(options)
    }
}

/// A placeholder map file for Sigma's `|expand`.
pub fn read_placeholders(path: &Path) -> anyhow::Result<trailwatch_core::sigma::expand::Placeholders> {
    let text = trailwatch_core::rule::files::read_text(path)?;
    Ok(trailwatch_core::sigma::placeholders(&text, &path.display().to_string())?)
}

#[derive(Args, Debug)]
pub struct RuleArgs {
    /// Extra rule file (TOML, or Sigma .yml/.yaml), or a directory of them.
    /// Repeatable. Rule files add rules, disable built-in ones and add
    /// suppressions.
    #[arg(long = "rules", value_name = "FILE|DIR")]
    rules: Vec<PathBuf>,
    #[command(flatten)]
    sigma: SigmaArgs,
    /// Accounts that are not "outside" for the facts ($.facts.*): sharing
    /// with them or trusting them does not alert. Comma-separated 12-digit
    /// ids; repeatable; adds to the rule files' `trusted_accounts`.
    #[arg(long = "trusted-accounts", value_name = "IDS")]
    trusted_accounts: Vec<String>,
}

impl RuleArgs {
    /// The built-in catalogue plus the given files.
    pub fn load(&self) -> anyhow::Result<RuleSet> {
        let mut set = RuleSet::builtin()?;
        let options = self.sigma.options()?;
        for path in &self.rules {
            set.merge(RuleSet::load_with(path, &options)?)?;
        }
        for note in set.notes() {
            eprintln!("note: {}", trailwatch_core::text::printable(note, 2000));
        }
        for list in &self.trusted_accounts {
            set.trust(&trailwatch_core::facts::Trusted::parse_list(list)?);
        }
        set.check_references()?;
        Ok(set)
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Readable text.
    Text,
    /// One JSON object per finding, one per line.
    Jsonl,
}

#[derive(Args, Debug)]
struct ScanArgs {
    /// Log files (.json, .json.gz), directories to search recursively, or
    /// s3://bucket/prefix (every log file under it, read straight from S3).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    rules: RuleArgs,
    /// Only report findings of this severity or higher.
    #[arg(long, value_name = "SEVERITY", default_value = "info", value_parser = parse_severity)]
    min_severity: Severity,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// After the findings, print statistics of what was scanned (to stderr
    /// with --format jsonl).
    #[arg(long)]
    stats: bool,
    /// No progress line on stderr.
    #[arg(long, short)]
    quiet: bool,
    /// Profiles for the first-seen rules: loaded from this file when it
    /// exists, saved to it at the end (a later run continues from them; the
    /// detection function imports it).
    #[arg(long, value_name = "FILE")]
    profiles: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct SummaryArgs {
    /// Log files (.json, .json.gz), directories to search recursively, or
    /// s3://bucket/prefix (only the window's days are listed; without --at,
    /// the last whole window before now).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    rules: RuleArgs,
    /// Only count findings of this severity or higher.
    #[arg(long, value_name = "SEVERITY", default_value = "low", value_parser = parse_severity)]
    min_severity: Severity,
    /// The window's length: whole hours dividing a day (1h ... 12h) or days.
    #[arg(long, default_value = "24h")]
    window: String,
    /// Report the window ending before this time (RFC 3339, as a scheduled
    /// event's `time`), e.g. 2026-11-21T00:05:00Z.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Name account/regions that delivered no log file for longer than this.
    #[arg(long, default_value = "1h")]
    gap: String,
    /// The previous window's summary (from --format json), to show what is new.
    #[arg(long, value_name = "FILE")]
    previous: Option<PathBuf>,
    /// First-seen profiles to judge the window's files against (saved by
    /// `trailwatch scan --profiles`): the report then names the window's new
    /// principals, regions and networks. The file is read, not changed.
    #[arg(long, value_name = "FILE")]
    profiles: Option<PathBuf>,
    /// text: the report as e-mailed; json: the aggregate and coverage.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    format: SummaryFormat,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum SummaryFormat {
    /// The report as e-mailed.
    Text,
    /// The merged statistics and coverage, as the Lambda stores them.
    Json,
}

#[derive(Subcommand, Debug)]
enum RulesCommand {
    /// List every rule (built-in and from --rules) and every suppression.
    List {
        #[command(flatten)]
        rules: RuleArgs,
        /// Print the rules as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the EventBridge event pattern of the rules that alert in real
    /// time (JSON on stdout); the alerting rules that stay on the file lane
    /// are named on stderr, never widened into the pattern.
    EventbridgePattern {
        #[command(flatten)]
        rules: RuleArgs,
        /// Rules below this severity do not run (the template's MinSeverity).
        #[arg(long, value_parser = parse_severity, default_value = "low")]
        min_severity: Severity,
    },
    /// Run every rule's examples (built-in and from the given files) and
    /// report the ones that do not behave as written.
    Test {
        /// Rule files or directories to test along with the built-in rules.
        #[arg(value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        sigma: SigmaArgs,
    },
    /// Print the native (TOML, filter-pattern) equivalent of each rule of a
    /// Sigma file, when an exact one exists; say why not on stderr otherwise.
    Convert {
        /// A Sigma rule file (.yml, .yaml).
        #[arg(value_name = "FILE")]
        path: PathBuf,
        /// Placeholder map for `|expand` (as for every command).
        #[arg(long = "sigma-placeholders", value_name = "FILE")]
        sigma_placeholders: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum PatternCommand {
    /// Check a filter pattern; with files, print the events it matches.
    ///
    /// Example: trailwatch pattern check '{ $.eventName = ConsoleLogin }' events/cloudtrail
    Check {
        /// A CloudWatch Logs JSON filter pattern, in single quotes.
        pattern: String,
        /// Log files or directories to try it on.
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse().map_err(|e: trailwatch_core::Error| e.to_string())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print to stdout and succeed; a usage error
        // is a bad option like any other (README.md, "Exit status").
        Err(e) => {
            let code = if e.use_stderr() { Exit::Failed } else { Exit::Done };
            // Nothing more can be said if stdout or stderr is gone.
            let _ = e.print();
            return code.into();
        }
    };
    let result = match cli.command {
        Command::Scan(args) => scan::run(&args),
        Command::Query(args) => query::run(&args),
        Command::Summary(args) => summary::run(&args),
        Command::Tune(args) => tune::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Rules(RulesCommand::List { rules, json }) => rules::list(&rules, json),
        Command::Rules(RulesCommand::Test { paths, sigma }) => rules::test(&paths, sigma),
        Command::Rules(RulesCommand::Convert { path, sigma_placeholders }) => {
            convert::convert(&path, sigma_placeholders.as_deref())
        }
        Command::Rules(RulesCommand::EventbridgePattern { rules, min_severity }) => {
            rules::eventbridge_pattern(&rules, min_severity)
        }
        Command::Pattern(PatternCommand::Check { pattern, paths }) => pattern::check(&pattern, &paths),
        Command::Completions { shell } => completions::completions(shell),
        Command::Man { dir } => completions::man(&dir),
    };
    match result {
        Ok(exit) => exit.into(),
        // The reader of our output left (`| head`): nothing more to say.
        Err(e) if is_broken_pipe(&e) => Exit::Done.into(),
        Err(e) => {
            eprintln!("trailwatch: {e:#}");
            Exit::Failed.into()
        }
    }
}

/// True when writing the output failed because its reader closed the pipe.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>().is_some_and(|e| e.io_error_kind() == Some(BrokenPipe))
            || c.downcast_ref::<csv::Error>()
                .is_some_and(|e| matches!(e.kind(), csv::ErrorKind::Io(e) if e.kind() == BrokenPipe))
    })
}
