//! Rewriting `--oplog` entries: the rules of an entry's target collection apply to the
//! documents it carries.
//!
//! | entry | handling |
//! | --- | --- |
//! | target excluded, not selected, or users dropped | entry dropped |
//! | `op: "i"` | `o` (the whole inserted document) rewritten by the target's rules |
//! | `op: "u"`, replacement `o` | `o` rewritten like a document |
//! | `op: "u"`, `$set`/`$setOnInsert` | each dotted path's value rewritten by the rule it reaches (`remove` writes null) |
//! | `op: "u"`, `$unset` | kept (removing data leaks nothing) |
//! | `op: "u"`, `$v: 2` `diff` | `u`/`i` values rewritten, `s<field>` sub-diffs followed; a sub-diff inside a covered field is an error |
//! | `op: "u"`, any other operator touching a covered field | error |
//! | `op: "i"` or `"u"`, `o2` (the document key: `_id`, shard key; inserts carry it since MongoDB 5.3) | rewritten like a document, so it matches the rewritten documents |
//! | `op: "d"`, `o` (the document key) | rewritten like a document |
//! | `op: "n"` (no-op: pre/post images, messages) on a covered, excluded or unselected collection | entry dropped (mongorestore ignores no-ops) |
//! | `op: "n"` without a namespace | kept when it is a server message (`o: {msg: "..."}` only), else dropped while any rule or exclusion is in force |
//! | `op: "c"`, `applyOps` (transactions; nested ones followed, up to 16 levels) | each operation handled as above; one that would be dropped becomes a no-op `{op: "n", ns: "", o: {msg: "removed by syrf-anonymize"}}` |
//! | `op: "c"` naming an excluded collection (`create`, `drop`, `renameCollection`, ...) | entry dropped |
//! | `op: "c"`, `renameCollection` from a collection whose data this oplog or the archive holds into one with other rules (`$out`'s `<db>.tmp.agg_out.<uuid>`, a cross-database rename's `<db>.tmpXXXXX.renameCollection`, any rename between plans) | error: the documents passed under the source's rules (advice: `--oplog drop`) |
//! | a shape mongod never writes: a repeated `op`/`ns`/`o`/`o2`, `applyOps` not an array of documents or not first in `o` | error |
//! | `op: "d"`, `"n"`, others on uncovered collections | kept |
//! | no string `op` or `ns` | dropped while any rule or exclusion is in force, else kept |
//!
//! Renames are refused rather than resolved: the oplog is read in one pass, so a temporary
//! namespace's inserts are written before the rename that names their destination. Giving them
//! the destination's rules would mean holding them back (memory bounded only by the `$out`'s
//! size) and writing them after entries that follow them in time, which reorders the oplog
//! mongorestore replays; failing with `--oplog drop` as the way out keeps the output faithful.
//!
//! A scalar where a rule's path expects a sub-document is nulled and counted as failed closed,
//! as in documents. `size_limits` do not apply to oplog entries (the oplog replays changes
//! made during the dump).

use std::collections::{HashMap, HashSet};

use anonymize_core::{Anonymizer, RowContext};

use crate::doc_values::operation_rules_apply;
use crate::oplog_error::{OplogError, MAX_APPLY_OPS_DEPTH};
use crate::policy::{decide_target, Decision, RewriteOptions};
use crate::raw::{self, ty, Elem, Elems};
use crate::walk::{Nodes, PatchError, Patcher, Place, Session};

/// What to do with one oplog entry.
pub(crate) enum Outcome {
    Keep,
    Drop,
    Patched,
}

struct Target<'a> {
    decision: Decision<'a>,
    ordinal: u64,
}

/// Per-stream state of the oplog rewriter: decisions per target namespace, ordinals.
pub(crate) struct OplogRewriter<'a> {
    anon: &'a Anonymizer,
    options: &'a RewriteOptions,
    targets: HashMap<Vec<u8>, Target<'a>>,
    /// Documents already seen per `db.collection` (sequential ordinals continue after them).
    counts: HashMap<String, u64>,
    /// Any field rule or exclusion in force: entries that cannot be attributed are dropped.
    strict: bool,
    /// Namespaces this oplog wrote documents into (inserts and updates kept), so far.
    written: HashSet<Vec<u8>>,
    /// Namespaces this oplog created (`create`).
    created: HashSet<Vec<u8>>,
    /// Namespaces this oplog dropped (`drop`): empty from then on unless written again.
    dropped: HashSet<Vec<u8>>,
}

