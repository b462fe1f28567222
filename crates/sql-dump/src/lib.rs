//! # sql-dump
//!
//! Streams MySQL/MariaDB (`mysqldump`, `mariadb-dump`) and PostgreSQL (`pg_dump` plain
//! format) dumps through the rules of an [`anonymize_core::Anonymizer`], in one pass and in
//! memory bounded by one row (plus the schema's DDL for PostgreSQL exclusions), or with
//! [`SqlOptions::threads`] by a fixed number of batches of rows rewritten on worker threads
//! (the output is the same).
//!
//! Only what a rule needs is parsed; every other byte is copied verbatim, so with no rules the
//! output is byte-identical to the input.
//!
//! - Field rules rewrite values in `INSERT` tuples (extended or single-row, with or without a
//!   column list) and `COPY ... FROM stdin` rows, typed by the table's `CREATE TABLE`
//!   (numbers stay bare, blobs become hex, `varchar(n)` lengths are respected). A dotted path
//!   whose first step is a JSON column rewrites inside the JSON document. In a table with
//!   field rules, the dumped values of generated columns become `DEFAULT` (the server
//!   computes them again from the rewritten row).
//! - `exclusions` drop the table's DDL, data and everything that belongs to it (indexes,
//!   constraints, triggers, comments, grants, owned sequences, partitions), including the
//!   name-only `DROP INDEX`/`DROP STATISTICS` of a `pg_dump --clean` preamble, which are held
//!   back (bounded) until the `CREATE` after the data tells their table.
//! - `schema_only` keeps the DDL and drops the rows; `size_limits` keeps the first N rows.
//!   Partitions and `INHERITS` children take their parent's rules, limits and schema-only.
//! - Fail closed: rows whose table cannot be read fail the run while any rule applies; rules
//!   that cannot fit a table (a partition key, a column type) are refused when its DDL is read;
//!   objects that depend on an excluded table go with it (unless `keep_dependents`);
//!   credentials are dropped (unless [`SqlOptions::keep_users`]); a `/*` comment the input
//!   never closes, and a COPY row of a table with rules or a limit whose field count is not
//!   its column count, are errors.
//!
//! ```
//! use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
//! use sql_dump::{rewrite_sql, SqlOptions};
//!
//! let rules = RuleSet::from_yaml(
//!     "rules:\n  users:\n    fields:\n      email: hash_email\n",
//!     "rules.yaml",
//! )?;
//! let anon = Anonymizer::new(rules, KeyMode::Keyed(Key::from_bytes(b"a long secret key")?))?;
//! let dump = b"-- MySQL dump 10.13\nCREATE TABLE `users` (`id` int, `email` varchar(80));\n\
//!              INSERT INTO `users` VALUES (1,'john@example.com'),(2,NULL);\n";
//! let mut out = Vec::new();
//! let summary = rewrite_sql(&dump[..], &mut out, &anon, &SqlOptions::default())?;
//! let text = String::from_utf8(out)?;
//! assert!(!text.contains("john@example.com"));
//! assert!(text.contains("@anonymized.syrf.local'),(2,NULL);"));
//! assert_eq!(summary.tables[0].rows_out, 2);
//!
//! // PostgreSQL: `COPY ... FROM stdin` rows, typed by the `CREATE TABLE` before them.
//! let dump = b"--\n-- PostgreSQL database dump\n--\n\
//!              CREATE TABLE public.users (\n    id integer NOT NULL,\n    email text\n);\n\
//!              COPY public.users (id, email) FROM stdin;\n1\tjane@example.com\n2\t\\N\n\\.\n";
//! let mut out = Vec::new();
//! let summary = rewrite_sql(&dump[..], &mut out, &anon, &SqlOptions::default())?;
//! let text = String::from_utf8(out)?;
//! assert!(!text.contains("jane@example.com") && text.contains("\n2\t\\N\n\\.\n"));
//! assert_eq!((summary.tables[0].table.as_str(), summary.tables[0].rows_in), ("public.users", 2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Errors
//!
//! [`rewrite_sql`], [`plan_subset`] and the reader fail with [`SqlError`] (its
//! [`SqlError::line`], [`SqlError::offset`] and [`SqlError::table`] say where); the pg_dump
//! archive functions with [`PgArchiveError`] (the archive's [`PgArchiveError::offset`], the
//! [`PgArchiveError::entry`], and an entry's [`PgArchiveError::sql`] error). Messages never
//! contain a value from the dump.

#![warn(missing_docs)]
#![warn(unreachable_pub)]

