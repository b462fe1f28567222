//! Format detection and dispatch to the format crates.

use std::io::{self, Read, Write};

use anonymize_core::Anonymizer;

use crate::summary::{CollectionCounts, SqlFindings};
use crate::Options;

/// The dump formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// mongodump `--archive`.
    Mongo,
    /// mysqldump / mariadb-dump.
    MySql,
    /// pg_dump plain format.
    Postgres,
    /// pg_dump custom format (`-Fc`), see [`crate::pg_archive`].
    PgCustom,
    /// pg_dump tar format (`-Ft`), see [`crate::pg_archive`].
    PgTar,
}

impl Format {
    /// The name used in summaries.
    pub fn name(self) -> &'static str {
        match self {
            Format::Mongo => "mongo",
            Format::MySql => "mysql",
            Format::Postgres => "postgres",
            Format::PgCustom => "postgres-custom",
            Format::PgTar => "postgres-tar",
        }
    }

    /// What a collection or table is called in this format.
    pub fn unit(self) -> &'static str {
        match self {
            Format::Mongo => "collection",
            Format::MySql | Format::Postgres | Format::PgCustom | Format::PgTar => "table",
        }
    }

    /// True for the binary mongodump archive.
    pub fn is_binary(self) -> bool {
        matches!(self, Format::Mongo | Format::PgCustom | Format::PgTar)
    }
}

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