/// The fields an entry is routed by: `op`, `ns`, `o`, `o2`.
pub(crate) struct Entry<'b> {
    pub(crate) op: Option<&'b [u8]>,
    pub(crate) ns: Option<&'b [u8]>,
    pub(crate) o: Option<Elem<'b>>,
    pub(crate) o2: Option<Elem<'b>>,
}

pub(crate) fn malformed(e: raw::RawError) -> OplogError {
    OplogError::Malformed {
        at: e.at,
        detail: e.detail,
    }
}

pub(crate) fn parse_entry(buf: &[u8], start: usize, end: usize) -> Result<Entry<'_>, OplogError> {
    let mut entry = Entry {
        op: None,
        ns: None,
        o: None,
        o2: None,
    };
    let mut seen = [false; 4];
    for el in Elems::framed(buf, start, end).map_err(malformed)? {
        let el = el.map_err(malformed)?;
        let slot = match el.name {
            b"op" => 0,
            b"ns" => 1,
            b"o" => 2,
            b"o2" => 3,
            _ => continue,
        };
        if std::mem::replace(&mut seen[slot], true) {
            return Err(OplogError::Shape(
                "a repeated `op`, `ns`, `o` or `o2` field",
            ));
        }
        match el.name {
            b"op" if el.ty == ty::STRING => entry.op = el.str_bytes(buf),
            b"ns" if el.ty == ty::STRING => entry.ns = el.str_bytes(buf),
            b"o" if el.ty == ty::DOCUMENT => entry.o = Some(el),
            b"o2" if el.ty == ty::DOCUMENT => entry.o2 = Some(el),
            _ => {}
        }
    }
    Ok(entry)
}

/// An entry's `op` for messages (it comes from the data).
fn op_name(op: &[u8]) -> String {
    if !op.is_empty() && op.len() <= 2 && op.iter().all(u8::is_ascii_alphabetic) {
        format!("`{}`", String::from_utf8_lossy(op))
    } else {
        "(unknown)".to_owned()
    }
}

impl<'a> OplogRewriter<'a> {
    pub(crate) fn new(
        anon: &'a Anonymizer,
        options: &'a RewriteOptions,
        counts: HashMap<String, u64>,
    ) -> Self {
        OplogRewriter {
            anon,
            options,
            targets: HashMap::new(),
            counts,
            strict: !anon.report().rules.is_empty() || anon.may_exclude(),
            written: HashSet::new(),
            created: HashSet::new(),
            dropped: HashSet::new(),
        }
    }

