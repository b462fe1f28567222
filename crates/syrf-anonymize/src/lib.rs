//! Stream-anonymize mongodump archives and MySQL/MariaDB/PostgreSQL dumps by rules.
//!
//! [`anonymize`] is the whole job the `syrf-anonymize` command does, for any `Read` and any
//! `Write`: it detects gzip and the dump's format from the first bytes exactly as the command
//! does, rewrites the dump with an [`Anonymizer`], mirrors the compression, and returns one
//! [`Summary`] or one [`Error`] (with its exit code, [`Error::exit_code`]).
//!
//! Embedding it takes three steps: load the rules ([`load_rules`] for a file, or
//! [`anonymize_core::RuleSet::from_yaml`]), build an [`Anonymizer`] with the key, and call
//! [`anonymize`] with [`Options`] (`Options::default()` is the command's default).
//!
//! ```
//! use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
//! use syrf_anonymize::{anonymize, Error, Options};
//!
//! let rules = RuleSet::from_yaml(
//!     "rules:\n  pmInvestigator:\n    fields:\n      Email: hash_email\n      FullName.First: sequential\n",
//!     "inline.yaml",
//! )?;
//! let anon = Anonymizer::new(rules, KeyMode::Keyed(Key::from_bytes(b"a key of at least 16 bytes")?))?;
//!
//! // Any `Read + Send` in, any `Write` out: here the shipped sample archive, into memory.
//! let archive = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/syrf-sample.archive"))?;
//! let mut output = Vec::new();
//! let summary = anonymize(&archive[..], &mut output, &anon, &Options::default())?;
//! assert_eq!(summary.format, "mongo");
//! assert!(summary.unmatched_rules.is_empty());
//! assert!(summary.rules.iter().all(|r| r.values_changed > 0));
//! eprint!("{}", summary.to_text()); // what the command prints on stderr
//!
//! // `strict` turns a rule that never matched into an error (exit code 4); the output is
//! // then marked as failed (here: the archive lacks its final terminator).
//! let typo = RuleSet::from_yaml("rules:\n  pmInvestigator:\n    fields:\n      Emial: hash_email\n", "typo.yaml")?;
//! let anon = Anonymizer::new(typo, KeyMode::Unkeyed)?;
//! let strict = Options { strict: true, ..Options::default() };
//! let err = anonymize(&archive[..], &mut Vec::new(), &anon, &strict).unwrap_err();
//! assert!(matches!(err, Error::Strict(_)));
//! assert_eq!(err.exit_code(), 4);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The same call takes a MySQL/MariaDB or PostgreSQL dump, and gzip input of any of them;
//! `examples/embed.rs` is a complete program (stdin to stdout). The library also holds the
//! logic of four subcommands: [`inspect::manifest`] (`syrf-anonymize inspect`),
//! [`preview_config::parse`] (`syrf-anonymize preview-config`), [`verify::verify`]
//! (`syrf-anonymize verify`) and [`scan::scan`] (`syrf-anonymize scan`).
//!
//! # Errors
//!
//! [`Error`] is typed: a damaged archive is [`Error::Archive`] holding mongo-archive's
//! [`ArchiveError`] (byte offset, namespace, [`ArchiveErrorKind`]), a damaged SQL dump
//! [`Error::Sql`] holding sql-dump's [`SqlError`] (line, byte offset, table), a pg_dump archive
//! [`Error::PgArchive`] ([`PgArchiveError`]), a bad rules file [`Error::Rules`]
//! ([`RulesError`]: file, line, column). The crates' errors are also the
//! [`std::error::Error::source`] of those variants (for `downcast_ref`), and are re-exported
//! here. [`Error::offset`], [`Error::table`] and [`Error::line`] say where; the message (the
//! command's) never holds a value from the dump.
//!
//! ```
//! use syrf_anonymize::{anonymize, Error, Options, SqlError};
//! # use anonymize_core::{Anonymizer, KeyMode, RuleSet};
//! # let rules = RuleSet::from_yaml("rules:\n  users:\n    columns:\n      email: hash_email\n", "r.yaml")?;
//! # let anon = Anonymizer::new(rules, KeyMode::Unkeyed)?;
//! let dump = "-- MySQL dump 10.13\nCREATE TABLE `users` (`id` int, `email` text);\n\
//!             INSERT INTO `users` VALUES (1,'jane@example.com') junk;\n";
//! let err = anonymize(dump.as_bytes(), &mut Vec::new(), &anon, &Options::default()).unwrap_err();
//! assert!(matches!(err, Error::Sql { source: SqlError::Syntax { line: 3, .. }, .. }));
//! assert_eq!((err.line(), err.table(), err.exit_code()), (Some(3), Some("users"), 3));
//! assert!(!err.to_string().contains("jane@example.com"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![warn(unreachable_pub)]

