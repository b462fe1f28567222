//! The statement loop's output cut back into TOC entries at the marker comments
//! [`super::feed`] put before each entry: a definition becomes the entry's new definition,
//! a table's `COPY` statement its new COPY statement, and the rows after it a new data block,
//! compressed as the input's were (Zstandard as gzip: no encoder is built in) and written
//! to a spool file.

use std::fs::File;
use std::io::{self, Write};

use super::feed::spool;
use super::toc::{ChunkWriter, Compression, Entry, BLK_DATA};
use super::PgArchiveError;

/// What became of one entry.
#[derive(Default)]
pub(crate) struct Out {
    /// Its marker was written: some of its SQL was kept.
    pub(crate) seen: bool,
    /// The SQL written after its marker (definitions; a data entry's COPY statement).
    pub(crate) text: Vec<u8>,
    /// A data entry's block in the spool: start and length.
    pub(crate) block: Option<(u64, u64)>,
    /// Lines `\.` in a data entry's rows.
    pub(crate) terminators: u32,
    /// Bytes after the terminator that are not line ends.
    pub(crate) after_terminator: bool,
    /// Rows were written.
    pub(crate) has_rows: bool,
}

/// Bytes handed to a compressor in chunks of this size whatever the writes' sizes, so that
/// the compressed bytes depend on the data only (the statement loop's writes are cut where
/// its buffers happen to fill, which differs with what came before).
const EVEN: usize = 64 << 10;

/// A writer that passes bytes on in [`EVEN`]-sized writes.
pub(crate) struct Even<W: Write> {
    w: W,
    buf: Vec<u8>,
}

impl<W: Write> Even<W> {
    fn new(w: W) -> Self {
        Even {
            w,
            buf: Vec::with_capacity(EVEN),
        }
    }

    /// Writes what is left and gives the writer back.
    fn into_inner(mut self) -> io::Result<W> {
        self.w.write_all(&self.buf)?;
        Ok(self.w)
    }
}

