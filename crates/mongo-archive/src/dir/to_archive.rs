//! A dump directory as the archive stream mongodump would have written for it.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

use super::bson_min::Doc;
use super::{io_error, read_small, DirError, DumpDir};
use crate::{Crc64, MAX_BSON_SIZE};

const MAGIC: [u8; 4] = [0x6d, 0xe2, 0x99, 0x81];
const TERMINATOR: [u8; 4] = [0xff; 4];

/// Writes `dir` to `out` as a mongodump archive: header (server and tool versions from
/// `prelude.json`, else `0.0.0`), one prelude entry per collection (its metadata file's text),
/// then each collection's documents in one segment and its EOF block with the CRC-64, the
/// oplog last. Documents are streamed one at a time; their framing (length, final byte) is
/// checked here and their structure by the archive reader that consumes the stream.
pub fn write_archive(dir: &DumpDir, out: &mut impl Write) -> Result<(), DirError> {
    let write = |out: &mut dyn Write, bytes: &[u8]| {
        out.write_all(bytes).map_err(|source| DirError::Io {
            path: "(archive stream)".into(),
            source,
        })
    };
    let (server, tool) = dir.versions.clone().unwrap_or_else(|| {
        (
            "0.0.0".to_owned(),
            "unknown (mongodump directory)".to_owned(),
        )
    });
    write(out, &MAGIC)?;
    write(
        out,
        &Doc::new()
            .int32("concurrent_collections", 4)
            .string("version", "0.1")
            .string("server_version", &server)
            .string("tool_version", &tool)
            .finish(),
    )?;
    for c in &dir.collections {
        let metadata = read_small(&c.metadata)?;
        let metadata = String::from_utf8(metadata).map_err(|_| super::DirError::Layout {
            path: c.metadata.clone(),
            detail: "the metadata is not UTF-8".into(),
        })?;
        let kind = super::metadata_type(metadata.as_bytes(), &c.metadata)?;
        write(
            out,
            &Doc::new()
                .string("db", &c.db)
                .string("collection", &c.collection)
                .string("metadata", &metadata)
                .int32("size", 0)
                .string("type", &kind)
                .finish(),
        )?;
    }
    if dir.oplog.is_some() {
        write(
            out,
            &Doc::new()
                .string("db", "")
                .string("collection", "oplog")
                .string("metadata", "")
                .int32("size", 0)
                .string("type", "")
                .finish(),
        )?;
    }
    write(out, &TERMINATOR)?;
    for c in &dir.collections {
        namespace(out, &c.db, &c.body_collection, c.documents.as_deref())?;
    }
    if let Some(oplog) = &dir.oplog {
        namespace(out, "", "oplog", Some(oplog))?;
    }
    Ok(())
}

/// One namespace: a data segment with every document of `file` (none for `None`), then the
/// EOF block with their CRC-64.
fn namespace(
    out: &mut dyn Write,
    db: &str,
    collection: &str,
    file: Option<&Path>,
) -> Result<(), DirError> {
    let stream_error = |source| DirError::Io {
        path: "(archive stream)".into(),
        source,
    };
    let header = |eof: bool, crc: u64| {
        Doc::new()
            .string("db", db)
            .string("collection", collection)
            .boolean("EOF", eof)
            .int64("CRC", crc as i64)
            .finish()
    };
    out.write_all(&header(false, 0)).map_err(stream_error)?;
    let mut crc = Crc64::new();
    if let Some(path) = file {
        copy_documents(path, out, &mut crc)?;
    }
    out.write_all(&TERMINATOR).map_err(stream_error)?;
    out.write_all(&header(true, crc.value()))
        .map_err(stream_error)?;
    out.write_all(&TERMINATOR).map_err(stream_error)
}

/// Copies the documents of a `.bson[.gz]` file, checking each one's framing.
fn copy_documents(path: &Path, out: &mut dyn Write, crc: &mut Crc64) -> Result<(), DirError> {
    let file = File::open(path).map_err(io_error(path))?;
    let mut input: Box<dyn Read> = if super::is_gzip(path)? {
        Box::new(BufReader::with_capacity(
            256 << 10,
            flate2::read::MultiGzDecoder::new(file),
        ))
    } else {
        Box::new(BufReader::with_capacity(256 << 10, file))
    };
    let bad = |offset: u64, detail: &'static str| DirError::Bson {
        path: path.to_owned(),
        offset,
        detail,
    };
    let mut doc = Vec::with_capacity(64 << 10);
    let mut offset = 0u64;
    loop {
        let mut len = [0u8; 4];
        let got = read_full(&mut *input, &mut len).map_err(io_error(path))?;
        if got == 0 {
            return Ok(());
        }
        if got < 4 {
            return Err(bad(offset, "the file ends inside a document's length"));
        }
        let n = i32::from_le_bytes(len);
        if n < 5 || n as usize > MAX_BSON_SIZE {
            return Err(bad(offset, "a document length outside 5 bytes ..= 16 MiB"));
        }
        doc.clear();
        doc.extend_from_slice(&len);
        doc.resize(n as usize, 0);
        if read_full(&mut *input, &mut doc[4..]).map_err(io_error(path))? < n as usize - 4 {
            return Err(bad(offset, "the file ends inside a document"));
        }
        if doc[n as usize - 1] != 0 {
            return Err(bad(offset, "a document does not end with a 0 byte"));
        }
        crc.update(&doc);
        out.write_all(&doc).map_err(|source| DirError::Io {
            path: "(archive stream)".into(),
            source,
        })?;
        offset += u64::from(n as u32);
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(input: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