// The layers, each importing only those above it: dialect; lex (every lexical rule);
// tokens; ddl, head, literal, json (pure readers); stmt (what a statement means); tally;
// catalog (what is known about relations); check (rules against the DDL); input and source
// (the input side); emit (the output side, with pipe: rows rewritten on worker threads by
// rows' job); parts; rows (data statements); driver (the statement loop).
mod array;
mod catalog;
mod check;
mod ddl;
mod dialect;
mod driver;
mod emit;
mod error;
mod head;
mod input;
mod json;
mod lex;
mod literal;
mod parts;
mod pgarchive;
mod pipe;
mod reader;
mod rows;
mod session;
mod source;
mod stmt;
mod subset;
mod tally;
mod tokens;
mod writes;

use std::io::{BufRead, Write};

use anonymize_core::Anonymizer;

pub use catalog::column_node;
pub use dialect::{detect_dialect, mode_has_ansi_quotes, Dialect};
pub use error::SqlError;
pub use json::{walk_json, JsonCoverage, JsonValue};
pub use pgarchive::{
    is_pg_directory, pg_custom_sql, pg_directory_sql, pg_tar_sql, rewrite_pg_custom,
    rewrite_pg_directory, rewrite_pg_tar, Compression as PgCompression, PgArchiveError,
    PgArchiveOptions, PgArchiveSql, PgArchiveSummary, PG_ARCHIVE_MAGIC,
};
pub use reader::{
    Cell, ColumnInfo, Event, Literal, Namespace, Row, RowsInfo, SessionChange, SqlReader,
    Statement, TableInfo,
};
pub use subset::SubsetPlan;
pub use tokens::QName;

/// Options of one rewrite.
#[derive(Debug, Clone, Default)]
pub struct SqlOptions {
    /// Forces the dialect instead of detecting it from the first bytes.
    pub dialect: Option<Dialect>,
    /// When set, only these tables (bare `name` or `schema.name`) keep their DDL and data;
    /// every other table is dropped as if excluded (the CLI's `--collections`).
    pub collections: Option<Vec<String>>,
    /// Keeps credentials: MySQL's `mysql.global_priv`/`mysql.user` tables and account
    /// statements (`CREATE USER ... IDENTIFIED BY PASSWORD`, `GRANT`...), PostgreSQL role
    /// passwords (`pg_dumpall`). By default they are dropped (the CLI's `--keep-users`).
    pub keep_users: bool,
    /// When set, the name of the table whose data statement is being read (`schema.table`,
    /// `db.table` or `table`, as in [`TableSummary::table`]) is written here as each table's
    /// rows start, for a progress display.
    pub current_table: Option<std::sync::Arc<std::sync::Mutex<String>>>,
    /// Threads rewriting the rows of tables with field rules (0 or 1: the calling thread
    /// alone; N: N-1 workers beside the calling thread, which rewrites too whenever it would
    /// wait). Rows are rewritten in batches and written in input order: the output, the
    /// summary and the rules' counts are the same whatever the number (the CLI's
    /// `--threads`).
    pub threads: usize,
    /// The rows a subset removes ([`plan_subset`]): with it, rows whose foreign keys would
    /// name a removed row are dropped too. It must come from the same input.
    pub subset: Option<std::sync::Arc<SubsetPlan>>,
}

/// What happened to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    /// `schema.table` (PostgreSQL), `db.table` (MySQL after `USE`), or `table`.
    pub table: String,
    /// Rows read.
    pub rows_in: u64,
    /// Rows written.
    pub rows_out: u64,
    /// Bytes of data statements (INSERT, COPY blocks) read.
    pub bytes_in: u64,
    /// Bytes of data statements written.
    pub bytes_out: u64,
    /// Dropped by `exclusions` or a `collections` selection.
    pub excluded: bool,
    /// Rows dropped by `schema_only`.
    pub schema_only: bool,
}

/// What a rewrite did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlSummary {
    /// The dialect used.
    pub dialect: Dialect,
    /// Bytes read.
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
    /// Tables with data statements, in order of first appearance.
    pub tables: Vec<TableSummary>,
    /// What was dropped as credentials (unless [`SqlOptions::keep_users`]), one line each
    /// (credential tables, account statements, role passwords); never a value.
    pub credentials: Vec<String>,
    /// Objects of kept tables dropped because they depend on an excluded table (foreign
    /// keys, views, rules, triggers, policies), unless the rules say `keep_dependents`.
    pub dependents: Vec<String>,
    /// Tables with field rules whose `CREATE TABLE` the dump did not hold (data-only dumps):
    /// their generated columns, which may copy covered values (`lower(email)`), cannot be
    /// recognised. `--strict` should fail on any.
    pub undefined_tables: Vec<String>,
    /// PostgreSQL large objects (`pg_dump -b`) in the dump, which no field rule can cover.
    pub large_objects: u64,
    /// Large objects were kept because the rules do not say `large_objects:` (`--strict`
    /// should fail then).
    pub large_objects_unreviewed: bool,
    /// What a subset removed through foreign keys, one line per key ([`SubsetPlan::report`]).
    pub subset: Vec<String>,
}

