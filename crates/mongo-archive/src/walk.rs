//! Zero-copy BSON walking and patching along a [`PlanNode`] tree.
//!
//! The walker reads a document's elements in place, matches field names as bytes against the
//! plan, hands matching values to [`Anonymizer::apply`] borrowed from the input, and records
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

use anonymize_core::{Anonymizer, PlanNode, Replacement, RowContext, RuleId, Value};

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
/// Deepest nesting of documents and arrays the walker follows (MongoDB's own limit is 200):
/// deeper input is refused instead of overflowing the stack.
pub(crate) const MAX_DEPTH: usize = 200;

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

    fn push(&mut self, node: &'p PlanNode) -> Result<(), PatchError> {
        if self.len == MAX_NODES {
            return Err(PatchError::Unsupported(
                "too many rule paths meet at one value (deeply nested arrays)".into(),
            ));
        }
        self.items[self.len] = Some(node);
        self.len += 1;
        Ok(())
    }

    fn iter(&self) -> impl Iterator<Item = &'p PlanNode> + '_ {
        self.items[..self.len].iter().flatten().copied()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rule that applies here: the last (most specific) node with one.
    fn rule(&self) -> Option<RuleId> {
        self.iter().filter_map(|n| n.rule()).last()
    }

    /// The nodes for field `name` below these.
    fn children(&self, name: &[u8]) -> Result<Nodes<'p>, PatchError> {
        let mut out = Nodes::empty();
        for n in self.iter() {
            if let Some(c) = n.child(name) {
                out.push(c)?;
            }
        }
        Ok(out)
    }

    /// The nodes for the array element whose key is `index`: each node itself and its child `index`.
    fn array_elem(&self, index: &[u8]) -> Result<Nodes<'p>, PatchError> {
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
    /// An array element, or a field of an update whose removal would change the update's
    /// meaning: `Remove` writes null.
    NullOnRemove,
}

#[derive(Debug, Clone, Copy)]
struct Splice {
    start: usize,
    end: usize,
    data_start: usize,
    data_end: usize,
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
        self.begin();
        self.session(anon, ctx)
            .walk_doc(doc, 0, doc.len(), Nodes::one(root), Place::Field)?;
        self.finish(doc)
    }

    /// The last patched document.
    pub(crate) fn output(&self) -> &[u8] {
        &self.out
    }

    pub(crate) fn begin(&mut self) {
        self.splices.clear();
        self.arena.clear();
    }

    pub(crate) fn session<'s, 'a>(
        &'s mut self,
        anon: &'a Anonymizer,
        ctx: RowContext,
    ) -> Session<'s, 'a> {
        Session {
            anon,
            ctx,
            splices: &mut self.splices,
            arena: &mut self.arena,
            depth: 0,
        }
    }

    /// Assembles the patched document from `doc` and the recorded splices.
    pub(crate) fn finish(&mut self, doc: &[u8]) -> Result<Option<&[u8]>, PatchError> {
        if self.splices.is_empty() {
            return Ok(None);
        }
        self.splices.sort_unstable_by_key(|s| s.start);
        self.out.clear();
        let mut pos = 0;
        for s in &self.splices {
            self.out.extend_from_slice(&doc[pos..s.start]);
            self.out
                .extend_from_slice(&self.arena[s.data_start..s.data_end]);
            pos = s.end;
        }
        self.out.extend_from_slice(&doc[pos..]);
        if self.out.len() > MAX_BSON_SIZE {
            return Err(PatchError::TooLarge(self.out.len()));
        }
        Ok(Some(&self.out))
    }
}

/// One document's walk: the anonymizer, the document's context and the splice buffers.
pub(crate) struct Session<'s, 'a> {
    anon: &'a Anonymizer,
    ctx: RowContext,
    splices: &'s mut Vec<Splice>,
    arena: &'s mut Vec<u8>,
    depth: usize,
}

