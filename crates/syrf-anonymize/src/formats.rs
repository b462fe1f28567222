//! Format detection and dispatch to the format crates.

use std::io::{self, Read, Write};

use anonymize_core::Anonymizer;

use crate::error::{Error, Pass};
pub use crate::format_base::Format;
use crate::format_base::{mongo_options, sql_options, sql_rewritten, Rewritten};
use crate::summary::{CollectionCounts, SqlFindings};
use crate::Options;

/// The archive's final terminator, held back until a run has succeeded.
pub(crate) const ARCHIVE_TERMINATOR_LEN: usize = 4;

/// Detects the format of an (uncompressed) stream from its first bytes. Formats this tool
/// does not read ([`crate::lookalike::describe`]) are none of them, even when they hold SQL
/// text (a pg_dump custom or tar archive's table of contents).
pub(crate) fn detect(head: &[u8]) -> Option<Format> {
    if crate::lookalike::describe(head).is_some() {
        return None;
    }
    if head.starts_with(&mongo_archive::reader::MAGIC) {
        return Some(Format::Mongo);
    }
    if crate::pg_archive::is_custom_archive(head) {
        return Some(Format::PgCustom);
    }
    if crate::pg_archive::is_tar_archive(head) {
        return Some(Format::PgTar);
    }
    match sql_dump::detect_dialect(head)? {
        sql_dump::Dialect::MySql => Some(Format::MySql),
        sql_dump::Dialect::Postgres => Some(Format::Postgres),
    }
}

/// A forced `--format` on an input whose first bytes say it is another format (`detected`,
/// by [`detect`]): the error.
pub(crate) fn check_forced(forced: Format, detected: Option<Format>) -> Result<(), String> {
    let looks = |f: Format| match f {
        Format::Mongo => "a mongodump archive (its magic bytes)",
        Format::MySql => "a MySQL/MariaDB dump (mysqldump/mariadb-dump header or syntax)",
        Format::Postgres => "a PostgreSQL plain dump (pg_dump header or syntax)",
        Format::PgCustom => "a pg_dump custom-format archive (`PGDMP`), which is read as it is",
        Format::PgTar => "a pg_dump tar-format archive, which is read as it is",
    };
    match detected {
        Some(found) if found != forced => Err(format!(
            "--format {}, but the input is {}: drop --format (or give --format {})",
            forced.name(),
            looks(found),
            found.name()
        )),
        None if forced == Format::Mongo => Err(
            "--format mongo, but the input does not start with a mongodump archive's magic \
             bytes: it is not a mongodump archive (`mongodump --archive` writes one)"
                .into(),
        ),
        _ => Ok(()),
    }
}

/// After a successful rewrite with a forced SQL format on an input whose first bytes match no
/// format (`detected` is `None`): the error when not one statement could be attributed to a
/// table (the input was copied, not read).
pub(crate) fn forced_found_nothing(
    format: Format,
    forced: bool,
    detected: Option<Format>,
    rewritten: &Rewritten,
) -> Option<Error> {
    let unrecognised = forced && format != Format::Mongo && detected.is_none();
    (unrecognised && rewritten.collections.is_empty()).then_some(Error::NothingAttributed {
        format,
        gzip_input: false,
    })
}

/// Remembers whether the output failed, to tell a broken pipe from a broken input.
struct Tracked<'a, W: Write> {
    inner: &'a mut W,
    failed: Option<io::ErrorKind>,
}

impl<W: Write> Write for Tracked<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner
            .write(buf)
            .inspect_err(|e| self.failed = Some(e.kind()))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner
            .flush()
            .inspect_err(|e| self.failed = Some(e.kind()))
    }
}