/// Rewrites a SQL dump from `input` to `output` following `anon`'s rules.
///
/// With no rules (`RuleSet::empty()`) the output is byte-identical to the input. Errors name
/// the line, byte offset and table; the output is then incomplete and must not be restored.
pub fn rewrite_sql<R: BufRead, W: Write>(
    input: R,
    output: W,
    anon: &Anonymizer,
    options: &SqlOptions,
) -> Result<SqlSummary, SqlError> {
    let mut input = input::Input::new(input);
    let dialect = match options.dialect {
        Some(d) => d,
        None => {
            input.ensure(64 * 1024)?;
            let avail = input.avail();
            if avail.is_empty() {
                Dialect::MySql
            } else {
                detect_dialect(avail).ok_or(SqlError::UnknownDialect)?
            }
        }
    };
    let mode = || match &options.subset {
        Some(plan) => subset::Mode::apply(plan.clone()),
        None => subset::Mode::Off,
    };
    if options.threads <= 1 || anon.is_empty() {
        return driver::Rewriter::new(input, output, anon, dialect, options, None, mode()).run();
    }
    pipe::with_pool(anon, options.threads, |pipe| {
        driver::Rewriter::new(input, output, anon, dialect, options, Some(pipe), mode()).run()
    })
}

/// Whether `anon`'s rules remove rows that other rows may reference (a row limit, a
/// `schema_only` table, or exclusions whose dependents are kept): the rewrite then needs a
/// [`plan_subset`] first, which reads the dump twice before it is rewritten.
pub fn subset_needed(anon: &Anonymizer, options: &SqlOptions) -> bool {
    anon.removes_rows()
        || (anon.keep_dependents() && (anon.may_exclude() || options.collections.is_some()))
}

/// Reads the dump twice (`open` gives it from its start each time, as [`rewrite_sql`] will
/// read it) and returns the rows a subset removes: rows cut by limits, rows of `schema_only`
/// tables (and of excluded tables whose dependents are kept), and, transitively, every row
/// whose foreign key (as the dump declares it: MySQL's `CREATE TABLE`, pg_dump's `ALTER
/// TABLE ... ADD CONSTRAINT ... FOREIGN KEY`; partitions share their parent's) names a
/// removed row. Memory: one 8-byte key per row and key column list of the tables a removal
/// can reach, and a bitmap of removed rows.
pub fn plan_subset<R: BufRead>(
    mut open: impl FnMut() -> std::io::Result<R>,
    anon: &Anonymizer,
    options: &SqlOptions,
) -> Result<SubsetPlan, SqlError> {
    let pass = |reader: R, mode: subset::Mode| {
        let mut input = input::Input::new(reader);
        let dialect = match options.dialect {
            Some(d) => d,
            None => {
                input.ensure(64 * 1024)?;
                let avail = input.avail();
                if avail.is_empty() {
                    Dialect::MySql
                } else {
                    detect_dialect(avail).ok_or(SqlError::UnknownDialect)?
                }
            }
        };
        let quiet = SqlOptions {
            threads: 0,
            subset: None,
            current_table: None,
            ..options.clone()
        };
        let r = driver::Rewriter::new(input, std::io::sink(), anon, dialect, &quiet, None, mode);
        r.collect().map(|(mode, cat)| (mode, cat, dialect))
    };
    let reopen = |open: &mut dyn FnMut() -> std::io::Result<R>| {
        open().map_err(|source| SqlError::Read { offset: 0, source })
    };
    let (mode, mut cat, dialect) = pass(reopen(&mut open)?, subset::Mode::Schema(Vec::new()))?;
    let subset::Mode::Schema(fks) = mode else {
        unreachable!("pass 1 keeps its mode")
    };
    let graph = subset::graph::Graph::build(fks, &mut cat, anon, dialect);
    drop(cat);
    if graph.keys.is_empty() && graph.filters.is_empty() {
        // No foreign key reaches a removed row: the limits alone decide.
        return Ok(SubsetPlan::default());
    }
    let (mode, _, _) = pass(reopen(&mut open)?, subset::Mode::keys(graph))?;
    let subset::Mode::Keys(keys) = mode else {
        unreachable!("pass 2 keeps its mode")
    };
    Ok(subset::closure::close(*keys))
}
