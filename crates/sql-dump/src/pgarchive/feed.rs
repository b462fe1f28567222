//! The archive read as the plain dump pg_restore would print: each TOC entry's SQL (its
//! definition; a table's `COPY` statement and decompressed data), preceded by a marker
//! comment naming the entry, so that the statement loop reads the archive as it reads a
//! plain dump and [`super::split`] can attribute its output to entries again.
//!
//! Entries are fed in TOC order, except that the data blocks come in the order the archive
//! holds them (pg_dump writes them in TOC order; a pipe cannot be read in any other).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};

use super::toc::{Compression, Entry, Rd, BLK_BLOBS, BLK_DATA};
use super::PgArchiveError;

/// The marker comment before entry `idx`.
pub(crate) fn marker(nonce: &str, idx: usize) -> Vec<u8> {
    format!("\n-- syrf-pgarchive {nonce} {idx}\n").into_bytes()
}

/// Reads the `len`-prefixed chunks of one data block as one stream.
pub(crate) struct Chunks<R: Read> {
    pub(crate) rd: Rd<R>,
    left: u64,
    done: bool,
}

impl<R: Read> Chunks<R> {
    pub(crate) fn new(rd: Rd<R>) -> Self {
        Chunks {
            rd,
            left: 0,
            done: false,
        }
    }
}

fn to_io(e: PgArchiveError) -> io::Error {
    io::Error::other(e.to_string())
}

impl<R: Read> Read for Chunks<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        while self.left == 0 {
            let n = self.rd.int("a data block's chunk length").map_err(to_io)?;
            if n == 0 {
                self.done = true;
                return Ok(0);
            }
            if n < 0 {
                return Err(io::Error::other(format!(
                    "near byte {}: negative chunk length in a data block",
                    self.rd.pos
                )));
            }
            self.left = n as u64;
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.rd.r.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::other(format!(
                "near byte {}: the archive ends inside a data block",
                self.rd.pos
            )));
        }
        self.rd.pos += n as u64;
        self.left -= n as u64;
        Ok(n)
    }
}

/// A Zstandard stream decoder (one frame, as pg_dump writes per block and per file).
type ZstdDecoder<R> = ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>;

/// The data block being read.
enum Block<R: Read> {
    Plain(Chunks<R>),
    Zlib(Box<flate2::bufread::ZlibDecoder<BufReader<Chunks<R>>>>),
    /// An LZ4 frame (pg_dump 16+ `-Z lz4`).
    Lz4(Box<lz4_flex::frame::FrameDecoder<BufReader<Chunks<R>>>>),
    /// A Zstandard frame (pg_dump 16+ `-Z zstd`).
    Zstd(Box<ZstdDecoder<BufReader<Chunks<R>>>>),
    /// A directory archive's data file.
    File(Box<dyn Read + Send>),
}

/// Opens the Zstandard frame at the start of `r` (its header is read at once).
pub(crate) fn zstd_decoder<T: Read>(r: T) -> io::Result<ZstdDecoder<T>> {
    ZstdDecoder::new(r).map_err(|e| io::Error::other(format!("Zstandard frame: {e}")))
}

/// A data file of a directory archive, decompressed by its name's suffix: `.gz`, `.lz4`,
/// `.zst` or none.
pub(crate) fn data_file(path: &std::path::Path) -> io::Result<Box<dyn Read + Send>> {
    let f = BufReader::new(File::open(path)?);
    let name = path.to_string_lossy();
    Ok(if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(f))
    } else if name.ends_with(".lz4") {
        Box::new(lz4_flex::frame::FrameDecoder::new(f))
    } else if name.ends_with(".zst") {
        Box::new(zstd_decoder(f)?)
    } else {
        Box::new(f)
    })
}

impl<R: Read> Block<R> {
    /// Reads what is left of the block and gives the reader back.
    fn finish(self) -> io::Result<Option<Rd<R>>> {
        match self {
            Block::Plain(mut c) => {
                io::copy(&mut c, &mut io::sink())?;
                Ok(Some(c.rd))
            }
            Block::Zlib(d) => {
                let mut b = d.into_inner();
                io::copy(&mut b, &mut io::sink())?;
                Ok(Some(b.into_inner().rd))
            }
            Block::Lz4(d) => {
                let mut b = d.into_inner();
                io::copy(&mut b, &mut io::sink())?;
                Ok(Some(b.into_inner().rd))
            }
            Block::Zstd(d) => {
                let mut b = d.into_inner();
                io::copy(&mut b, &mut io::sink())?;
                Ok(Some(b.into_inner().rd))
            }
            Block::File(_) => Ok(None),
        }
    }
}

