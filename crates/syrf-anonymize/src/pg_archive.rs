//! pg_dump's archives as run inputs: custom (`-Fc`, the `PGDMP` magic) and tar (`-Ft`, a
//! first member `toc.dat`) streams, and directories (`-Fd`, a `toc.dat`), rewritten by
//! sql-dump into the same format for `pg_restore` (also `-j N`).

use std::io::{Read, Write};

use anonymize_core::Anonymizer;

use crate::error::Error;
use crate::format_base::{sql_rewritten, Rewritten};
use crate::Options;

/// Bytes of a custom archive's end held back until the run has succeeded (its last
/// integer: a sign byte and 4 bytes).
pub(crate) const HELD_BACK: usize = 5;

/// The first line of a directory archive's SQL text ([`directory_sql`]): a comment, which
/// also tells format detection that the text is PostgreSQL's.
const DIRECTORY_SQL_HEAD: &[u8] =
    b"--\n-- PostgreSQL database dump (a pg_dump directory archive read by syrf-anonymize)\n--\n";

/// A pg_dump directory archive (`pg_dump -Fd`) as the SQL text `inspect`, `scan` and
/// `verify` read: sql-dump's archive feed (each entry's SQL, each table's COPY statement and
/// rows, read from its data file), the same text the directory's rewrite reads, behind a
/// comment that says it is PostgreSQL's. Errors name the directory and the TOC entry.
pub fn directory_sql(dir: &std::path::Path) -> Result<impl Read + Send, crate::Error> {
    let sql = sql_dump::pg_directory_sql(dir).map_err(|e| {
        crate::Error::BadInput(format!(
            "{} is a pg_dump directory archive that cannot be read: {e}",
            dir.display()
        ))
    })?;
    Ok(std::io::Cursor::new(DIRECTORY_SQL_HEAD).chain(sql))
}

/// The stream starts like a pg_dump custom archive: the `PGDMP` magic, a version byte 1 and
/// (at byte 10) the custom format's code. Tar and directory archives are not matched.
pub(crate) fn is_custom_archive(head: &[u8]) -> bool {
    head.starts_with(sql_dump::PG_ARCHIVE_MAGIC)
        && head.get(5) == Some(&1)
        && head.get(10) == Some(&1)
}

/// The stream starts like a pg_dump tar archive: a ustar member named `toc.dat` first.
pub(crate) fn is_tar_archive(head: &[u8]) -> bool {
    head.starts_with(b"toc.dat\0") && head.get(257..262) == Some(&b"ustar"[..])
}

/// Rewrites a tar archive (`pg_dump -Ft`) into a tar archive, by
/// [`sql_dump::rewrite_pg_tar`] (the members are unpacked into a temporary directory).
pub(crate) fn rewrite_tar(
    input: impl Read,
    output: &mut impl Write,
    anon: &Anonymizer,
    args: &Options,
) -> Result<Rewritten, Error> {
    let summary = sql_dump::rewrite_pg_tar(input, output, anon, &sql_options(args))?;
    Ok(sql_rewritten(summary.sql, anon))
}

fn sql_options(args: &Options) -> sql_dump::SqlOptions {
    sql_dump::SqlOptions {
        dialect: Some(sql_dump::Dialect::Postgres),
        collections: args.collections.clone(),
        keep_users: args.keep_users,
        current_table: args.current_collection.clone(),
        threads: args.threads,
        subset: None,
    }
}

/// Rewrites a custom archive. The data blocks are spooled to a temporary file, so their
/// offsets are always recorded in the TOC: `pg_restore -j` can use a file, and `pg_restore`
/// reading a pipe ignores them.
pub(crate) fn rewrite(
    input: impl Read,
    output: &mut impl Write,
    anon: &Anonymizer,
    args: &Options,
) -> Result<Rewritten, Error> {
    let archive = sql_dump::PgArchiveOptions { data_offsets: true };
    let summary = sql_dump::rewrite_pg_custom(input, output, anon, &sql_options(args), &archive)?;
    Ok(sql_rewritten(summary.sql, anon))
}

/// Rewrites a pg_dump directory archive (`pg_dump -Fd`, detected by its `toc.dat`) into the
/// directory `output` (which must not exist; written beside it and renamed on success), by
/// [`sql_dump::rewrite_pg_directory`]. `--strict` problems remove the output again.
pub fn anonymize_pg_directory(
    input: &std::path::Path,
    output: &std::path::Path,
    anon: &Anonymizer,
    args: &Options,
) -> Result<crate::Summary, Error> {
    let started = std::time::Instant::now();
    let options = sql_options(args);
    if crate::subset::pg_archive_needs_subset(anon, args) {
        return Err(Error::PgArchiveSubset);
    }
    let summary = sql_dump::rewrite_pg_directory(input, output, anon, &options)?;
    let size = |dir: &std::path::Path| -> u64 {
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|f| f.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    };
    let rewritten = sql_rewritten(summary.sql, anon);
    let mut summary = crate::Summary {
        format: "postgres-directory",
        unit: "table",
        input_gzip: summary.compression == sql_dump::PgCompression::Gzip,
        output_gzip: summary.output_compression == sql_dump::PgCompression::Gzip,
        keyed: anon.is_keyed(),
        collections: rewritten.collections,
        rules: Vec::new(),
        unmatched_rules: Vec::new(),
        unmatched_names: Vec::new(),
        did_you_mean: Default::default(),
        bytes_in: size(input),
        bytes_out: size(output),
        seconds: started.elapsed().as_secs_f64(),
        mb_per_second: None,
        strict_failed: false,
        failed_closed: 0,
        echoes: Vec::new(),
        when_skipped: Vec::new(),
        sha_extensions: anonymize_core::sha_extensions(),
        sql: rewritten.sql,
    }
    .with_report(anon.report());
    summary.strict_failed = args.strict
        && (summary.has_unmatched()
            || summary.has_shadowing_keys()
            || summary.has_sql_strict_problems());
    if summary.strict_failed {
        let _ = std::fs::remove_dir_all(output);
        return Err(Error::Strict(Box::new(summary)));
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_custom_archives_are_matched() {
        let custom = b"PGDMP\x01\x0e\x00\x04\x08\x01\x00";
        assert!(is_custom_archive(custom));
        let directory_toc = b"PGDMP\x01\x0e\x00\x04\x08\x05\x00";
        assert!(!is_custom_archive(directory_toc));
        assert!(!is_custom_archive(b"PGDMP"));
        assert!(!is_custom_archive(b"--\n-- PostgreSQL database dump\n"));
        let mut tar = vec![0u8; 512];
        tar[..8].copy_from_slice(b"toc.dat\0");
        tar[257..262].copy_from_slice(b"ustar");
        assert!(is_tar_archive(&tar));
        tar[..8].copy_from_slice(b"data.sq\0");
        assert!(!is_tar_archive(&tar));
    }
}
