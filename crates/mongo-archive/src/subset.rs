//! Subsets that keep declared references (`references:` in the rules): MongoDB declares no
//! foreign keys, so the rules name them (`pmStudy.ProjectId: pmProject._id`). When a limit
//! removes documents, documents whose reference names a removed document are removed too,
//! transitively, so no declared reference of the output dangles.
//!
//! [`plan_subset`] reads the archive once through the [`ArchiveReader`] (mongodump interleaves
//! collections, so the referenced documents may come after the referencing ones): the
//! referenced values of the collections a removal can reach, each referencing document's
//! values, and the limits' cut-offs. The rewrite then drops the planned documents by their
//! ordinal in their namespace ([`RewriteOptions::subset`](crate::RewriteOptions::subset)).
//!
//! Values are compared as MongoDB compares them for equality, as far as references go:
//! non-negative integers whatever their numeric type (`int32`, `int64`, an integral
//! `double`) are kept as integers (sets of them are Roaring bitmaps), any other value as a
//! 64-bit keyed SipHash-2-4 fingerprint of its type and bytes. A fingerprint collision can
//! only remove a document that could have stayed. A path through arrays takes every value
//! it reaches (`Memberships.InvestigatorId` in an array of sub-documents); a document is
//! removed when any of them names a removed document. Missing and `null` values reference
//! nothing. A reference to an excluded or unselected collection is not followed (that
//! collection is not in the output at all).

use std::collections::{HashMap, HashSet};
use std::hash::Hasher;
use std::io::Read;

use anonymize_core::{Anonymizer, Reference};
use roaring::RoaringTreemap;

use crate::doc_values::{text_of, visit_at};
use crate::error::{ArchiveError, ErrorKind};
use crate::policy::{decide, Decision, RewriteOptions};
use crate::raw::ty;
use crate::reader::{ArchiveReader, Item};
pub use crate::subset_plan::ArchiveSubset;

/// Whether the rules declare references and limit a collection: a rewrite then needs
/// [`plan_subset`] first.
pub fn subset_needed(anon: &Anonymizer) -> bool {
    (!anon.references().is_empty() && anon.removes_rows()) || anon.has_filters()
}

/// Every value's text at `path` (through arrays), `None` for null or uncomparable values.
fn texts_at(buf: &[u8], start: usize, end: usize, path: &[String], out: &mut Vec<Option<String>>) {
    visit_at(buf, start, end, path, &mut |t, v| out.push(text_of(t, v)));
}

/// Whether a document passes every condition (a path with several values passes when one
/// does; a missing field is null).
fn passes(
    raw: &[u8],
    conditions: &[anonymize_core::Condition],
    texts: &mut Vec<Option<String>>,
) -> bool {
    conditions.iter().all(|c| {
        texts.clear();
        texts_at(raw, 0, raw.len(), &c.path, texts);
        if texts.is_empty() {
            return c.matches(None);
        }
        texts.iter().any(|t| c.matches(t.as_deref()))
    })
}

type Key = u64;
const HASHED: u64 = 1 << 63;
const SEED: [u64; 2] = [0x7379_7266_5f6d_6f6e, 0x676f_5f72_6566_7321];

#[allow(deprecated)]
fn key_of(t: u8, value: &[u8]) -> Option<Key> {
    let int = match t {
        ty::INT32 => value
            .try_into()
            .ok()
            .map(|b| i64::from(i32::from_le_bytes(b))),
        ty::INT64 => value.try_into().ok().map(i64::from_le_bytes),
        ty::DOUBLE => value
            .try_into()
            .ok()
            .map(f64::from_le_bytes)
            .and_then(|d| (d.fract() == 0.0 && (0.0..9.0e15).contains(&d)).then_some(d as i64)),
        ty::NULL | ty::UNDEFINED => return None,
        _ => None,
    };
    if let Some(i) = int.filter(|i| *i >= 0) {
        return Some(i as u64);
    }
    let mut h = std::hash::SipHasher::new_with_keys(SEED[0], SEED[1]);
    // Numbers that are not small integers compare by type; everything else by its bytes.
    h.write_u8(t);
    h.write(value);
    Some(h.finish() | HASHED)
}

/// Every value at `path` in the document at `buf[start..end]`, through arrays.
fn values_at(buf: &[u8], start: usize, end: usize, path: &[String], out: &mut Vec<Key>) {
    visit_at(buf, start, end, path, &mut |t, v| out.extend(key_of(t, v)));
}

