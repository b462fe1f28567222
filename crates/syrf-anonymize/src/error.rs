//! The one error type of a run ([`Error`]), with its exit code and kind. The format crates'
//! errors are carried as they are (typed, with their offsets, tables and lines), never as
//! strings; this module imports the formats' names (`format_base`), the opening error
//! (`open_error`) and the summary, none of which import it.

use std::io;
use std::path::PathBuf;

use anonymize_core::RulesError;
use mongo_archive::{ArchiveError, ErrorKind as ArchiveErrorKind};
use sql_dump::{PgArchiveError, SqlError};

use crate::format_base::Format;
use crate::open_error::OpenError;
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

/// Which pass over the dump failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pass {
    /// The rewrite itself.
    Rewrite,
    /// The read before the rewrite that plans a subset (rules with `size_limits`,
    /// `schema_only` or `references:`); the rewrite still ran, without the subset.
    Subset,
}

impl Pass {
    fn note(self) -> &'static str {
        match self {
            Pass::Rewrite => "",
            Pass::Subset => " (reading it for a subset)",
        }
    }
}

/// A run that did not succeed. Messages name byte offsets, collections, tables and lines, never
/// a value from the dump, nor the key.
///
/// The format crates' errors are carried typed: match on [`Error::Archive`], [`Error::Sql`],
/// [`Error::PgArchive`] or [`Error::Rules`], or walk [`std::error::Error::source`] and
/// `downcast_ref` to [`ArchiveError`], [`SqlError`], [`PgArchiveError`] or [`RulesError`].
/// [`Error::offset`], [`Error::table`] and [`Error::line`] say where, when the format crate
/// knows it. The `Display` text is the command's message (it includes the source's message).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad usage (the command's flags, `verify` given two formats, ...).
    #[error("{0}")]
    Usage(String),
    /// The rules file does not parse or does not validate: file, line and column.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// The rules file could not be read.
    #[error("cannot read the rules file {}: {source}", .path.display())]
    RulesFile {
        /// The file.
        path: PathBuf,
        /// The reader's error.
        #[source]
        source: io::Error,
    },
    /// The input could not be opened: empty, unreadable, of no known format.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A mongodump archive (or a mongodump directory, read as one) could not be read or
    /// rewritten, or the rules do not fit it (rules on a timeseries collection).
    #[error(
        "mongodump archive{}: {source}{}",
        .pass.note(),
        gzip_note(*.gzip_input, archive_class(.source))
    )]
    Archive {
        /// The pass that failed.
        pass: Pass,
        /// The input was gzip: offsets count its decompressed bytes.
        gzip_input: bool,
        /// mongo-archive's error: `offset`, `namespace` and `kind`.
        #[source]
        source: ArchiveError,
    },
    /// A MySQL/MariaDB or PostgreSQL plain dump could not be read or rewritten, or the rules
    /// do not fit it.
    #[error(
        "{} dump{}: {source}{}",
        .format.name(),
        .pass.note(),
        gzip_note(*.gzip_input, sql_class(.source))
    )]
    Sql {
        /// [`Format::MySql`] or [`Format::Postgres`].
        format: Format,
        /// The pass that failed.
        pass: Pass,
        /// The input was gzip: offsets count its decompressed bytes.
        gzip_input: bool,
        /// sql-dump's error: line, byte offset and table where it has them.
        #[source]
        source: SqlError,
    },
    /// A pg_dump custom, tar or directory archive could not be read or rewritten, or the rules
    /// do not fit it.
    #[error("{source}{}", gzip_note(*.gzip_input, pg_archive_class(.source)))]
    PgArchive {
        /// The input was gzip: offsets count its decompressed bytes.
        gzip_input: bool,
        /// sql-dump's error: the archive's byte offset or the entry, and the entry's SQL error.
        #[source]
        source: PgArchiveError,
    },
    /// A forced SQL format (`Options::format`) on an input whose first bytes match no format,
    /// where not one statement could be attributed to a table: not a dump of that format.
    #[error(
        "--format {}: no statement of the input could be attributed to a table (no CREATE \
         TABLE, INSERT or COPY was read), so it is not a {} dump this tool can anonymize{}",
        .format.name(), .format.name(), gzip_note(*.gzip_input, Class::BadInput)
    )]
    NothingAttributed {
        /// The forced format.
        format: Format,
        /// The input was gzip.
        gzip_input: bool,
    },
    /// The dump, read once for a subset's plan, could not be read again for the rewrite.
    #[error(
        "cannot read the {}: {source}{}",
        if *.spooled { "spooled input" } else { "input again" },
        gzip_note(*.gzip_input, Class::BadInput)
    )]
    Reread {
        /// It was the temporary copy of a piped input.
        spooled: bool,
        /// The input was gzip.
        gzip_input: bool,
        /// The reader's error.
        #[source]
        source: io::Error,
    },
    /// A piped input could not be spooled to a temporary file for a subset's two passes.
    #[error("cannot spool the input to a temporary file in {}: {source}", .dir.display())]
    Spool {
        /// The temporary directory (`$TMPDIR`).
        dir: PathBuf,
        /// The writer's error.
        #[source]
        source: io::Error,
    },
    /// The rules remove rows or documents others may reference, which needs the dump read
    /// twice; the input is a pipe and [`crate::Options::no_spool`] forbids spooling it.
    #[error(
        "the rules remove rows or documents (size_limits, schema_only) that others may \
         reference, which needs the dump read before it is rewritten; the input is a pipe and --no-spool forbids \
         spooling it to a temporary file: give the input as a file (--input PATH)"
    )]
    NoSpool,
    /// The rules remove rows of a pg_dump archive, whose foreign keys are not followed yet.
    #[error(
        "the rules remove rows (size_limits, where, schema_only) that other tables may \
         reference; keeping foreign keys valid is not supported for pg_dump custom, tar or \
         directory archives yet: convert with `pg_restore -f - DUMP`, anonymize the plain SQL, \
         and restore it with psql"
    )]
    PgArchiveSubset,
    /// Writing (or finishing) the output failed.
    #[error("cannot write the output: {0}")]
    Write(#[source] io::Error),
    /// The output failed (`kind`) and the rewrite then failed reading (`source`); the output is
    /// incomplete.
    #[error("writing the output failed ({kind:?}); the output is incomplete: {source}")]
    OutputFailed {
        /// How the output failed.
        kind: io::ErrorKind,
        /// The rewrite's error that followed.
        #[source]
        source: Box<Error>,
    },
    /// The input is not a valid dump (the subcommands' messages).
    #[error("{0}")]
    BadInput(String),
    /// Creating or writing the output failed (the command's messages).
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

/// A rewrite's archive error (not gzip; [`Pass::Rewrite`]), for `?` on mongo-archive's calls.
impl From<ArchiveError> for Error {
    fn from(source: ArchiveError) -> Error {
        Error::Archive {
            pass: Pass::Rewrite,
            gzip_input: false,
            source,
        }
    }
}

/// A pg_dump archive's error (not gzip), for `?` on sql-dump's archive calls.
impl From<PgArchiveError> for Error {
    fn from(source: PgArchiveError) -> Error {
        Error::PgArchive {
            gzip_input: false,
            source,
        }
    }
}

/// What an error is, for its exit code and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Usage,
    BadInput,
    Output,
}

