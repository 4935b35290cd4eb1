//! The exit statuses of every subcommand: one table, the one README.md
//! shows under "Exit status" (a test runs its examples).
//!
//! | status | meaning |
//! | --- | --- |
//! | 0 | done: every input read completely (findings or not), or the reader of the output left (`\| head`) |
//! | 1 | nothing could be done: bad options or usage, a missing path, a bad rule file; `rules test`: an example failed |
//! | 3 | some file or record could not be read (each problem printed on stderr); the rest was processed |
//! | 4 | `validate`: a log file or digest was changed, deleted, added or is missing |

use std::process::ExitCode;

/// Why a subcommand ended, as its exit status.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Every input read completely; findings or not.
    Done,
    /// Nothing could be done (bad options or usage, missing path, bad rule
    /// file), or `rules test` found an example that fails.
    Failed,
    /// Some input could not be read; the rest was processed.
    Problems,
    /// `validate`: an integrity check failed.
    Tampered,
}

impl Exit {
    /// The status the process exits with.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Done => 0,
            Exit::Failed => 1,
            Exit::Problems => 3,
            Exit::Tampered => 4,
        }
    }

    /// [`Exit::Problems`] when `problems` is above zero, else [`Exit::Done`].
    pub fn problems(problems: u64) -> Exit {
        if problems > 0 {
            Exit::Problems
        } else {
            Exit::Done
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}