impl Session<'_, '_> {
    /// One level deeper into a document or array; refused beyond [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), PatchError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PatchError::Unsupported(format!(
                "documents or arrays nested deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
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
        let old = raw::read_i32(buf, start).unwrap_or(0) as i64;
        let new = old + delta;
        if new > MAX_BSON_SIZE as i64 || new < 5 {
            return Err(PatchError::TooLarge(new.max(0) as usize));
        }
        let data_start = self.arena.len();
        self.arena.extend_from_slice(&(new as i32).to_le_bytes());
        self.splices.push(Splice {
            start,
            end: start + 4,
            data_start,
            data_end: self.arena.len(),
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
        self.enter()?;
        let mut delta = 0;
        for el in Elems::framed(buf, start, limit)? {
            let el = el?;
            let set = nodes.children(el.name)?;
            if !set.is_empty() {
                delta += self.value(buf, &el, set, place)?;
            }
        }
        self.fix_len(buf, start, delta)?;
        self.depth -= 1;
        Ok(delta)
    }

    fn walk_array(
        &mut self,
        buf: &[u8],
        start: usize,
        limit: usize,
        nodes: Nodes<'_>,
    ) -> Result<i64, PatchError> {
        self.enter()?;
        let mut delta = 0;
        for el in Elems::framed(buf, start, limit)? {
            let el = el?;
            let set = nodes.array_elem(el.name)?;
            delta += self.value(buf, &el, set, Place::NullOnRemove)?;
        }
        self.fix_len(buf, start, delta)?;
        self.depth -= 1;
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
                return self.walk_array(buf, el.value, el.end, nodes);
            }
            let r = self.anon.apply(rule, to_value(buf, el), &self.ctx);
            return self.replace(el, r, place);
        }
        match el.ty {
            ty::DOCUMENT => self.walk_doc(buf, el.value, el.end, nodes, Place::Field),
            ty::ARRAY => self.walk_array(buf, el.value, el.end, nodes),
            _ => Ok(0),
        }
    }

    fn replace(&mut self, el: &Elem<'_>, r: Replacement, place: Place) -> Result<i64, PatchError> {
        let old_len = (el.end - el.start) as i64;
        let data_start = self.arena.len();
        match r {
            Replacement::Unchanged => return Ok(0),
            Replacement::Remove if place == Place::Field => {}
            r => {
                self.arena.push(0);
                self.arena.extend_from_slice(el.name);
                self.arena.push(0);
                let t = encode_value(self.arena, &r)?;
                self.arena[data_start] = t;
            }
        }
        self.splices.push(Splice {
            start: el.start,
            end: el.end,
            data_start,
            data_end: self.arena.len(),
        });
        Ok((self.arena.len() - data_start) as i64 - old_len)
    }

    /// `$set`/`$setOnInsert` of an oplog update: keys are dotted paths from the document root.
    pub(crate) fn walk_set(
        &mut self,
        buf: &[u8],
        start: usize,
        limit: usize,
        root: Nodes<'_>,
    ) -> Result<i64, PatchError> {
        let mut delta = 0;
        for el in Elems::framed(buf, start, limit)? {
            let el = el?;
            let set = resolve_path(root, el.name)?;
            if !set.is_empty() {
                delta += self.value(buf, &el, set, Place::NullOnRemove)?;
            }
        }
        self.fix_len(buf, start, delta)?;
        Ok(delta)
    }

    /// A `$v: 2` update diff (`u`, `i`, `d`, `s<field>`; array diffs `a`, `l`, `u<i>`, `s<i>`).
    pub(crate) fn walk_diff(
        &mut self,
        buf: &[u8],
        start: usize,
        limit: usize,
        nodes: Nodes<'_>,
        is_array: bool,
    ) -> Result<i64, PatchError> {
        self.enter()?;
        let mut delta = 0;
        for el in Elems::framed(buf, start, limit)? {
            let el = el?;
            let name = el.name;
            match (is_array, name) {
                (_, b"a") | (true, b"l") | (false, b"d") => {}
                (false, b"u") | (false, b"i") => {
                    if el.ty != ty::DOCUMENT {
                        return Err(unsupported_diff());
                    }
                    delta += self.walk_doc(buf, el.value, el.end, nodes, Place::NullOnRemove)?;
                }
                _ if name.first() == Some(&b's') => {
                    let field = &name[1..];
                    let sub = if is_array {
                        nodes.array_elem(field)?
                    } else {
                        nodes.children(field)?
                    };
                    if sub.is_empty() {
                        continue;
                    }
                    if sub.rule().is_some() || el.ty != ty::DOCUMENT {
                        return Err(PatchError::Unsupported(format!(
                            "a $v:2 update diff changes part of the covered field `{}`",
                            String::from_utf8_lossy(field)
                        )));
                    }
                    let sub_is_array = diff_is_array(buf, &el)?;
                    delta += self.walk_diff(buf, el.value, el.end, sub, sub_is_array)?;
                }
                _ if is_array && name.first() == Some(&b'u') => {
                    let sub = nodes.array_elem(&name[1..])?;
                    delta += self.value(buf, &el, sub, Place::NullOnRemove)?;
                }
                _ => return Err(unsupported_diff()),
            }
        }
        self.fix_len(buf, start, delta)?;
        self.depth -= 1;
        Ok(delta)
    }

    /// Fails when an update operator we do not rewrite (`$inc`, `$push`, ...) touches a
    /// covered field. `$rename` targets (string values) are checked too.
    pub(crate) fn check_untouched(
        &mut self,
        buf: &[u8],
        start: usize,
        limit: usize,
        root: Nodes<'_>,
        op: &[u8],
    ) -> Result<(), PatchError> {
        for el in Elems::framed(buf, start, limit)? {
            let el = el?;
            let mut paths = vec![el.name];
            if op == b"$rename" && el.ty == ty::STRING {
                paths.push(&buf[el.value + 4..el.end - 1]);
            }
            for path in paths {
                if !resolve_path(root, path)?.is_empty() {
                    return Err(PatchError::Unsupported(format!(
                        "update operator `{}` changes `{}`, which a rule covers",
                        String::from_utf8_lossy(op),
                        String::from_utf8_lossy(path)
                    )));
                }
            }
        }
        Ok(())
    }
}

