//! Reading oplog entries as the rewriter routes them, for tools that check an archive
//! (`scan`, `verify`): the operations of an entry (`applyOps` flattened, nested ones followed)
//! with their target namespace, and where each operation carries data of that namespace's
//! documents. Shapes the rewriter refuses are refused here too, with the same errors.
//!
//! ```
//! use mongo_archive::oplog_read::{operations, Data};
//!
//! let entry = bson::to_vec(&bson::doc! {"op": "c", "ns": "admin.$cmd", "o": {"applyOps": [
//!     {"op": "i", "ns": "app.users", "o": {"_id": 1, "email": "a@b.c"}, "o2": {"_id": 1}},
//!     {"op": "u", "ns": "app.users", "o2": {"_id": 1}, "o": {"$set": {"name.first": "Ann"}}},
//! ]}})?;
//! let mut seen = Vec::new();
//! operations(&entry, &mut |op| {
//!     op.data(&mut |d| seen.push((op.ns.to_owned(), matches!(d, Data::Paths(_)))))
//! })?;
//! // The insert's document, its key, the update's key and its `$set`.
//! assert_eq!(seen.len(), 4);
//! assert!(seen.iter().all(|(ns, _)| ns == "app.users"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::oplog::{first_name, malformed, parse_entry};
use crate::oplog_error::{OplogError, MAX_APPLY_OPS_DEPTH};
use crate::raw::{ty, Elems};

/// One operation of an oplog entry: the entry itself, or one inside its `applyOps`.
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    /// `i`, `u`, `d`, `n`, `c` (other values as they are).
    pub op: &'a [u8],
    /// The target namespace `db.collection` (`db.$cmd` for commands).
    pub ns: &'a str,
    /// The `o` document's bytes, if it is a document.
    pub o: Option<&'a [u8]>,
    /// The `o2` document's bytes, if it is a document.
    pub o2: Option<&'a [u8]>,
}

/// Where an operation carries data of its target collection's documents; each holds the bytes
/// of one BSON document whose keys are read as said.
#[derive(Debug, Clone)]
pub enum Data<'a> {
    /// Keys are field names below `prefix` (empty: the document root): an inserted or
    /// replacing document, a `$v: 2` diff's `u`/`i` section.
    Fields {
        /// Field names from the root (array positions left out).
        prefix: Vec<&'a [u8]>,
        /// The document.
        doc: &'a [u8],
    },
    /// Keys are dotted paths from the root (`$set`, `$push`..., document keys in `o2` and a
    /// delete's `o`).
    Paths(&'a [u8]),
    /// A `$v: 2` array diff at `prefix`: values under keys `u<index>` are elements of that
    /// array; other keys are structure.
    Elements {
        /// Field names from the root to the array.
        prefix: Vec<&'a [u8]>,
        /// The array diff document.
        doc: &'a [u8],
    },
}

impl<'a> Operation<'a> {
    /// Whether the rules of a target collection whose plan has `when` apply to this
    /// operation, as the rewriter decides (see [`crate::when_rules_apply`]; the decision is
    /// counted on `when`): on an insert's or replacement's document, an update's `$set`, a
    /// delete's document key; an operation without the condition's fields gets the rules.
    pub fn rules_apply(&self, when: &anonymize_core::When) -> bool {
        match self.o {
            Some(o) => crate::doc_values::operation_rules_apply(when, self.op, o, 0, o.len()),
            None => true,
        }
    }