impl<R: Read> Read for Block<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Block::Plain(c) => c.read(buf),
            Block::Zlib(d) => d.read(buf),
            Block::Lz4(d) => d.read(buf),
            Block::Zstd(d) => d.read(buf),
            Block::File(f) => f.read(buf),
        }
    }
}

#[derive(Clone, Copy)]
enum Phase {
    Pre(usize),
    Data,
    Post(usize),
    Done,
}

/// Where the large objects' blocks go when they are kept.
pub(crate) struct BlobSpool {
    pub(crate) file: Option<File>,
    pub(crate) len: u64,
    /// Entry index, start and length of each block in `file`.
    pub(crate) blocks: Vec<(usize, u64, u64)>,
}

/// The archive as SQL text (see the module documentation).
pub(crate) struct Feed<R: Read> {
    entries: std::sync::Arc<[Entry]>,
    by_id: HashMap<i64, usize>,
    first_data: usize,
    nonce: String,
    compression: Compression,
    rd: Option<Rd<R>>,
    block: Option<(usize, Block<R>)>,
    cur: Vec<u8>,
    pos: usize,
    phase: Phase,
    seen: Vec<bool>,
    /// Bytes of SQL text produced.
    produced: u64,
    /// The last bytes of the data block being read (its `\.` line is checked at its end).
    tail: Vec<u8>,
    /// Where each fed entry starts in the SQL text: (offset, entry index).
    pub(crate) starts: Vec<(u64, usize)>,
    /// The archive error behind a failed read, naming the entry.
    pub(crate) error: Option<PgArchiveError>,
    /// Large objects' blocks are kept (else skipped).
    keep_blobs: bool,
    pub(crate) blobs: BlobSpool,
    /// A directory archive's directory (data read from its files, in TOC order).
    dir: Option<std::path::PathBuf>,
    /// The next entry whose data file is read (directory archives).
    next_file: usize,
    /// Which data files this feed reads: all, all but the workers', or a worker's share.
    files: super::files::Share,
    /// Per entry, the line ends its data ends with (what [`super::split`] writes after the
    /// rows, whatever follows the entry in this feed).
    pub(crate) tails: Tails,
}

/// The line ends each entry's data ends with, as read (see [`Feed::tails`]).
pub(crate) type Tails = std::sync::Arc<[std::sync::atomic::AtomicU64]>;

/// Records that `bytes` of entry `idx`'s data were read.
fn tail_update(tails: &Tails, idx: usize, bytes: &[u8]) {
    use std::sync::atomic::Ordering;
    let Some(t) = tails.get(idx) else {
        return;
    };
    let end = bytes.iter().rposition(|&c| c != b'\n');
    let trailing = (bytes.len() - end.map_or(0, |p| p + 1)) as u64;
    if end.is_some() {
        t.store(trailing, Ordering::Relaxed);
    } else {
        t.fetch_add(trailing, Ordering::Relaxed);
    }
}

