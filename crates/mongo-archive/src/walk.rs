//! Zero-copy BSON walking and patching along a [`PlanNode`] tree.
//!
//! The walker reads a document's elements in place, matches field names as bytes against the
//! plan, hands matching values to [`Anonymizer::apply_into`] borrowed from the input, and records
//! each change as a splice (byte range of the original element -> newly encoded element). Only
//! when something changed is a new document assembled: untouched bytes copied in runs, changed
//! elements re-encoded, and the length of every enclosing document or array fixed. Nothing is
//! decoded into a tree.
//!
//! Arrays follow MongoDB query semantics: an array's elements are handled with the array's
//! node itself and with the node's child named by the element's index (`Authors.0.Email`).
//! A rule reaching an array applies to each element, except rules that replace whole values
//! (`null`, `remove`, `constant`, `keep`). `remove` of an array element writes null (array keys
//! are not renumbered).

use std::ops::Range;

use anonymize_core::{Anonymizer, EchoSet, PlanNode, RowContext, RuleId, Value, Written};

use crate::raw::{self, ty, Elem, Elems, RawError, MAX_BSON_SIZE};

/// Why a document could not be patched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchError {
    /// The document's BSON is malformed at byte `at` (relative to the document).
    Malformed {
        /// Byte position in the document.
        at: usize,
        /// What is wrong.
        detail: &'static str,
    },
    /// A shape the walker refuses to guess about (fail closed); the message names fields, not values.
    Unsupported(String),
    /// The patched document would exceed 16 MiB.
    TooLarge(usize),
}

impl From<RawError> for PatchError {
    fn from(e: RawError) -> PatchError {
        PatchError::Malformed {
            at: e.at,
            detail: e.detail,
        }
    }
}

impl std::fmt::Display for PatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PatchError::Malformed { at, detail } => {
                write!(f, "malformed BSON at byte {at} of the document: {detail}")
            }
            PatchError::Unsupported(m) => f.write_str(m),
            PatchError::TooLarge(n) => write!(f, "patched document would be {n} bytes (> 16 MiB)"),
        }
    }
}

impl std::error::Error for PatchError {}

const MAX_NODES: usize = 8;

/// Deepest nesting of documents and arrays the walker follows below a rule path (the server
/// stores at most 100 levels and its BSON validation stops at 200): deeper input is refused
/// with [`PatchError::Unsupported`] rather than risking the stack. The oplog walker shares it.
pub(crate) const MAX_DEPTH: u32 = 200;

/// The plan nodes that apply at one place of a document (more than one through arrays).
#[derive(Clone, Copy)]
pub(crate) struct Nodes<'p> {
    items: [Option<&'p PlanNode>; MAX_NODES],
    len: usize,
}

impl<'p> Nodes<'p> {
    pub(crate) fn empty() -> Nodes<'p> {
        Nodes {
            items: [None; MAX_NODES],
            len: 0,
        }
    }

    pub(crate) fn one(node: &'p PlanNode) -> Nodes<'p> {
        let mut n = Nodes::empty();
        n.items[0] = Some(node);
        n.len = 1;
        n
    }

    pub(crate) fn push(&mut self, node: &'p PlanNode) -> Result<(), PatchError> {
        if self.len == MAX_NODES {
            return Err(PatchError::Unsupported(
                "too many rule paths meet at one value (deeply nested arrays)".into(),
            ));
        }
        self.items[self.len] = Some(node);
        self.len += 1;
        Ok(())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &'p PlanNode> + '_ {
        self.items[..self.len].iter().flatten().copied()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rule that applies here: the last (most specific) node with one.
    pub(crate) fn rule(&self) -> Option<RuleId> {
        self.iter().filter_map(|n| n.rule()).last()
    }

    /// The nodes for field `name` below these.
    pub(crate) fn children(&self, name: &[u8]) -> Result<Nodes<'p>, PatchError> {
        let mut out = Nodes::empty();
        for n in self.iter() {
            if let Some(c) = n.child(name) {
                out.push(c)?;
            }
        }
        Ok(out)
    }

    /// True when a value found here must be a sub-document (or an array of them) for the rules
    /// below these nodes to reach into it. For an array element (`element`), a node counts only
    /// through a field name: its children that are array indexes select other elements.
    fn expect_document(&self, element: bool) -> bool {
        self.iter()
            .any(|n| n.child_names().any(|c| !element || !is_index(c)))
    }

    /// The nodes for the array element whose key is `index`: each node itself and its child `index`.
    pub(crate) fn array_elem(&self, index: &[u8]) -> Result<Nodes<'p>, PatchError> {
        let mut out = Nodes::empty();
        for n in self.iter() {
            out.push(n)?;
            if let Some(c) = n.child(index) {
                out.push(c)?;
            }
        }
        Ok(out)
    }
}

