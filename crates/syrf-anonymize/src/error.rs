//! The one error type of a run, with its exit code.

use crate::summary::Summary;

/// Exit codes, documented in `--help` and README.
pub mod exit {
    /// The dump was rewritten.
    pub const SUCCESS: i32 = 0;
    /// Output I/O error (cannot create or write the output) or another unexpected error.
    pub const FAILURE: i32 = 1;
    /// Bad usage (flags, an input path that is missing or not a file), a bad rules file, no key.
    pub const USAGE: i32 = 2;
    /// The input is not a valid dump (empty, truncated, corrupt, unsupported).
    pub const BAD_INPUT: i32 = 3;
    /// `--strict`: a rule, collection or field never matched.
    pub const STRICT: i32 = 4;
    /// `verify`: a value a rule covered in the original was found in the anonymized output.
    pub const LEAK: i32 = 5;
    /// The output's reader went away (broken pipe), as for a process killed by SIGPIPE.
    pub const BROKEN_PIPE: i32 = 141;
}

/// A run that did not succeed. Messages name byte offsets, collections, tables and lines, never
/// a value from the dump, nor the key.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad usage, or rules that do not fit the dump (e.g. a field rule on a timeseries
    /// collection).
    #[error("{0}")]
    Usage(String),
    /// The input could not be opened: empty, unreadable, of no known format.
    #[error(transparent)]
    Open(#[from] crate::open::OpenError),
    /// The input is not a valid dump.
    #[error("{0}")]
    BadInput(String),
    /// Writing the output failed.
    #[error("{0}")]
    Output(String),
    /// The output's reader closed it before the end (e.g. `| head`).
    #[error("the output was closed by its reader (broken pipe); the output is incomplete")]
    BrokenPipe,
    /// `--strict`, and something in the rules never matched. The output was marked as failed
    /// (see [`crate::anonymize`]); the summary is complete.
    #[error("--strict: {}", .0.strict_problems())]
    Strict(Box<Summary>),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Open(e) if !e.is_bad_input() => exit::FAILURE,
            Error::Open(_) | Error::BadInput(_) => exit::BAD_INPUT,
            Error::Output(_) => exit::FAILURE,
            Error::BrokenPipe => exit::BROKEN_PIPE,
            Error::Strict(_) => exit::STRICT,
        }
    }

    /// A short fixed name of this error's kind, for metrics labels and the audit log:
    /// `usage`, `empty_input`, `unknown_format`, `bad_input`, `output`, `broken_pipe` or
    /// `strict` (never a message, so never a value).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Usage(_) => "usage",
            Error::Open(e) => e.kind(),
            Error::BadInput(_) => "bad_input",
            Error::Output(_) => "output",
            Error::BrokenPipe => "broken_pipe",
            Error::Strict(_) => "strict",
        }
    }
}
