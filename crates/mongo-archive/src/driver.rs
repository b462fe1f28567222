//! The rewrite driver: the sequential part of a rewrite ([`Driver`]: decisions, counters, CRCs
//! and output, fed an archive's items in input order) and what it reports ([`RewriteSummary`]).
//! Below both ways of feeding it, the one-thread loop (`rewrite`) and the parallel reader
//! (`parallel`), neither of which it imports.

use std::collections::HashMap;
use std::io::Write;

use anonymize_core::{Anonymizer, RowContext, RuleId};

use crate::crc::{crc64_combine_shifted, Crc64};
use crate::error::{ns_name, ArchiveError, ErrorKind};
use crate::oplog::{self, OplogRewriter};
use crate::policy::{decide, Decision, NamespaceAction, RewriteOptions};
use crate::reader::{Item, MAGIC, TERMINATOR};
use crate::walk::{PatchError, Patcher};

/// Counters of one body namespace.
#[derive(Debug, Clone)]
pub struct NamespaceSummary {
    /// Database.
    pub db: String,
    /// Collection as the body names it.
    pub collection: String,
    /// What happened to it.
    pub action: NamespaceAction,
    /// Documents read.
    pub docs_in: u64,
    /// Documents written.
    pub docs_out: u64,
    /// Documents written with at least one change.
    pub docs_changed: u64,
    /// Document bytes read.
    pub bytes_in: u64,
    /// Document bytes written.
    pub bytes_out: u64,
    /// Keys containing a `.` that shadow a rule path (`{"FullName.First": ...}` where a rule
    /// names the field `First` of the sub-document `FullName`): no rule reached their values.
    /// A rule names such a key with an escaped dot (`FullName\.First`).
    pub shadowing_keys: u64,
    /// The paths (as written in the rules file) of the rules those keys shadowed.
    pub shadowed_rules: Vec<String>,
    /// Top-level field names of the first [`FIELD_SAMPLE_DOCUMENTS`] documents of a
    /// collection with field rules (at most [`FIELD_SAMPLE_NAMES`]), for "did you mean"
    /// suggestions on rules that never matched. Empty for other collections.
    pub field_names: Vec<String>,
}

/// Documents per collection whose top-level field names [`NamespaceSummary::field_names`]
/// samples.
pub const FIELD_SAMPLE_DOCUMENTS: u64 = 1000;
/// Distinct names [`NamespaceSummary::field_names`] keeps per collection.
pub const FIELD_SAMPLE_NAMES: usize = 256;

impl NamespaceSummary {
    /// `db.collection`.
    pub fn name(&self) -> String {
        ns_name(&self.db, &self.collection)
    }
}

/// What a rewrite did.
#[derive(Debug, Clone, Default)]
pub struct RewriteSummary {
    /// Body namespaces in input order.
    pub namespaces: Vec<NamespaceSummary>,
    /// Archive bytes read (uncompressed).
    pub bytes_in: u64,
    /// Archive bytes written (uncompressed).
    pub bytes_out: u64,
}

/// Bytes buffered before a write: twice the CLI sink's buffer (1 MiB), so that a full buffer
/// goes through the sink's `BufWriter` without another copy (a write of at most its capacity,
/// after the sink's held-back bytes, would be copied into it).
const OUT_BUFFER: usize = 2 << 20;

/// Buffered output that holds back every terminator until something follows it or the
/// input has been verified to end cleanly, so a failed run never leaves a complete archive.
struct Output<W: Write> {
    w: W,
    buf: Vec<u8>,
    pending_terminator: bool,
    written: u64,
}

impl<W: Write> Output<W> {
    fn new(w: W) -> Self {
        Output {
            w,
            buf: Vec::with_capacity(OUT_BUFFER),
            pending_terminator: false,
            written: 0,
        }
    }

