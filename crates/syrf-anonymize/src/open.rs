//! The one opening step of every subcommand that reads a dump (a run, `verify`, `inspect`,
//! `scan`): peek at the first bytes, gunzip on a thread of its own when they are gzip's
//! magic, peek again and detect the format (or take the forced one), with one wording for
//! each way it can fail.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::thread::Scope;

use crate::formats::{self, Format};
use crate::input::{self, CountingReader, Input};
pub(crate) use crate::open_error::OpenError;

/// A dump opened for reading.
pub(crate) struct Opened<'a> {
    /// Its format.
    pub(crate) format: Format,
    /// It was gzip (and is read decompressed).
    pub(crate) gzip: bool,
    /// The plain stream, from its first byte.
    pub(crate) reader: Input<'a>,
    /// The format its first bytes show (`None`: none, so a forced format was taken on trust
    /// and the run must check afterwards that it read some statement).
    pub(crate) detected: Option<Format>,
    /// The stream's name in errors.
    pub(crate) what: &'static str,
}

/// An opened dump as the checks (`inspect`, `scan`, `verify`) read it: a pg_dump custom or
/// tar archive as its SQL text (statements and COPY data in pg_restore's order, from the same
/// sql-dump archive feed the rewriter reads), every other format as it is.
pub(crate) fn readable(opened: Opened<'_>) -> Result<(Format, Input<'_>), OpenError> {
    let archive = |what: &'static str| move |source| OpenError::Archive { what, source };
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
    if peeked.head().is_empty() {
        return Err(OpenError::Empty(what));
    }
    let gzip = input::is_gzip(peeked.head());
    let plain = input::decompressed(scope, peeked).map_err(OpenError::Thread)?;
    let plain: Input<'s> = match plain_count {
        Some(count) => Box::new(CountingReader::new(plain, count)),
        None => plain,
    };
    let peeked = input::peek(plain).map_err(read)?;
    if peeked.head().is_empty() {
        return Err(OpenError::EmptyGzip(what));
    }
    // Known formats this tool does not read are refused even when a format is forced.
    if let Some(advice) = crate::lookalike::describe(peeked.head()) {
        return Err(OpenError::Lookalike(advice));
    }
    let detected = formats::detect(peeked.head());
    let format = match forced {
        Some(f) => {
            formats::check_forced(f, detected).map_err(OpenError::Forced)?;
            f
        }
        None => detected.ok_or(OpenError::UnknownFormat(what))?,
    };
    Ok(Opened {
        format,
        gzip,
        reader: Box::new(peeked.reader),
        detected,
        what,
    })
}