mod data_keys;
pub mod dump_dir;
mod error;
mod format_base;
mod formats;
mod input;
pub mod inspect;
mod inspect_sql;
pub mod lookalike;
pub mod observe;
mod open;
mod open_error;
pub mod pg_archive;
mod pgzip;
pub mod preview_config;
pub mod scan;
pub mod scan_names;
mod sink;
mod subset;
mod summary;
pub mod verify;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anonymize_core::Anonymizer;

pub use error::{exit, Error, Pass};
pub use formats::Format;
pub use mongo_archive::OplogMode;
pub use open_error::OpenError;
pub use summary::{CollectionCounts, SqlFindings, Summary};

// The format crates' errors that [`Error`] carries (and their parts), so that an embedder can
// name them without depending on the format crates.
pub use anonymize_core::RulesError;
use input::CountingReader;
pub use mongo_archive::dir::DirError;
pub use mongo_archive::{ArchiveError, ErrorKind as ArchiveErrorKind, OplogError, PatchError};
use sink::Sink;
pub use sql_dump::{PgArchiveError, SqlError};

/// Output compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Same as the input.
    #[default]
    Auto,
    /// gzip (compressed on all cores, as concatenated members).
    Gzip,
    /// Uncompressed.
    None,
}

/// How to run. `Options::default()` is the command's default: format and compression detected,
/// gzip level 6, everything kept, users dropped, the oplog rewritten, not strict, all cores.
#[derive(Debug, Clone)]
pub struct Options {
    /// Forces the input format instead of detecting it. The input must still be of that
    /// format: first bytes of another format fail the run, and so does a SQL input where not
    /// one statement could be attributed to a table ([`Error::NothingAttributed`]). Formats this tool
    /// does not read ([`lookalike::describe`]) are refused either way.
    pub format: Option<Format>,
    /// Output compression.
    pub compression: Compression,
    /// gzip level 0-9 of a gzip output (higher values mean 9).
    pub level: u32,
    /// Keep only these collections or tables (bare or qualified names), on top of the rules'
    /// own `collections:` list.
    pub collections: Option<Vec<String>>,
    /// MongoDB: keep users and roles (credential hashes), dropped by default.
    pub keep_users: bool,
    /// MongoDB: rewrite or drop an `--oplog` dump's oplog.
    pub oplog: OplogMode,
    /// A rule, collection or table that never matched fails the run ([`Error::Strict`]).
    pub strict: bool,
    /// Counts the input's bytes as they are read, before decompression (for progress).
    pub input_read: Option<Arc<AtomicU64>>,
    /// Threads transforming documents and rows (MongoDB documents, SQL rows of tables with
    /// field rules; 0 or 1: the calling thread alone; N: N-1 workers beside the calling thread,
    /// which transforms too whenever it would wait). The output is byte-identical whatever the
    /// number. Default: all cores.
    pub threads: usize,
    /// Set to the collection (`db.collection`) or SQL table (`schema.table`, `db.table` or
    /// `table`) being read whenever that changes, for progress displays.
    pub current_collection: Option<Arc<Mutex<String>>>,
    /// The input's file, when it is a regular file: a subset that must read the dump before
    /// rewriting it (SQL `size_limits`, `schema_only`) reads it again from there instead of
    /// spooling it to a temporary file.
    pub input_path: Option<std::path::PathBuf>,
    /// Refuse to spool a piped input to a temporary file (in `$TMPDIR`) when a subset needs
    /// the dump read twice: such a run fails with [`Error::NoSpool`] instead.
    pub no_spool: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            format: None,
            compression: Compression::Auto,
            level: 6,
            collections: None,
            keep_users: false,
            oplog: OplogMode::Apply,
            strict: false,
            input_read: None,
            threads: default_threads(),
            current_collection: None,
            input_path: None,
            no_spool: false,
        }
    }
}

