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
//! | `op: "c"`, `applyOps` touching an excluded or covered collection | error |
//! | `op: "c"` naming an excluded collection (`create`, `drop`, `renameCollection`, ...) | entry dropped |
//! | `op: "d"`, `"n"`, others on uncovered collections | kept |
//!
//! `size_limits` do not apply to oplog entries (the oplog replays changes made during the dump).

use std::collections::HashMap;

use anonymize_core::{Anonymizer, RowContext};

use crate::raw::{self, ty, Elem, Elems};
use crate::rewrite::{decide, Decision, RewriteOptions};
use crate::walk::{Nodes, PatchError, Patcher};
use crate::CollectionKind;

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
        }
    }

    fn target(&mut self, ns: &[u8]) -> Result<&mut Target<'a>, String> {
        if !self.targets.contains_key(ns) {
            let text =
                std::str::from_utf8(ns).map_err(|_| "an entry's ns is not UTF-8".to_owned())?;
            let (db, coll) = text.split_once('.').unwrap_or((text, ""));
            let (logical, kind) = match coll.strip_prefix("system.buckets.") {
                Some(base) => (base, CollectionKind::Timeseries),
                None => (coll, CollectionKind::Collection),
            };
            let decision = match decide(db, logical, &kind, self.anon, self.options) {
                Ok(d) => d,
                // A timeseries with rules: its bucket entries cannot be rewritten either.
                Err(_) => {
                    return Err(format!(
                        "entry for `{text}`: rules on a timeseries collection"
                    ))
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
    ) -> Result<Outcome, String> {
        let malformed =
            |e: raw::RawError| format!("malformed entry at byte {}: {}", e.at, e.detail);
        let (mut op, mut ns, mut o): (Option<&[u8]>, Option<&[u8]>, Option<Elem<'_>>) =
            (None, None, None);
        for el in Elems::framed(entry, 0, entry.len()).map_err(malformed)? {
            let el = el.map_err(malformed)?;
            match el.name {
                b"op" if el.ty == ty::STRING => op = Some(&entry[el.value + 4..el.end - 1]),
                b"ns" if el.ty == ty::STRING => ns = Some(&entry[el.value + 4..el.end - 1]),
                b"o" if el.ty == ty::DOCUMENT => o = Some(el),
                _ => {}
            }
        }
        let (Some(op), Some(ns)) = (op, ns) else {
            return Ok(Outcome::Keep);
        };
        if op == b"n" {
            return Ok(Outcome::Keep);
        }
        if op == b"c" {
            return self.command(ns, o, entry);
        }
        let ns_text = String::from_utf8_lossy(ns).into_owned();
        let anon = self.anon;
        let target = self.target(ns)?;
        let root = match target.decision {
            Decision::Drop(_) => return Ok(Outcome::Drop),
            Decision::Keep { root: None, .. } => return Ok(Outcome::Keep),
            Decision::Keep {
                root: Some(root), ..
            } => root,
        };
        let wrap = |e: PatchError| format!("entry for `{ns_text}`: {e}");
        match op {
            b"d" => Ok(Outcome::Keep),
            b"i" | b"u" => {
                let Some(o) = o else {
                    return Err(format!("entry for `{ns_text}` has no `o` document"));
                };
                target.ordinal += 1;
                let ctx = RowContext {
                    ordinal: target.ordinal,
                };
                patcher.begin();
                let mut s = patcher.session(anon, ctx);
                let nodes = Nodes::one(root);
                let operators = first_name(entry, &o).is_some_and(|n| n.first() == Some(&b'$'));
                let delta = if op == b"u" && operators {
                    update_operators(&mut s, entry, &o, nodes).map_err(wrap)?
                } else {
                    s.walk_doc(entry, o.value, o.end, nodes, crate::walk::Place::Field)
                        .map_err(wrap)?
                };
                s.fix_len(entry, 0, delta).map_err(wrap)?;
                match patcher.finish(entry).map_err(wrap)? {
                    Some(_) => Ok(Outcome::Patched),
                    None => Ok(Outcome::Keep),
                }
            }
            _ => Err(format!(
                "entry for `{ns_text}` has op `{}`, unknown to this tool",
                String::from_utf8_lossy(op)
            )),
        }
    }

    fn command(&mut self, ns: &[u8], o: Option<Elem<'_>>, entry: &[u8]) -> Result<Outcome, String> {
        let Some(o) = o else { return Ok(Outcome::Keep) };
        let db = ns.split(|&b| b == b'.').next().unwrap_or(b"");
        let malformed =
            |e: raw::RawError| format!("malformed command entry at byte {}: {}", e.at, e.detail);
        let mut first = true;
        for el in Elems::framed(entry, o.value, o.end).map_err(malformed)? {
            let el = el.map_err(malformed)?;
            let is_first = std::mem::replace(&mut first, false);
            if is_first && el.name == b"applyOps" && el.ty == ty::ARRAY {
                for inner in Elems::framed(entry, el.value, el.end).map_err(malformed)? {
                    let inner = inner.map_err(malformed)?;
                    if inner.ty != ty::DOCUMENT {
                        continue;
                    }
                    for f in Elems::framed(entry, inner.value, inner.end).map_err(malformed)? {
                        let f = f.map_err(malformed)?;
                        if f.name == b"ns" && f.ty == ty::STRING {
                            let target_ns = &entry[f.value + 4..f.end - 1];
                            let t = self.target(target_ns)?;
                            if !matches!(t.decision, Decision::Keep { root: None, .. }) {
                                return Err(format!(
                                    "an applyOps entry changes `{}`, which is excluded or has rules",
                                    String::from_utf8_lossy(target_ns)
                                ));
                            }
                        }
                    }
                }
                return Ok(Outcome::Keep);
            }
            // `{create: "c"}`, `{drop: "c"}`, ...: the first field names the collection;
            // renameCollection/to carry full namespaces.
            let full = el.name == b"renameCollection" || el.name == b"to";
            if (is_first || full) && el.ty == ty::STRING {
                let value = &entry[el.value + 4..el.end - 1];
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
}

fn first_name<'b>(buf: &'b [u8], o: &Elem<'b>) -> Option<&'b [u8]> {
    Elems::framed(buf, o.value, o.end)
        .ok()?
        .next()?
        .ok()
        .map(|e| e.name)
}

fn update_operators(
    s: &mut crate::walk::Session<'_, '_>,
    buf: &[u8],
    o: &Elem<'_>,
    root: Nodes<'_>,
) -> Result<i64, PatchError> {
    let mut delta = 0;
    for el in Elems::framed(buf, o.value, o.end)? {
        let el = el?;
        match el.name {
            b"$v" | b"$unset" => {}
            b"diff" if el.ty == ty::DOCUMENT => {
                delta += s.walk_diff(buf, el.value, el.end, root, false)?;
            }
            b"$set" | b"$setOnInsert" if el.ty == ty::DOCUMENT => {
                delta += s.walk_set(buf, el.value, el.end, root)?;
            }
            name if el.ty == ty::DOCUMENT && name.first() == Some(&b'$') => {
                s.check_untouched(buf, el.value, el.end, root, name)?;
            }
            name => {
                return Err(PatchError::Unsupported(format!(
                    "an update with `{}` mixed into its operators",
                    String::from_utf8_lossy(name)
                )))
            }
        }
    }
    s.fix_len(buf, o.value, delta)?;
    Ok(delta)
}