    #[inline]
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.pending_terminator {
            self.pending_terminator = false;
            self.raw(&TERMINATOR)?;
        }
        self.raw(bytes)
    }

    #[inline]
    fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.written += bytes.len() as u64;
        if self.buf.len() + bytes.len() > OUT_BUFFER {
            self.flush_buf()?;
            if bytes.len() >= OUT_BUFFER {
                return self.w.write_all(bytes);
            }
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    fn terminator(&mut self) -> std::io::Result<()> {
        if self.pending_terminator {
            self.raw(&TERMINATOR)?;
        }
        self.pending_terminator = true;
        Ok(())
    }

    fn flush_buf(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            self.w.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if std::mem::take(&mut self.pending_terminator) {
            self.raw(&TERMINATOR)?;
        }
        self.flush_buf()?;
        self.w.flush()
    }
}

struct NsRun<'a> {
    decision: Decision<'a>,
    /// The output CRC once it differs from the input's (per document, one-thread path).
    out_crc: Option<Crc64>,
    /// The input and output CRCs joined from parts computed on worker threads
    /// ([`Driver::crc_by_parts`]); `None`: computed here per document.
    parts: Option<PartsCrc>,
    summary: NamespaceSummary,
    /// The ordinals a subset removes ([`RewriteOptions::subset`]).
    removed: Option<&'a roaring::RoaringTreemap>,
}

/// A namespace's CRCs joined from parts: the input's so far, and the output's once it differs.
#[derive(Clone, Copy)]
struct PartsCrc {
    input: u64,
    output: Option<u64>,
}

/// The CRCs of consecutive documents of one namespace, computed on a worker: of their input
/// bytes, and of the bytes the driver writes for them (the patched document, or the input).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CrcPart {
    pub(crate) crc_in: u64,
    /// [`crate::crc::crc64_shift`] of the input bytes' length (computed on the worker).
    pub(crate) shift_in: u64,
    pub(crate) crc_out: u64,
    /// [`crate::crc::crc64_shift`] of the output bytes' length.
    pub(crate) shift_out: u64,
    /// True when at least one document was patched (`crc_out` differs from `crc_in`).
    pub(crate) changed: bool,
}

/// True when a namespace's CRCs can be computed in parts ([`CrcPart`]) off the driver: it is
/// dropped (only its input CRC is checked), or kept with every document written as the rules
/// make it (no oplog, no `max_rows`, no subset removal), so the driver writes exactly the
/// documents a worker assumed, in the same order.
pub(crate) fn crc_in_parts(decision: Option<&Decision<'_>>, removed: bool) -> bool {
    match decision {
        Some(Decision::Keep {
            oplog, max_rows, ..
        }) => !oplog && max_rows.is_none() && !removed,
        Some(_) => true,
        None => false,
    }
}

/// A document's patch computed ahead (on a worker thread): the patched bytes (`None`:
/// unchanged), the number of shadowing keys seen and the rules they shadowed, or the error.
pub(crate) type Precomputed<'x> = Result<(Option<&'x [u8]>, u64, Vec<RuleId>), PatchError>;

/// The sequential part of a rewrite: decisions, counters, CRCs and output, fed the archive's
/// items in input order.
pub(crate) struct Driver<'a, W: Write> {
    anon: &'a Anonymizer,
    options: &'a RewriteOptions,
    out: Output<W>,
    patcher: Patcher,
    decisions: Vec<Decision<'a>>,
    runs: Vec<NsRun<'a>>,
    oplog_rw: Option<OplogRewriter<'a>>,
    header_buf: Vec<u8>,
    shown_ns: Option<usize>,
    /// Set by the parallel path, whose reading thread names the collection being read as it
    /// reads it (the driver sees items only when their segment is applied, later).
    reader_shows_names: bool,
}

impl<'a, W: Write> Driver<'a, W> {
    /// A driver writing to `output` by the rules of `anon`.
    pub(crate) fn new(output: W, anon: &'a Anonymizer, options: &'a RewriteOptions) -> Self {
        Driver {
            anon,
            options,
            out: Output::new(output),
            patcher: Patcher::new(),
            decisions: Vec::new(),
            runs: Vec::new(),
            oplog_rw: None,
            header_buf: Vec::new(),
            shown_ns: None,
            reader_shows_names: false,
        }
    }