/// Where an element sits, which decides what `Remove` means.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// A document field: `Remove` deletes the element.
    Field,
    /// A field of an update whose removal would change the update's meaning: `Remove` writes
    /// null.
    NullOnRemove,
    /// An array element (or an update path ending in an array index): `Remove` writes null.
    Element,
}

pub(crate) fn is_index(step: &[u8]) -> bool {
    !step.is_empty() && step.iter().all(u8::is_ascii_digit)
}

/// Bytes `start..end` of the document replaced by `data_start..data_end` of the arena.
#[derive(Debug, Clone, Copy)]
struct Splice {
    start: usize,
    end: usize,
    data_start: usize,
    data_end: usize,
    /// A (sub-)document's new length ([`Session::fix_len`]), not a value.
    length: bool,
}

/// Reusable buffers for patching documents: create one per stream and reuse it, so the
/// per-document path allocates nothing beyond what transforms return.
///
/// ```
/// use anonymize_core::{Anonymizer, Disposition, KeyMode, RowContext, RuleSet};
/// use mongo_archive::Patcher;
///
/// let rules = RuleSet::from_yaml("rules:\n  people:\n    fields:\n      name: {transform: constant, value: x}\n", "r.yaml").unwrap();
/// let anon = Anonymizer::new(rules, KeyMode::Unkeyed).unwrap();
/// let Disposition::Keep(plan) = anon.resolve(None, "people") else { panic!() };
/// let doc = bson::to_vec(&bson::doc! {"a": 1, "name": "Ada Lovelace"}).unwrap();
/// let mut patcher = Patcher::new();
/// let out = patcher.patch(&doc, plan.root().unwrap(), &anon, RowContext { ordinal: 1 }).unwrap().unwrap();
/// assert_eq!(bson::Document::from_reader(out).unwrap(), bson::doc! {"a": 1, "name": "x"});
/// ```
#[derive(Default)]
pub struct Patcher {
    splices: Vec<Splice>,
    arena: Vec<u8>,
    out: Vec<u8>,
    /// Where transforms write their text and binary results.
    scratch: Vec<u8>,
    shadowing: u64,
    shadowed: Vec<RuleId>,
    /// The echo guard's originals of the current document, and its buffers.
    echo: EchoSet,
    /// The field path of the value the echo guard looks at.
    echo_path: Vec<u8>,
    /// A value rewritten by the echo guard.
    echo_out: Vec<u8>,
    /// The ranges of the document the echo guard's pre-check searches.
    echo_gaps: Vec<(usize, usize)>,
}

impl Patcher {
    /// A patcher with empty buffers.
    pub fn new() -> Patcher {
        Patcher::default()
    }