/// Rewrites the whole stream in `format`.
pub(crate) fn rewrite<W: Write>(
    format: Format,
    input: impl Read,
    output: &mut W,
    anon: &Anonymizer,
    args: &Options,
    subset: Option<crate::subset::Plan>,
) -> Result<Rewritten, Error> {
    let report = subset.as_ref().map(crate::subset::Plan::report);
    let mut tracked = Tracked {
        inner: output,
        failed: None,
    };
    let result = match format {
        Format::Mongo => {
            let plan = match subset {
                Some(crate::subset::Plan::Mongo(p)) => Some(p),
                _ => None,
            };
            mongo(input, &mut tracked, anon, args, plan).map(|collections| Rewritten {
                collections,
                sql: SqlFindings {
                    subset_removed: report.unwrap_or_default(),
                    ..SqlFindings::default()
                },
            })
        }
        Format::MySql | Format::Postgres => {
            let plan = match subset {
                Some(crate::subset::Plan::Sql(p)) => Some(p),
                _ => None,
            };
            sql(format, input, &mut tracked, anon, args, plan)
        }
        Format::PgCustom => crate::pg_archive::rewrite(input, &mut tracked, anon, args),
        Format::PgTar => crate::pg_archive::rewrite_tar(input, &mut tracked, anon, args),
    };
    match (result, tracked.failed) {
        (Ok(c), _) => Ok(c),
        (Err(_), Some(io::ErrorKind::BrokenPipe)) => Err(Error::BrokenPipe),
        (Err(e), Some(kind)) if e.is_bad_input() => Err(Error::OutputFailed {
            kind,
            source: Box::new(e),
        }),
        (Err(e), _) => Err(e),
    }
}

fn mongo(
    input: impl Read,
    output: &mut impl Write,
    anon: &Anonymizer,
    args: &Options,
    subset: Option<std::sync::Arc<mongo_archive::subset::ArchiveSubset>>,
) -> Result<Vec<CollectionCounts>, Error> {
    use mongo_archive::NamespaceAction;
    let options = mongo_archive::RewriteOptions {
        subset,
        ..mongo_options(args)
    };
    let summary = mongo_archive::rewrite_archive(input, output, anon, &options)?;
    Ok(summary
        .namespaces
        .iter()
        .map(|ns| CollectionCounts {
            name: ns.name(),
            action: match ns.action {
                NamespaceAction::Kept if ns.docs_out < ns.docs_in => "limited",
                NamespaceAction::Kept => "kept",
                NamespaceAction::Excluded => "excluded",
                NamespaceAction::NotSelected => "not selected",
                NamespaceAction::UsersDropped => "dropped (users/roles; --keep-users keeps them)",
                NamespaceAction::OplogDropped => "dropped (--oplog drop)",
                NamespaceAction::ImagesDropped => "dropped (pre/post images of other collections)",
                NamespaceAction::SchemaOnly => "schema only",
            }
            .to_owned(),
            documents_in: ns.docs_in,
            documents_out: ns.docs_out,
            shadowing_keys: ns.shadowing_keys,
            shadowed_rules: ns.shadowed_rules.clone(),
            field_names: ns.field_names.clone(),
        })
        .collect())
}

/// The read buffer in front of the SQL rewriter. Small on purpose: the rewriter keeps its own
/// buffer of at least 256 KiB and reads into it, and a `BufReader` passes a read at least as
/// large as its capacity straight to the input, so nearly every byte goes from the input
/// into the rewriter's buffer without a second copy (with 1 MiB here, every byte was copied
/// twice: docs/performance.md, branch pipe24).
const SQL_READ_BUFFER: usize = 8 << 10;

fn sql(
    format: Format,
    input: impl Read,
    output: &mut impl Write,
    anon: &Anonymizer,
    args: &Options,
    subset: Option<std::sync::Arc<sql_dump::SubsetPlan>>,
) -> Result<Rewritten, Error> {
    let options = sql_dump::SqlOptions {
        subset,
        ..sql_options(format, args)
    };
    let input = std::io::BufReader::with_capacity(SQL_READ_BUFFER, input);
    let summary =
        sql_dump::rewrite_sql(input, output, anon, &options).map_err(|source| Error::Sql {
            format,
            pass: Pass::Rewrite,
            gzip_input: false,
            source,
        })?;
    Ok(sql_rewritten(summary, anon))
}
