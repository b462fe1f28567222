//! What every format's rewrite shares, below the dispatch (`formats`), the pg_dump archives
//! (`pg_archive`) and subsets (`subset`), none of which it imports:
//! the dump formats, a rewrite's result, a run's options per format crate and a SQL summary's
//! counts. (A rewrite's error is the run's [`crate::Error`].)

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

/// What a format's rewrite reports.
pub(crate) struct Rewritten {
    /// Per collection or table.
    pub collections: Vec<CollectionCounts>,
    /// SQL dumps' findings beyond the tables (empty for MongoDB).
    pub sql: SqlFindings,
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