    /// Applies the rules below `root` to `doc`. `Ok(None)`: nothing changed, use `doc` as is.
    /// `Ok(Some(bytes))`: the patched document (valid until the next call).
    pub fn patch<'s>(
        &'s mut self,
        doc: &[u8],
        root: &PlanNode,
        anon: &Anonymizer,
        ctx: RowContext,
    ) -> Result<Option<&'s [u8]>, PatchError> {
        if !self.record(doc, root, anon, ctx)? {
            return Ok(None);
        }
        self.finish(doc)
    }

    /// [`patch`](Self::patch), with the patched document appended to `out` instead of kept
    /// in the patcher: returns the range it takes in `out` (`None`: nothing changed, `out`
    /// untouched). The worker threads append every patched document of a segment to one
    /// buffer, so this saves copying each of them out of the patcher's.
    pub(crate) fn patch_into(
        &mut self,
        doc: &[u8],
        root: &PlanNode,
        anon: &Anonymizer,
        ctx: RowContext,
        out: &mut Vec<u8>,
    ) -> Result<Option<Range<usize>>, PatchError> {
        if !self.record(doc, root, anon, ctx)? || self.splices.is_empty() {
            return Ok(None);
        }
        self.assemble(doc, out).map(Some)
    }

    /// Walks `doc` with the rules below `root`, recording its splices; false when a `when:`
    /// keeps the document from the rules (nothing recorded).
    fn record(
        &mut self,
        doc: &[u8],
        root: &PlanNode,
        anon: &Anonymizer,
        ctx: RowContext,
    ) -> Result<bool, PatchError> {
        self.begin();
        // A document the collection's `when:` keeps from the rules: unchanged.
        if let Some(when) = root.when() {
            if !crate::doc_values::rules_apply(when, doc, 0, doc.len()) {
                return Ok(false);
            }
        }
        let mut s = self.session(anon, ctx);
        s.walk_doc(doc, 0, doc.len(), Nodes::one(root), Place::Field)?;
        s.echo_pass(doc, 0, doc.len(), Nodes::one(root))?;
        Ok(true)
    }

    /// Document keys seen so far that contain a `.` and shadow a rule path: their first
    /// dotted segment names a field a rule goes through, but no rule names the whole key
    /// (`{"FullName.First": ...}` beside a rule `FullName.First`, which means the sub-document
    /// field). Their values are not rewritten; a rule reaches them with an escaped dot
    /// (`FullName\.First`).
    pub fn shadowing_keys(&self) -> u64 {
        self.shadowing
    }

    /// The rules whose paths the keys counted by [`shadowing_keys`](Self::shadowing_keys)
    /// shadowed since the last call (each at most once), and forgets them.
    pub fn take_shadowed_rules(&mut self) -> Vec<RuleId> {
        std::mem::take(&mut self.shadowed)
    }

    /// The last patched document.
    pub(crate) fn output(&self) -> &[u8] {
        &self.out
    }

    pub(crate) fn begin(&mut self) {
        self.splices.clear();
        self.arena.clear();
        self.echo.clear();
    }

    pub(crate) fn session<'s, 'a>(
        &'s mut self,
        anon: &'a Anonymizer,
        ctx: RowContext,
    ) -> Session<'s, 'a> {
        self.echo.configure(anon.echo_guard());
        Session {
            anon,
            ctx,
            splices: &mut self.splices,
            arena: &mut self.arena,
            scratch: &mut self.scratch,
            shadowing: &mut self.shadowing,
            shadowed: &mut self.shadowed,
            echo: &mut self.echo,
            echo_path: &mut self.echo_path,
            echo_out: &mut self.echo_out,
            echo_gaps: &mut self.echo_gaps,
            merge_lengths: false,
            depth: 0,
        }
    }

    /// Assembles the patched document from `doc` and the recorded splices.
    pub(crate) fn finish(&mut self, doc: &[u8]) -> Result<Option<&[u8]>, PatchError> {
        if self.splices.is_empty() {
            return Ok(None);
        }
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        let assembled = self.assemble(doc, &mut out);
        self.out = out;
        assembled?;
        Ok(Some(&self.out))
    }

    /// Appends `doc` with the recorded splices applied to `out` and returns the range it
    /// takes there; a document larger than BSON allows is an error (`out` as it was).
    fn assemble(&mut self, doc: &[u8], out: &mut Vec<u8>) -> Result<Range<usize>, PatchError> {
        let start = out.len();
        self.splices.sort_unstable_by_key(|s| s.start);
        let mut pos = 0;
        for s in &self.splices {
            out.extend_from_slice(&doc[pos..s.start]);
            out.extend_from_slice(&self.arena[s.data_start..s.data_end]);
            pos = s.end;
        }
        out.extend_from_slice(&doc[pos..]);
        let len = out.len() - start;
        if len > MAX_BSON_SIZE {
            out.truncate(start);
            return Err(PatchError::TooLarge(len));
        }
        Ok(start..out.len())
    }
}