fn gzip_note(gzip_input: bool, class: Class) -> &'static str {
    if gzip_input && class == Class::BadInput {
        " (byte offsets count the decompressed bytes of the gzip input)"
    } else {
        ""
    }
}

fn archive_class(e: &ArchiveError) -> Class {
    match e.kind {
        ArchiveErrorKind::Write(_) => Class::Output,
        ArchiveErrorKind::TimeseriesRules => Class::Usage,
        _ => Class::BadInput,
    }
}

fn sql_class(e: &SqlError) -> Class {
    match e {
        SqlError::Write { .. } => Class::Output,
        SqlError::Rules { .. } => Class::Usage,
        _ => Class::BadInput,
    }
}

fn pg_archive_class(e: &PgArchiveError) -> Class {
    match e {
        PgArchiveError::Write { .. } => Class::Output,
        PgArchiveError::Sql { source, .. } => sql_class(source),
        _ => Class::BadInput,
    }
}

impl Error {
    /// Usage, bad input or output; `None` for the kinds with codes of their own.
    fn class(&self) -> Option<Class> {
        Some(match self {
            Error::Usage(_)
            | Error::Rules(_)
            | Error::RulesFile { .. }
            | Error::NoSpool
            | Error::PgArchiveSubset => Class::Usage,
            Error::Open(e) if !e.is_bad_input() => Class::Output,
            Error::Open(_)
            | Error::BadInput(_)
            | Error::NothingAttributed { .. }
            | Error::Reread { .. } => Class::BadInput,
            Error::Archive { source, .. } => archive_class(source),
            Error::Sql { source, .. } => sql_class(source),
            Error::PgArchive { source, .. } => pg_archive_class(source),
            Error::Spool { .. }
            | Error::Write(_)
            | Error::OutputFailed { .. }
            | Error::Output(_) => Class::Output,
            Error::BrokenPipe | Error::Strict(_) => return None,
        })
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match (self, self.class()) {
            (_, Some(Class::Usage)) => exit::USAGE,
            (_, Some(Class::BadInput)) => exit::BAD_INPUT,
            (_, Some(Class::Output)) => exit::FAILURE,
            (Error::BrokenPipe, None) => exit::BROKEN_PIPE,
            (_, None) => exit::STRICT,
        }
    }

