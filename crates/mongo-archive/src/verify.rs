//! An independent, strict archive checker for tests and tools.
//!
//! It shares no code with the rewriting path: framing is parsed here again from slices, every
//! document (header, prelude, namespace headers, data) is fully decoded with the `bson` crate,
//! and CRC-64/XZ is computed with a table of its own. It checks everything mongorestore
//! rejects plus what mongodump always does: the magic; the header's four fields with `version`
//! "0.1" and a `server_version` of the form `X.Y.Z[-...|+...]`; prelude entries; namespace
//! headers with exactly `db`, `collection`, `EOF` (bool), `CRC` (int64) in order; body
//! namespaces listed in the prelude; at least one data segment before each EOF block; nothing
//! after an EOF header but its terminator; every CRC; the oplog last; every namespace finished
//! and every prelude namespace seen; no trailing bytes. The collection metadata JSON is not
//! parsed (that is mongorestore's business).

use std::collections::HashMap;

use bson::{Bson, Document};

/// A verification failure with the byte offset where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    /// Byte offset in the archive.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid archive at byte {}: {}",
            self.offset, self.message
        )
    }
}

impl std::error::Error for VerifyError {}

/// A prelude entry.
#[derive(Debug, Clone)]
pub struct VerifiedPrelude {
    /// Database.
    pub db: String,
    /// Collection.
    pub collection: String,
    /// `type` (empty when absent).
    pub kind: String,
    /// The metadata string, unparsed.
    pub metadata: String,
}

/// A body namespace and what it held.
#[derive(Debug, Clone)]
pub struct VerifiedNamespace {
    /// Database.
    pub db: String,
    /// Collection (as the body names it).
    pub collection: String,
    /// Number of documents.
    pub docs: u64,
    /// The CRC from its EOF header, checked against the documents.
    pub crc: u64,
    /// Number of data segments (blocks before the EOF block).
    pub segments: u64,
    /// The raw documents, when asked for ([`verify_keep_documents`]).
    pub documents: Vec<Vec<u8>>,
}

impl VerifiedNamespace {
    /// `db.collection`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.db, self.collection)
    }
}

/// The result of a successful verification.
#[derive(Debug, Clone)]
pub struct VerifiedArchive {
    /// The decoded header.
    pub header: Document,
    /// Prelude entries in order.
    pub prelude: Vec<VerifiedPrelude>,
    /// Body namespaces in order of first appearance.
    pub namespaces: Vec<VerifiedNamespace>,
}

impl VerifiedArchive {
    /// The namespace `db.collection`, if present.
    pub fn namespace(&self, name: &str) -> Option<&VerifiedNamespace> {
        self.namespaces.iter().find(|n| n.name() == name)
    }
}

/// Verifies a whole (uncompressed) archive.
///
/// ```
/// let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/syrf-sample.archive")).unwrap();
/// let archive = mongo_archive::verify::verify(&bytes).unwrap();
/// assert!(archive.namespace("syrftest.pmInvestigator").unwrap().docs > 0);
/// assert!(mongo_archive::verify::verify(&bytes[..bytes.len() - 1]).is_err());
/// ```
pub fn verify(bytes: &[u8]) -> Result<VerifiedArchive, VerifyError> {
    Verifier::new(bytes, false).run()
}

/// Like [`verify`], and keeps every namespace's raw documents.
pub fn verify_keep_documents(bytes: &[u8]) -> Result<VerifiedArchive, VerifyError> {
    Verifier::new(bytes, true).run()
}

fn crc_table() -> [u64; 256] {
    const POLY: u64 = 0xC96C_5795_D787_0F42;
    let mut t = [0u64; 256];
    for (i, slot) in t.iter_mut().enumerate() {
        let mut c = i as u64;
        for _ in 0..8 {
            c = if c & 1 == 1 { (c >> 1) ^ POLY } else { c >> 1 };
        }
        *slot = c;
    }
    t
}

