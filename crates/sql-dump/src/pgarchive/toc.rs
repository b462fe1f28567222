//! The header and table of contents of a pg_dump archive (custom format), read and written
//! with the archive's own integer and offset sizes.
//!
//! Facts from PostgreSQL's `pg_backup_archiver.c` and `pg_backup_custom.c`: an integer is a
//! sign byte then `intSize` little-endian bytes of the magnitude; a string is an integer
//! length (`-1` for NULL) then the bytes; an offset is a state byte then `offSize`
//! little-endian bytes. Archive versions 1.12 to 1.16 (pg_dump 9.x to 17) are read.

use std::io::{self, Read, Write};

use super::PgArchiveError;

/// Custom format (`-Fc`).
pub(crate) const FORMAT_CUSTOM: u8 = 1;
/// The format byte of a directory archive's `toc.dat` (pg_dump 15 writes 3; 5 is the
/// directory's code in PostgreSQL's enum, accepted too).
pub(crate) const FORMAT_DIRECTORY: [u8; 2] = [3, 5];

/// Where an archive's data lives: the extra field of each TOC entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Blocks after the TOC, located by offsets.
    Custom,
    /// One file per entry, named in the TOC.
    Directory,
}
/// The archive's magic.
pub const MAGIC: &[u8; 5] = b"PGDMP";
/// A data offset not recorded (written to a pipe).
pub(crate) const OFFSET_NOT_SET: u8 = 1;
/// A data offset recorded.
pub(crate) const OFFSET_SET: u8 = 2;
/// An entry without data.
pub(crate) const OFFSET_NO_DATA: u8 = 3;
/// A table's data block.
pub(crate) const BLK_DATA: u8 = 1;
/// A block of large objects.
pub(crate) const BLK_BLOBS: u8 = 3;

/// Strings longer than this are refused (a damaged length would otherwise be trusted).
const STRING_LIMIT: u64 = 1 << 30;

const fn version(major: u8, minor: u8) -> u32 {
    ((major as u32 * 256) + minor as u32) * 256
}

/// Separate large-object entries (the oldest version read).
pub(crate) const V1_12: u32 = version(1, 12);
/// `tableam` in TOC entries (pg_dump 12).
pub(crate) const V1_14: u32 = version(1, 14);
/// The compression algorithm in the header (pg_dump 16).
pub(crate) const V1_15: u32 = version(1, 15);
/// `relkind` in TOC entries (pg_dump 17).
pub(crate) const V1_16: u32 = version(1, 16);

/// How the data blocks are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    None,
    /// zlib streams (`-Z N`, the default).
    Gzip,
    /// LZ4 frames (pg_dump 16+ `-Z lz4`).
    Lz4,
    /// Zstandard frames (pg_dump 16+ `-Z zstd`).
    Zstd,
}

/// The archive header, kept as read so that it is written back unchanged.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    /// The header's bytes.
    pub(crate) raw: Vec<u8>,
    /// `((major * 256) + minor) * 256 + rev`.
    pub(crate) version: u32,
    pub(crate) int_size: usize,
    pub(crate) off_size: usize,
    pub(crate) compression: Compression,
    /// The zlib level the header names (versions before 1.15), else pg_dump's default.
    pub(crate) level: u32,
}

impl Header {
    /// The header of the rewritten archive: the input's, except that Zstandard data (which
    /// this build decodes but does not encode) is written gzip-compressed, and the header's
    /// compression field (archive version 1.15+, byte 11) says so.
    pub(crate) fn for_output(&self) -> Header {
        let mut h = self.clone();
        if h.compression == Compression::Zstd {
            h.compression = Compression::Gzip;
            if let Some(b) = h.raw.get_mut(COMPRESSION_BYTE) {
                *b = 1;
            }
        }
        h
    }
}

/// Where the compression algorithm's byte is in a 1.15+ header: after the magic (5 bytes),
/// the version (3), the integer and offset sizes (2) and the format (1).
const COMPRESSION_BYTE: usize = 11;

/// One TOC entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) dump_id: i64,
    pub(crate) had_dumper: i64,
    pub(crate) table_oid: Option<Vec<u8>>,
    pub(crate) oid: Option<Vec<u8>>,
    pub(crate) tag: Option<Vec<u8>>,
    pub(crate) desc: Option<Vec<u8>>,
    pub(crate) section: i64,
    pub(crate) defn: Option<Vec<u8>>,
    pub(crate) drop_stmt: Option<Vec<u8>>,
    pub(crate) copy_stmt: Option<Vec<u8>>,
    pub(crate) namespace: Option<Vec<u8>>,
    pub(crate) tablespace: Option<Vec<u8>>,
    pub(crate) tableam: Option<Vec<u8>>,
    pub(crate) relkind: i64,
    pub(crate) owner: Option<Vec<u8>>,
    pub(crate) with_oids: Option<Vec<u8>>,
    pub(crate) deps: Vec<Vec<u8>>,
    /// `OFFSET_*`.
    pub(crate) offset_state: u8,
    pub(crate) offset: u64,
    /// A directory archive's data file (`3340.dat`, `blobs.toc`), if any.
    pub(crate) filename: Option<Vec<u8>>,
}

