//! pg_dump's custom archive format (`pg_dump -Fc`): read, rewritten by the same statement
//! loop and row code as plain dumps, and written back as a custom archive `pg_restore`
//! (and `pg_restore -j N`) reads.
//!
//! The archive is fed to [`crate::rewrite_sql`] as the plain dump `pg_restore -f -` would
//! print ([`feed`]: each TOC entry's definition, each table's `COPY` statement and
//! decompressed rows, behind a marker comment carrying a per-run random nonce), so that
//! columns, type checks, exclusions and their dependents, `schema_only`, size limits,
//! credentials and large-object policies apply exactly as to plain dumps. The output is cut
//! back into entries at the markers ([`split`]): an entry whose SQL was dropped leaves the
//! TOC; a kept entry takes its rewritten SQL; rows become a new data block, compressed as
//! the input's were (zlib or none) and spooled to a temporary file until the TOC, which
//! precedes the data, is written. Because the blocks are spooled, their offsets are known
//! before the TOC is written: with [`PgArchiveOptions::data_offsets`] they are recorded (as
//! pg_dump does for a seekable file, and `pg_restore -j` needs), without they are left
//! unset (as pg_dump does for a pipe).

mod feed;
mod split;
mod toc;

use std::io::{self, BufReader, Read, Seek, Write};

use anonymize_core::{Anonymizer, LargeObjects};

pub use toc::{Compression, MAGIC as PG_ARCHIVE_MAGIC};

use crate::{Dialect, SqlError, SqlOptions, SqlSummary};
use toc::{Rd, Wr, FORMAT_CUSTOM, OFFSET_NOT_SET, OFFSET_NO_DATA, OFFSET_SET};

/// Why a pg_dump archive could not be rewritten. Messages name the byte offset or the TOC
/// entry (its type, schema, name and dump id), never a value.
#[derive(Debug, thiserror::Error)]
pub enum PgArchiveError {
    /// The archive's structure is damaged or not supported.
    #[error("pg_dump archive, byte {offset}: {message}")]
    Format {
        /// Byte offset in the archive.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// One entry (a table's data block...) is damaged or not supported.
    #[error("pg_dump archive, {entry}: {message}")]
    Entry {
        /// The entry: type, `schema.name`, dump id.
        entry: String,
        /// What is wrong.
        message: String,
    },
    /// Reading the archive failed.
    #[error("pg_dump archive: reading failed near byte {offset}: {source}")]
    Read {
        /// Byte offset in the archive.
        offset: u64,
        /// The reader's error.
        #[source]
        source: io::Error,
    },
    /// Writing the output (or the spool) failed.
    #[error("writing the output failed: {source}")]
    Write {
        /// The writer's error.
        #[source]
        source: io::Error,
    },
    /// The SQL of an entry could not be rewritten (or the rules do not fit it).
    #[error("pg_dump archive, {entry}: {source}")]
    Sql {
        /// The entry whose SQL was being read.
        entry: String,
        /// The statement loop's error.
        #[source]
        source: SqlError,
    },
}

/// Options of a custom archive's rewrite beyond [`SqlOptions`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PgArchiveOptions {
    /// Records each data block's offset in the TOC (for a seekable output file; needed by
    /// `pg_restore -j`). Without, offsets are left unset, as pg_dump writes to a pipe.
    pub data_offsets: bool,
}

/// What a custom archive's rewrite did.
#[derive(Debug, Clone)]
pub struct PgArchiveSummary {
    /// The statement loop's summary (tables, rows, credentials, dependents, large objects).
    pub sql: SqlSummary,
    /// TOC entries read.
    pub entries_in: usize,
    /// TOC entries written.
    pub entries_out: usize,
    /// Entries dropped (type, name, dump id), in TOC order.
    pub entries_dropped: Vec<String>,
    /// How the data blocks are compressed.
    pub compression: Compression,
}

/// A per-run random marker nonce (the input cannot forge a marker it cannot guess).
fn nonce() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut parts = [0u64; 2];
    for (i, p) in parts.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        *p = h.finish();
    }
    format!("{:016x}{:016x}", parts[0], parts[1])
}

