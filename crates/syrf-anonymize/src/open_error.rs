//! Why a dump could not be opened ([`OpenError`]): below the opening step (`open`) and the run's
//! error (`error`), so that the run's error carries it without importing the opening step.

/// Why a dump could not be opened; `what` names it (`input`, `original`, ...). Messages name
/// the stream and the byte, never a value.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Reading failed.
    #[error("cannot read the {what}: {source}")]
    Read {
        /// The stream.
        what: &'static str,
        /// The reader's error.
        #[source]
        source: std::io::Error,
    },
    /// No byte at all.
    #[error("the {0} is empty (input byte 0: no bytes were read)")]
    Empty(&'static str),
    /// A gzip stream of nothing.
    #[error("the gzip {0} decompresses to nothing")]
    EmptyGzip(&'static str),
    /// The first bytes match no format.
    #[error(
        "cannot tell the {0}'s format: the first bytes are not a mongodump archive's magic nor \
         a MySQL/MariaDB or PostgreSQL dump's header or statements (input byte 0; a SQL dump \
         without its header can be read with --format mysql or --format postgres; a forced run \
         still fails when no statement can be attributed to a table)"
    )]
    UnknownFormat(&'static str),
    /// A format this tool does not read (pg_dump custom/tar, a lone `.bson` file, an XML
    /// dump): the advice says what to do instead.
    #[error("{0}")]
    Lookalike(String),
    /// A forced `--format` that the input's first bytes contradict.
    #[error("{0}")]
    Forced(String),
    /// A PostgreSQL archive whose table of contents or data could not be read (by `verify`
    /// and `scan`, which read a custom archive as its SQL text).
    #[error("the {what} is a pg_dump archive that cannot be read: {source}")]
    Archive {
        /// The stream.
        what: &'static str,
        /// sql-dump's error: names the byte offset or the entry, never a value.
        #[source]
        source: sql_dump::PgArchiveError,
    },
    /// The decompressing thread could not start.
    #[error("cannot start the gunzip thread: {0}")]
    Thread(#[source] std::io::Error),
}

impl OpenError {
    /// A short fixed name of this error's kind (metrics, audit log).
    pub fn kind(&self) -> &'static str {
        match self {
            OpenError::Empty(_) | OpenError::EmptyGzip(_) => "empty_input",
            OpenError::UnknownFormat(_) | OpenError::Lookalike(_) | OpenError::Forced(_) => {
                "unknown_format"
            }
            OpenError::Read { .. } | OpenError::Archive { .. } => "bad_input",
            OpenError::Thread(_) => "output",
        }
    }

    /// Whether the dump itself is at fault (else the machine: a thread that did not start).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, OpenError::Thread(_))
    }
}
