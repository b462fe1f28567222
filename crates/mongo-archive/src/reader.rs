//! Streaming, validating reader of the archive framing.
//!
//! The reader hands out one item at a time ([`ArchiveReader::next_item`]), borrowing its bytes
//! from an internal buffer that only grows to hold the largest document (16 MiB at most), so
//! memory does not depend on the size of a segment, a collection or the archive. It checks
//! everything mongorestore rejects: magic, header shape, BSON lengths, namespace header shape,
//! namespaces absent from the prelude, headers or documents after an EOF block, terminators in
//! a row, every namespace's CRC, namespaces never finished or never seen, trailing bytes; and
//! what mongorestore validates before restoring: every document (of every namespace, kept or
//! not) is structurally valid BSON all the way down, every prelude entry's `metadata` is a
//! JSON object (Extended JSON's number and ObjectId wrappers checked), database names are legal (at most 63 bytes, none of `/\. "$` or NUL) and
//! collection names are not empty.

use std::collections::HashMap;
use std::io::{ErrorKind as IoKind, Read};

use crate::crc::Crc64;
use crate::error::{ns_name, ArchiveError, ErrorKind};
use crate::raw::{self, ty, Elems, MAX_BSON_SIZE};

/// The four bytes every archive starts with (`0x8199e26d` little-endian).
pub const MAGIC: [u8; 4] = [0x6d, 0xe2, 0x99, 0x81];
/// The four bytes that end the prelude and every block.
pub const TERMINATOR: [u8; 4] = [0xff, 0xff, 0xff, 0xff];

const INITIAL_BUFFER: usize = 256 << 10;

/// What a body document is called in errors (the framing's and the validation's).
const BODY_DOCUMENT: &str = "a document";

/// The framing error of a document whose last byte is not 0.
const NO_FINAL_ZERO: &str = "document does not end with a 0 byte";

/// The `type` of a prelude entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectionKind {
    /// A regular collection (`"collection"`, or `""`/absent from old tools).
    Collection,
    /// A view: metadata only, an empty body.
    View,
    /// A timeseries collection; its body is `db.system.buckets.<name>` (server < 8.3).
    Timeseries,
    /// Another type string.
    Other(String),
}

/// One collection-metadata entry of the prelude.
#[derive(Debug, Clone)]
pub struct PreludeEntry {
    /// Database name (`""` for the oplog).
    pub db: String,
    /// Collection name.
    pub collection: String,
    /// Its `type`.
    pub kind: CollectionKind,
    /// Input offset of the entry.
    pub offset: u64,
    /// True once a body namespace mapped to this entry.
    pub seen_in_body: bool,
}

impl PreludeEntry {
    /// True for the `--oplog` entry (`db ""`, collection `oplog`).
    pub fn is_oplog(&self) -> bool {
        self.db.is_empty() && self.collection == "oplog"
    }

    /// `db.collection`.
    pub fn name(&self) -> String {
        ns_name(&self.db, &self.collection)
    }
}

/// A namespace of the body, with its running input CRC and counters.
#[derive(Debug, Clone)]
pub struct BodyNamespace {
    /// Database name.
    pub db: String,
    /// Collection name as the body spells it (`system.buckets.X` for timeseries `X`).
    pub collection: String,
    /// Index of the prelude entry it belongs to.
    pub prelude: usize,
    /// CRC-64 of its documents read so far (not counting the current one).
    pub crc: Crc64,
    /// Documents read.
    pub docs: u64,
    /// Document bytes read.
    pub bytes: u64,
    /// True once its EOF header was read.
    pub eof: bool,
}

