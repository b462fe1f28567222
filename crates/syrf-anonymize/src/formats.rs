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

/// Detects the format of an (uncompressed) stream from its first bytes.
pub fn detect(head: &[u8]) -> Option<Format> {
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

/// Why a rewrite failed, sorted by exit code.
#[derive(Debug)]
pub enum FormatError {
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
pub struct Rewritten {
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
pub fn rewrite<W: Write>(
    format: Format,
    input: impl Read,
    output: &mut W,
    anon: &Anonymizer,
    args: &Options,
) -> Result<Rewritten, FormatError> {
    let mut tracked = Tracked {
        inner: output,
        failed: None,
    };
    let result = match format {
        Format::Mongo => mongo(input, &mut tracked, anon, args).map(|collections| Rewritten {
            collections,
            sql: SqlFindings::default(),
        }),
        Format::MySql | Format::Postgres => sql(format, input, &mut tracked, anon, args),
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

fn mongo(
    input: impl Read,
    output: &mut impl Write,
    anon: &Anonymizer,
    args: &Options,
) -> Result<Vec<CollectionCounts>, FormatError> {
    use mongo_archive::{ErrorKind, NamespaceAction, RewriteOptions};
    let options = RewriteOptions {
        collections: args.collections.clone(),
        keep_users: args.keep_users,
        oplog: args.oplog,
        threads: args.threads,
        current_namespace: args.current_collection.clone(),
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

fn sql(
    format: Format,
    input: impl Read,
    output: &mut impl Write,
    anon: &Anonymizer,
    args: &Options,
) -> Result<Rewritten, FormatError> {
    use sql_dump::{Dialect, SqlError, SqlOptions};
    let options = SqlOptions {
        dialect: Some(if format == Format::MySql {
            Dialect::MySql
        } else {
            Dialect::Postgres
        }),
        collections: args.collections.clone(),
        keep_users: args.keep_users,
        current_table: args.current_collection.clone(),
        threads: args.threads,
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
        undefined_tables: summary.undefined_tables,
        large_objects: summary.large_objects,
        large_objects_action,
        large_objects_unreviewed: summary.large_objects_unreviewed,
    };
    Rewritten { collections, sql }
}