/// One document's walk: the anonymizer, the document's context and the splice buffers.
pub(crate) struct Session<'s, 'a> {
    anon: &'a Anonymizer,
    ctx: RowContext,
    splices: &'s mut Vec<Splice>,
    arena: &'s mut Vec<u8>,
    scratch: &'s mut Vec<u8>,
    shadowing: &'s mut u64,
    shadowed: &'s mut Vec<RuleId>,
    echo: &'s mut EchoSet,
    echo_path: &'s mut Vec<u8>,
    echo_out: &'s mut Vec<u8>,
    echo_gaps: &'s mut Vec<(usize, usize)>,
    /// True during the echo pass: a length already fixed by the first pass is adjusted
    /// rather than spliced twice.
    merge_lengths: bool,
    pub(crate) depth: u32,
}

impl Session<'_, '_> {
    /// One level deeper into a document or array; refused beyond [`MAX_DEPTH`].
    pub(crate) fn enter(&mut self) -> Result<(), PatchError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PatchError::Unsupported(format!(
                "values below a rule path are nested more than {MAX_DEPTH} levels deep"
            )));
        }
        Ok(())
    }

    /// Sets the position of the current document in its collection (for `sequential`), when
    /// one walk spans documents of several collections (an oplog `applyOps`).
    pub(crate) fn set_ordinal(&mut self, ordinal: u64) {
        self.ctx = RowContext { ordinal };
    }

    /// Replaces the embedded-document element `el` by one holding `doc` (a whole BSON
    /// document), keeping its name. Returns the change of length.
    pub(crate) fn replace_document(
        &mut self,
        el: &Elem<'_>,
        doc: &[u8],
    ) -> Result<i64, PatchError> {
        if doc.len() > MAX_BSON_SIZE {
            return Err(PatchError::TooLarge(doc.len()));
        }
        let data_start = self.arena.len();
        self.arena.push(ty::DOCUMENT);
        self.arena.extend_from_slice(el.name);
        self.arena.push(0);
        self.arena.extend_from_slice(doc);
        self.splices.push(Splice {
            start: el.start,
            end: el.end,
            data_start,
            data_end: self.arena.len(),
            length: false,
        });
        Ok((self.arena.len() - data_start) as i64 - (el.end - el.start) as i64)
    }

    /// A rule's path that names `nodes` in messages (never a field name from the data).
    pub(crate) fn rule_path(&self, nodes: Nodes<'_>) -> String {
        fn first_rule(n: &PlanNode) -> Option<RuleId> {
            n.rule().or_else(|| {
                n.child_names()
                    .find_map(|c| n.child(c).and_then(first_rule))
            })
        }
        match nodes.iter().find_map(first_rule) {
            Some(rule) => format!("`{}`", self.anon.rule_path(rule)),
            None => "a covered field".to_owned(),
        }
    }

    /// Remembers the rule a dotted key shadows: the one its remaining segments lead to under
    /// `node`, or else the first rule below the deepest node they reach.
    fn record_shadowed(&mut self, mut node: &PlanNode, rest: &[u8]) {
        fn first_rule(n: &PlanNode) -> Option<RuleId> {
            n.rule().or_else(|| {
                n.child_names()
                    .find_map(|c| n.child(c).and_then(first_rule))
            })
        }
        for step in rest.split(|&b| b == b'.') {
            match node.child(step) {
                Some(child) => node = child,
                None => break,
            }
        }
        if let Some(rule) = first_rule(node) {
            if !self.shadowed.contains(&rule) && self.shadowed.len() < 64 {
                self.shadowed.push(rule);
            }
        }
    }

    /// Counts every rule below `nodes` as failed closed (their value was nulled wholesale).
    fn count_failed_closed(&self, nodes: Nodes<'_>, element: bool) {
        fn all(anon: &Anonymizer, n: &PlanNode) {
            if let Some(rule) = n.rule() {
                anon.record_failed_closed(rule);
            }
            for c in n.child_names() {
                if let Some(child) = n.child(c) {
                    all(anon, child);
                }
            }
        }
        for n in nodes.iter() {
            for c in n.child_names() {
                if element && is_index(c) {
                    continue;
                }
                if let Some(child) = n.child(c) {
                    all(self.anon, child);
                }
            }
        }
    }

    /// Records a new length for the document or array at `start` whose content changed by `delta`.
    pub(crate) fn fix_len(
        &mut self,
        buf: &[u8],
        start: usize,
        delta: i64,
    ) -> Result<(), PatchError> {
        if delta == 0 {
            return Ok(());
        }
        let earlier = if self.merge_lengths {
            self.splices
                .iter()
                .find(|s| s.length && s.start == start)
                .copied()
        } else {
            None
        };
        let old = match earlier {
            Some(s) => raw::read_i32(self.arena, s.data_start).unwrap_or(0) as i64,
            None => raw::read_i32(buf, start).unwrap_or(0) as i64,
        };
        let new = old + delta;
        if new > MAX_BSON_SIZE as i64 || new < 5 {
            return Err(PatchError::TooLarge(new.max(0) as usize));
        }
        if let Some(s) = earlier {
            self.arena[s.data_start..s.data_end].copy_from_slice(&(new as i32).to_le_bytes());
            return Ok(());
        }
        let data_start = self.arena.len();
        self.arena.extend_from_slice(&(new as i32).to_le_bytes());
        self.splices.push(Splice {
            start,
            end: start + 4,
            data_start,
            data_end: self.arena.len(),
            length: true,
        });
        Ok(())
    }

    /// Walks the document at `start` (bounded by `limit`), matching field names below `nodes`.
    /// Returns the change of its length.
    pub(crate) fn walk_doc(
        &mut self,
        buf: &[u8],
        start: usize,
        limit: usize,
        nodes: Nodes<'_>,
        place: Place,
    ) -> Result<i64, PatchError> {
        let mut delta = 0;
        for el in Elems::framed(buf, start, limit)? {
            let el = el?;
            let set = nodes.children(el.name)?;
            if !set.is_empty() {
                delta += self.value(buf, &el, set, place)?;
            } else if let Some(dot) = memchr::memchr(b'.', el.name) {
                let first = &el.name[..dot];
                if let Some(node) = nodes.iter().find_map(|n| n.child(first)) {
                    *self.shadowing += 1;
                    self.record_shadowed(node, &el.name[dot + 1..]);
                }
            }
        }
        self.fix_len(buf, start, delta)?;
        Ok(delta)
    }

    fn walk_array(
        &mut self,
        buf: &[u8],
        start: usize,
        limit: usize,
        nodes: Nodes<'_>,
    ) -> Result<i64, PatchError> {
        let mut delta = 0;
        for el in Elems::framed(buf, start, limit)? {
            let el = el?;
            let set = nodes.array_elem(el.name)?;
            delta += self.value(buf, &el, set, Place::Element)?;
        }
        self.fix_len(buf, start, delta)?;
        Ok(delta)
    }

    /// Handles one element's value with the nodes that apply to it.
    pub(crate) fn value(
        &mut self,
        buf: &[u8],
        el: &Elem<'_>,
        nodes: Nodes<'_>,
        place: Place,
    ) -> Result<i64, PatchError> {
        if let Some(rule) = nodes.rule() {
            if el.ty == ty::ARRAY && !self.anon.applies_to_whole_array(rule) {
                self.enter()?;
                let r = self.walk_array(buf, el.value, el.end, nodes);
                self.depth -= 1;
                return r;
            }
            let v = to_value(buf, el);
            let w = self.anon.apply_into(rule, v, &self.ctx, self.scratch);
            match v {
                Value::Str(s) => self.echo.record(rule, s.as_bytes(), w, self.scratch),
                Value::Bytes(b) => self.echo.record(rule, b, w, self.scratch),
                _ => {}
            }
            return self.replace(el, w, place);
        }
        match el.ty {
            ty::DOCUMENT | ty::ARRAY => {
                self.enter()?;
                let r = if el.ty == ty::DOCUMENT {
                    self.walk_doc(buf, el.value, el.end, nodes, Place::Field)
                } else {
                    self.walk_array(buf, el.value, el.end, nodes)
                };
                self.depth -= 1;
                r
            }
            ty::NULL | ty::UNDEFINED => Ok(0),
            // A scalar where the rules expect a sub-document (schema drift: a field that used
            // to be a string): it may hold what the rules cover, so it is nulled and counted
            // as failed closed.
            _ if nodes.expect_document(place == Place::Element) => {
                self.count_failed_closed(nodes, place == Place::Element);
                self.replace(el, Written::Null, place)
            }
            _ => Ok(0),
        }
    }

    /// Forgets the echo guard's originals (another document of the same walk starts).
    pub(crate) fn forget_echoes(&mut self) {
        self.echo.clear();
    }

    /// The echo guard over the document at `start` (bounded by `limit`), after the rules'
    /// walk of it: its uncovered string values holding a covered value's original are
    /// rewritten or nulled and counted. Nothing to do (and no walk) when no covered text was
    /// changed, or when no original occurs in the document's bytes outside the rewritten
    /// values. Returns the change of the document's length.
    pub(crate) fn echo_pass(
        &mut self,
        buf: &[u8],
        start: usize,
        limit: usize,
        nodes: Nodes<'_>,
    ) -> Result<i64, PatchError> {
        if self.echo.is_empty() {
            return Ok(0);
        }
        // The document's bytes between the values the rules rewrote (their originals are
        // gone from the output; looking there would always find them).
        if !echo_gaps(self.splices, start, limit, self.echo_gaps) {
            self.splices.sort_unstable_by_key(|s| s.start);
            echo_gaps(self.splices, start, limit, self.echo_gaps);
        }
        if !self.echo.may_echo_within(buf, self.echo_gaps) {
            return Ok(0);
        }
        self.merge_lengths = true;
        self.echo_path.clear();
        let r = self.echo_doc(buf, start, limit, nodes, false);
        self.merge_lengths = false;
        r
    }

    /// One document or array of the echo pass.
    fn echo_doc(
        &mut self,
        buf: &[u8],
        start: usize,
        limit: usize,
        nodes: Nodes<'_>,
        array: bool,
    ) -> Result<i64, PatchError> {
        let mut delta = 0;
        for el in Elems::framed(buf, start, limit)? {
            let el = el?;
            let set = if array {
                nodes.array_elem(el.name)?
            } else {
                nodes.children(el.name)?
            };
            // Covered values (rewritten, or declared with `keep`), and scalars the first
            // pass nulled because rules expected a sub-document there.
            let container = matches!(el.ty, ty::DOCUMENT | ty::ARRAY);
            if set.rule().is_some() || (!container && !set.is_empty() && set.expect_document(array))
            {
                continue;
            }
            let mark = self.echo_path.len();
            if array {
                self.echo_path.extend_from_slice(b"[]");
            } else {
                if mark > 0 {
                    self.echo_path.push(b'.');
                }
                self.echo_path.extend_from_slice(el.name);
            }
            match el.ty {
                ty::DOCUMENT | ty::ARRAY => {
                    self.enter()?;
                    let r = self.echo_doc(buf, el.value, el.end, set, el.ty == ty::ARRAY);
                    self.depth -= 1;
                    delta += r?;
                }
                ty::STRING => {
                    let text = el.str_bytes(buf).unwrap_or_default();
                    if let Some(hit) = self.echo.rewrite(text, b"", self.echo_out) {
                        self.anon
                            .record_echo(hit, &String::from_utf8_lossy(self.echo_path));
                        let w = if hit.nulled {
                            Written::Null
                        } else {
                            self.scratch.clear();
                            self.scratch.extend_from_slice(self.echo_out);
                            Written::Str
                        };
                        delta += self.replace(&el, w, Place::Element)?;
                    }
                }
                _ => {}
            }
            self.echo_path.truncate(mark);
        }
        self.fix_len(buf, start, delta)?;
        Ok(delta)
    }

    /// Replaces `el` by what a transform wrote (`w`, its text or bytes in the scratch buffer).
    fn replace(&mut self, el: &Elem<'_>, w: Written, place: Place) -> Result<i64, PatchError> {
        let old_len = (el.end - el.start) as i64;
        let data_start = self.arena.len();
        match w {
            Written::Unchanged => return Ok(0),
            Written::Remove if place == Place::Field => {}
            w => {
                self.arena.push(0);
                self.arena.extend_from_slice(el.name);
                self.arena.push(0);
                let t = encode_value(self.arena, w, self.scratch)?;
                self.arena[data_start] = t;
            }
        }
        self.splices.push(Splice {
            start: el.start,
            end: el.end,
            data_start,
            data_end: self.arena.len(),
            length: false,
        });
        Ok((self.arena.len() - data_start) as i64 - old_len)
    }
}