impl<R: Read> Feed<R> {
    pub(crate) fn new(
        rd: Rd<R>,
        entries: std::sync::Arc<[Entry]>,
        nonce: String,
        compression: Compression,
        keep_blobs: bool,
    ) -> Self {
        let by_id = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.dump_id, i))
            .collect();
        let first_data = entries
            .iter()
            .position(Entry::has_data)
            .unwrap_or(entries.len());
        let n = entries.len();
        Feed {
            entries,
            by_id,
            first_data,
            nonce,
            compression,
            rd: Some(rd),
            block: None,
            cur: Vec::new(),
            pos: 0,
            phase: Phase::Pre(0),
            seen: vec![false; n],
            produced: 0,
            tail: Vec::new(),
            starts: Vec::new(),
            error: None,
            keep_blobs,
            blobs: BlobSpool {
                file: None,
                len: 0,
                blocks: Vec::new(),
            },
            dir: None,
            next_file: 0,
            files: super::files::Share::All,
            tails: (0..n)
                .map(|_| std::sync::atomic::AtomicU64::new(0))
                .collect(),
        }
    }

    /// Reads the data of a directory archive from the files in `dir`.
    pub(crate) fn with_directory(mut self, dir: &std::path::Path) -> Self {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// Reads only the data files of `share` (directory archives, see [`super::files`]).
    pub(crate) fn with_share(mut self, share: super::files::Share) -> Self {
        self.files = share;
        self
    }

    /// The next data file's entry of this feed's share, `None` at the end.
    fn next_data_entry(&mut self) -> Option<usize> {
        use super::files::Share;
        loop {
            match &mut self.files {
                Share::Worker(queue) => return queue.next(),
                Share::All | Share::AllBut(_) => {
                    if self.next_file >= self.entries.len() {
                        return None;
                    }
                    let idx = self.next_file;
                    self.next_file += 1;
                    if let Share::AllBut(skip) = &self.files {
                        if skip[idx] {
                            continue;
                        }
                    }
                    return Some(idx);
                }
            }
        }
    }

    /// The next data file of a directory archive; true when a table's data is being fed.
    fn file_start(&mut self, dir: &std::path::Path) -> Result<bool, PgArchiveError> {
        while let Some(idx) = self.next_data_entry() {
            let entries = self.entries.clone();
            let e = &entries[idx];
            if !e.has_data() {
                continue;
            }
            self.seen[idx] = true;
            let name = e.file_name()?;
            if e.is("BLOBS") {
                if self.keep_blobs {
                    self.zstd_blobs(idx)?;
                    self.blobs.blocks.push((idx, 0, 0));
                }
                continue;
            }
            if !e.defn.as_deref().unwrap_or_default().is_empty() {
                return Err(PgArchiveError::Entry {
                    entry: e.label(),
                    message: "a data entry with a definition is not supported".into(),
                });
            }
            let open_err = |path: &std::path::Path, err: io::Error| PgArchiveError::Entry {
                entry: e.label(),
                message: format!("cannot open its data file {}: {err}", path.display()),
            };
            let suffix = match self.compression {
                Compression::None => "",
                Compression::Gzip => ".gz",
                Compression::Lz4 => ".lz4",
                Compression::Zstd => ".zst",
            };
            // pg_dump names each file by the archive's compression; a file of another
            // compression is read by its own suffix (a directory decompressed by hand).
            let path = [suffix, "", ".gz", ".lz4", ".zst"]
                .into_iter()
                .map(|s| dir.join(format!("{name}{s}")))
                .find(|p| p.exists())
                .ok_or_else(|| PgArchiveError::Entry {
                    entry: e.label(),
                    message: format!("its data file {name}{suffix} is missing"),
                })?;
            let reader = data_file(&path).map_err(|err| open_err(&path, err))?;
            let copy = e.copy_stmt.as_deref().unwrap_or_default();
            self.start_entry(idx, &[copy]);
            self.block = Some((idx, Block::File(reader)));
            return Ok(true);
        }
        if matches!(self.files, super::files::Share::Worker(_)) {
            // A worker's feed ends after its data files, with a marker closing the last one
            // as the next entry's marker closes it in the whole archive's feed.
            self.start_entry(self.entries.len(), &[]);
            self.starts.pop();
            self.phase = Phase::Done;
            return Ok(true);
        }
        self.phase = Phase::Post(self.first_data);
        Ok(false)
    }

    /// "data block", or a directory archive's "data file NAME".
    fn what(&self, idx: usize) -> String {
        match (&self.dir, self.entries[idx].file_name()) {
            (Some(_), Ok(name)) => format!("data file {name}"),
            _ => "data block".to_owned(),
        }
    }

    fn fail(&mut self, e: PgArchiveError) -> io::Error {
        let m = e.to_string();
        self.error = Some(e);
        io::Error::other(m)
    }

    fn start_entry(&mut self, idx: usize, text: &[&[u8]]) {
        self.starts.push((self.produced, idx));
        self.cur.clear();
        self.pos = 0;
        self.cur.extend_from_slice(&marker(&self.nonce, idx));
        for t in text {
            self.cur.extend_from_slice(t);
        }
    }

    /// The SQL text of the next entry (or none: the end).
    fn next(&mut self) -> Result<bool, PgArchiveError> {
        loop {
            match self.phase {
                Phase::Pre(i) | Phase::Post(i) => {
                    let pre = matches!(self.phase, Phase::Pre(_));
                    if (pre && i >= self.first_data) || i >= self.entries.len() {
                        self.phase = if pre { Phase::Data } else { Phase::Done };
                        continue;
                    }
                    self.phase = if pre {
                        Phase::Pre(i + 1)
                    } else {
                        Phase::Post(i + 1)
                    };
                    let entries = self.entries.clone();
                    let e = &entries[i];
                    let defn = e.defn.as_deref().unwrap_or_default();
                    if !e.has_data() && !defn.iter().all(u8::is_ascii_whitespace) {
                        self.start_entry(i, &[defn]);
                        return Ok(true);
                    }
                }
                Phase::Data => {
                    let started = match self.dir.clone() {
                        Some(dir) => self.file_start(&dir)?,
                        None => self.block_start()?,
                    };
                    if started {
                        return Ok(true);
                    }
                }
                Phase::Done => return Ok(false),
            }
        }
    }

    /// Reads the next block's start; true when it is a table's data (now being fed).
    fn block_start(&mut self) -> Result<bool, PgArchiveError> {
        let Some(rd) = self.rd.as_mut() else {
            return Ok(false);
        };
        let at = rd.pos;
        let Some(kind) = rd.byte_or_eof()? else {
            if let Some(i) =
                (0..self.entries.len()).find(|&i| self.entries[i].has_data() && !self.seen[i])
            {
                return Err(PgArchiveError::Entry {
                    entry: self.entries[i].label(),
                    message: "the archive holds no data block for it".into(),
                });
            }
            self.phase = Phase::Post(self.first_data);
            return Ok(false);
        };
        let id = rd.int("a data block's id")?;
        let Some(&idx) = self.by_id.get(&id) else {
            return Err(PgArchiveError::Format {
                offset: at,
                message: format!("a data block of dump id {id}, which the TOC does not list"),
            });
        };
        let entries = self.entries.clone();
        let e = &entries[idx];
        if !e.has_data() || self.seen[idx] {
            return Err(PgArchiveError::Entry {
                entry: e.label(),
                message: format!("unexpected data block at byte {at} (none or a second)"),
            });
        }
        self.seen[idx] = true;
        match kind {
            BLK_DATA if !e.is("BLOBS") => {
                if !e.defn.as_deref().unwrap_or_default().is_empty() {
                    return Err(PgArchiveError::Entry {
                        entry: e.label(),
                        message: "a data entry with a definition is not supported".into(),
                    });
                }
                let chunks = Chunks::new(self.rd.take().expect("checked above"));
                let block = match self.compression {
                    Compression::None => Block::Plain(chunks),
                    Compression::Gzip => Block::Zlib(Box::new(flate2::bufread::ZlibDecoder::new(
                        BufReader::new(chunks),
                    ))),
                    Compression::Lz4 => Block::Lz4(Box::new(lz4_flex::frame::FrameDecoder::new(
                        BufReader::new(chunks),
                    ))),
                    Compression::Zstd => match zstd_decoder(BufReader::new(chunks)) {
                        Ok(d) => Block::Zstd(Box::new(d)),
                        Err(err) => {
                            return Err(PgArchiveError::Entry {
                                entry: e.label(),
                                message: format!("damaged data block: {err}"),
                            })
                        }
                    },
                };
                let copy = e.copy_stmt.as_deref().unwrap_or_default();
                self.start_entry(idx, &[copy]);
                self.block = Some((idx, block));
                Ok(true)
            }
            BLK_BLOBS if e.is("BLOBS") => {
                self.copy_blobs(idx, id)?;
                Ok(false)
            }
            k => Err(PgArchiveError::Entry {
                entry: e.label(),
                message: format!("data block of type {k} at byte {at} is not supported"),
            }),
        }
    }

    /// Large objects kept from a Zstandard archive are refused: the output's data is gzip
    /// (no Zstandard encoder is built in) and their data is copied as it is.
    fn zstd_blobs(&self, idx: usize) -> Result<(), PgArchiveError> {
        if self.compression != Compression::Zstd {
            return Ok(());
        }
        Err(PgArchiveError::Entry {
            entry: self.entries[idx].label(),
            message:
                "large objects of a Zstandard-compressed archive (pg_dump -Z zstd) cannot be \
                      kept: its output is gzip-compressed and their data would not be; use \
                      `large_objects: drop` or `empty` in the rules, or dump with -Z gzip or -Z lz4"
                    .into(),
        })
    }

    /// Copies (or skips) a block of large objects.
    fn copy_blobs(&mut self, idx: usize, id: i64) -> Result<(), PgArchiveError> {
        if self.keep_blobs {
            self.zstd_blobs(idx)?;
        }
        let rd = self.rd.as_mut().expect("present between blocks");
        let int_size = rd.int_size;
        let int = |out: &mut Vec<u8>, v: i64| {
            out.push(u8::from(v < 0));
            let m = v.unsigned_abs();
            out.extend((0..int_size).map(|i| if i < 8 { (m >> (8 * i)) as u8 } else { 0 }));
        };
        let io_err = |e: io::Error| PgArchiveError::Write { source: e };
        let start = self.blobs.len;
        let mut out = vec![BLK_BLOBS];
        int(&mut out, id);
        loop {
            let oid = rd.int("a large object's oid")?;
            int(&mut out, oid);
            if oid == 0 {
                break;
            }
            loop {
                let n = rd.int("a large object's chunk length")?;
                if n < 0 {
                    return Err(PgArchiveError::Entry {
                        entry: self.entries[idx].label(),
                        message: "negative chunk length in its large objects".into(),
                    });
                }
                int(&mut out, n);
                if n == 0 {
                    break;
                }
                let mut left = n as u64;
                while left > 0 {
                    let take = left.min(1 << 16) as usize;
                    let at = out.len();
                    out.resize(at + take, 0);
                    rd.exact(&mut out[at..], "a large object's data")?;
                    left -= take as u64;
                    if out.len() > 1 << 20 {
                        if self.keep_blobs {
                            spool(&mut self.blobs.file)?
                                .write_all(&out)
                                .map_err(io_err)?;
                            self.blobs.len += out.len() as u64;
                        }
                        out.clear();
                    }
                }
            }
        }
        if self.keep_blobs {
            spool(&mut self.blobs.file)?
                .write_all(&out)
                .map_err(io_err)?;
            self.blobs.len += out.len() as u64;
            self.blobs.blocks.push((idx, start, self.blobs.len - start));
        }
        Ok(())
    }
}