    /// The reading thread names the collection being read ([`RewriteOptions`]'s
    /// `current_namespace`); the driver no longer does.
    pub(crate) fn set_reader_shows_names(&mut self) {
        self.reader_shows_names = true;
    }

    pub(crate) fn anon(&self) -> &'a Anonymizer {
        self.anon
    }

    pub(crate) fn options(&self) -> &'a RewriteOptions {
        self.options
    }

    /// Handles one item read at input offset `at`; `pre` is the document's patch when it was
    /// computed ahead. Returns true at the end of the archive.
    pub(crate) fn handle(
        &mut self,
        at: u64,
        item: Item<'_>,
        pre: Option<Precomputed<'_>>,
    ) -> Result<bool, ArchiveError> {
        let anon = self.anon;
        let options = self.options;
        let out = &mut self.out;
        let werr = |e: std::io::Error| ArchiveError::new(at, None, ErrorKind::Write(e));
        match item {
            Item::Header { raw } => {
                out.put(&MAGIC).map_err(werr)?;
                out.put(raw).map_err(werr)?;
            }
            Item::Prelude { index, raw, entry } => {
                debug_assert_eq!(index, self.decisions.len());
                let d = decide(&entry.db, &entry.collection, &entry.kind, anon, options)
                    .map_err(|k| ArchiveError::new(at, Some(entry.name()), k))?;
                if let Decision::Keep { .. } = d {
                    out.put(raw).map_err(werr)?;
                }
                self.decisions.push(d);
            }
            Item::PreludeEnd => out.terminator().map_err(werr)?,
            Item::BlockHeader {
                ns,
                eof,
                raw,
                namespace,
                first,
            } => {
                let runs = &mut self.runs;
                if first {
                    debug_assert_eq!(ns, runs.len());
                    let decision = self.decisions[namespace.prelude];
                    runs.push(NsRun {
                        decision,
                        removed: options.subset.as_deref().and_then(|s| {
                            s.removed_in(&crate::error::ns_name(
                                &namespace.db,
                                &namespace.collection,
                            ))
                        }),
                        out_crc: None,
                        parts: None,
                        summary: NamespaceSummary {
                            db: namespace.db.clone(),
                            collection: namespace.collection.clone(),
                            action: decision.action(),
                            docs_in: 0,
                            docs_out: 0,
                            docs_changed: 0,
                            bytes_in: 0,
                            bytes_out: 0,
                            shadowing_keys: 0,
                            shadowed_rules: Vec::new(),
                            field_names: Vec::new(),
                        },
                    });
                }
                if first && matches!(runs[ns].decision, Decision::Keep { oplog: true, .. }) {
                    let counts: HashMap<String, u64> = runs
                        .iter()
                        .map(|r| (r.summary.name(), r.summary.docs_in))
                        .collect();
                    self.oplog_rw = Some(OplogRewriter::new(anon, options, counts));
                }
                let run = &mut runs[ns];
                if let Some(current) = options
                    .current_namespace
                    .as_ref()
                    .filter(|_| !self.reader_shows_names)
                {
                    if self.shown_ns != Some(ns) {
                        self.shown_ns = Some(ns);
                        if let Ok(mut name) = current.lock() {
                            *name = run.summary.name();
                        }
                    }
                }
                if let (Some(parts), true) = (run.parts, eof) {
                    // The check the reader leaves to the caller of `defer_crc`, as it makes it.
                    let stored = raw
                        .len()
                        .checked_sub(9)
                        .and_then(|i| crate::raw::read_i64(raw, i))
                        .unwrap_or(0) as u64;
                    if parts.input != stored {
                        return Err(ArchiveError::new(
                            at,
                            Some(run.summary.name()),
                            ErrorKind::CrcMismatch {
                                stored,
                                computed: parts.input,
                            },
                        ));
                    }
                    if let Decision::Keep { .. } = run.decision {
                        put_header(out, &mut self.header_buf, raw, parts.output).map_err(werr)?;
                    }
                } else if let Decision::Keep { .. } = run.decision {
                    match (&run.out_crc, eof) {
                        (Some(crc), true) => {
                            let header_buf = &mut self.header_buf;
                            header_buf.clear();
                            header_buf.extend_from_slice(raw);
                            let at_crc = raw.len() - 9;
                            header_buf[at_crc..at_crc + 8]
                                .copy_from_slice(&crc.value().to_le_bytes());
                            out.put(header_buf).map_err(werr)?;
                        }
                        _ => out.put(raw).map_err(werr)?,
                    }
                }
            }
            Item::Document {
                ns,
                raw,
                offset,
                crc_before,
            } => {
                let run = &mut self.runs[ns];
                let s = &mut run.summary;
                s.docs_in += 1;
                s.bytes_in += raw.len() as u64;
                let Decision::Keep {
                    root,
                    max_rows,
                    oplog,
                    ..
                } = run.decision
                else {
                    return Ok(false);
                };
                // A subset's removals include its limit's cut-off (by ordinal).
                if max_rows.is_some_and(|m| s.docs_out >= m)
                    || run.removed.is_some_and(|r| r.contains(s.docs_in))
                {
                    debug_assert!(run.parts.is_none());
                    run.out_crc.get_or_insert_with(|| crc_before.clone());
                    return Ok(false);
                }
                let ns_err = |kind: ErrorKind| {
                    ArchiveError::new(offset, Some(ns_name(&s.db, &s.collection)), kind)
                };
                let patcher = &mut self.patcher;
                let shadowing_before = patcher.shadowing_keys();
                let mut shadowing = 0;
                let mut shadowed = Vec::new();
                let patched: Option<&[u8]> = if oplog {
                    let rw = self
                        .oplog_rw
                        .get_or_insert_with(|| OplogRewriter::new(anon, options, HashMap::new()));
                    match rw
                        .process(raw, patcher)
                        .map_err(|m| ns_err(ErrorKind::Oplog(m)))?
                    {
                        oplog::Outcome::Keep => None,
                        oplog::Outcome::Drop => {
                            debug_assert!(run.parts.is_none());
                            run.out_crc.get_or_insert_with(|| crc_before.clone());
                            return Ok(false);
                        }
                        oplog::Outcome::Patched => Some(patcher.output()),
                    }
                } else if let Some(root) = root {
                    if s.docs_in <= FIELD_SAMPLE_DOCUMENTS {
                        sample_field_names(raw, &mut s.field_names);
                    }
                    match pre {
                        Some(r) => {
                            let (p, sh, rules) = r.map_err(|e| ns_err(patch_kind(e)))?;
                            shadowing = sh;
                            shadowed = rules;
                            p
                        }
                        None => patcher
                            .patch(raw, root, anon, RowContext { ordinal: s.docs_in })
                            .map_err(|e| ns_err(patch_kind(e)))?,
                    }
                } else {
                    None
                };
                let emitted = match patched {
                    Some(p) => {
                        s.docs_changed += 1;
                        if run.parts.is_none() {
                            run.out_crc.get_or_insert_with(|| crc_before.clone());
                        }
                        p
                    }
                    None => raw,
                };
                if let Some(crc) = &mut run.out_crc {
                    crc.update(emitted);
                }
                s.docs_out += 1;
                s.bytes_out += emitted.len() as u64;
                out.put(emitted).map_err(werr)?;
                if self.patcher.shadowing_keys() != shadowing_before {
                    shadowing += self.patcher.shadowing_keys() - shadowing_before;
                    shadowed.extend(self.patcher.take_shadowed_rules());
                }
                if shadowing != 0 {
                    s.shadowing_keys += shadowing;
                    for rule in shadowed {
                        let path = anon.rule_path(rule);
                        if !s.shadowed_rules.iter().any(|p| p == path) {
                            s.shadowed_rules.push(path.to_owned());
                        }
                    }
                }
            }
            Item::BlockEnd { ns } => {
                if let Decision::Keep { .. } = self.runs[ns].decision {
                    out.terminator().map_err(werr)?;
                }
            }
            Item::End => return Ok(true),
        }
        Ok(false)
    }

    /// From now on, the CRCs of body namespace `ns` (whose first block header was just handled)
    /// are joined from the parts given to [`add_crc_part`](Self::add_crc_part), and its input
    /// CRC is checked here at its EOF header (the reader was told not to). Only for namespaces
    /// [`crc_in_parts`] accepts (the reading side asks with the same decision): for another,
    /// the run fails rather than write a wrong CRC. `at`: the header's input offset.
    pub(crate) fn crc_by_parts(&mut self, ns: usize, at: u64) -> Result<(), ArchiveError> {
        let Some(run) = self.runs.get_mut(ns) else {
            return Ok(());
        };
        if !crc_in_parts(Some(&run.decision), run.removed.is_some()) {
            return Err(ArchiveError::new(
                at,
                Some(run.summary.name()),
                ErrorKind::Unsupported(
                    "internal error: CRCs in parts for a collection not written whole".into(),
                ),
            ));
        }
        run.parts = Some(PartsCrc {
            input: 0,
            output: None,
        });
        Ok(())
    }

    /// Appends the CRCs of documents of `ns` just handled, in input order.
    pub(crate) fn add_crc_part(&mut self, ns: usize, part: &CrcPart) {
        let Some(parts) = self.runs.get_mut(ns).and_then(|r| r.parts.as_mut()) else {
            return;
        };
        let before = parts.input;
        parts.input = crc64_combine_shifted(before, part.crc_in, part.shift_in);
        parts.output = match parts.output {
            Some(out) => Some(crc64_combine_shifted(out, part.crc_out, part.shift_out)),
            // Until a document changes, the output is the input: its CRC is the input's.
            None if part.changed => {
                Some(crc64_combine_shifted(before, part.crc_out, part.shift_out))
            }
            None => None,
        };
    }

    pub(crate) fn finish(
        mut self,
        result: Result<(), ArchiveError>,
        bytes_in: u64,
    ) -> Result<RewriteSummary, ArchiveError> {
        match result {
            Ok(()) => {
                self.out
                    .finish()
                    .map_err(|e| ArchiveError::new(bytes_in, None, ErrorKind::Write(e)))?;
                Ok(RewriteSummary {
                    namespaces: self.runs.into_iter().map(|r| r.summary).collect(),
                    bytes_in,
                    bytes_out: self.out.written,
                })
            }
            Err(e) => {
                // Everything but the held-back terminator, so the output ends incomplete.
                let _ = self.out.flush_buf();
                let _ = self.out.w.flush();
                Err(e)
            }
        }
    }
}

