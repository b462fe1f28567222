//! What an input that is not a dump this tool reads looks like, with the advice that gets it
//! into one: a mongodump directory's single `.bson` or `.metadata.json` file, another tar file,
//! `mariadb-dump --xml`. (pg_dump's custom, tar and directory formats and mongodump
//! directories are read since issue 24.) Such inputs are refused (exit 3) whether the format was
//! detected or forced: some of them hold SQL text a plain-dump reader would otherwise take for
//! statements (a custom or tar archive's table of contents) and copy byte for byte.

use std::path::Path;

/// The advice for pg_dump's non-plain formats.
const PG_RESTORE: &str = "convert it to a plain SQL stream with \
    `pg_restore -f - DUMP | syrf-anonymize --rules FILE | psql` (pg_restore reads the custom, \
    tar and directory formats), or dump with `pg_dump --format=plain`";

/// The advice for mongodump's directory layout.
const MONGODUMP_ARCHIVE: &str = "dump with `mongodump --archive` (add `--gzip` to compress), \
    which writes every collection as one stream this tool reads";

/// Describes the first bytes of an (uncompressed) input that is a known format this tool does
/// not read, with advice; `None` for anything else (a dump, or bytes nothing recognises).
///
/// ```
/// use syrf_anonymize::lookalike::describe;
/// assert!(describe(b"PGDMP\x01\x0f\x00").is_none()); // pg_dump -Fc: read
/// assert!(describe(b"-- MySQL dump 10.13\n").is_none());
/// ```
pub fn describe(head: &[u8]) -> Option<String> {
    if is_tar(head) {
        let first_name = &head[..100];
        let name_end = first_name.iter().position(|&b| b == 0).unwrap_or(100);
        let name = &first_name[..name_end];
        if name == b"toc.dat" || name.ends_with(b"/toc.dat") {
            // pg_dump -Ft: read (crate::pg_archive).
            return None;
        }
        if name.ends_with(b".bson") || name.ends_with(b".metadata.json") {
            return Some(format!(
                "the input is a tar file of a mongodump directory (`.bson` files), not a \
                 mongodump archive: {MONGODUMP_ARCHIVE}"
            ));
        }
        return Some(
            "the input is a tar file, not a dump: give the dump inside it (one stream)".into(),
        );
    }
    if is_xml_dump(head) {
        return Some(
            "the input is an XML dump (`mysqldump --xml` / `mariadb-dump --xml`), not a SQL \
             dump: dump without --xml"
                .into(),
        );
    }
    if is_bson_document(head) {
        return Some(format!(
            "the input looks like a BSON file (one collection of a mongodump directory, \
             `COLLECTION.bson`), not a mongodump archive: {MONGODUMP_ARCHIVE}"
        ));
    }
    if is_mongodump_metadata(head) {
        return Some(format!(
            "the input looks like a mongodump directory's `COLLECTION.metadata.json`, not a \
             mongodump archive: {MONGODUMP_ARCHIVE}"
        ));
    }
    None
}

/// Describes a directory given as the input: a pg_dump directory-format dump (`toc.dat`) or a
/// mongodump output directory (`.bson` files, in it or one level down).
pub fn describe_directory(dir: &Path) -> Option<String> {
    if dir.join("toc.dat").is_file() {
        return Some(format!(
            "it is a pg_dump directory-format dump (`toc.dat`, pg_dump -Fd), not a plain SQL \
             dump: {PG_RESTORE}"
        ));
    }
    let has_bson = |d: &Path| {
        std::fs::read_dir(d).is_ok_and(|entries| {
            entries.filter_map(Result::ok).any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.ends_with(".bson") || name.ends_with(".bson.gz")
            })
        })
    };
    let nested = || {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|e| e.path().is_dir() && has_bson(&e.path()))
        })
    };
    if has_bson(dir) || nested() {
        return Some(format!(
            "it is a mongodump directory (`.bson` files), not a mongodump archive: \
             {MONGODUMP_ARCHIVE}"
        ));
    }
    None
}

/// A POSIX (ustar) or GNU tar header: the magic at byte 257 and a matching header checksum
/// (the octal sum of the header's bytes, its own field counted as spaces).
fn is_tar(head: &[u8]) -> bool {
    if head.len() < 512 || head[257..262] != *b"ustar" {
        return false;
    }
    let header = &head[..512];
    let field = std::str::from_utf8(&header[148..156]).unwrap_or("");
    let Ok(stored) = u32::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
    else {
        return false;
    };
    let sum: u32 = header
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    sum == stored
}

fn is_xml_dump(head: &[u8]) -> bool {
    let text = &head[..head.len().min(4096)];
    let trimmed = text.trim_ascii_start();
    trimmed.starts_with(b"<?xml") && memchr::memmem::find(text, b"<mysqldump").is_some()
}

/// A BSON document: a little-endian length from 5 bytes to 16 MiB, then a known element type
/// and a NUL-terminated field name; when the whole document is in `head`, its last byte is 0.
fn is_bson_document(head: &[u8]) -> bool {
    if head.len() < 8 || head.starts_with(&mongo_archive::reader::MAGIC) {
        return false;
    }
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let known_type = matches!(head[4], 0x01..=0x13 | 0x7f | 0xff);
    if !(5..=16 * 1024 * 1024 + 16 * 1024).contains(&len) || !known_type {
        return false;
    }
    let name = &head[5..head.len().min(5 + 1024)];
    let Some(end) = name.iter().position(|&b| b == 0) else {
        return false;
    };
    let printable = name[..end].iter().all(|&b| b >= 0x20);
    printable && (head.len() < len || head[len - 1] == 0)
}

/// The JSON mongodump writes beside each `.bson` file.
fn is_mongodump_metadata(head: &[u8]) -> bool {
    let text = head.trim_ascii_start();
    text.starts_with(b"{")
        && ["\"indexes\"", "\"collectionName\""]
            .iter()
            .any(|k| memchr::memmem::find(text, k.as_bytes()).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sql_dump_and_an_archive_are_not_lookalikes() {
        assert!(describe(b"--\n-- PostgreSQL database dump\n--\n").is_none());
        assert!(describe(&mongo_archive::reader::MAGIC).is_none());
        assert!(describe(b"").is_none());
        assert!(describe(&[0u8; 600]).is_none());
    }

    #[test]
    fn tar_needs_its_checksum() {
        let mut header = vec![0u8; 512];
        header[..7].copy_from_slice(b"toc.dat");
        header[257..263].copy_from_slice(b"ustar\0");
        header[148..156].fill(b' ');
        let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
        header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        // pg_dump -Ft (a tar holding toc.dat) is read, not refused.
        assert!(describe(&header).is_none());
        header[..7].copy_from_slice(b"xyz.csv");
        header[148..156].fill(b' ');
        let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
        header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        assert!(describe(&header).unwrap().contains("a tar file"));
        header[0] = b'q';
        assert!(describe(&header).is_none(), "a wrong checksum is not tar");
    }

    #[test]
    fn a_bson_document_is_recognised() {
        let doc = bson::to_vec(&bson::doc! {"_id": 1, "Email": "x@example.org"}).unwrap();
        assert!(describe(&doc).unwrap().contains("mongodump --archive"));
        // Cut short, the header still says BSON.
        assert!(describe(&doc[..10]).is_some());
    }
}