/// A set of keys.
#[derive(Default)]
struct KeySet {
    ints: RoaringTreemap,
    hashed: HashSet<u64>,
}

impl KeySet {
    fn insert(&mut self, k: Key) {
        if k & HASHED == 0 {
            self.ints.insert(k);
        } else {
            self.hashed.insert(k);
        }
    }
    fn contains(&self, k: Key) -> bool {
        if k & HASHED == 0 {
            self.ints.contains(k)
        } else {
            self.hashed.contains(&k)
        }
    }
}

/// What is read of one namespace.
#[derive(Default)]
struct NsKeys {
    docs: u64,
    cut: RoaringTreemap,
    /// Per path read: the values of each document, flattened, and where each starts.
    values: Vec<(Vec<Key>, Vec<u64>)>,
}

/// The reference `r`'s side (`from` or `to`) names namespace `db.coll`.
fn names(side: &str, db: &str, coll: &str) -> bool {
    side == coll || side.strip_prefix(db).and_then(|r| r.strip_prefix('.')) == Some(coll)
}

/// Reads the archive once and plans the subset. Errors: the archive's (as the rewrite would
/// report them), and a reference naming a collection the prelude does not list.
pub fn plan_subset<R: Read>(
    input: R,
    anon: &Anonymizer,
    options: &RewriteOptions,
) -> Result<ArchiveSubset, ArchiveError> {
    let refs: &[Reference] = anon.references();
    let mut rd = ArchiveReader::new(input);
    // Prelude namespaces: name, kept, limit.
    let mut prelude: Vec<(String, String, bool, Option<u64>)> = Vec::new();
    // Per prelude namespace, the paths read: (path, reference index, is the referencing side).
    let mut reads: Vec<Vec<(Vec<String>, usize, bool)>> = Vec::new();
    let mut active: Vec<bool> = vec![false; refs.len()];
    let mut ns_prelude: Vec<usize> = Vec::new();
    let mut data: HashMap<usize, NsKeys> = HashMap::new();
    let mut buf = Vec::new();
    // Per prelude namespace: its `where` conditions, and the documents matching so far.
    let mut filters: Vec<(Vec<anonymize_core::Condition>, u64)> = Vec::new();
    let mut texts = Vec::new();
    loop {
        let at = rd.offset();
        match rd.next_item()? {
            Item::Prelude { entry, .. } => {
                let d = decide(&entry.db, &entry.collection, &entry.kind, anon, options)
                    .map_err(|k| ArchiveError::new(at, Some(entry.name()), k))?;
                let (kept, limit) = match d {
                    Decision::Keep {
                        max_rows,
                        oplog: false,
                        ..
                    } => (true, max_rows),
                    _ => (false, None),
                };
                prelude.push((entry.db.clone(), entry.collection.clone(), kept, limit));
                let conditions = match kept {
                    true => anon.filter_of(Some(&entry.db), &entry.collection).to_vec(),
                    false => Vec::new(),
                };
                filters.push((conditions, 0));
            }
            Item::PreludeEnd => {
                for r in refs {
                    for side in [&r.from, &r.to] {
                        if !prelude.iter().any(|(db, c, ..)| names(side, db, c)) {
                            return Err(ArchiveError::new(
                                at,
                                None,
                                ErrorKind::Unsupported(format!(
                                    "the rules' reference {} names collection `{side}`, which the archive does not hold",
                                    r.label()
                                )),
                            ));
                        }
                    }
                }
                // Collections that can lose documents: limited ones, then the referencing
                // sides of references whose referenced side can.
                let mut losing: Vec<bool> = prelude.iter().map(|p| p.2 && p.3.is_some()).collect();
                loop {
                    let mut changed = false;
                    for (ri, r) in refs.iter().enumerate() {
                        let to_losing = prelude
                            .iter()
                            .zip(&losing)
                            .any(|((db, c, ..), l)| *l && names(&r.to, db, c));
                        if !to_losing {
                            continue;
                        }
                        active[ri] = true;
                        for (i, (db, c, kept, _)) in prelude.iter().enumerate() {
                            if *kept && names(&r.from, db, c) && !losing[i] {
                                losing[i] = true;
                                changed = true;
                            }
                        }
                    }
                    if !changed {
                        break;
                    }
                }
                reads = vec![Vec::new(); prelude.len()];
                for (ri, r) in refs.iter().enumerate().filter(|(ri, _)| active[*ri]) {
                    for (i, (db, c, kept, _)) in prelude.iter().enumerate() {
                        if !kept {
                            continue;
                        }
                        if names(&r.from, db, c) {
                            reads[i].push((r.from_path.clone(), ri, true));
                        }
                        if names(&r.to, db, c) && losing[i] {
                            reads[i].push((r.to_path.clone(), ri, false));
                        }
                    }
                }
            }
            Item::BlockHeader {
                ns,
                namespace,
                first: true,
                ..
            } => {
                debug_assert_eq!(ns, ns_prelude.len());
                ns_prelude.push(namespace.prelude);
            }
            Item::Document { ns, raw, .. } => {
                let p = ns_prelude[ns];
                let filtered = filters.get(p).is_some_and(|f| !f.0.is_empty());
                if reads.get(p).is_none_or(Vec::is_empty) && !filtered {
                    continue;
                }
                let d = data.entry(p).or_insert_with(|| NsKeys {
                    values: vec![(Vec::new(), Vec::new()); reads[p].len()],
                    ..NsKeys::default()
                });
                d.docs += 1;
                let cut = if filtered {
                    // The limit counts matching documents only.
                    let f = &mut filters[p];
                    let ok = passes(raw, &f.0, &mut texts);
                    f.1 += u64::from(ok);
                    !ok || prelude[p].3.is_some_and(|m| f.1 > m)
                } else {
                    prelude[p].3.is_some_and(|m| d.docs > m)
                };
                if cut {
                    d.cut.insert(d.docs);
                }
                for ((path, ..), (vals, starts)) in reads[p].iter().zip(&mut d.values) {
                    starts.push(vals.len() as u64);
                    buf.clear();
                    values_at(raw, 0, raw.len(), path, &mut buf);
                    vals.extend_from_slice(&buf);
                }
            }
            Item::End => break,
            _ => {}
        }
    }
    // Limits cut namespaces that nothing references too.
    for (i, (.., kept, limit)) in prelude.iter().enumerate() {
        if *kept && limit.is_some() && !data.contains_key(&i) {
            data.insert(i, NsKeys::default());
        }
    }
    Ok(close(refs, &prelude, &reads, &active, data))
}