/// A forced `--format` on an input whose first bytes say it is another format: the error.
pub(crate) fn check_forced(forced: Format, head: &[u8]) -> Result<(), String> {
    let looks = |f: Format| match f {
        Format::Mongo => "a mongodump archive (its magic bytes)",
        Format::MySql => "a MySQL/MariaDB dump (mysqldump/mariadb-dump header or syntax)",
        Format::Postgres => "a PostgreSQL plain dump (pg_dump header or syntax)",
        Format::PgCustom => "a pg_dump custom-format archive (`PGDMP`), which is read as it is",
        Format::PgTar => "a pg_dump tar-format archive, which is read as it is",
    };
    match detect(head) {
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
/// format: the error when not one statement could be attributed to a table (the input was
/// copied, not read).
pub(crate) fn forced_found_nothing(
    format: Format,
    forced: bool,
    head: &[u8],
    rewritten: &Rewritten,
) -> Option<String> {
    let unrecognised = forced && format != Format::Mongo && detect(head).is_none();
    (unrecognised && rewritten.collections.is_empty()).then(|| {
        format!(
            "--format {}: no statement of the input could be attributed to a table (no CREATE \
             TABLE, INSERT or COPY was read), so it is not a {} dump this tool can anonymize",
            format.name(),
            format.name()
        )
    })
}

/// Why a rewrite failed, sorted by exit code.
#[derive(Debug)]
pub(crate) enum FormatError {
    /// The input is not a valid dump.
    Input(String),
    /// Writing failed.
    Output(String),
    /// The output's reader went away.
    BrokenPipe,
    /// The rules do not fit the dump (e.g. a field rule on a timeseries collection).
    Usage(String),
}

/// What a format's rewrite reports.
pub(crate) struct Rewritten {
    /// Per collection or table.
    pub collections: Vec<CollectionCounts>,
    /// SQL dumps' findings beyond the tables (empty for MongoDB).
    pub sql: SqlFindings,
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
) -> Result<Rewritten, FormatError> {
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
        (Err(_), Some(io::ErrorKind::BrokenPipe)) => Err(FormatError::BrokenPipe),
        (Err(FormatError::Input(m)), Some(kind)) => Err(FormatError::Output(format!(
            "writing the output failed ({kind:?}); the output is incomplete: {m}"
        ))),
        (Err(e), _) => Err(e),
    }
}

/// The archive options of a run (the same for a subset's pass and the rewrite).
pub(crate) fn mongo_options(args: &Options) -> mongo_archive::RewriteOptions {
    mongo_archive::RewriteOptions {
        collections: args.collections.clone(),
        keep_users: args.keep_users,
        oplog: args.oplog,
        threads: args.threads,
        current_namespace: args.current_collection.clone(),
        subset: None,
    }
}

fn mongo(
    input: impl Read,
    output: &mut impl Write,
    anon: &Anonymizer,
    args: &Options,
    subset: Option<std::sync::Arc<mongo_archive::subset::ArchiveSubset>>,
) -> Result<Vec<CollectionCounts>, FormatError> {
    use mongo_archive::{ErrorKind, NamespaceAction};
    let options = mongo_archive::RewriteOptions {
        subset,
        ..mongo_options(args)
    };
    let summary = mongo_archive::rewrite_archive(input, output, anon, &options).map_err(|e| {
        let message = format!("mongodump archive: {e}");
        match e.kind {
            ErrorKind::Write(_) => FormatError::Output(message),
            ErrorKind::TimeseriesRules => FormatError::Usage(message),
            _ => FormatError::Input(message),
        }
    })?;
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

/// The SQL options of a run (the same for a subset's passes and the rewrite).
pub(crate) fn sql_options(format: Format, args: &Options) -> sql_dump::SqlOptions {
    use sql_dump::Dialect;
    sql_dump::SqlOptions {
        dialect: Some(if format == Format::MySql {
            Dialect::MySql
        } else {
            Dialect::Postgres
        }),
        collections: args.collections.clone(),
        keep_users: args.keep_users,
        current_table: args.current_collection.clone(),
        threads: args.threads,
        subset: None,
    }
}

fn sql(
    format: Format,
    input: impl Read,
    output: &mut impl Write,
    anon: &Anonymizer,
    args: &Options,
    subset: Option<std::sync::Arc<sql_dump::SubsetPlan>>,
) -> Result<Rewritten, FormatError> {
    use sql_dump::SqlError;
    let options = sql_dump::SqlOptions {
        subset,
        ..sql_options(format, args)
    };
    let input = std::io::BufReader::with_capacity(crate::input::CHUNK, input);
    let summary = sql_dump::rewrite_sql(input, output, anon, &options).map_err(|e| {
        let message = format!("{} dump: {e}", format.name());
        match e {
            SqlError::Write { .. } => FormatError::Output(message),
            SqlError::Rules { .. } => FormatError::Usage(message),
            _ => FormatError::Input(message),
        }
    })?;
    Ok(sql_rewritten(summary, anon))
}

/// A SQL rewrite's summary as the run's counts and findings.
pub(crate) fn sql_rewritten(summary: sql_dump::SqlSummary, anon: &Anonymizer) -> Rewritten {
    use anonymize_core::LargeObjects;
    let large_objects_action = (summary.large_objects > 0).then(|| match anon.large_objects() {
        None => "kept (not named by the rules)",
        Some(LargeObjects::Keep) => "kept",
        Some(LargeObjects::Empty) => "emptied",
        Some(LargeObjects::Drop) => "dropped",
    });
    let credential_table = |table: &str| {
        summary.credentials.iter().any(|c| {
            c.strip_prefix(table)
                .is_some_and(|r| r.starts_with(": credential table"))
        })
    };
    let collections = summary
        .tables
        .iter()
        .map(|t| CollectionCounts {
            name: t.table.clone(),
            action: if t.excluded && credential_table(&t.table) {
                "dropped (credentials; --keep-users keeps them)"
            } else if t.excluded {
                "excluded"
            } else if t.schema_only {
                "schema only"
            } else if t.rows_out < t.rows_in {
                "limited"
            } else {
                "kept"
            }
            .to_owned(),
            documents_in: t.rows_in,
            documents_out: t.rows_out,
            ..CollectionCounts::default()
        })
        .collect();
    let sql = SqlFindings {
        credentials_dropped: summary.credentials,
        dependents_dropped: summary.dependents,
        subset_removed: summary.subset,
        undefined_tables: summary.undefined_tables,
        large_objects: summary.large_objects,
        large_objects_action,
        large_objects_unreviewed: summary.large_objects_unreviewed,
    };
    Rewritten { collections, sql }
}