fn unsupported_diff() -> PatchError {
    PatchError::Unsupported(
        "a $v:2 update diff section this tool does not understand touches covered fields".into(),
    )
}

fn diff_is_array(buf: &[u8], el: &Elem<'_>) -> Result<bool, PatchError> {
    for e in Elems::framed(buf, el.value, el.end)? {
        if e?.name == b"a" {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The nodes a dotted update path (`FullName.First`, `Registrations.3.Email`) reaches.
/// A path continuing below a rule's field (other than into an array element) is refused.
pub(crate) fn resolve_path<'p>(root: Nodes<'p>, path: &[u8]) -> Result<Nodes<'p>, PatchError> {
    let mut cur = root;
    for step in path.split(|&b| b == b'.') {
        if cur.is_empty() {
            break;
        }
        let numeric = !step.is_empty() && step.iter().all(u8::is_ascii_digit);
        let mut next = Nodes::empty();
        for n in cur.iter() {
            if n.rule().is_some() {
                if !numeric {
                    return Err(PatchError::Unsupported(format!(
                        "the update sets `{}`, inside a field a rule covers",
                        String::from_utf8_lossy(path)
                    )));
                }
                next.push(n)?;
            } else {
                if numeric {
                    next.push(n)?;
                }
                if let Some(c) = n.child(step) {
                    next.push(c)?;
                }
            }
        }
        cur = next;
    }
    Ok(cur)
}

/// Maps a BSON element to an [`anonymize_core::Value`] borrowed from the buffer.
pub(crate) fn to_value<'b>(buf: &'b [u8], el: &Elem<'b>) -> Value<'b> {
    let v = el.value;
    let f8 = || {
        let mut a = [0u8; 8];
        a.copy_from_slice(&buf[v..v + 8]);
        a
    };
    match el.ty {
        ty::DOUBLE => Value::Double(f64::from_le_bytes(f8())),
        ty::STRING => {
            let bytes = &buf[v + 4..el.end - 1];
            match std::str::from_utf8(bytes) {
                Ok(s) => Value::Str(s),
                Err(_) => Value::Bytes(bytes),
            }
        }
        ty::BINARY => {
            let subtype = buf[v + 4];
            let payload = &buf[v + 5..el.end];
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
        ty::BOOL => Value::Bool(buf[v] != 0),
        ty::DATETIME => Value::DateTime(i64::from_le_bytes(f8())),
        ty::NULL | ty::UNDEFINED => Value::Null,
        ty::INT32 => Value::Int32(raw::read_i32(buf, v).unwrap_or(0)),
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

/// Appends the BSON encoding of a replacement's value, returns its type code.
fn encode_value(out: &mut Vec<u8>, r: &Replacement) -> Result<u8, PatchError> {
    Ok(match r {
        Replacement::Unchanged | Replacement::Null | Replacement::Remove => ty::NULL,
        Replacement::Str(s) => put_string(out, s.as_bytes())?,
        Replacement::Bytes(b) => match std::str::from_utf8(b) {
            Ok(_) => put_string(out, b)?,
            Err(_) => {
                out.extend_from_slice(&len_i32(b.len())?);
                out.push(0);
                out.extend_from_slice(b);
                ty::BINARY
            }
        },
        Replacement::Int32(v) => {
            out.extend_from_slice(&v.to_le_bytes());
            ty::INT32
        }
        Replacement::Int64(v) => {
            out.extend_from_slice(&v.to_le_bytes());
            ty::INT64
        }
        Replacement::Double(v) => {
            out.extend_from_slice(&v.to_le_bytes());
            ty::DOUBLE
        }
        Replacement::Number(s) => {
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
        Replacement::Bool(b) => {
            out.push(*b as u8);
            ty::BOOL
        }
        Replacement::Binary { subtype, bytes } => {
            if *subtype == 2 {
                out.extend_from_slice(&len_i32(bytes.len() + 4)?);
                out.push(2);
                out.extend_from_slice(&len_i32(bytes.len())?);
            } else {
                out.extend_from_slice(&len_i32(bytes.len())?);
                out.push(*subtype);
            }
            out.extend_from_slice(bytes);
            ty::BINARY
        }
        Replacement::DateTime(ms) => {
            out.extend_from_slice(&ms.to_le_bytes());
            ty::DATETIME
        }
    })
}