fn text(s: &Option<Vec<u8>>) -> String {
    String::from_utf8_lossy(s.as_deref().unwrap_or_default()).into_owned()
}

impl Entry {
    /// `desc namespace.tag (dump id N)`, for messages (names only, never data).
    pub(crate) fn label(&self) -> String {
        format!(
            "{} {} (dump id {})",
            text(&self.desc),
            self.name(),
            self.dump_id
        )
    }

    /// `namespace.tag` or `tag`.
    pub(crate) fn name(&self) -> String {
        match self.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => format!("{}.{}", text(&self.namespace), text(&self.tag)),
            _ => text(&self.tag),
        }
    }

    /// The entry has a data block (or file).
    pub(crate) fn has_data(&self) -> bool {
        self.offset_state != OFFSET_NO_DATA
    }

    /// A directory archive's data file name, checked to be a plain file name.
    pub(crate) fn file_name(&self) -> Result<&str, PgArchiveError> {
        let name = self.filename.as_deref().unwrap_or_default();
        std::str::from_utf8(name)
            .ok()
            .filter(|n| {
                !n.is_empty()
                    && !n.starts_with('.')
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
            })
            .ok_or_else(|| PgArchiveError::Entry {
                entry: self.label(),
                message: "its data file name is not a plain file name".into(),
            })
    }

    /// The entry's description is `d`.
    pub(crate) fn is(&self, d: &str) -> bool {
        self.desc.as_deref() == Some(d.as_bytes())
    }
}

/// Reads archive primitives, counting bytes.
pub(crate) struct Rd<R: Read> {
    pub(crate) r: R,
    pub(crate) pos: u64,
    pub(crate) int_size: usize,
    pub(crate) off_size: usize,
    capture: Option<Vec<u8>>,
}

impl<R: Read> Rd<R> {
    pub(crate) fn new(r: R) -> Self {
        Rd {
            r,
            pos: 0,
            int_size: 4,
            off_size: 8,
            capture: None,
        }
    }

    fn err(&self, message: impl Into<String>) -> PgArchiveError {
        PgArchiveError::Format {
            offset: self.pos,
            message: message.into(),
        }
    }