/// One item of the archive, borrowed from the reader's buffer.
#[derive(Debug)]
pub enum Item<'a> {
    /// The header document (after the magic, which the reader checked).
    Header {
        /// Raw BSON of the header document.
        raw: &'a [u8],
    },
    /// A prelude entry; details in [`ArchiveReader::prelude`]`[index]`.
    Prelude {
        /// Index in the prelude.
        index: usize,
        /// Raw BSON of the entry.
        raw: &'a [u8],
        /// The parsed entry.
        entry: &'a PreludeEntry,
    },
    /// The terminator after the prelude.
    PreludeEnd,
    /// A namespace header starting a block.
    BlockHeader {
        /// Body namespace index ([`ArchiveReader::namespace`]).
        ns: usize,
        /// True for the namespace's final (EOF) block.
        eof: bool,
        /// Raw BSON of the header; its last 9 bytes are the CRC int64 and the final 0.
        raw: &'a [u8],
        /// The namespace.
        namespace: &'a BodyNamespace,
        /// True when this is the first block of the namespace.
        first: bool,
    },
    /// A document of the current block.
    Document {
        /// Body namespace index.
        ns: usize,
        /// Raw BSON of the document.
        raw: &'a [u8],
        /// Input offset of the document.
        offset: u64,
        /// The namespace's input CRC over the documents before this one.
        crc_before: &'a Crc64,
    },
    /// The terminator ending a block.
    BlockEnd {
        /// Body namespace index.
        ns: usize,
    },
    /// The input ended cleanly after a block terminator and every check passed.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Prelude,
    BlockStart,
    InBlock { ns: usize, eof: bool },
    Done,
}

/// Streaming reader of a (decompressed) mongodump archive.
///
/// ```
/// use mongo_archive::reader::{ArchiveReader, Item};
/// let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/syrf-sample.archive")).unwrap();
/// let mut reader = ArchiveReader::new(&bytes[..]);
/// let mut docs = 0;
/// loop {
///     match reader.next_item()? {
///         Item::Document { .. } => docs += 1,
///         Item::End => break,
///         _ => {}
///     }
/// }
/// assert!(docs > 0);
/// # Ok::<(), mongo_archive::ArchiveError>(())
/// ```
pub struct ArchiveReader<R> {
    input: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Input offset of `buf[0]`.
    base: u64,
    input_done: bool,
    state: State,
    prelude: Vec<PreludeEntry>,
    prelude_index: HashMap<Vec<u8>, usize>,
    body: Vec<BodyNamespace>,
    body_index: HashMap<Vec<u8>, usize>,
    key: Vec<u8>,
    pending_crc: Option<(usize, usize, usize)>,
    /// Body documents are only framed here; the caller validates them
    /// ([`defer_document_validation`](Self::defer_document_validation)).
    defer_docs: bool,
    /// By body namespace: true when the caller computes its CRC and checks it
    /// ([`defer_crc`](Self::defer_crc)).
    defer_crc: Vec<bool>,
    /// Hand-off mode ([`hand_off_buffers`](Self::hand_off_buffers)): a full buffer is
    /// retired (kept with the input offset of its first byte) rather than compacted.
    hand_off: bool,
    retired: Vec<(u64, Vec<u8>)>,
    spares: Vec<Vec<u8>>,
    bson_stack: Vec<usize>,
    json_stack: Vec<u8>,
}

impl<R: Read> ArchiveReader<R> {
    /// A reader over `input` (uncompressed archive bytes). It does its own buffering.
    pub fn new(input: R) -> ArchiveReader<R> {
        ArchiveReader {
            input,
            buf: vec![0; INITIAL_BUFFER],
            pos: 0,
            end: 0,
            base: 0,
            input_done: false,
            state: State::Start,
            prelude: Vec::new(),
            prelude_index: HashMap::new(),
            body: Vec::new(),
            body_index: HashMap::new(),
            key: Vec::new(),
            pending_crc: None,
            defer_docs: false,
            defer_crc: Vec::new(),
            hand_off: false,
            retired: Vec::new(),
            spares: Vec::new(),
            bson_stack: Vec::new(),
            json_stack: Vec::new(),
        }
    }

    /// From now on, body documents ([`Item::Document`]) are framed (their length only) but
    /// not checked: the caller must run [`validate_framed_document`] on each one and report
    /// its error exactly where this reader would have (so worker threads can do it).
    pub(crate) fn defer_document_validation(&mut self) {
        self.defer_docs = true;
    }