/// Puts in `gaps` the parts of `start..limit` outside the values `splices` replaced, in
/// order; false (`gaps` unfinished) when the splices are not in document order (the walk
/// pushes them in order, each document's new length after its contents: then the caller
/// sorts them). New lengths do not cut a gap: the pre-check may read
/// the length's old bytes, which only lets it say "maybe" more often, and this way it needs
/// neither the sort nor a range between every two of them.
fn echo_gaps(
    splices: &[Splice],
    start: usize,
    limit: usize,
    gaps: &mut Vec<(usize, usize)>,
) -> bool {
    gaps.clear();
    let mut pos = start;
    for s in splices {
        if s.length || s.end <= start || s.start >= limit {
            continue;
        }
        if s.start < pos {
            return false;
        }
        if s.start > pos {
            gaps.push((pos, s.start));
        }
        pos = s.end;
    }
    if pos < limit {
        gaps.push((pos, limit));
    }
    true
}

/// Maps a BSON element to an [`anonymize_core::Value`] borrowed from the buffer.
pub(crate) fn to_value<'b>(buf: &'b [u8], el: &Elem<'b>) -> Value<'b> {
    let value = el.value_bytes(buf);
    let f8 = || {
        let mut a = [0u8; 8];
        a.copy_from_slice(&value[..8]);
        a
    };
    match el.ty {
        ty::DOUBLE => Value::Double(f64::from_le_bytes(f8())),
        ty::STRING => {
            let bytes = el.str_bytes(buf).unwrap_or_default();
            match std::str::from_utf8(bytes) {
                Ok(s) => Value::Str(s),
                Err(_) => Value::Bytes(bytes),
            }
        }
        ty::BINARY => {
            let subtype = value[4];
            let payload = &value[5..];
            let bytes = if subtype == 2
                && payload.len() >= 4
                && raw::read_i32(payload, 0) == Some(payload.len() as i32 - 4)
            {
                &payload[4..]
            } else {
                payload
            };
            Value::Binary { subtype, bytes }
        }
        ty::BOOL => Value::Bool(value[0] != 0),
        ty::DATETIME => Value::DateTime(i64::from_le_bytes(f8())),
        ty::NULL | ty::UNDEFINED => Value::Null,
        ty::INT32 => Value::Int32(raw::read_i32(value, 0).unwrap_or(0)),
        ty::INT64 => Value::Int64(i64::from_le_bytes(f8())),
        _ => Value::Other,
    }
}