impl<W: Write> Write for Even<W> {
    fn write(&mut self, mut b: &[u8]) -> io::Result<usize> {
        let n = b.len();
        while !b.is_empty() {
            let take = (EVEN - self.buf.len()).min(b.len());
            self.buf.extend_from_slice(&b[..take]);
            b = &b[take..];
            if self.buf.len() == EVEN {
                self.w.write_all(&self.buf)?;
                self.buf.clear();
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes `n` line ends.
fn line_ends(w: &mut impl Write, mut n: u64) -> io::Result<()> {
    const ENDS: [u8; 256] = [b'\n'; 256];
    while n > 0 {
        let k = n.min(ENDS.len() as u64) as usize;
        w.write_all(&ENDS[..k])?;
        n -= k as u64;
    }
    Ok(())
}

enum Sink {
    Plain(ChunkWriter<CountingFile>),
    Zlib(Box<Even<flate2::write::ZlibEncoder<ChunkWriter<CountingFile>>>>),
    /// A custom archive's block as one LZ4 frame.
    Lz4(Box<lz4_flex::frame::FrameEncoder<ChunkWriter<CountingFile>>>),
    /// A directory archive's data file, gzip.
    Gz(Box<Even<flate2::write::GzEncoder<io::BufWriter<File>>>>),
    /// A directory archive's data file, one LZ4 frame.
    Lz4File(Box<lz4_flex::frame::FrameEncoder<io::BufWriter<File>>>),
    /// A directory archive's data file, not compressed.
    Raw(io::BufWriter<File>),
}

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(b),
            Sink::Zlib(w) => w.write(b),
            Sink::Lz4(w) => w.write(b),
            Sink::Gz(w) => w.write(b),
            Sink::Lz4File(w) => w.write(b),
            Sink::Raw(w) => w.write(b),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One LZ4 frame with a content checksum (which `pg_restore`'s LZ4F decoder checks; pg_dump
/// writes none), so that damage to the output's data is found when it is read.
fn lz4_encoder<W: Write>(w: W) -> lz4_flex::frame::FrameEncoder<W> {
    let info = lz4_flex::frame::FrameInfo::new().content_checksum(true);
    lz4_flex::frame::FrameEncoder::with_frame_info(info, w)
}

/// The spool, counting bytes.
pub(crate) struct CountingFile {
    file: File,
    pub(crate) len: u64,
}

impl Write for CountingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Line state of a data entry's rows, to find the `\.` terminator line.
#[derive(Clone, Copy, PartialEq)]
enum Line {
    Start,
    Backslash,
    Dot,
    Middle,
}

/// The output side (see the module documentation).
pub(crate) struct Split<'e> {
    entries: &'e [Entry],
    prefix: Vec<u8>,
    buf: Vec<u8>,
    cur: Option<usize>,
    /// The current data entry's COPY statement is complete.
    copy_done: bool,
    line: Line,
    pub(crate) outs: Vec<Out>,
    sink: Option<Sink>,
    spool: Option<CountingFile>,
    int_size: usize,
    compression: Compression,
    /// The zlib level of data blocks.
    level: u32,
    /// A directory archive's output directory (else blocks go to the spool).
    dir: Option<std::path::PathBuf>,
    /// The first error (a message without values).
    pub(crate) error: Option<PgArchiveError>,
    /// Line ends after the current data entry's last other byte, not written yet.
    held_ends: u64,
    /// The line ends each entry's data ends with in the input ([`super::feed::Feed::tails`]),
    /// written after its rows instead of those held: a data block's bytes do not depend on
    /// the entry that follows it (see [`super::files`]).
    tails: Option<super::feed::Tails>,
}

impl<'e> Split<'e> {
    pub(crate) fn new(
        entries: &'e [Entry],
        nonce: &str,
        int_size: usize,
        compression: Compression,
        level: u32,
    ) -> Self {
        Split {
            entries,
            prefix: format!("-- syrf-pgarchive {nonce} ").into_bytes(),
            buf: Vec::new(),
            cur: None,
            copy_done: false,
            line: Line::Start,
            outs: entries.iter().map(|_| Out::default()).collect(),
            sink: None,
            spool: None,
            int_size,
            compression,
            level,
            dir: None,
            error: None,
            held_ends: 0,
            tails: None,
        }
    }

    /// Ends each data entry's rows with the line ends its input ended with.
    pub(crate) fn with_tails(mut self, tails: super::feed::Tails) -> Self {
        self.tails = Some(tails);
        self
    }

    /// Writes each table's rows to its data file in `dir` (a directory archive).
    pub(crate) fn with_directory(mut self, dir: &std::path::Path) -> Self {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// The spool of data blocks, once [`Split::finish`] has run.
    pub(crate) fn into_spool(self) -> Option<File> {
        self.spool.map(|s| s.file)
    }

    fn fail(&mut self, e: PgArchiveError) -> io::Error {
        let m = e.to_string();
        if self.error.is_none() {
            self.error = Some(e);
        }
        io::Error::other(m)
    }

    /// Hands out what is left and closes the last entry.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        let rest = std::mem::take(&mut self.buf);
        self.content(&rest)?;
        self.close()
    }

    /// Bytes of the current entry.
    fn content(&mut self, mut b: &[u8]) -> io::Result<()> {
        let Some(idx) = self.cur else {
            if b.iter().all(u8::is_ascii_whitespace) {
                return Ok(());
            }
            return Err(self.fail(PgArchiveError::Format {
                offset: 0,
                message: "internal: SQL written before the first entry".into(),
            }));
        };
        let e = &self.entries[idx];
        if !e.has_data() {
            self.outs[idx].text.extend_from_slice(b);
            return Ok(());
        }
        let has_copy = !e.copy_stmt.as_deref().unwrap_or_default().is_empty();
        if has_copy && !self.copy_done {
            match memchr::memchr(b'\n', b) {
                Some(p) => {
                    self.outs[idx].text.extend_from_slice(&b[..=p]);
                    self.copy_done = true;
                    b = &b[p + 1..];
                }
                None => {
                    self.outs[idx].text.extend_from_slice(b);
                    return Ok(());
                }
            }
        }
        if b.is_empty() {
            return Ok(());
        }
        if has_copy {
            let out = &mut self.outs[idx];
            for &c in b {
                if out.terminators > 0 && c != b'\n' {
                    out.after_terminator = true;
                }
                self.line = match (self.line, c) {
                    (Line::Dot, b'\n') => {
                        out.terminators = out.terminators.saturating_add(1);
                        Line::Start
                    }
                    (_, b'\n') => Line::Start,
                    (Line::Start, b'\\') => Line::Backslash,
                    (Line::Backslash, b'.') => Line::Dot,
                    _ => Line::Middle,
                };
            }
        } else if b.iter().all(u8::is_ascii_whitespace) && self.sink.is_none() {
            return Ok(());
        }
        self.outs[idx].has_rows = true;
        if self.sink.is_none() {
            self.open_sink(e.dump_id)?;
        }
        let sink = self.sink.as_mut().expect("opened");
        match b.iter().rposition(|&c| c != b'\n') {
            Some(last) => {
                line_ends(sink, self.held_ends)?;
                sink.write_all(&b[..=last])?;
                self.held_ends = (b.len() - last - 1) as u64;
            }
            None => self.held_ends = self.held_ends.saturating_add(b.len() as u64),
        }
        Ok(())
    }

    fn open_sink(&mut self, dump_id: i64) -> io::Result<()> {
        let idx = self.cur.expect("an entry");
        if let Some(dir) = &self.dir {
            let name = match self.entries[idx].file_name() {
                Ok(n) => n,
                Err(e) => return Err(self.fail(e)),
            };
            let suffix = match self.compression {
                Compression::Gzip => ".gz",
                Compression::Lz4 => ".lz4",
                Compression::None | Compression::Zstd => "",
            };
            let file = io::BufWriter::new(File::create(dir.join(format!("{name}{suffix}")))?);
            self.outs[idx].block = Some((0, 0));
            self.sink = Some(match self.compression {
                Compression::Gzip => Sink::Gz(Box::new(Even::new(flate2::write::GzEncoder::new(
                    file,
                    flate2::Compression::new(self.level),
                )))),
                Compression::Lz4 => Sink::Lz4File(Box::new(lz4_encoder(file))),
                Compression::None | Compression::Zstd => Sink::Raw(file),
            });
            return Ok(());
        }
        if self.spool.is_none() {
            let mut f = None;
            let file = match spool(&mut f) {
                Ok(_) => f.expect("created"),
                Err(e) => return Err(self.fail(e)),
            };
            self.spool = Some(CountingFile { file, len: 0 });
        }
        let spool = self.spool.as_mut().expect("created");
        let start = spool.len;
        let mut head = vec![BLK_DATA];
        head.push(u8::from(dump_id < 0));
        let m = dump_id.unsigned_abs();
        head.extend((0..self.int_size).map(|i| if i < 8 { (m >> (8 * i)) as u8 } else { 0 }));
        spool.write_all(&head)?;
        self.outs[idx].block = Some((start, 0));
        let file = CountingFile {
            file: spool.file.try_clone()?,
            len: spool.len,
        };
        let w = ChunkWriter {
            w: file,
            int_size: self.int_size,
        };
        self.sink = Some(match self.compression {
            Compression::Gzip => Sink::Zlib(Box::new(Even::new(flate2::write::ZlibEncoder::new(
                w,
                flate2::Compression::new(self.level),
            )))),
            Compression::Lz4 => Sink::Lz4(Box::new(lz4_encoder(w))),
            Compression::None | Compression::Zstd => Sink::Plain(w),
        });
        Ok(())
    }

    /// Ends the current entry.
    fn close(&mut self) -> io::Result<()> {
        let Some(idx) = self.cur.take() else {
            return Ok(());
        };
        let held = std::mem::take(&mut self.held_ends);
        if let Some(mut sink) = self.sink.take() {
            let ends = match &self.tails {
                Some(t) => t
                    .get(idx)
                    .map_or(held, |t| t.load(std::sync::atomic::Ordering::Relaxed)),
                None => held,
            };
            line_ends(&mut sink, ends)?;
            let mut w = match sink {
                Sink::Plain(w) => w,
                Sink::Zlib(z) => z.into_inner()?.finish()?,
                Sink::Lz4(z) => z.finish().map_err(io::Error::other)?,
                Sink::Gz(z) => {
                    z.into_inner()?.finish()?.flush()?;
                    return self.check(idx);
                }
                Sink::Lz4File(z) => {
                    z.finish().map_err(io::Error::other)?.flush()?;
                    return self.check(idx);
                }
                Sink::Raw(mut f) => {
                    f.flush()?;
                    return self.check(idx);
                }
            };
            w.int(0)?;
            w.flush()?;
            let end = w.w.len;
            let spool = self.spool.as_mut().expect("opened with the sink");
            spool.len = end;
            if let Some((start, len)) = self.outs[idx].block.as_mut() {
                *len = end - *start;
            }
        }
        self.check(idx)
    }

    /// A table's COPY data ends with exactly one `\.` line.
    fn check(&mut self, idx: usize) -> io::Result<()> {
        let e = &self.entries[idx];
        let out = &self.outs[idx];
        let has_copy = !e.copy_stmt.as_deref().unwrap_or_default().is_empty();
        if has_copy && out.has_rows && (out.terminators != 1 || out.after_terminator) {
            let message = if out.terminators == 0 {
                "its COPY data does not end with the \\. line (damaged data block)"
            } else {
                "its COPY data goes on after the \\. line (damaged data block)"
            };
            let entry = e.label();
            return Err(self.fail(PgArchiveError::Entry {
                entry,
                message: message.into(),
            }));
        }
        Ok(())
    }
}

impl Write for Split<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        loop {
            match memchr::memmem::find(&self.buf, &self.prefix) {
                Some(p) => {
                    let Some(nl) = memchr::memchr(b'\n', &self.buf[p..]) else {
                        // The marker's number is not complete yet; its line end stays.
                        let end = p.saturating_sub(1);
                        let head: Vec<u8> = self.buf.drain(..end).collect();
                        self.content(&head)?;
                        return Ok(data.len());
                    };
                    let num = &self.buf[p + self.prefix.len()..p + nl];
                    let idx = std::str::from_utf8(num)
                        .ok()
                        .and_then(|s| s.parse::<usize>().ok())
                        .filter(|&i| {
                            i == self.entries.len()
                                || (i < self.entries.len() && !self.outs[i].seen)
                        });
                    let Some(idx) = idx else {
                        return Err(self.fail(PgArchiveError::Format {
                            offset: 0,
                            message: "internal: an entry marker the rewrite did not write".into(),
                        }));
                    };
                    // The line end before the marker is the feed's, not the entry's.
                    let end = if p > 0 && self.buf[p - 1] == b'\n' {
                        p - 1
                    } else {
                        p
                    };
                    let head = self.buf[..end].to_vec();
                    self.buf.drain(..p + nl + 1);
                    self.content(&head)?;
                    self.close()?;
                    if idx == self.entries.len() {
                        // The end of a worker's share (see `super::files`): nothing follows.
                        continue;
                    }
                    self.cur = Some(idx);
                    self.copy_done = false;
                    self.line = Line::Start;
                    self.outs[idx].seen = true;
                }
                None => {
                    let keep = self.prefix.len() + 1;
                    if self.buf.len() > keep {
                        let cut = self.buf.len() - keep;
                        let head: Vec<u8> = self.buf.drain(..cut).collect();
                        self.content(&head)?;
                    }
                    return Ok(data.len());
                }
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