    /// From now on, the documents of body namespace `ns` are not fed to its CRC
    /// ([`BodyNamespace::crc`] stays empty, [`Item::Document`]'s `crc_before` means nothing)
    /// and its EOF header's CRC is not checked: the caller computes the CRC (worker threads,
    /// in parts it combines) and must check it where this reader would have, with the same
    /// error. Call it on the namespace's first [`Item::BlockHeader`], before its documents.
    pub(crate) fn defer_crc(&mut self, ns: usize) {
        if self.defer_crc.len() <= ns {
            self.defer_crc.resize(ns + 1, false);
        }
        self.defer_crc[ns] = true;
    }

    /// From now on, the bytes items borrow are never moved: when the buffer is full, the
    /// unread bytes move to a new buffer and the full one is retired, to be taken with
    /// [`take_retired`](Self::take_retired) by a caller that keeps the items' input offsets
    /// rather than their slices (so a batch of documents is handed to a worker without a copy).
    pub(crate) fn hand_off_buffers(&mut self) {
        self.hand_off = true;
    }

    /// The buffers retired since the last call, each with the input offset of its first byte,
    /// in input order; with `all`, the current buffer too (its unread bytes move to a new one).
    /// Every item returned before this call lies in one of them (or in an earlier one).
    pub(crate) fn take_retired(&mut self, all: bool, into: &mut Vec<(u64, Vec<u8>)>) {
        if all {
            self.retire(0);
        }
        into.append(&mut self.retired);
    }

    /// True when a buffer was retired since the last [`take_retired`](Self::take_retired).
    #[inline]
    pub(crate) fn has_retired(&self) -> bool {
        !self.retired.is_empty()
    }

    /// Gives a retired buffer back for reuse.
    pub(crate) fn give_spare(&mut self, buf: Vec<u8>) {
        // A buffer grown for a large document is dropped rather than kept.
        if buf.len() == INITIAL_BUFFER && self.spares.len() < 64 {
            self.spares.push(buf);
        }
    }

    /// Retires the current buffer: its unread bytes move to a fresh one of at least `n` bytes.
    fn retire(&mut self, n: usize) {
        if let Some((ns, s, e)) = self.pending_crc.take() {
            self.body[ns].crc.update(&self.buf[s..e]);
        }
        let unread = self.end - self.pos;
        // Room for the unread bytes (a buffer grown for a large document may hold more than
        // a fresh one) and for `n`.
        let want = n.max(unread).next_power_of_two().max(INITIAL_BUFFER);
        let mut fresh = match self.spares.pop() {
            Some(b) if want <= INITIAL_BUFFER => b,
            _ => vec![0; want],
        };
        fresh[..unread].copy_from_slice(&self.buf[self.pos..self.end]);
        let old = std::mem::replace(&mut self.buf, fresh);
        self.retired.push((self.base, old));
        self.base += self.pos as u64;
        self.end = unread;
        self.pos = 0;
    }

    fn crc_deferred(&self, ns: usize) -> bool {
        self.defer_crc.get(ns).copied().unwrap_or(false)
    }

    /// The prelude entries read so far.
    pub fn prelude(&self) -> &[PreludeEntry] {
        &self.prelude
    }

    /// A body namespace by index.
    pub fn namespace(&self, ns: usize) -> &BodyNamespace {
        &self.body[ns]
    }

    /// All body namespaces seen so far.
    pub fn namespaces(&self) -> &[BodyNamespace] {
        &self.body
    }

