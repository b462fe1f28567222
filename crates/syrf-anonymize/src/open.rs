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
        "cannot tell the {0}'s format: not a mongodump archive, nor a MySQL/MariaDB or \
         PostgreSQL dump (input byte 0; a run and inspect take --format to force one)"
    )]
    UnknownFormat(&'static str),
    /// The decompressing thread could not start.
    #[error("cannot start the gunzip thread: {0}")]
    Thread(std::io::Error),
}

impl OpenError {
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
    let format = match forced {
        Some(f) => f,
        None => formats::detect(&peeked.head).ok_or(OpenError::UnknownFormat(what))?,
    };
    Ok(Opened {
        format,
        gzip,
        reader: Box::new(peeked.reader),
    })
}
