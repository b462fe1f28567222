//! Errors of reading, rewriting and writing archives.

use std::fmt;

/// What went wrong; [`ArchiveError`] adds where.
///
/// Messages never contain document values (they may be personal data): only structure,
/// lengths, type codes, field names of rules and CRCs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading the input failed.
    #[error("reading the input failed: {0}")]
    Read(std::io::Error),
    /// Writing the output failed.
    #[error("writing the output failed: {0}")]
    Write(std::io::Error),
    /// The stream does not start with the archive magic `6d e2 99 81`.
    #[error("not a mongodump archive: bad magic number")]
    BadMagic,
    /// The input ended inside a structure.
    #[error("the input ends inside {what} (truncated archive)")]
    Truncated {
        /// What was being read.
        what: &'static str,
    },
    /// A BSON length outside 5 ..= 16 MiB, or larger than its container.
    #[error("{what} has an invalid length {len}")]
    BadLength {
        /// What was being read.
        what: &'static str,
        /// The length found.
        len: i64,
    },
    /// BSON that does not follow the spec.
    #[error("malformed BSON in {what}: {detail}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// What is wrong.
        detail: &'static str,
    },
    /// The archive header is not `{concurrent_collections, version: "0.1", ...}`.
    #[error("bad archive header: {0}")]
    BadHeader(&'static str),
    /// A prelude entry lacks `db`/`collection` or repeats one.
    #[error("bad prelude entry: {0}")]
    BadPrelude(&'static str),
    /// A prelude entry's `metadata` is not the JSON object mongorestore parses.
    #[error(
        "the collection metadata in the prelude is not valid JSON: {detail} at character {at}"
    )]
    BadMetadata {
        /// Byte position in the metadata string.
        at: usize,
        /// What is wrong.
        detail: &'static str,
    },
    /// A database or collection name mongorestore refuses.
    #[error("illegal name in the prelude: {0}")]
    BadName(&'static str),
    /// A namespace header is not exactly `{db, collection, EOF, CRC}`.
    #[error("bad namespace header: {0}")]
    BadNamespaceHeader(&'static str),
    /// A body namespace that the prelude does not list.
    #[error("namespace is not listed in the prelude")]
    UnknownNamespace,
    /// A namespace header after that namespace's EOF block.
    #[error("namespace header for a namespace that already ended")]
    HeaderAfterEof,
    /// A document inside an EOF block.
    #[error("document after an EOF namespace header")]
    DocumentAfterEof,
    /// A terminator where a namespace header was expected.
    #[error("two terminators in a row")]
    DoubleTerminator,
    /// The stored CRC of a namespace does not match its documents.
    #[error("CRC mismatch: header says {stored:#018x}, documents give {computed:#018x}")]
    CrcMismatch {
        /// CRC in the EOF header.
        stored: u64,
        /// CRC computed over the documents.
        computed: u64,
    },
    /// A namespace without an EOF block at the end of the stream.
    #[error("archive finished but the namespace has no EOF block")]
    Unfinished,
    /// A prelude namespace that never appears in the body.
    #[error("archive finished before the namespace was seen in the body")]
    NeverSeen,
    /// A patched document grew beyond 16 MiB.
    #[error("the rewritten document would be {len} bytes, over the 16 MiB BSON limit")]
    TooLarge {
        /// Its size.
        len: usize,
    },
    /// Field rules or size limits on a timeseries collection.
    #[error("rules on a timeseries collection are not supported (its buckets are columnar)")]
    TimeseriesRules,
    /// An oplog entry that cannot be made safe.
    #[error("oplog entry cannot be anonymized: {0}; rerun with the oplog dropped (--oplog drop)")]
    Oplog(crate::oplog_error::OplogError),
    /// A document shape the zero-copy walker refuses (fail closed).
    #[error("cannot rewrite the document: {0}")]
    Unsupported(String),
}

/// An error with the input byte offset and the namespace (`db.collection`) it happened in.
///
/// ```
/// use mongo_archive::{rewrite_archive, RewriteOptions};
/// use anonymize_core::{Anonymizer, KeyMode, RuleSet};
/// let anon = Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed).unwrap();
/// let err = rewrite_archive(&b"nope"[..], Vec::new(), &anon, &RewriteOptions::default()).unwrap_err();
/// assert_eq!(err.offset, 0);
/// assert!(err.to_string().contains("magic"));
/// ```
#[derive(Debug)]
pub struct ArchiveError {
    /// Byte offset in the (uncompressed) input where the problem starts.
    pub offset: u64,
    /// `db.collection` of the namespace concerned, if any (`.oplog` for the oplog).
    pub namespace: Option<String>,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl ArchiveError {
    pub(crate) fn new(offset: u64, namespace: Option<String>, kind: ErrorKind) -> ArchiveError {
        ArchiveError {
            offset,
            namespace,
            kind,
        }
    }
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (input byte {}", self.kind, self.offset)?;
        if let Some(ns) = &self.namespace {
            write!(f, ", namespace `{ns}`")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for ArchiveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Read(e) | ErrorKind::Write(e) => Some(e),
            ErrorKind::Oplog(e) => Some(e),
            _ => None,
        }
    }
}

/// `db.collection` as mongodump spells a namespace.
pub(crate) fn ns_name(db: &str, collection: &str) -> String {
    format!("{db}.{collection}")
}