    /// Input offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn error(&self, offset: u64, ns: Option<usize>, kind: ErrorKind) -> ArchiveError {
        let namespace = ns.map(|i| ns_name(&self.body[i].db, &self.body[i].collection));
        ArchiveError::new(offset, namespace, kind)
    }

    /// Makes at least `n` bytes available at `pos`; false when the input ends first.
    fn fill(&mut self, n: usize) -> Result<bool, ArchiveError> {
        while self.end - self.pos < n {
            if self.input_done {
                return Ok(false);
            }
            if self.hand_off && (self.buf.len() - self.pos < n || self.end == self.buf.len()) {
                self.retire(n);
            } else if self.buf.len() - self.pos < n || self.end == self.buf.len() {
                self.buf.copy_within(self.pos..self.end, 0);
                self.base += self.pos as u64;
                self.end -= self.pos;
                self.pos = 0;
                if self.buf.len() < n {
                    let want = n.next_power_of_two().max(self.buf.len() * 2);
                    self.buf.resize(want, 0);
                }
            }
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => self.input_done = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == IoKind::Interrupted => {}
                Err(e) => {
                    return Err(ArchiveError::new(
                        self.base + self.end as u64,
                        None,
                        ErrorKind::Read(e),
                    ))
                }
            }
        }
        Ok(true)
    }

    /// Reads an int32 length prefix at `pos` without consuming it; `None` at a clean end.
    fn peek_len(&mut self, what: &'static str, ns: Option<usize>) -> Result<i32, ArchiveError> {
        if !self.fill(4)? {
            return Err(self.error(self.offset(), ns, ErrorKind::Truncated { what }));
        }
        Ok(raw::read_i32(&self.buf, self.pos).unwrap_or(0))
    }

    /// Frames the BSON document at `pos` whose length is `len`, returns its position range.
    /// With `check_end` false its last byte is not read: deferred body documents are checked
    /// on the worker that reads them anyway ([`validate_framed_document`]); reading it here
    /// cost the calling thread a cache miss a document (the kernel's copy out of a pipe leaves
    /// them cold).
    fn take_doc(
        &mut self,
        len: i32,
        what: &'static str,
        ns: Option<usize>,
        check_end: bool,
    ) -> Result<(usize, usize), ArchiveError> {
        let at = self.offset();
        if len < 5 || len as usize > MAX_BSON_SIZE {
            return Err(self.error(
                at,
                ns,
                ErrorKind::BadLength {
                    what,
                    len: len as i64,
                },
            ));
        }
        let len = len as usize;
        if !self.fill(len)? {
            return Err(self.error(at, ns, ErrorKind::Truncated { what }));
        }
        let start = self.pos;
        if check_end && self.buf[start + len - 1] != 0 {
            return Err(self.error(
                at,
                ns,
                ErrorKind::Malformed {
                    what,
                    detail: NO_FINAL_ZERO,
                },
            ));
        }
        self.pos += len;
        Ok((start, start + len))
    }

    fn malformed(
        &self,
        at: u64,
        ns: Option<usize>,
        what: &'static str,
        e: raw::RawError,
    ) -> ArchiveError {
        self.error(
            at + e.at as u64,
            ns,
            ErrorKind::Malformed {
                what,
                detail: e.detail,
            },
        )
    }

    /// The next item. After [`Item::End`] or an error, further calls return `End` or errors.
    #[allow(clippy::should_implement_trait)]
    pub fn next_item(&mut self) -> Result<Item<'_>, ArchiveError> {
        if let Some((ns, s, e)) = self.pending_crc.take() {
            let b = &mut self.body[ns];
            b.crc.update(&self.buf[s..e]);
        }
        match self.state {
            State::Start => self.read_start(),
            State::Prelude => self.read_prelude(),
            State::BlockStart => self.read_block_start(),
            State::InBlock { ns, eof } => self.read_in_block(ns, eof),
            State::Done => Ok(Item::End),
        }
    }

    fn read_start(&mut self) -> Result<Item<'_>, ArchiveError> {
        if !self.fill(4)? || self.buf[self.pos..self.pos + 4] != MAGIC {
            self.state = State::Done;
            return Err(ArchiveError::new(0, None, ErrorKind::BadMagic));
        }
        self.pos += 4;
        let len = self.peek_len("the archive header", None)?;
        let (s, e) = self.take_doc(len, "the archive header", None, true)?;
        let at = self.base + s as u64;
        let mut version_ok = false;
        for el in Elems::new(&self.buf, s, e) {
            let el =
                el.map_err(|x| self.malformed(at - s as u64, None, "the archive header", x))?;
            match el.name {
                b"version" => {
                    if raw::str_value(&self.buf, &el) != Some("0.1") {
                        return Err(ArchiveError::new(
                            at,
                            None,
                            ErrorKind::BadHeader("version is not \"0.1\""),
                        ));
                    }
                    version_ok = true;
                }
                b"concurrent_collections" if el.ty != ty::INT32 => {
                    return Err(ArchiveError::new(
                        at,
                        None,
                        ErrorKind::BadHeader("concurrent_collections is not an int32"),
                    ));
                }
                _ => {}
            }
        }
        if !version_ok {
            return Err(ArchiveError::new(
                at,
                None,
                ErrorKind::BadHeader("no version field"),
            ));
        }
        self.state = State::Prelude;
        Ok(Item::Header {
            raw: &self.buf[s..e],
        })
    }

    fn read_prelude(&mut self) -> Result<Item<'_>, ArchiveError> {
        let len = self.peek_len("the prelude", None)?;
        if len == -1 {
            self.pos += 4;
            self.state = State::BlockStart;
            return Ok(Item::PreludeEnd);
        }
        let (s, e) = self.take_doc(len, "a prelude entry", None, true)?;
        let at = self.base + s as u64;
        raw::validate(&self.buf, s, e, &mut self.bson_stack)
            .map_err(|x| self.malformed(at - s as u64, None, "a prelude entry", x))?;
        let (mut db, mut coll, mut kind) = (None, None, CollectionKind::Collection);
        let mut metadata = None;
        for el in Elems::new(&self.buf, s, e) {
            let el = el.map_err(|x| self.malformed(at - s as u64, None, "a prelude entry", x))?;
            let text = raw::str_value(&self.buf, &el);
            match el.name {
                b"metadata" => {
                    if el.ty != ty::STRING {
                        return Err(bad_prelude(at, "metadata is not a string"));
                    }
                    metadata = Some(el.value + 4..el.end - 1);
                }
                b"db" => db = Some(text.ok_or_else(|| bad_prelude(at, "db is not a string"))?),
                b"collection" => {
                    coll = Some(text.ok_or_else(|| bad_prelude(at, "collection is not a string"))?)
                }
                b"type" => {
                    kind = match text.ok_or_else(|| bad_prelude(at, "type is not a string"))? {
                        "collection" | "" => CollectionKind::Collection,
                        "view" => CollectionKind::View,
                        "timeseries" => CollectionKind::Timeseries,
                        other => CollectionKind::Other(other.to_owned()),
                    }
                }
                _ => {}
            }
        }
        let (db, coll) = match (db, coll) {
            (Some(d), Some(c)) => (d.to_owned(), c.to_owned()),
            _ => return Err(bad_prelude(at, "db or collection missing")),
        };
        let named = |kind| ArchiveError::new(at, Some(ns_name(&db, &coll)), kind);
        if let Err(why) = check_names(&db, &coll) {
            return Err(named(ErrorKind::BadName(why)));
        }
        if let Some(range) = metadata.filter(|r| !r.is_empty()) {
            if let Err(x) = crate::json::validate_object(&self.buf[range], &mut self.json_stack) {
                return Err(named(ErrorKind::BadMetadata {
                    at: x.at,
                    detail: x.detail,
                }));
            }
        }
        let key = ns_key(&db, &coll);
        if self.prelude_index.contains_key(&key) {
            return Err(ArchiveError::new(
                at,
                Some(ns_name(&db, &coll)),
                ErrorKind::BadPrelude("the namespace is listed twice"),
            ));
        }
        let index = self.prelude.len();
        self.prelude_index.insert(key, index);
        self.prelude.push(PreludeEntry {
            db,
            collection: coll,
            kind,
            offset: at,
            seen_in_body: false,
        });
        Ok(Item::Prelude {
            index,
            raw: &self.buf[s..e],
            entry: &self.prelude[index],
        })
    }

    fn read_block_start(&mut self) -> Result<Item<'_>, ArchiveError> {
        if !self.fill(1)? {
            return self.finish();
        }
        let len = self.peek_len("a namespace header", None)?;
        if len == -1 {
            return Err(self.error(self.offset(), None, ErrorKind::DoubleTerminator));
        }
        let (s, e) = self.take_doc(len, "a namespace header", None, true)?;
        let at = self.base + s as u64;
        let h = parse_ns_header(&self.buf, s, e)
            .map_err(|d| ArchiveError::new(at, None, ErrorKind::BadNamespaceHeader(d)))?;
        self.key.clear();
        self.key.extend_from_slice(h.db.as_bytes());
        self.key.push(0);
        self.key.extend_from_slice(h.coll.as_bytes());
        let (ns, first) = match self.body_index.get(self.key.as_slice()) {
            Some(&ns) => (ns, false),
            None => {
                let prelude = match self.prelude_index.get(self.key.as_slice()) {
                    Some(&p) => Some(p),
                    None => h.coll.strip_prefix("system.buckets.").and_then(|base| {
                        self.prelude_index
                            .get(ns_key(h.db, base).as_slice())
                            .copied()
                            .filter(|&p| self.prelude[p].kind == CollectionKind::Timeseries)
                    }),
                };
                let Some(prelude) = prelude else {
                    return Err(ArchiveError::new(
                        at,
                        Some(ns_name(h.db, h.coll)),
                        ErrorKind::UnknownNamespace,
                    ));
                };
                self.prelude[prelude].seen_in_body = true;
                let ns = self.body.len();
                self.body.push(BodyNamespace {
                    db: h.db.to_owned(),
                    collection: h.coll.to_owned(),
                    prelude,
                    crc: Crc64::new(),
                    docs: 0,
                    bytes: 0,
                    eof: false,
                });
                self.body_index.insert(self.key.clone(), ns);
                (ns, true)
            }
        };
        if self.body[ns].eof {
            return Err(self.error(at, Some(ns), ErrorKind::HeaderAfterEof));
        }
        if h.eof {
            let computed = self.body[ns].crc.value();
            if computed != h.crc && !self.crc_deferred(ns) {
                return Err(self.error(
                    at,
                    Some(ns),
                    ErrorKind::CrcMismatch {
                        stored: h.crc,
                        computed,
                    },
                ));
            }
            self.body[ns].eof = true;
        }
        self.state = State::InBlock { ns, eof: h.eof };
        Ok(Item::BlockHeader {
            ns,
            eof: h.eof,
            raw: &self.buf[s..e],
            namespace: &self.body[ns],
            first,
        })
    }

    fn read_in_block(&mut self, ns: usize, eof: bool) -> Result<Item<'_>, ArchiveError> {
        let len = self.peek_len("a block (no terminator)", Some(ns))?;
        if len == -1 {
            self.pos += 4;
            self.state = State::BlockStart;
            return Ok(Item::BlockEnd { ns });
        }
        if eof {
            return Err(self.error(self.offset(), Some(ns), ErrorKind::DocumentAfterEof));
        }
        let offset = self.offset();
        let (s, e) = self.take_doc(len, BODY_DOCUMENT, Some(ns), !self.defer_docs)?;
        if !self.defer_docs {
            if let Err(x) = raw::validate(&self.buf, s, e, &mut self.bson_stack) {
                return Err(self.malformed(offset - s as u64, Some(ns), BODY_DOCUMENT, x));
            }
        }
        let b = &mut self.body[ns];
        b.docs += 1;
        b.bytes += (e - s) as u64;
        if !self.crc_deferred(ns) {
            self.pending_crc = Some((ns, s, e));
        }
        Ok(Item::Document {
            ns,
            raw: &self.buf[s..e],
            offset,
            crc_before: &self.body[ns].crc,
        })
    }

    fn finish(&mut self) -> Result<Item<'_>, ArchiveError> {
        let at = self.offset();
        if let Some(ns) = self.body.iter().position(|b| !b.eof) {
            return Err(self.error(at, Some(ns), ErrorKind::Unfinished));
        }
        if let Some(p) = self.prelude.iter().find(|p| !p.seen_in_body) {
            return Err(ArchiveError::new(at, Some(p.name()), ErrorKind::NeverSeen));
        }
        self.state = State::Done;
        Ok(Item::End)
    }
}