/// Writes a namespace's EOF header `raw` with its CRC replaced by `crc` (unchanged when `None`).
fn put_header<W: Write>(
    out: &mut Output<W>,
    buf: &mut Vec<u8>,
    raw: &[u8],
    crc: Option<u64>,
) -> std::io::Result<()> {
    match crc {
        Some(crc) if raw.len() >= 9 => {
            buf.clear();
            buf.extend_from_slice(raw);
            let at_crc = raw.len() - 9;
            buf[at_crc..at_crc + 8].copy_from_slice(&crc.to_le_bytes());
            out.put(buf)
        }
        _ => out.put(raw),
    }
}

/// Adds the top-level field names of `doc` to `names`, up to [`FIELD_SAMPLE_NAMES`].
fn sample_field_names(doc: &[u8], names: &mut Vec<String>) {
    let Ok(elems) = crate::raw::Elems::framed(doc, 0, doc.len()) else {
        return;
    };
    for el in elems {
        let Ok(el) = el else { return };
        if names.len() >= FIELD_SAMPLE_NAMES {
            return;
        }
        if !names.iter().any(|n| n.as_bytes() == el.name) {
            if let Ok(name) = std::str::from_utf8(el.name) {
                names.push(name.to_owned());
            }
        }
    }
}

fn patch_kind(e: PatchError) -> ErrorKind {
    match e {
        crate::walk::PatchError::TooLarge(len) => ErrorKind::TooLarge { len },
        other => ErrorKind::Unsupported(other.to_string()),
    }
}