fn len_i32(n: usize) -> Result<[u8; 4], PatchError> {
    if n > MAX_BSON_SIZE {
        return Err(PatchError::TooLarge(n));
    }
    Ok((n as i32).to_le_bytes())
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) -> Result<u8, PatchError> {
    out.extend_from_slice(&len_i32(s.len() + 1)?);
    out.extend_from_slice(s);
    out.push(0);
    Ok(ty::STRING)
}

/// Appends the BSON encoding of a transform's result (`w`, with its text or bytes in `buf`),
/// returns its type code. Text that is not UTF-8 is written as `Written::to_replacement` would
/// make it (lossy), so results equal those of the allocating `Anonymizer::apply`.
fn encode_value(out: &mut Vec<u8>, w: Written, buf: &[u8]) -> Result<u8, PatchError> {
    Ok(match w {
        Written::Unchanged | Written::Null | Written::Remove => ty::NULL,
        // The standard check first (word-at-a-time over ASCII): a transform's text is nearly
        // always UTF-8, and the lossy copy's chunk iterator costs about 3x as much per value.
        Written::Str => match std::str::from_utf8(buf) {
            Ok(_) => put_string(out, buf)?,
            Err(_) => put_string(out, String::from_utf8_lossy(buf).as_bytes())?,
        },
        Written::Bytes => match std::str::from_utf8(buf) {
            Ok(_) => put_string(out, buf)?,
            Err(_) => {
                out.extend_from_slice(&len_i32(buf.len())?);
                out.push(0);
                out.extend_from_slice(buf);
                ty::BINARY
            }
        },
        Written::Int32(v) => {
            out.extend_from_slice(&v.to_le_bytes());
            ty::INT32
        }
        Written::Int64(v) => {
            out.extend_from_slice(&v.to_le_bytes());
            ty::INT64
        }
        Written::Double(v) => {
            out.extend_from_slice(&v.to_le_bytes());
            ty::DOUBLE
        }
        Written::Number => {
            let s = String::from_utf8_lossy(buf);
            if let Ok(v) = s.parse::<i64>() {
                out.extend_from_slice(&v.to_le_bytes());
                ty::INT64
            } else if let Ok(v) = s.parse::<f64>() {
                out.extend_from_slice(&v.to_le_bytes());
                ty::DOUBLE
            } else {
                put_string(out, s.as_bytes())?
            }
        }
        Written::Bool(b) => {
            out.push(b as u8);
            ty::BOOL
        }
        Written::Binary { subtype } => {
            if subtype == 2 {
                out.extend_from_slice(&len_i32(buf.len() + 4)?);
                out.push(2);
                out.extend_from_slice(&len_i32(buf.len())?);
            } else {
                out.extend_from_slice(&len_i32(buf.len())?);
                out.push(subtype);
            }
            out.extend_from_slice(buf);
            ty::BINARY
        }
        Written::DateTime(ms) => {
            out.extend_from_slice(&ms.to_le_bytes());
            ty::DATETIME
        }
    })
}