    /// Calls `f` for each place this operation carries document data: an insert's `o` and
    /// `o2`; an update's `o2`, replacement `o` or operators and `$v: 2` diffs; a delete's `o`.
    /// Commands and no-ops carry none.
    pub fn data(&self, f: &mut dyn FnMut(Data<'a>)) -> Result<(), OplogError> {
        match self.op {
            b"i" => {
                if let Some(o) = self.o {
                    f(Data::Fields {
                        prefix: Vec::new(),
                        doc: o,
                    });
                }
                if let Some(o2) = self.o2 {
                    f(Data::Paths(o2));
                }
            }
            b"u" => {
                if let Some(o2) = self.o2 {
                    f(Data::Paths(o2));
                }
                if let Some(o) = self.o {
                    update(o, f)?;
                }
            }
            b"d" => {
                if let Some(o) = self.o {
                    f(Data::Paths(o));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn update<'a>(o: &'a [u8], f: &mut dyn FnMut(Data<'a>)) -> Result<(), OplogError> {
    let mut elems = Elems::framed(o, 0, o.len()).map_err(malformed)?.peekable();
    let operators = matches!(elems.peek(), Some(Ok(e)) if e.name.first() == Some(&b'$'));
    if !operators {
        f(Data::Fields {
            prefix: Vec::new(),
            doc: o,
        });
        return Ok(());
    }
    for el in elems {
        let el = el.map_err(malformed)?;
        if el.ty != ty::DOCUMENT {
            continue;
        }
        let doc = &o[el.value..el.end];
        match el.name {
            b"diff" => diff(doc, Vec::new(), false, f, 0)?,
            name if name.first() == Some(&b'$') => f(Data::Paths(doc)),
            _ => {}
        }
    }
    Ok(())
}

fn diff<'a>(
    doc: &'a [u8],
    prefix: Vec<&'a [u8]>,
    is_array: bool,
    f: &mut dyn FnMut(Data<'a>),
    depth: u32,
) -> Result<(), OplogError> {
    if depth > crate::walk::MAX_DEPTH {
        return Err(OplogError::Shape("a $v:2 diff nested too deep"));
    }
    if is_array {
        f(Data::Elements {
            prefix: prefix.clone(),
            doc,
        });
    }
    for el in Elems::framed(doc, 0, doc.len()).map_err(malformed)? {
        let el = el.map_err(malformed)?;
        if el.ty != ty::DOCUMENT {
            continue;
        }
        let sub = &doc[el.value..el.end];
        match (is_array, el.name) {
            (false, b"u") | (false, b"i") => f(Data::Fields {
                prefix: prefix.clone(),
                doc: sub,
            }),
            (_, name) if name.first() == Some(&b's') => {
                let mut p = prefix.clone();
                if !is_array {
                    p.push(&name[1..]);
                }
                let sub_is_array = Elems::framed(sub, 0, sub.len())
                    .map_err(malformed)?
                    .any(|e| e.is_ok_and(|e| e.name == b"a"));
                diff(sub, p, sub_is_array, f, depth + 1)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Calls `f` with each operation of the oplog entry `entry` (one BSON document): the entry
/// itself, or for an `applyOps` command each operation inside it (nested ones followed, up to
/// 16 levels). Entries without a string `op` and `ns` yield nothing. Refuses the shapes the
/// rewriter refuses (a repeated `op`/`ns`/`o`/`o2`, `applyOps` not an array of documents).
pub fn operations<'a>(
    entry: &'a [u8],
    f: &mut dyn FnMut(Operation<'a>) -> Result<(), OplogError>,
) -> Result<(), OplogError> {
    each(entry, 0, entry.len(), f, 0)
}

fn each<'a>(
    buf: &'a [u8],
    start: usize,
    end: usize,
    f: &mut dyn FnMut(Operation<'a>) -> Result<(), OplogError>,
    depth: u32,
) -> Result<(), OplogError> {
    let e = parse_entry(buf, start, end)?;
    let (Some(op), Some(ns)) = (e.op, e.ns) else {
        return Ok(());
    };
    let apply_ops =
        e.o.filter(|o| op == b"c" && first_name(buf, o) == Some(b"applyOps"));
    let Some(o) = apply_ops else {
        if let (b"c", Some(o)) = (op, e.o) {
            for el in Elems::framed(buf, o.value, o.end).map_err(malformed)? {
                if el.map_err(malformed)?.name == b"applyOps" {
                    return Err(OplogError::Shape("`applyOps` not first in a command"));
                }
            }
        }
        let ns = match std::str::from_utf8(ns) {
            Ok(ns) => ns,
            // A command's own namespace (`db.$cmd`) is not one the rewriter decodes.
            Err(_) if op == b"c" => return Ok(()),
            Err(_) => return Err(OplogError::NamespaceNotUtf8),
        };
        return f(Operation {
            op,
            ns,
            o: e.o.map(|o| &buf[o.value..o.end]),
            o2: e.o2.map(|o| &buf[o.value..o.end]),
        });
    };
    if depth >= MAX_APPLY_OPS_DEPTH {
        return Err(OplogError::ApplyOpsTooDeep);
    }
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
        for inner in Elems::framed(buf, ops.value, ops.end).map_err(malformed)? {
            let inner = inner.map_err(malformed)?;
            if inner.ty != ty::DOCUMENT {
                return Err(OplogError::Shape(
                    "an `applyOps` operation is not a document",
                ));
            }
            each(buf, inner.value, inner.end, f, depth + 1)?;
        }
    }
    Ok(())
}