/// The names mongorestore accepts: the oplog's `db ""`, otherwise `util.ValidateDBName`'s
/// rules; a collection name is never empty.
/// The check [`ArchiveReader`] makes of a body document `doc` (read at input offset `offset`
/// in namespace `namespace`), with the same error, for documents read after
/// [`ArchiveReader::defer_document_validation`].
pub(crate) fn validate_document(doc: &[u8], stack: &mut Vec<usize>) -> Result<(), raw::RawError> {
    raw::validate(doc, 0, doc.len(), stack)
}

/// [`validate_document`] with the framing check the reader leaves to the caller of
/// [`ArchiveReader::defer_document_validation`] first: a document whose last byte is not 0
/// is refused at its first byte, with the reader's words ([`invalid_document`] then gives
/// the reader's error).
pub(crate) fn validate_framed_document(
    doc: &[u8],
    stack: &mut Vec<usize>,
) -> Result<(), raw::RawError> {
    if doc.last() != Some(&0) {
        return Err(raw::RawError {
            at: 0,
            detail: NO_FINAL_ZERO,
        });
    }
    validate_document(doc, stack)
}

/// The error [`ArchiveReader`] gives for a body document that [`validate_document`] refused.
pub(crate) fn invalid_document(offset: u64, namespace: String, e: raw::RawError) -> ArchiveError {
    ArchiveError::new(
        offset + e.at as u64,
        Some(namespace),
        ErrorKind::Malformed {
            what: BODY_DOCUMENT,
            detail: e.detail,
        },
    )
}