/// CRC-64/XZ with a byte-wise table (independent of the crate's fast implementation).
pub fn crc64_reference(bytes: &[u8]) -> u64 {
    let t = crc_table();
    let mut crc = !0u64;
    for &b in bytes {
        crc = t[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

struct NsState {
    index: usize,
    eof: bool,
    crc: u64,
    prelude: usize,
}

struct Verifier<'a> {
    b: &'a [u8],
    pos: usize,
    keep: bool,
    table: [u64; 256],
}

fn server_version_ok(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

impl<'a> Verifier<'a> {
    fn new(b: &'a [u8], keep: bool) -> Self {
        Verifier {
            b,
            pos: 0,
            keep,
            table: crc_table(),
        }
    }

    fn fail<T>(&self, at: usize, message: impl Into<String>) -> Result<T, VerifyError> {
        Err(VerifyError {
            offset: at,
            message: message.into(),
        })
    }

    fn int32(&self) -> Result<i32, VerifyError> {
        match self.b.get(self.pos..self.pos + 4) {
            Some(s) => Ok(i32::from_le_bytes(s.try_into().expect("4 bytes"))),
            None => self.fail(self.pos, "truncated: a length or terminator is cut off"),
        }
    }

    /// The next BSON document: its raw bytes and its decoded form.
    fn doc(&mut self, what: &str) -> Result<(&'a [u8], Document), VerifyError> {
        let at = self.pos;
        let len = self.int32()?;
        if !(5..=16 * 1024 * 1024).contains(&len) {
            return self.fail(at, format!("{what}: length {len} out of 5..=16MiB"));
        }
        let Some(raw) = self.b.get(at..at + len as usize) else {
            return self.fail(at, format!("truncated {what}"));
        };
        if raw[raw.len() - 1] != 0 {
            return self.fail(at, format!("{what} does not end with 0"));
        }
        let doc = match Document::from_reader(raw) {
            Ok(d) => d,
            Err(e) => return self.fail(at, format!("{what} does not decode as BSON: {e}")),
        };
        self.pos += len as usize;
        Ok((raw, doc))
    }

    fn crc_update(&self, mut crc: u64, bytes: &[u8]) -> u64 {
        crc = !crc;
        for &b in bytes {
            crc = self.table[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
        }
        !crc
    }

    fn run(mut self) -> Result<VerifiedArchive, VerifyError> {
        if self.b.get(..4) != Some(&[0x6d, 0xe2, 0x99, 0x81][..]) {
            return self.fail(0, "bad magic");
        }
        self.pos = 4;
        let at = self.pos;
        let (_, header) = self.doc("archive header")?;
        let keys: Vec<&str> = header.keys().map(|k| k.as_str()).collect();
        if keys
            != [
                "concurrent_collections",
                "version",
                "server_version",
                "tool_version",
            ]
        {
            return self.fail(at, format!("header fields are {keys:?}"));
        }
        if !matches!(header.get("concurrent_collections"), Some(Bson::Int32(_))) {
            return self.fail(at, "concurrent_collections is not int32");
        }
        if header.get_str("version") != Ok("0.1") {
            return self.fail(at, "version is not \"0.1\"");
        }
        match header.get_str("server_version") {
            Ok(v) if server_version_ok(v) => {}
            _ => return self.fail(at, "server_version is not X.Y.Z[-...]"),
        }
        if header.get_str("tool_version").is_err() {
            return self.fail(at, "tool_version is not a string");
        }
        let mut prelude = Vec::new();
        let mut prelude_ix: HashMap<(String, String), usize> = HashMap::new();
        loop {
            if self.int32()? == -1 {
                self.pos += 4;
                break;
            }
            let at = self.pos;
            let (_, d) = self.doc("prelude entry")?;
            let (Ok(db), Ok(coll)) = (d.get_str("db"), d.get_str("collection")) else {
                return self.fail(at, "prelude entry without string db/collection");
            };
            let Ok(metadata) = d.get_str("metadata") else {
                return self.fail(at, "prelude entry without a metadata string");
            };
            match d.get("size") {
                None | Some(Bson::Int32(0)) | Some(Bson::Int64(0)) => {}
                _ => return self.fail(at, "prelude size is not 0"),
            }
            let kind = match d.get("type") {
                None => String::new(),
                Some(Bson::String(s)) => s.clone(),
                _ => return self.fail(at, "prelude type is not a string"),
            };
            if prelude_ix
                .insert((db.to_owned(), coll.to_owned()), prelude.len())
                .is_some()
            {
                return self.fail(at, format!("prelude lists {db}.{coll} twice"));
            }
            prelude.push(VerifiedPrelude {
                db: db.to_owned(),
                collection: coll.to_owned(),
                kind,
                metadata: metadata.to_owned(),
            });
        }
        let mut seen = vec![false; prelude.len()];
        let mut namespaces: Vec<VerifiedNamespace> = Vec::new();
        let mut states: HashMap<(String, String), NsState> = HashMap::new();
        let mut oplog_started = false;
        while self.pos < self.b.len() {
            let at = self.pos;
            if self.int32()? == -1 {
                return self.fail(at, "two terminators in a row");
            }
            let (_, h) = self.doc("namespace header")?;
            let keys: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
            if keys != ["db", "collection", "EOF", "CRC"] {
                return self.fail(at, format!("namespace header fields are {keys:?}"));
            }
            let (Ok(db), Ok(coll), Ok(eof), Some(Bson::Int64(crc))) = (
                h.get_str("db"),
                h.get_str("collection"),
                h.get_bool("EOF"),
                h.get("CRC"),
            ) else {
                return self.fail(at, "namespace header field types are wrong");
            };
            let key = (db.to_owned(), coll.to_owned());
            let is_oplog = db.is_empty() && coll == "oplog";
            if oplog_started && !is_oplog {
                return self.fail(at, format!("{db}.{coll} after the oplog began"));
            }
            if !states.contains_key(&key) {
                let p = prelude_ix.get(&key).copied().or_else(|| {
                    coll.strip_prefix("system.buckets.").and_then(|base| {
                        prelude_ix
                            .get(&(db.to_owned(), base.to_owned()))
                            .copied()
                            .filter(|&p| prelude[p].kind == "timeseries")
                    })
                });
                let Some(p) = p else {
                    return self.fail(at, format!("{db}.{coll} is not in the prelude"));
                };
                if is_oplog {
                    if let Some(open) = states.iter().find(|(_, s)| !s.eof) {
                        return self.fail(
                            at,
                            format!("oplog begins before {}.{} ended", open.0 .0, open.0 .1),
                        );
                    }
                    oplog_started = true;
                }
                seen[p] = true;
                states.insert(
                    key.clone(),
                    NsState {
                        index: namespaces.len(),
                        eof: false,
                        crc: 0,
                        prelude: p,
                    },
                );
                namespaces.push(VerifiedNamespace {
                    db: db.to_owned(),
                    collection: coll.to_owned(),
                    docs: 0,
                    crc: 0,
                    segments: 0,
                    documents: Vec::new(),
                });
            }
            let st = states.get_mut(&key).expect("inserted");
            let _ = st.prelude;
            if st.eof {
                return self.fail(at, format!("{db}.{coll}: header after its EOF"));
            }
            let ns = &mut namespaces[st.index];
            if eof {
                if ns.segments == 0 {
                    return self.fail(at, format!("{db}.{coll}: EOF without a data segment"));
                }
                if *crc as u64 != st.crc {
                    return self.fail(
                        at,
                        format!(
                            "{db}.{coll}: CRC {:#x} in header, documents give {:#x}",
                            *crc as u64, st.crc
                        ),
                    );
                }
                st.eof = true;
                ns.crc = st.crc;
                let t = self.pos;
                if self.int32()? != -1 {
                    return self.fail(t, format!("{db}.{coll}: data after its EOF header"));
                }
                self.pos += 4;
                continue;
            }
            ns.segments += 1;
            loop {
                if self.int32()? == -1 {
                    self.pos += 4;
                    break;
                }
                let (raw, _) = self.doc("document")?;
                let st = states.get_mut(&key).expect("present");
                st.crc = self.crc_update(st.crc, raw);
                let ns = &mut namespaces[st.index];
                ns.docs += 1;
                if self.keep {
                    ns.documents.push(raw.to_vec());
                }
            }
        }
        if let Some((k, _)) = states.iter().find(|(_, s)| !s.eof) {
            return self.fail(self.pos, format!("{}.{} has no EOF block", k.0, k.1));
        }
        if let Some(p) = seen.iter().position(|s| !s) {
            return self.fail(
                self.pos,
                format!(
                    "{}.{} is in the prelude but not in the body",
                    prelude[p].db, prelude[p].collection
                ),
            );
        }
        if namespaces.is_empty() && !prelude.is_empty() {
            return self.fail(self.pos, "empty body");
        }
        Ok(VerifiedArchive {
            header,
            prelude,
            namespaces,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reference_crc_check_value() {
        assert_eq!(super::crc64_reference(b"123456789"), 0x995D_C9BB_DF19_39FA);
        assert_eq!(super::crc64_reference(b""), 0);
    }

    #[test]
    fn server_version_forms() {
        assert!(super::server_version_ok("5.0.0-rc0"));
        assert!(super::server_version_ok("7.0.14"));
        assert!(!super::server_version_ok("7.0"));
        assert!(!super::server_version_ok("x.1.2"));
    }
}
