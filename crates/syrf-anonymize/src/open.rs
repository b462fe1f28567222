//! The one opening step of every subcommand that reads a dump (a run, `verify`, `inspect`,
//! `scan`): peek at the first bytes, gunzip on a thread of its own when they are gzip's
//! magic, peek again and detect the format (or take the forced one), with one wording for
//! each way it can fail.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::thread::Scope;

use crate::formats::{self, Format};
use crate::input::{self, CountingReader, Input};

/// A dump opened for reading.
pub(crate) struct Opened<'a> {
    /// Its format.
    pub(crate) format: Format,
    /// It was gzip (and is read decompressed).
    pub(crate) gzip: bool,
    /// The plain stream, from its first byte.
    pub(crate) reader: Input<'a>,
    /// Its first bytes (as peeked), for checks a forced format needs after the run.
    pub(crate) head: Vec<u8>,
    /// The stream's name in errors.
    pub(crate) what: &'static str,
}

/// An opened dump as the checks (`inspect`, `scan`, `verify`) read it: a pg_dump custom or
/// tar archive as its SQL text (statements and COPY data in pg_restore's order, from the same
/// sql-dump archive feed the rewriter reads), every other format as it is.
pub(crate) fn readable(opened: Opened<'_>) -> Result<(Format, Input<'_>), OpenError> {
    let archive = |what: &'static str| {
        move |e: sql_dump::PgArchiveError| OpenError::Archive {
            what,
            message: e.to_string(),
        }
    };
    match opened.format {
        Format::PgCustom => {
            let sql = sql_dump::pg_custom_sql(opened.reader).map_err(archive(opened.what))?;
            Ok((Format::Postgres, Box::new(sql)))
        }
        Format::PgTar => {
            let sql = sql_dump::pg_tar_sql(opened.reader).map_err(archive(opened.what))?;
            Ok((Format::Postgres, Box::new(sql)))
        }
        f => Ok((f, opened.reader)),
    }
}

/// Why a dump could not be opened; `what` names it (`input`, `original`, ...).
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
    /// A PostgreSQL archive whose table of contents or data could not be read.
    #[error("the {what} is a pg_dump archive that cannot be read: {message}")]
    Archive {
        /// The stream.
        what: &'static str,
        /// What is wrong (names the entry, never a value).
        message: String,
    },
    /// The decompressing thread could not start.
    #[error("cannot start the gunzip thread: {0}")]
    Thread(std::io::Error),
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

/// Opens `raw` (named `what` in errors) on `scope`; `forced` skips the detection;
/// `plain_count` counts the plain bytes read.
pub(crate) fn open<'s>(
    scope: &'s Scope<'s, '_>,
    raw: Input<'s>,
    what: &'static str,
    forced: Option<Format>,
    plain_count: Option<Arc<AtomicU64>>,
) -> Result<Opened<'s>, OpenError> {
    let read = |source| OpenError::Read { what, source };
    let peeked = input::peek(raw).map_err(read)?;
    if peeked.head.is_empty() {
        return Err(OpenError::Empty(what));
    }
    let gzip = input::is_gzip(&peeked.head);
    let plain = input::decompressed(scope, peeked).map_err(OpenError::Thread)?;
    let plain: Input<'s> = match plain_count {
        Some(count) => Box::new(CountingReader::new(plain, count)),
        None => plain,
    };
    let peeked = input::peek(plain).map_err(read)?;
    if peeked.head.is_empty() {
        return Err(OpenError::EmptyGzip(what));
    }
    // Known formats this tool does not read are refused even when a format is forced.
    if let Some(advice) = crate::lookalike::describe(&peeked.head) {
        return Err(OpenError::Lookalike(advice));
    }
    let format = match forced {
        Some(f) => {
            formats::check_forced(f, &peeked.head).map_err(OpenError::Forced)?;
            f
        }
        None => formats::detect(&peeked.head).ok_or(OpenError::UnknownFormat(what))?,
    };
    let head = peeked.head.clone();
    Ok(Opened {
        format,
        gzip,
        reader: Box::new(peeked.reader),
        head,
        what,
    })
}