fn check_names(db: &str, coll: &str) -> Result<(), &'static str> {
    if coll.is_empty() {
        return Err("empty collection name");
    }
    if coll.contains('\0') {
        return Err("NUL in a collection name");
    }
    if db.is_empty() {
        return if coll == "oplog" {
            Ok(())
        } else {
            Err("empty database name")
        };
    }
    if db.len() > 63 {
        return Err("database name longer than 63 bytes");
    }
    if db.contains(['/', '\\', '.', ' ', '"', '\0', '$']) {
        return Err("database name with one of / \\ . space \" $ NUL");
    }
    Ok(())
}

fn bad_prelude(at: u64, what: &'static str) -> ArchiveError {
    ArchiveError::new(at, None, ErrorKind::BadPrelude(what))
}

fn ns_key(db: &str, coll: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(db.len() + coll.len() + 1);
    k.extend_from_slice(db.as_bytes());
    k.push(0);
    k.extend_from_slice(coll.as_bytes());
    k
}

pub(crate) struct NsHeader<'a> {
    pub db: &'a str,
    pub coll: &'a str,
    pub eof: bool,
    pub crc: u64,
}

/// Parses a namespace header: exactly `db` (string), `collection` (string), `EOF` (bool),
/// `CRC` (int64), in this order.
pub(crate) fn parse_ns_header(
    buf: &[u8],
    s: usize,
    e: usize,
) -> Result<NsHeader<'_>, &'static str> {
    let mut it = Elems::new(buf, s, e);
    let mut next = |name: &'static [u8], t: u8| -> Result<raw::Elem<'_>, &'static str> {
        match it.next() {
            Some(Ok(el)) if el.name == name && el.ty == t => Ok(el),
            Some(Ok(_)) => {
                Err("expected exactly db, collection, EOF (bool), CRC (int64) in this order")
            }
            Some(Err(x)) => Err(x.detail),
            None => Err("a field is missing"),
        }
    };
    let db = next(b"db", ty::STRING)?;
    let coll = next(b"collection", ty::STRING)?;
    let eof = next(b"EOF", ty::BOOL)?;
    let crc = next(b"CRC", ty::INT64)?;
    if it.next().is_some() {
        return Err("unknown extra field");
    }
    let db = raw::str_value(buf, &db).ok_or("db is not UTF-8")?;
    let coll = raw::str_value(buf, &coll).ok_or("collection is not UTF-8")?;
    let eof = match buf[eof.value] {
        0 => false,
        1 => true,
        _ => return Err("EOF is not 0 or 1"),
    };
    let crc = raw::read_i64(buf, crc.value).ok_or("CRC missing")? as u64;
    Ok(NsHeader { db, coll, eof, crc })
}