/// Anonymizes the dump read from `input` into `output`.
///
/// gzip input (one or more members) is detected by its magic bytes and decompressed on a thread
/// of its own; the format (mongodump archive, MySQL/MariaDB or PostgreSQL dump) is detected from
/// the first bytes unless [`Options::format`] forces one; the output is gzip when the input was,
/// unless [`Options::compression`] says otherwise.
///
/// A run that fails, at any point up to and including `--strict`'s end-of-run check, never leaves
/// an output a restore tool would take for complete: a mongodump archive lacks its final
/// terminator, a SQL dump ends with a statement that fails `mysql` and `psql -v ON_ERROR_STOP=1`
/// (with a comment saying why), and a gzip output ends with a truncated member.
pub fn anonymize(
    input: impl Read + Send,
    output: impl Write,
    anon: &Anonymizer,
    options: &Options,
) -> Result<Summary, Error> {
    let started = Instant::now();
    std::thread::scope(|scope| {
        let raw: input::Input<'_> = match &options.input_read {
            Some(count) => Box::new(CountingReader::new(input, count.clone())),
            None => Box::new(input),
        };
        let bytes_in = Arc::new(AtomicU64::new(0));
        let opened = open::open(scope, raw, "input", options.format, Some(bytes_in.clone()))?;
        let (format, input_gzip) = (opened.format, opened.gzip);
        let output_gzip = match options.compression {
            Compression::Auto => input_gzip,
            Compression::Gzip => true,
            Compression::None => false,
        };
        let hold = match format {
            Format::Mongo => formats::ARCHIVE_TERMINATOR_LEN,
            // A custom archive's last integer (the end of its last block, or of its TOC):
            // without it pg_restore fails, so a failed run's output is never restored.
            Format::PgCustom => crate::pg_archive::HELD_BACK,
            _ => 0,
        };
        let level = options.level.min(9);
        let mut sink = Sink::new(output, output_gzip.then_some(level), hold);

        let result = subset::prepare(format, opened.reader, anon, options).and_then(|prepared| {
            let plan = prepared.plan;
            let rewritten =
                formats::rewrite(format, prepared.reader, &mut sink, anon, options, plan)?;
            // A forced SQL format on an input with no header must still find statements it
            // can attribute to tables; an input where it found none was not a dump of that
            // format.
            if let Some(e) = formats::forced_found_nothing(
                format,
                options.format.is_some(),
                opened.detected,
                &rewritten,
            ) {
                return Err(e);
            }
            // Reading for the subset failed where the rewrite did not: still an error.
            match prepared.failed {
                Some(e) => Err(e),
                None => Ok(rewritten),
            }
        });
        let rewritten = match result {
            Ok(r) => r,
            Err(e) => {
                let error = e.with_gzip_input(input_gzip);
                if !error.is_output_failure() {
                    // Best effort: the error itself is what the caller must see.
                    let _ = sink.fail(Some(format), &error.to_string());
                }
                return Err(error);
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        let mut summary = Summary {
            format: format.name(),
            unit: format.unit(),
            input_gzip,
            output_gzip,
            keyed: anon.is_keyed(),
            collections: rewritten.collections,
            rules: Vec::new(),
            failed_closed: 0,
            echoes: Vec::new(),
            when_skipped: Vec::new(),
            unmatched_rules: Vec::new(),
            unmatched_names: Vec::new(),
            did_you_mean: Default::default(),
            bytes_in: bytes_in.load(Relaxed),
            bytes_out: sink.bytes_written(),
            seconds,
            mb_per_second: None,
            strict_failed: false,
            sha_extensions: anonymize_core::sha_extensions(),
            sql: rewritten.sql,
        }
        .with_report(anon.report());
        summary.strict_failed = options.strict
            && (summary.has_unmatched()
                || summary.has_shadowing_keys()
                || summary.echo_count() > 0
                || summary.has_sql_strict_problems());
        if summary.strict_failed {
            let error = Error::Strict(Box::new(summary));
            sink.fail(Some(format), &error.to_string())
                .map_err(write_error)?;
            return Err(error);
        }
        sink.commit().map_err(write_error)?;
        Ok(summary)
    })
}

/// The default of [`Options::threads`]: the cores available to this process.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn write_error(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Error::BrokenPipe
    } else {
        Error::Write(e)
    }
}

/// Reads and validates a rules file; errors are [`Error::Rules`] (with file, line and column)
/// or [`Error::RulesFile`] (the file could not be read), exit code 2.
pub fn load_rules(path: &std::path::Path) -> Result<anonymize_core::RuleSet, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::RulesFile {
        path: path.to_owned(),
        source,
    })?;
    Ok(anonymize_core::RuleSet::from_yaml(
        &text,
        &path.display().to_string(),
    )?)
}