/// The removed documents: the limits' cut-offs, then every document whose reference names a
/// removed one, until nothing changes.
fn close(
    refs: &[Reference],
    prelude: &[(String, String, bool, Option<u64>)],
    reads: &[Vec<(Vec<String>, usize, bool)>],
    active: &[bool],
    data: HashMap<usize, NsKeys>,
) -> ArchiveSubset {
    let mut removed: HashMap<usize, RoaringTreemap> =
        data.iter().map(|(p, d)| (*p, d.cut.clone())).collect();
    let values = |d: &NsKeys, slot: usize, doc: usize| -> (usize, usize) {
        let (vals, starts) = &d.values[slot];
        let s = starts[doc] as usize;
        let e = starts.get(doc + 1).map_or(vals.len(), |x| *x as usize);
        (s, e)
    };
    let mut counts = vec![0u64; refs.len()];
    loop {
        let mut changed = false;
        for (ri, _) in refs.iter().enumerate().filter(|(ri, _)| active[*ri]) {
            let mut set = KeySet::default();
            for (p, d) in &data {
                let Some(slot) = reads[*p].iter().position(|(_, r, from)| *r == ri && !from) else {
                    continue;
                };
                for ord in removed.get(p).into_iter().flat_map(|r| r.iter()) {
                    let (s, e) = values(d, slot, (ord - 1) as usize);
                    d.values[slot].0[s..e].iter().for_each(|k| set.insert(*k));
                }
            }
            for (p, d) in &data {
                let Some(slot) = reads[*p].iter().position(|(_, r, from)| *r == ri && *from) else {
                    continue;
                };
                let r = removed.entry(*p).or_default();
                for doc in 0..d.docs as usize {
                    let ord = doc as u64 + 1;
                    if r.contains(ord) {
                        continue;
                    }
                    let (s, e) = values(d, slot, doc);
                    if d.values[slot].0[s..e].iter().any(|k| set.contains(*k)) {
                        r.insert(ord);
                        counts[ri] += 1;
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    let report = refs
        .iter()
        .zip(&counts)
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| format!("{}: {n} documents removed", r.label()))
        .collect();
    let removed = removed
        .into_iter()
        .filter(|(_, r)| !r.is_empty())
        .map(|(p, r)| (format!("{}.{}", prelude[p].0, prelude[p].1), r))
        .collect();
    ArchiveSubset::new(removed, report)
}
