//! pg_dump's archive formats (custom `-Fc`, directory `-Fd`, tar `-Ft`): read, rewritten by
//! the same statement loop and row code as plain dumps, and written back in the same format
//! for `pg_restore` (and `pg_restore -j N`).
//!
//! The archive is fed to [`crate::rewrite_sql`] as the plain dump `pg_restore -f -` would
//! print ([`feed`]: each TOC entry's definition, each table's `COPY` statement and
//! decompressed rows, behind a marker comment carrying a per-run random nonce), so that
//! columns, type checks, exclusions and their dependents, `schema_only`, size limits,
//! credentials and large-object policies apply exactly as to plain dumps. The output is cut
//! back into entries at the markers ([`split`]): an entry whose SQL was dropped leaves the
//! TOC; a kept entry takes its rewritten SQL; rows become a new data block, compressed as
//! the input's were (zlib, LZ4 frames or none; Zstandard frames are read, and written as
//! zlib with the header saying gzip, as no Zstandard encoder is built in) and spooled to a
//! temporary file until the TOC, which precedes the data, is written. Because the blocks are
//! spooled, their offsets are known before the TOC is written: with
//! [`PgArchiveOptions::data_offsets`] they are recorded (as pg_dump does for a seekable file,
//! and `pg_restore -j` needs), without they are left unset (as pg_dump does for a pipe).

mod feed;
mod files;
mod split;
mod tar;
mod toc;

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::Path;

use anonymize_core::{Anonymizer, LargeObjects};

pub use toc::{Compression, MAGIC as PG_ARCHIVE_MAGIC};

use crate::{Dialect, SqlError, SqlOptions, SqlSummary};
use toc::{
    Layout, Rd, Wr, FORMAT_CUSTOM, FORMAT_DIRECTORY, OFFSET_NOT_SET, OFFSET_NO_DATA, OFFSET_SET,
};

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

impl PgArchiveError {
    /// The byte offset in the archive where the error is, when known (its structure, or
    /// reading it). An entry's SQL error has its own offset in the entry's SQL text:
    /// [`PgArchiveError::sql`].
    pub fn offset(&self) -> Option<u64> {
        match self {
            PgArchiveError::Format { offset, .. } | PgArchiveError::Read { offset, .. } => {
                Some(*offset)
            }
            _ => None,
        }
    }

    /// The TOC entry concerned (type, `schema.name`, dump id), when known.
    pub fn entry(&self) -> Option<&str> {
        match self {
            PgArchiveError::Entry { entry, .. } | PgArchiveError::Sql { entry, .. } => Some(entry),
            _ => None,
        }
    }