    /// Reads exactly `buf.len()` bytes; `what` names the thing read in the error.
    pub(crate) fn exact(&mut self, buf: &mut [u8], what: &str) -> Result<(), PgArchiveError> {
        self.r.read_exact(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                self.err(format!("the archive ends inside {what}"))
            } else {
                PgArchiveError::Read {
                    offset: self.pos,
                    source: e,
                }
            }
        })?;
        self.pos += buf.len() as u64;
        if let Some(c) = &mut self.capture {
            c.extend_from_slice(buf);
        }
        Ok(())
    }

    /// One byte, or `None` at the end of the input.
    pub(crate) fn byte_or_eof(&mut self) -> Result<Option<u8>, PgArchiveError> {
        let mut b = [0u8; 1];
        loop {
            match self.r.read(&mut b) {
                Ok(0) => return Ok(None),
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(PgArchiveError::Read {
                        offset: self.pos,
                        source: e,
                    })
                }
            }
        }
        self.pos += 1;
        if let Some(c) = &mut self.capture {
            c.push(b[0]);
        }
        Ok(Some(b[0]))
    }

    pub(crate) fn byte(&mut self, what: &str) -> Result<u8, PgArchiveError> {
        let mut b = [0u8; 1];
        self.exact(&mut b, what)?;
        Ok(b[0])
    }

    /// An integer: a sign byte, then `int_size` little-endian bytes.
    pub(crate) fn int(&mut self, what: &str) -> Result<i64, PgArchiveError> {
        let mut buf = [0u8; 9];
        let n = self.int_size + 1;
        self.exact(&mut buf[..n], what)?;
        let mut v: u64 = 0;
        for (i, b) in buf[1..n].iter().enumerate() {
            v |= u64::from(*b) << (8 * i);
        }
        let v = i64::try_from(v).map_err(|_| self.err(format!("{what}: integer out of range")))?;
        Ok(if buf[0] != 0 { -v } else { v })
    }

    /// A string, `None` for NULL.
    pub(crate) fn str(&mut self, what: &str) -> Result<Option<Vec<u8>>, PgArchiveError> {
        let len = self.int(what)?;
        if len < 0 {
            return Ok(None);
        }
        let len = len as u64;
        if len > STRING_LIMIT {
            return Err(self.err(format!("{what}: a string of {len} bytes (damaged archive)")));
        }
        let mut v = Vec::new();
        (&mut self.r)
            .take(len)
            .read_to_end(&mut v)
            .map_err(|e| PgArchiveError::Read {
                offset: self.pos,
                source: e,
            })?;
        if (v.len() as u64) < len {
            return Err(self.err(format!("the archive ends inside {what}")));
        }
        self.pos += len;
        if let Some(c) = &mut self.capture {
            c.extend_from_slice(&v);
        }
        Ok(Some(v))
    }

    fn offset(&mut self, what: &str) -> Result<(u8, u64), PgArchiveError> {
        let state = self.byte(what)?;
        let mut buf = [0u8; 8];
        let mut v = 0u64;
        for i in 0..self.off_size {
            self.exact(&mut buf[..1], what)?;
            if i < 8 {
                v |= u64::from(buf[0]) << (8 * i);
            }
        }
        Ok((state, v))
    }

    /// Reads the header; the input must start with [`MAGIC`].
    pub(crate) fn header(&mut self, formats: &[u8]) -> Result<Header, PgArchiveError> {
        self.capture = Some(Vec::new());
        let mut magic = [0u8; 5];
        self.exact(&mut magic, "the header")?;
        if &magic != MAGIC {
            return Err(self.err("not a pg_dump archive (no PGDMP magic)"));
        }
        let (vmaj, vmin, vrev) = (
            self.byte("the header")?,
            self.byte("the header")?,
            self.byte("the header")?,
        );
        let ver = ((u32::from(vmaj) * 256) + u32::from(vmin)) * 256 + u32::from(vrev);
        if !(V1_12..version(1, 17)).contains(&ver) {
            return Err(self.err(format!(
                "archive version {vmaj}.{vmin}.{vrev} is not supported (1.12 to 1.16: pg_dump 9.6 to 17)"
            )));
        }
        self.int_size = usize::from(self.byte("the header")?);
        self.off_size = usize::from(self.byte("the header")?);
        if !(1..=8).contains(&self.int_size) || !(1..=8).contains(&self.off_size) {
            return Err(self.err(format!(
                "integer size {} / offset size {} not supported",
                self.int_size, self.off_size
            )));
        }
        let fmt = self.byte("the header")?;
        if !formats.contains(&fmt) {
            return Err(self.err(format!(
                "archive format {fmt} where {formats:?} was expected (1 custom, 3/5 directory)"
            )));
        }
        let mut level = 6;
        let compression = if ver >= V1_15 {
            match self.byte("the header")? {
                0 => Compression::None,
                1 => Compression::Gzip,
                2 => Compression::Lz4,
                3 => Compression::Zstd,
                n => return Err(self.err(format!("unknown compression algorithm {n}"))),
            }
        } else {
            match self.int("the header")? {
                0 => Compression::None,
                n => {
                    if let Ok(l @ 1..=9) = u32::try_from(n) {
                        level = l;
                    }
                    Compression::Gzip
                }
            }
        };
        for _ in 0..7 {
            self.int("the header's date")?;
        }
        self.str("the header's database name")?;
        self.str("the header's server version")?;
        self.str("the header's pg_dump version")?;
        let raw = self.capture.take().unwrap_or_default();
        Ok(Header {
            raw,
            version: ver,
            int_size: self.int_size,
            off_size: self.off_size,
            compression,
            level,
        })
    }

    /// Reads the TOC of a custom archive.
    pub(crate) fn toc(&mut self, h: &Header, layout: Layout) -> Result<Vec<Entry>, PgArchiveError> {
        let count = self.int("the TOC count")?;
        if count < 0 {
            return Err(self.err("negative TOC count"));
        }
        let mut entries = Vec::new();
        for i in 0..count {
            let e = self
                .entry(h, layout)
                .map_err(|e| match (e, entries.last()) {
                    (PgArchiveError::Format { offset, message }, Some(prev)) => {
                        PgArchiveError::Format {
                            offset,
                            message: format!(
                                "TOC entry {} of {count} (after {}): {message}",
                                i + 1,
                                Entry::label(prev)
                            ),
                        }
                    }
                    (e, _) => e,
                })?;
            entries.push(e);
        }
        Ok(entries)
    }

    fn entry(&mut self, h: &Header, layout: Layout) -> Result<Entry, PgArchiveError> {
        let dump_id = self.int("a TOC entry's id")?;
        let had_dumper = self.int("a TOC entry")?;
        let table_oid = self.str("a TOC entry")?;
        let oid = self.str("a TOC entry")?;
        let tag = self.str("a TOC entry's tag")?;
        let desc = self.str("a TOC entry's description")?;
        let section = self.int("a TOC entry's section")?;
        let defn = self.str("a TOC entry's definition")?;
        let drop_stmt = self.str("a TOC entry's drop statement")?;
        let copy_stmt = self.str("a TOC entry's COPY statement")?;
        let namespace = self.str("a TOC entry's schema")?;
        let tablespace = self.str("a TOC entry's tablespace")?;
        let tableam = if h.version >= V1_14 {
            self.str("a TOC entry's table access method")?
        } else {
            None
        };
        let relkind = if h.version >= V1_16 {
            self.int("a TOC entry's relkind")?
        } else {
            0
        };
        let owner = self.str("a TOC entry's owner")?;
        let with_oids = self.str("a TOC entry")?;
        let mut deps = Vec::new();
        while let Some(d) = self.str("a TOC entry's dependencies")? {
            deps.push(d);
        }
        let (offset_state, offset, filename) = match layout {
            Layout::Custom => {
                let (state, offset) = self.offset("a TOC entry's data offset")?;
                if !(OFFSET_NOT_SET..=OFFSET_NO_DATA).contains(&state) {
                    return Err(self.err(format!("data offset state {state} is unknown")));
                }
                (state, offset, None)
            }
            Layout::Directory => {
                let name = self
                    .str("a TOC entry's file name")?
                    .filter(|n| !n.is_empty());
                let state = if name.is_some() {
                    OFFSET_NOT_SET
                } else {
                    OFFSET_NO_DATA
                };
                (state, 0, name)
            }
        };
        Ok(Entry {
            dump_id,
            had_dumper,
            table_oid,
            oid,
            tag,
            desc,
            section,
            defn,
            drop_stmt,
            copy_stmt,
            namespace,
            tablespace,
            tableam,
            relkind,
            owner,
            with_oids,
            deps,
            offset_state,
            offset,
            filename,
        })
    }
}