/// The echo guard's gaps against their definition.
#[cfg(test)]
mod echo_gaps_tests {
    use super::{echo_gaps, Splice};
    use proptest::prelude::*;

    /// A value's splice (`length` false) or a new length's.
    fn splice(start: usize, end: usize, length: bool) -> Splice {
        Splice {
            start,
            end,
            data_start: 0,
            data_end: end - start,
            length,
        }
    }

    /// Splices as the walk pushes them: disjoint values in document order, some of them
    /// followed by a new length (4 bytes for 4) at a place before them, and a stray splice
    /// outside `0..limit`.
    fn walk_order() -> impl Strategy<Value = (Vec<Splice>, usize)> {
        prop::collection::vec((0..12usize, 1..9usize, any::<bool>()), 0..10).prop_map(|parts| {
            let mut splices = Vec::new();
            let mut pos = 8;
            for (skip, len, length_after) in parts {
                let start = pos + skip;
                splices.push(splice(start, start + len, false));
                if length_after {
                    splices.push(splice(
                        start.saturating_sub(8),
                        start.saturating_sub(4),
                        true,
                    ));
                }
                pos = start + len;
            }
            let limit = pos + 3;
            splices.push(splice(limit + 10, limit + 20, false));
            (splices, limit)
        })
    }

    proptest! {
        #[test]
        fn gaps_are_the_bytes_outside_the_values((splices, limit) in walk_order()) {
            let mut gaps = Vec::new();
            prop_assert!(echo_gaps(&splices, 0, limit, &mut gaps));
            // Definition: a byte of 0..limit is in a gap exactly when no value splice (not
            // a new length) holds it; gaps are sorted, disjoint and not empty.
            for b in 0..limit {
                let replaced = splices
                    .iter()
                    .any(|s| !s.length && s.start <= b && b < s.end);
                let in_gap = gaps.iter().any(|&(s, e)| s <= b && b < e);
                prop_assert_eq!(in_gap, !replaced, "byte {}", b);
            }
            prop_assert!(gaps.windows(2).all(|w| w[0].1 < w[1].0) && gaps.iter().all(|g| g.0 < g.1));
        }
    }

    #[test]
    fn out_of_order_values_are_refused() {
        let mut gaps = Vec::new();
        let splices = [splice(20, 30, false), splice(10, 15, false)];
        assert!(!echo_gaps(&splices, 0, 40, &mut gaps));
        let sorted = [splice(10, 15, false), splice(20, 30, false)];
        assert!(echo_gaps(&sorted, 0, 40, &mut gaps));
        assert_eq!(gaps, [(0, 10), (15, 20), (30, 40)]);
    }
}