    /// The statement loop's error in an entry's SQL (its line, offset and table count in
    /// that SQL text).
    pub fn sql(&self) -> Option<&SqlError> {
        match self {
            PgArchiveError::Sql { source, .. } => Some(source),
            _ => None,
        }
    }
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
    /// How the input's data blocks are compressed.
    pub compression: Compression,
    /// How the output's data blocks are compressed: as the input's, except Zstandard, which
    /// is written as gzip (this build decodes Zstandard but has no encoder).
    pub output_compression: Compression,
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

/// The statement loop's run over an archive and what it left per entry.
struct Run {
    sql: SqlSummary,
    outs: Vec<split::Out>,
    blobs: feed::BlobSpool,
    spool: Option<File>,
}

/// Feeds the archive's SQL through [`crate::rewrite_sql`] and cuts its output into entries.
fn run<R: Read>(
    rd: Rd<R>,
    header: &toc::Header,
    entries: &[toc::Entry],
    anon: &Anonymizer,
    options: &SqlOptions,
    dirs: Option<(&Path, &Path)>,
    share: files::Share,
) -> Result<Run, PgArchiveError> {
    let nonce = nonce();
    let keep_blobs = !matches!(
        anon.large_objects(),
        Some(LargeObjects::Empty | LargeObjects::Drop)
    );
    let mut feed = feed::Feed::new(
        rd,
        entries.to_vec().into(),
        nonce.clone(),
        header.compression,
        keep_blobs,
    );
    let mut split = split::Split::new(
        entries,
        &nonce,
        header.int_size,
        header.for_output().compression,
        header.level,
    );
    split = split.with_tails(feed.tails.clone());
    if let Some((input, output)) = dirs {
        feed = feed.with_directory(input).with_share(share);
        split = split.with_directory(output);
    }
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
                            |&(_, i)| match (dirs, entries[i].file_name()) {
                                // A directory archive's data file: named too.
                                (Some(_), Ok(name)) if entries[i].has_data() => {
                                    format!("{}, data file {name}", entries[i].label())
                                }
                                _ => entries[i].label(),
                            },
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
    Ok(Run {
        sql,
        outs,
        blobs,
        spool: split.into_spool(),
    })
}

/// The entries kept (index, rewritten entry), the labels of those dropped, and the data
/// blocks of the kept ones: (index, start, length, a large objects' block).
type Decided = (
    Vec<(usize, toc::Entry)>,
    Vec<String>,
    Vec<(usize, u64, u64, bool)>,
);

/// Which entries are kept, with which SQL: an entry whose SQL the statement loop dropped
/// leaves the TOC; an entry without SQL goes with what it depends on.
fn decide(entries: &[toc::Entry], run: &Run) -> Decided {
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
    let mut blocks = Vec::new();
    for (i, (e, o)) in entries.iter().zip(&run.outs).enumerate() {
        let mut n = e.clone();
        let keep = if e.has_data() && e.is("BLOBS") {
            match run.blobs.blocks.iter().find(|b| b.0 == i) {
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
    (out_entries, dropped, blocks)
}

/// The output's header and TOC (the header as [`toc::Header::for_output`] makes it).
fn toc_bytes(header: &toc::Header, entries: &[(usize, toc::Entry)], layout: Layout) -> Vec<u8> {
    let header = &header.for_output();
    let wr = Wr { h: header };
    let mut t = header.raw.clone();
    wr.int(&mut t, entries.len() as i64);
    for (_, n) in entries {
        wr.entry(&mut t, n, layout);
    }
    t
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
    let header = rd.header(&[FORMAT_CUSTOM])?;
    let entries = rd.toc(&header, Layout::Custom)?;
    let mut run = run(
        rd,
        &header,
        &entries,
        anon,
        options,
        None,
        files::Share::All,
    )?;
    let (mut out_entries, dropped, blocks) = decide(&entries, &run);

    // The TOC, then the blocks in spool order (table data, then large objects).
    let toc_len = toc_bytes(&header, &out_entries, Layout::Custom).len() as u64;
    let werr = |source| PgArchiveError::Write { source };
    let sql_spool_len = run
        .spool
        .as_ref()
        .map_or(Ok(0), |f| f.metadata().map(|m| m.len()))
        .map_err(werr)?;
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
    output
        .write_all(&toc_bytes(&header, &out_entries, Layout::Custom))
        .map_err(werr)?;
    for mut f in run.spool.take().into_iter().chain(run.blobs.file.take()) {
        f.seek(io::SeekFrom::Start(0)).map_err(werr)?;
        io::copy(&mut f, &mut output).map_err(werr)?;
    }
    output.flush().map_err(werr)?;
    Ok(PgArchiveSummary {
        entries_in: entries.len(),
        entries_out: out_entries.len(),
        entries_dropped: dropped,
        compression: header.compression,
        output_compression: header.for_output().compression,
        sql: run.sql,
    })
}

/// True when `dir` holds a pg_dump directory archive (`pg_dump -Fd`): a `toc.dat` that
/// starts with the archive magic.
pub fn is_pg_directory(dir: &Path) -> bool {
    let mut head = [0u8; 5];
    File::open(dir.join("toc.dat"))
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == toc::MAGIC
}

/// Rewrites a pg_dump directory archive (`pg_dump -Fd`: `toc.dat` and one data file per
/// table, `<dump id>.dat[.gz]`) from the directory `input` into the directory `output`, which
/// must not exist. The archive is written into a temporary directory beside `output`, renamed
/// to it on success and removed on failure. Data files keep the input's compression (gzip or
/// none); large objects' files are copied as they are (or left out, by the rules'
/// `large_objects`). With [`SqlOptions::threads`] above 1 the table data files are rewritten
/// one per worker thread, largest first, and the output is byte-identical to one thread's
/// (see the `files` module).
pub fn rewrite_pg_directory(
    input: &Path,
    output: &Path,
    anon: &Anonymizer,
    options: &SqlOptions,
) -> Result<PgArchiveSummary, PgArchiveError> {
    let werr = |source| PgArchiveError::Write { source };
    if output.exists() {
        return Err(werr(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("the output directory {} exists", output.display()),
        )));
    }
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pg-archive".into());
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.partial-"))
        .tempdir_in(&parent)
        .map_err(werr)?;
    let (summary, _) = directory_into(input, tmp.path(), anon, options)?;
    std::fs::rename(tmp.keep(), output).map_err(werr)?;
    Ok(summary)
}

/// The list of a `BLOBS` entry's large objects in `dir`: the entry's file when it is a
/// `.toc` (directory archives), else `blobs_<dump id>.toc` (pg_dump 17) or `blobs.toc` (tar
/// archives, whose entry names a script instead).
pub(crate) fn blob_list_name(dir: &Path, e: &toc::Entry) -> Result<String, PgArchiveError> {
    let own = e.file_name()?;
    if own.ends_with(".toc") {
        return Ok(own.to_owned());
    }
    let numbered = format!("blobs_{}.toc", e.dump_id);
    Ok(if dir.join(&numbered).exists() {
        numbered
    } else {
        "blobs.toc".to_owned()
    })
}

/// Rewrites the directory archive `input` into the existing directory `out`; also returns the
/// kept entries (for the tar writer's member order).
fn directory_into(
    input: &Path,
    out: &Path,
    anon: &Anonymizer,
    options: &SqlOptions,
) -> Result<(PgArchiveSummary, Vec<toc::Entry>), PgArchiveError> {
    let werr = |source| PgArchiveError::Write { source };
    let (rd, header, entries) = directory_toc(input)?;
    let run = files::run_directory(rd, &header, &entries, anon, options, input, out)?;
    let (out_entries, dropped, blocks) = decide(&entries, &run);
    // Large objects: the entry's list (`blobs.toc`) and the files it names, copied.
    for &(i, _, _, blob) in &blocks {
        if !blob {
            continue;
        }
        let e = &entries[i];
        let list_name = &blob_list_name(input, e)?;
        let list =
            std::fs::read(input.join(list_name)).map_err(|source| PgArchiveError::Entry {
                entry: e.label(),
                message: format!("cannot read {list_name}: {source}"),
            })?;
        std::fs::write(out.join(list_name), &list).map_err(werr)?;
        for line in list.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let name = line
                .iter()
                .position(|&b| b == b' ')
                .map(|p| &line[p + 1..])
                .and_then(|n| std::str::from_utf8(n).ok())
                .filter(|n| {
                    !n.starts_with('.')
                        && n.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
                })
                .ok_or_else(|| PgArchiveError::Entry {
                    entry: e.label(),
                    message: format!("{list_name} has a line that is not `oid file`"),
                })?;
            let copied = [format!("{name}.gz"), format!("{name}.lz4"), name.to_owned()]
                .iter()
                .find(|n| input.join(n).exists())
                .map(|n| std::fs::copy(input.join(n), out.join(n)));
            match copied {
                Some(r) => {
                    r.map_err(werr)?;
                }
                None => {
                    return Err(PgArchiveError::Entry {
                        entry: e.label(),
                        message: format!("the large object file {name}[.gz|.lz4] is missing"),
                    })
                }
            }
        }
    }
    std::fs::write(
        out.join("toc.dat"),
        toc_bytes(&header, &out_entries, Layout::Directory),
    )
    .map_err(werr)?;
    let summary = PgArchiveSummary {
        entries_in: entries.len(),
        entries_out: out_entries.len(),
        entries_dropped: dropped,
        compression: header.compression,
        output_compression: header.for_output().compression,
        sql: run.sql,
    };
    Ok((summary, out_entries.into_iter().map(|(_, e)| e).collect()))
}

/// Rewrites a pg_dump tar archive (`pg_dump -Ft`) from the stream `input` into the stream
/// `output`: the members are unpacked into a temporary directory (`restore.sql`, a script
/// of the original's SQL, is left out), rewritten as a directory archive, and written as a
/// tar archive `pg_restore` reads: `toc.dat`, then the tables' data files in TOC order, then
/// the large objects' files and their list, as pg_dump orders them.
pub fn rewrite_pg_tar<R: Read, W: Write>(
    input: R,
    output: W,
    anon: &Anonymizer,
    options: &SqlOptions,
) -> Result<PgArchiveSummary, PgArchiveError> {
    let werr = |source| PgArchiveError::Write { source };
    let work = tempfile::tempdir().map_err(werr)?;
    let (unpacked, rewritten) = (work.path().join("in"), work.path().join("out"));
    std::fs::create_dir(&unpacked).map_err(werr)?;
    std::fs::create_dir(&rewritten).map_err(werr)?;
    tar::unpack(input, &unpacked)?;
    let (summary, kept) = directory_into(&unpacked, &rewritten, anon, options)?;
    tar::pack(&rewritten, &kept, output)?;
    Ok(summary)
}

/// A pg_dump archive (custom, tar or directory) read as SQL text: each TOC entry's
/// definition and each table's `COPY` statement and decompressed rows, in the archive's
/// order, each behind a `--` marker comment (large objects' data, which is not SQL, is left
/// out). It is the same text the rewriter's statement loop reads (the archive feed), and what the
/// readers of plain dumps (inspect, scan, verify) read; it is not a restorable script
/// (`pg_restore -f -` prints one). Read errors name the TOC entry.
pub struct PgArchiveSql<R: Read> {
    feed: feed::Feed<R>,
    /// A tar archive's members, unpacked (removed when the reader is dropped).
    _unpacked: Option<tempfile::TempDir>,
}

impl<R: Read> Read for PgArchiveSql<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.feed.read(buf)
    }
}