    fn target(&mut self, ns: &[u8]) -> Result<&mut Target<'a>, OplogError> {
        if !self.targets.contains_key(ns) {
            let text = std::str::from_utf8(ns).map_err(|_| OplogError::NamespaceNotUtf8)?;
            let decision = match decide_target(text, self.anon, self.options) {
                Ok(d) => d,
                // A timeseries with rules: its bucket entries cannot be rewritten either.
                Err(_) => {
                    return Err(OplogError::TimeseriesRules {
                        ns: text.to_owned(),
                    })
                }
            };
            let ordinal = self.counts.get(text).copied().unwrap_or(0);
            self.targets
                .insert(ns.to_vec(), Target { decision, ordinal });
        }
        Ok(self.targets.get_mut(ns).expect("inserted above"))
    }

    /// Decides on and, where needed, patches one entry (into `patcher`).
    pub(crate) fn process(
        &mut self,
        entry: &[u8],
        patcher: &mut Patcher,
    ) -> Result<Outcome, OplogError> {
        let Entry { op, ns, o, o2 } = parse_entry(entry, 0, entry.len())?;
        let (Some(op), Some(ns)) = (op, ns) else {
            // Not an oplog entry mongorestore could replay; nothing attributes its data.
            return Ok(if self.strict {
                Outcome::Drop
            } else {
                Outcome::Keep
            });
        };
        if op == b"n" {
            return self.noop(ns, o, o2, entry);
        }
        let apply_ops = o.filter(|o| op == b"c" && first_name(entry, o) == Some(b"applyOps"));
        if op == b"c" && apply_ops.is_none() {
            return self.command(ns, o, entry);
        }
        patcher.begin();
        let mut s = patcher.session(self.anon, RowContext { ordinal: 0 });
        let delta = match apply_ops {
            Some(o) => self.apply_ops(&mut s, entry, &o, 0)?,
            None => match self.crud(&mut s, entry, op, ns, o, o2)? {
                Crud::Drop => return Ok(Outcome::Drop),
                Crud::Delta(d) => d,
            },
        };
        let whole = |error: PatchError| OplogError::Patch {
            ns: String::from_utf8_lossy(ns).into_owned(),
            error,
        };
        s.fix_len(entry, 0, delta).map_err(whole)?;
        match patcher.finish(entry).map_err(whole)? {
            Some(_) => Ok(Outcome::Patched),
            None => Ok(Outcome::Keep),
        }
    }

    /// An insert, update or delete (top-level or inside `applyOps`): its documents rewritten
    /// into `s` by the target's rules. Returns the change of the entry's length.
    fn crud(
        &mut self,
        s: &mut Session<'_, '_>,
        buf: &[u8],
        op: &[u8],
        ns: &[u8],
        o: Option<Elem<'_>>,
        o2: Option<Elem<'_>>,
    ) -> Result<Crud, OplogError> {
        let ns_text = || String::from_utf8_lossy(ns).into_owned();
        let decision = self.target(ns)?.decision;
        let kept = matches!(
            decision,
            Decision::Keep {
                schema_only: false,
                ..
            }
        );
        if kept && matches!(op, b"i" | b"u") && !self.written.contains(ns) {
            self.written.insert(ns.to_vec());
        }
        let target = self.target(ns)?;
        let root = match decision {
            Decision::Drop(_)
            | Decision::Keep {
                schema_only: true, ..
            } => return Ok(Crud::Drop),
            Decision::Keep { root: None, .. } => return Ok(Crud::Delta(0)),
            Decision::Keep {
                root: Some(root), ..
            } => root,
        };
        if !matches!(op, b"i" | b"u" | b"d") {
            return Err(OplogError::UnknownOp {
                ns: ns_text(),
                op: op_name(op),
            });
        }
        let Some(o) = o else {
            return Err(OplogError::MissingDocument { ns: ns_text() });
        };
        if op != b"d" {
            target.ordinal += 1;
        }
        s.set_ordinal(target.ordinal);
        let wrap = |error: PatchError| OplogError::Patch {
            ns: ns_text(),
            error,
        };
        let nodes = Nodes::one(root);
        let operators = first_name(buf, &o).is_some_and(|n| n.first() == Some(&b'$'));
        if let Some(when) = root.when() {
            // The collection's `when:` on the entry's document (insert, replacement), the
            // `$set` of an update, the document key of a delete; a condition field the entry
            // does not hold (a `$v: 2` diff, another operator) applies the rules.
            if !operation_rules_apply(when, op, buf, o.value, o.end) {
                return Ok(Crud::Delta(0));
            }
        }
        // A delete's `o` and an update's `o2` are document keys (`_id`, shard key fields,
        // nested ones as dotted names): rewritten like the documents they match, so they
        // stay consistent with them.
        let mut delta = if op == b"d" {
            s.walk_set(buf, o.value, o.end, nodes).map_err(wrap)?
        } else if op == b"u" && operators {
            s.update_operators(buf, &o, nodes).map_err(wrap)?
        } else {
            // A whole document (insert, replacement): the echo guard looks at it too, with
            // the originals of this document only.
            s.forget_echoes();
            let d = s
                .walk_doc(buf, o.value, o.end, nodes, Place::Field)
                .map_err(wrap)?;
            d + s.echo_pass(buf, o.value, o.end, nodes).map_err(wrap)?
        };
        // Inserts carry their document key in `o2` since MongoDB 5.3.
        if let (b"u" | b"i", Some(o2)) = (op, o2) {
            delta += s.walk_set(buf, o2.value, o2.end, nodes).map_err(wrap)?;
        }
        Ok(Crud::Delta(delta))
    }

    /// A no-op entry: routed by its namespace; mongorestore ignores no-ops, so dropping one
    /// loses nothing.
    fn noop(
        &mut self,
        ns: &[u8],
        o: Option<Elem<'_>>,
        o2: Option<Elem<'_>>,
        entry: &[u8],
    ) -> Result<Outcome, OplogError> {
        if ns.is_empty() {
            let message_only = o2.is_none()
                && o.is_some_and(|o| {
                    Elems::framed(entry, o.value, o.end).is_ok_and(|mut it| {
                        it.all(|f| f.is_ok_and(|f| f.name == b"msg" && f.ty == ty::STRING))
                    })
                });
            return Ok(if message_only || !self.strict {
                Outcome::Keep
            } else {
                Outcome::Drop
            });
        }
        Ok(match self.target(ns)?.decision {
            Decision::Keep {
                root: None,
                schema_only: false,
                ..
            } => Outcome::Keep,
            Decision::Keep { .. } | Decision::Drop(_) => Outcome::Drop,
        })
    }

    /// A command other than `applyOps`: dropped when it names an excluded collection.
    fn command(
        &mut self,
        ns: &[u8],
        o: Option<Elem<'_>>,
        entry: &[u8],
    ) -> Result<Outcome, OplogError> {
        let Some(o) = o else { return Ok(Outcome::Keep) };
        let db = ns.split(|&b| b == b'.').next().unwrap_or(b"");
        if let Some(outcome) = self.rename(&o, entry)? {
            return Ok(outcome);
        }
        let mut first = true;
        for el in Elems::framed(entry, o.value, o.end).map_err(malformed)? {
            let el = el.map_err(malformed)?;
            if el.name == b"applyOps" {
                return Err(OplogError::Shape("`applyOps` not first in a command"));
            }
            let is_first = std::mem::replace(&mut first, false);
            if let (true, b"create" | b"drop", Some(c)) = (is_first, el.name, el.str_bytes(entry)) {
                let full = [db, b".", c].concat();
                if el.name == b"drop" {
                    self.written.remove(&full);
                    self.dropped.insert(full);
                } else {
                    self.created.insert(full);
                }
            }
            // `{create: "c"}`, `{drop: "c"}`, ...: the first field names the collection;
            // renameCollection/to carry full namespaces.
            let full = el.name == b"renameCollection" || el.name == b"to";
            if let Some(value) = el.str_bytes(entry).filter(|_| is_first || full) {
                let target: Vec<u8> = if full {
                    value.to_vec()
                } else {
                    [db, b".", value].concat()
                };
                if matches!(self.target(&target)?.decision, Decision::Drop(_)) {
                    return Ok(Outcome::Drop);
                }
            }
        }
        Ok(Outcome::Keep)
    }

    /// A `renameCollection` command: `Some(outcome)` when it is one and may pass (dropped
    /// when either side is dropped), an error when it moves documents between plans.
    fn rename(&mut self, o: &Elem<'_>, entry: &[u8]) -> Result<Option<Outcome>, OplogError> {
        let (mut from, mut to) = (None, None);
        for (i, el) in Elems::framed(entry, o.value, o.end)
            .map_err(malformed)?
            .enumerate()
        {
            let el = el.map_err(malformed)?;
            match el.name {
                b"renameCollection" if i == 0 => from = el.str_bytes(entry),
                b"to" => to = el.str_bytes(entry),
                _ if i == 0 => return Ok(None),
                _ => {}
            }
        }
        let (Some(from), Some(to)) = (from, to) else {
            return Ok(None);
        };
        let source = self.target(from)?.decision;
        let dest = self.target(to)?.decision;
        let same = match (source, dest) {
            // The source's documents were dropped: nothing moves (the rename is dropped).
            (Decision::Drop(_), _) => true,
            (
                Decision::Keep {
                    root: a,
                    schema_only: x,
                    ..
                },
                Decision::Keep {
                    root: b,
                    schema_only: y,
                    ..
                },
            ) => x == y && a.map(std::ptr::from_ref) == b.map(std::ptr::from_ref),
            (Decision::Keep { .. }, Decision::Drop(_)) => false,
        };
        if !same && self.has_data(from) {
            return Err(OplogError::RenameBetweenPlans {
                from: String::from_utf8_lossy(from).into_owned(),
                to: String::from_utf8_lossy(to).into_owned(),
            });
        }
        if matches!(source, Decision::Drop(_)) || matches!(dest, Decision::Drop(_)) {
            // Not replayed: both keep what they hold.
            return Ok(Some(Outcome::Drop));
        }
        // Replayed: the target holds what the source held, the source is gone.
        if self.has_data(from) {
            self.written.insert(to.to_vec());
        } else {
            self.written.remove(to);
            self.dropped.insert(to.to_vec());
        }
        self.written.remove(from);
        self.dropped.insert(from.to_vec());
        Ok(Some(Outcome::Keep))
    }

    /// True unless namespace `ns` is known to hold no document when this entry replays: not
    /// written by this oplog since it was dropped (or renamed away), or else neither holding
    /// documents in the archive (restored before the oplog is replayed) nor unknown to it
    /// (a collection the archive lacks and this oplog did not create may hold anything).
    fn has_data(&self, ns: &[u8]) -> bool {
        if self.written.contains(ns) {
            return true;
        }
        if self.dropped.contains(ns) {
            return false;
        }
        let text = String::from_utf8_lossy(ns);
        match self.counts.get(text.as_ref()) {
            Some(&n) => n > 0,
            None => !self.created.contains(ns),
        }
    }

    /// An `applyOps` command `o` (a transaction's commit, or a user's `applyOps`): each
    /// operation is handled like a top-level entry, nested `applyOps` followed; an operation
    /// that would be dropped is replaced by a no-op (array keys stay dense). Returns the
    /// change of `o`'s length.
    fn apply_ops(
        &mut self,
        s: &mut Session<'_, '_>,
        buf: &[u8],
        o: &Elem<'_>,
        depth: u32,
    ) -> Result<i64, OplogError> {
        if depth >= MAX_APPLY_OPS_DEPTH {
            return Err(OplogError::ApplyOpsTooDeep);
        }
        let len_err = |error: PatchError| OplogError::Patch {
            ns: "applyOps".to_owned(),
            error,
        };
        let mut o_delta = 0;
        let mut seen = false;
        for ops in Elems::framed(buf, o.value, o.end).map_err(malformed)? {
            let ops = ops.map_err(malformed)?;
            if ops.name != b"applyOps" {
                continue;
            }
            if std::mem::replace(&mut seen, true) {
                return Err(OplogError::Shape("a repeated `applyOps` field"));
            }
            if ops.ty != ty::ARRAY {
                return Err(OplogError::Shape("`applyOps` is not an array"));
            }
            let mut delta = 0;
            for inner in Elems::framed(buf, ops.value, ops.end).map_err(malformed)? {
                let inner = inner.map_err(malformed)?;
                if inner.ty != ty::DOCUMENT {
                    return Err(OplogError::Shape(
                        "an `applyOps` operation is not a document",
                    ));
                }
                let e = parse_entry(buf, inner.value, inner.end)?;
                let (Some(op), Some(ns)) = (e.op, e.ns) else {
                    if self.strict {
                        delta += s.replace_document(&inner, &REMOVED_OP).map_err(len_err)?;
                    }
                    continue;
                };
                let nested =
                    e.o.filter(|o| op == b"c" && first_name(buf, o) == Some(b"applyOps"));
                let outcome = if let Some(nested) = nested {
                    Crud::Delta(self.apply_ops(s, buf, &nested, depth + 1)?)
                } else {
                    match op {
                        b"n" => match self.noop(ns, e.o, e.o2, buf)? {
                            Outcome::Drop => Crud::Drop,
                            _ => Crud::Delta(0),
                        },
                        b"c" => match self.command(ns, e.o, buf)? {
                            Outcome::Drop => Crud::Drop,
                            _ => Crud::Delta(0),
                        },
                        _ => self.crud(s, buf, op, ns, e.o, e.o2)?,
                    }
                };
                match outcome {
                    Crud::Drop => {
                        delta += s.replace_document(&inner, &REMOVED_OP).map_err(len_err)?;
                    }
                    Crud::Delta(d) => {
                        s.fix_len(buf, inner.value, d).map_err(len_err)?;
                        delta += d;
                    }
                }
            }
            s.fix_len(buf, ops.value, delta).map_err(len_err)?;
            o_delta += delta;
        }
        s.fix_len(buf, o.value, o_delta).map_err(len_err)?;
        Ok(o_delta)
    }
}