    /// A short fixed name of this error's kind, for metrics labels and the audit log:
    /// `usage`, `empty_input`, `unknown_format`, `bad_input`, `output`, `broken_pipe` or
    /// `strict` (never a message, so never a value).
    pub fn kind(&self) -> &'static str {
        match (self, self.class()) {
            (Error::Open(e), _) => e.kind(),
            (_, Some(Class::Usage)) => "usage",
            (_, Some(Class::BadInput)) => "bad_input",
            (_, Some(Class::Output)) => "output",
            (Error::BrokenPipe, None) => "broken_pipe",
            (_, None) => "strict",
        }
    }

    /// Whether the output itself failed (or went away): then the output is not marked as
    /// failed, as nothing more can be written to it.
    pub(crate) fn is_output_failure(&self) -> bool {
        matches!(self, Error::BrokenPipe) || self.class() == Some(Class::Output)
    }

    /// Whether the dump is at fault (exit code 3).
    pub(crate) fn is_bad_input(&self) -> bool {
        self.class() == Some(Class::BadInput)
    }

    /// The same error, saying that the input was gzip where offsets are given.
    pub(crate) fn with_gzip_input(mut self, gzip: bool) -> Error {
        match &mut self {
            Error::Archive { gzip_input, .. }
            | Error::Sql { gzip_input, .. }
            | Error::PgArchive { gzip_input, .. }
            | Error::NothingAttributed { gzip_input, .. }
            | Error::Reread { gzip_input, .. } => *gzip_input = gzip,
            _ => {}
        }
        self
    }

    /// The byte offset in the (decompressed) input where the error is, when the format crate
    /// knows it: an archive's [`ArchiveError::offset`], a SQL dump's [`SqlError::offset`], a
    /// pg_dump archive's [`PgArchiveError::offset`].
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::Archive { source, .. } => Some(source.offset),
            Error::Sql { source, .. } => source.offset(),
            Error::PgArchive { source, .. } => source.offset(),
            Error::OutputFailed { source, .. } => source.offset(),
            _ => None,
        }
    }

    /// The collection (`db.collection`) or table the error is about, when known.
    pub fn table(&self) -> Option<&str> {
        match self {
            Error::Archive { source, .. } => source.namespace.as_deref(),
            Error::Sql { source, .. } => source.table(),
            Error::PgArchive { source, .. } => source.sql().and_then(SqlError::table),
            Error::OutputFailed { source, .. } => source.table(),
            _ => None,
        }
    }

    /// The 1-based line: of a SQL dump, of a pg_dump archive entry's SQL text, or of the
    /// rules file.
    pub fn line(&self) -> Option<u64> {
        match self {
            Error::Sql { source, .. } => source.line(),
            Error::PgArchive { source, .. } => source.sql().and_then(SqlError::line),
            Error::Rules(e) => Some(e.line as u64),
            Error::OutputFailed { source, .. } => source.line(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(source: SqlError, gzip_input: bool) -> Error {
        Error::Sql {
            format: Format::Postgres,
            pass: Pass::Subset,
            gzip_input,
            source,
        }
    }

    fn archive(kind: ArchiveErrorKind) -> Error {
        Error::Archive {
            pass: Pass::Rewrite,
            gzip_input: true,
            source: ArchiveError {
                offset: 7,
                namespace: Some("db.people".into()),
                kind,
            },
        }
    }

    #[test]
    fn exit_codes_and_kinds_follow_the_carried_error() {
        let rules = sql(
            SqlError::Rules {
                table: "public.t".into(),
                message: "a rule on a partition key".into(),
            },
            true,
        );
        assert_eq!((rules.exit_code(), rules.kind()), (exit::USAGE, "usage"));
        // The gzip note is for errors that name input offsets, not for rules that do not fit.
        assert_eq!(
            rules.to_string(),
            "postgres dump (reading it for a subset): table public.t: a rule on a partition key"
        );
        let write = sql(
            SqlError::Write {
                source: io::Error::other("disk full"),
            },
            false,
        );
        assert_eq!((write.exit_code(), write.kind()), (exit::FAILURE, "output"));
        assert!(write.is_output_failure());
        let syntax = sql(
            SqlError::Syntax {
                line: 4,
                offset: 90,
                table: None,
                message: "x".into(),
            },
            true,
        );
        assert_eq!(syntax.exit_code(), exit::BAD_INPUT);
        assert!(syntax
            .to_string()
            .ends_with("x (byte offsets count the decompressed bytes of the gzip input)"));
        let timeseries = archive(ArchiveErrorKind::TimeseriesRules);
        assert_eq!(timeseries.exit_code(), exit::USAGE);
        assert!(!timeseries.to_string().contains("gzip"));
        let written = archive(ArchiveErrorKind::Write(io::Error::other("gone")));
        assert_eq!(written.exit_code(), exit::FAILURE);
        let truncated = archive(ArchiveErrorKind::Truncated { what: "a document" });
        assert_eq!(
            (truncated.exit_code(), truncated.kind()),
            (exit::BAD_INPUT, "bad_input")
        );
        assert_eq!(
            (truncated.offset(), truncated.table()),
            (Some(7), Some("db.people"))
        );
        let wrapped = Error::OutputFailed {
            kind: io::ErrorKind::StorageFull,
            source: Box::new(truncated),
        };
        assert_eq!(
            (wrapped.exit_code(), wrapped.offset()),
            (exit::FAILURE, Some(7))
        );
        assert_eq!(Error::NoSpool.exit_code(), exit::USAGE);
        assert_eq!(Error::PgArchiveSubset.exit_code(), exit::USAGE);
        assert_eq!(Error::BrokenPipe.exit_code(), exit::BROKEN_PIPE);
    }
}