/// Bytes kept of the end of a data block.
const TAIL: usize = 8;

impl<R: Read> Feed<R> {
    /// A table's COPY data must end with its `\.` line (then line ends only): a data block
    /// whose decompressed text stops short (a truncated LZ4 frame ends like a complete one)
    /// is damaged, not a table with fewer rows.
    fn check_end(&mut self, idx: usize) -> Result<(), PgArchiveError> {
        let tail = std::mem::take(&mut self.tail);
        let e = &self.entries[idx];
        let copy = e.copy_stmt.as_deref().unwrap_or_default();
        if tail.is_empty() || copy.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let end = tail.iter().rposition(|&b| b != b'\n').map_or(0, |p| p + 1);
        let body = &tail[..end];
        if body == b"\\." || body.ends_with(b"\n\\.") {
            return Ok(());
        }
        Err(PgArchiveError::Entry {
            entry: e.label(),
            message: format!(
                "damaged {}: its COPY data does not end with the \\. line",
                self.what(idx)
            ),
        })
    }
}

/// The spool file, created on first use.
pub(crate) fn spool(file: &mut Option<File>) -> Result<&mut File, PgArchiveError> {
    if file.is_none() {
        *file = Some(tempfile::tempfile().map_err(|e| PgArchiveError::Write { source: e })?);
    }
    Ok(file.as_mut().expect("just created"))
}