/// What an insert, update or delete becomes.
enum Crud {
    /// Dropped with its collection.
    Drop,
    /// Kept; its length changed by this much.
    Delta(i64),
}

/// `{op: "n", ns: "", o: {msg: "removed by syrf-anonymize"}}`: what an `applyOps` operation on
/// an excluded collection becomes (mongorestore and the server skip no-ops).
const REMOVED_OP: [u8; 67] = *b"\x43\x00\x00\x00\
\x02op\x00\x02\x00\x00\x00n\x00\
\x02ns\x00\x01\x00\x00\x00\x00\
\x03o\x00\x28\x00\x00\x00\x02msg\x00\x1a\x00\x00\x00removed by syrf-anonymize\x00\x00\
\x00";

pub(crate) fn first_name<'b>(buf: &'b [u8], o: &Elem<'b>) -> Option<&'b [u8]> {
    Elems::framed(buf, o.value, o.end)
        .ok()?
        .next()?
        .ok()
        .map(|e| e.name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn removed_op_is_the_documented_no_op() {
        let d = bson::Document::from_reader(&super::REMOVED_OP[..]).unwrap();
        assert_eq!(
            d,
            bson::doc! {"op": "n", "ns": "", "o": {"msg": "removed by syrf-anonymize"}}
        );
    }
}