/// Writes archive primitives with the input archive's sizes.
pub(crate) struct Wr<'h> {
    pub(crate) h: &'h Header,
}

impl Wr<'_> {
    pub(crate) fn int(&self, out: &mut Vec<u8>, v: i64) {
        out.push(u8::from(v < 0));
        let m = v.unsigned_abs();
        for i in 0..self.h.int_size {
            out.push(if i < 8 { (m >> (8 * i)) as u8 } else { 0 });
        }
    }

    pub(crate) fn str(&self, out: &mut Vec<u8>, s: Option<&[u8]>) {
        match s {
            None => self.int(out, -1),
            Some(s) => {
                self.int(out, s.len() as i64);
                out.extend_from_slice(s);
            }
        }
    }

    /// Writes one TOC entry.
    pub(crate) fn entry(&self, out: &mut Vec<u8>, e: &Entry, layout: Layout) {
        self.int(out, e.dump_id);
        self.int(out, e.had_dumper);
        self.str(out, e.table_oid.as_deref());
        self.str(out, e.oid.as_deref());
        self.str(out, e.tag.as_deref());
        self.str(out, e.desc.as_deref());
        self.int(out, e.section);
        self.str(out, e.defn.as_deref());
        self.str(out, e.drop_stmt.as_deref());
        self.str(out, e.copy_stmt.as_deref());
        self.str(out, e.namespace.as_deref());
        self.str(out, e.tablespace.as_deref());
        if self.h.version >= V1_14 {
            self.str(out, e.tableam.as_deref());
        }
        if self.h.version >= V1_16 {
            self.int(out, e.relkind);
        }
        self.str(out, e.owner.as_deref());
        self.str(out, e.with_oids.as_deref());
        for d in &e.deps {
            self.str(out, Some(d));
        }
        self.str(out, None);
        match layout {
            Layout::Custom => {
                out.push(e.offset_state);
                for i in 0..self.h.off_size {
                    out.push(if i < 8 {
                        (e.offset >> (8 * i)) as u8
                    } else {
                        0
                    });
                }
            }
            Layout::Directory => {
                let name = e.filename.as_deref().filter(|_| e.has_data());
                self.str(out, Some(name.unwrap_or_default()));
            }
        }
    }
}

/// Writes `len`-prefixed chunks of a data block, as pg_dump's custom format does.
pub(crate) struct ChunkWriter<W: Write> {
    pub(crate) w: W,
    pub(crate) int_size: usize,
}

impl<W: Write> ChunkWriter<W> {
    pub(crate) fn int(&mut self, v: i64) -> io::Result<()> {
        let mut b = Vec::with_capacity(9);
        b.push(u8::from(v < 0));
        let m = v.unsigned_abs();
        for i in 0..self.int_size {
            b.push(if i < 8 { (m >> (8 * i)) as u8 } else { 0 });
        }
        self.w.write_all(&b)
    }
}

impl<W: Write> Write for ChunkWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.int(buf.len() as i64)?;
        self.w.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}