/// Rewrites a pg_dump custom archive (`pg_dump -Fc`) from `input` into `output`.
///
/// The rules apply as to a plain dump (see the crate documentation). Errors name the byte
/// offset or the TOC entry; the output is then incomplete and must not be restored.
pub fn rewrite_pg_custom<R: Read, W: Write>(
    input: R,
    mut output: W,
    anon: &Anonymizer,
    options: &SqlOptions,
    archive: &PgArchiveOptions,
) -> Result<PgArchiveSummary, PgArchiveError> {
    let mut rd = Rd::new(input);
    let header = rd.header(FORMAT_CUSTOM)?;
    let entries = rd.toc(&header)?;
    let nonce = nonce();
    let keep_blobs = !matches!(
        anon.large_objects(),
        Some(LargeObjects::Empty | LargeObjects::Drop)
    );
    let mut feed = feed::Feed::new(rd, &entries, nonce.clone(), header.compression, keep_blobs);
    let mut split = split::Split::new(&entries, &nonce, header.int_size, header.compression);
    let mut opts = options.clone();
    opts.dialect = Some(Dialect::Postgres);
    let result = crate::rewrite_sql(
        BufReader::with_capacity(1 << 16, &mut feed),
        &mut split,
        anon,
        &opts,
    );
    let result = result.and_then(|s| split.finish().map(|()| s).map_err(SqlError::write));
    let sql = match result {
        Ok(s) => s,
        Err(e) => {
            if let Some(err) = feed.error.take().or_else(|| split.error.take()) {
                return Err(err);
            }
            return Err(match e {
                SqlError::Write { source } => PgArchiveError::Write { source },
                e => {
                    let at = match &e {
                        SqlError::Read { offset, .. }
                        | SqlError::Syntax { offset, .. }
                        | SqlError::TooLarge { offset, .. } => Some(*offset),
                        _ => None,
                    };
                    let entry = at
                        .and_then(|o| feed.starts.iter().rev().find(|(s, _)| *s <= o))
                        .map_or_else(
                            || "the archive's SQL".to_owned(),
                            |&(_, i)| entries[i].label(),
                        );
                    PgArchiveError::Sql { entry, source: e }
                }
            });
        }
    };
    let blobs = std::mem::replace(
        &mut feed.blobs,
        feed::BlobSpool {
            file: None,
            len: 0,
            blocks: Vec::new(),
        },
    );
    drop(feed);
    let outs = std::mem::take(&mut split.outs);
    let spool = split.into_spool();

    // What is kept, and with which SQL.
    let blank = |t: &[u8]| t.iter().all(u8::is_ascii_whitespace);
    let mut kept = vec![false; entries.len()];
    let mut out_entries = Vec::new();
    let mut dropped = Vec::new();
    let index: std::collections::HashMap<Vec<u8>, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.dump_id.to_string().into_bytes(), i))
        .collect();
    let dep_dropped = |e: &toc::Entry, kept: &[bool]| {
        e.deps
            .iter()
            .any(|d| index.get(d).is_some_and(|&i| !kept[i]))
    };
    let mut blocks: Vec<(usize, u64, u64, bool)> = Vec::new();
    for (i, (e, o)) in entries.iter().zip(&outs).enumerate() {
        let mut n = e.clone();
        let keep = if e.has_data() && e.is("BLOBS") {
            match blobs.blocks.iter().find(|b| b.0 == i) {
                Some(&(_, s, l)) => {
                    blocks.push((i, s, l, true));
                    true
                }
                None => false,
            }
        } else if e.has_data() {
            let has_copy = !blank(e.copy_stmt.as_deref().unwrap_or_default());
            let keep = if has_copy {
                o.seen && !blank(&o.text)
            } else {
                o.seen && o.has_rows
            } && !dep_dropped(e, &kept);
            if keep {
                if has_copy {
                    n.copy_stmt = Some(o.text.clone());
                }
                match o.block {
                    Some((s, l)) => blocks.push((i, s, l, false)),
                    None => n.offset_state = OFFSET_NO_DATA,
                }
            }
            keep
        } else if blank(e.defn.as_deref().unwrap_or_default()) {
            !dep_dropped(e, &kept)
        } else if o.seen && !blank(&o.text) {
            n.defn = Some(o.text.clone());
            true
        } else {
            false
        };
        kept[i] = keep;
        if keep {
            out_entries.push((i, n));
        } else {
            dropped.push(e.label());
        }
    }
    for (_, n) in &mut out_entries {
        n.deps.retain(|d| index.get(d).is_none_or(|&i| kept[i]));
    }

    // The TOC, then the blocks in spool order (table data, then large objects).
    let wr = Wr { h: &header };
    let toc_bytes = |out_entries: &[(usize, toc::Entry)]| {
        let mut t = header.raw.clone();
        wr.int(&mut t, out_entries.len() as i64);
        for (_, n) in out_entries {
            wr.entry(&mut t, n);
        }
        t
    };
    let toc_len = toc_bytes(&out_entries).len() as u64;
    let sql_spool_len = spool
        .as_ref()
        .map_or(Ok(0), |f| f.metadata().map(|m| m.len()))
        .map_err(|source| PgArchiveError::Write { source })?;
    for (i, n) in &mut out_entries {
        if let Some(&(_, s, _, blob)) = blocks.iter().find(|b| b.0 == *i) {
            if archive.data_offsets {
                n.offset_state = OFFSET_SET;
                n.offset = toc_len + s + if blob { sql_spool_len } else { 0 };
            } else {
                n.offset_state = OFFSET_NOT_SET;
                n.offset = 0;
            }
        }
    }
    let toc = toc_bytes(&out_entries);
    let werr = |source| PgArchiveError::Write { source };
    output.write_all(&toc).map_err(werr)?;
    for mut f in spool.into_iter().chain(blobs.file) {
        f.seek(io::SeekFrom::Start(0)).map_err(werr)?;
        io::copy(&mut f, &mut output).map_err(werr)?;
    }
    output.flush().map_err(werr)?;
    Ok(PgArchiveSummary {
        sql,
        entries_in: entries.len(),
        entries_out: out_entries.len(),
        entries_dropped: dropped,
        compression: header.compression,
    })
}