/// Reads the header and TOC of a custom archive (`pg_dump -Fc`) and returns its SQL text
/// ([`PgArchiveSql`]).
pub fn pg_custom_sql<R: Read>(input: R) -> Result<PgArchiveSql<R>, PgArchiveError> {
    let mut rd = Rd::new(input);
    let header = rd.header(&[FORMAT_CUSTOM])?;
    let entries = rd.toc(&header, Layout::Custom)?;
    Ok(PgArchiveSql {
        feed: feed::Feed::new(rd, entries.into(), nonce(), header.compression, false),
        _unpacked: None,
    })
}

/// Reads the `toc.dat` of a directory archive (`pg_dump -Fd`) in `dir` and returns its SQL
/// text ([`PgArchiveSql`]): the tables' data files are read as the text reaches them, as the
/// rewriter reads them.
pub fn pg_directory_sql(dir: &Path) -> Result<PgArchiveSql<BufReader<File>>, PgArchiveError> {
    let feed = directory_feed(dir)?;
    Ok(PgArchiveSql {
        feed,
        _unpacked: None,
    })
}

/// Reads a tar archive (`pg_dump -Ft`) from `input` and returns its SQL text
/// ([`PgArchiveSql`]). As for its rewrite, the members are first unpacked into a temporary
/// directory (under `$TMPDIR`, removed when the reader is dropped), then read as a directory
/// archive.
pub fn pg_tar_sql<R: Read>(input: R) -> Result<PgArchiveSql<BufReader<File>>, PgArchiveError> {
    let work = tempfile::tempdir().map_err(|source| PgArchiveError::Write { source })?;
    tar::unpack(input, work.path())?;
    let feed = directory_feed(work.path())?;
    Ok(PgArchiveSql {
        feed,
        _unpacked: Some(work),
    })
}

/// A directory archive's `toc.dat` read: its reader (positioned after the TOC), header and
/// entries.
type DirectoryToc = (Rd<BufReader<File>>, toc::Header, Vec<toc::Entry>);

/// The `toc.dat` of the directory archive in `dir`.
fn directory_toc(dir: &Path) -> Result<DirectoryToc, PgArchiveError> {
    let toc_path = dir.join("toc.dat");
    let file = File::open(&toc_path).map_err(|source| PgArchiveError::Read {
        offset: 0,
        source: io::Error::new(source.kind(), format!("{}: {source}", toc_path.display())),
    })?;
    let mut rd = Rd::new(BufReader::new(file));
    let header = rd.header(&FORMAT_DIRECTORY)?;
    let entries = rd.toc(&header, Layout::Directory)?;
    Ok((rd, header, entries))
}

/// The SQL feed of the directory archive in `dir` (large objects left out).
fn directory_feed(dir: &Path) -> Result<feed::Feed<BufReader<File>>, PgArchiveError> {
    let (rd, header, entries) = directory_toc(dir)?;
    Ok(feed::Feed::new(rd, entries.into(), nonce(), header.compression, false).with_directory(dir))
}