impl<R: Read> Read for Feed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.cur.len() {
                let n = buf.len().min(self.cur.len() - self.pos);
                buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
                self.pos += n;
                self.produced += n as u64;
                return Ok(n);
            }
            if let Some((idx, block)) = self.block.as_mut() {
                let idx = *idx;
                match block.read(buf) {
                    Ok(0) => {
                        let (_, block) = self.block.take().expect("present");
                        match block.finish() {
                            Ok(rd) => self.rd = rd.or(self.rd.take()),
                            Err(e) => {
                                let entry = self.entries[idx].label();
                                return Err(self.fail(PgArchiveError::Entry {
                                    entry,
                                    message: format!("damaged {}: {e}", self.what(idx)),
                                }));
                            }
                        }
                        if let Err(e) = self.check_end(idx) {
                            return Err(self.fail(e));
                        }
                    }
                    Ok(n) => {
                        tail_update(&self.tails, idx, &buf[..n]);
                        self.produced += n as u64;
                        let keep = self.tail.len().min(TAIL - n.min(TAIL));
                        self.tail.drain(..self.tail.len() - keep);
                        self.tail.extend_from_slice(&buf[n - n.min(TAIL)..n]);
                        return Ok(n);
                    }
                    Err(e) => {
                        let entry = self.entries[idx].label();
                        return Err(self.fail(PgArchiveError::Entry {
                            entry,
                            message: format!("damaged {}: {e}", self.what(idx)),
                        }));
                    }
                }
                continue;
            }
            match self.next() {
                Ok(true) => continue,
                Ok(false) => return Ok(0),
                Err(e) => return Err(self.fail(e)),
            }
        }
    }
}
