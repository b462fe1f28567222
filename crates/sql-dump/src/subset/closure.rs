//! The removed rows: the limits' cut-offs, then every row whose foreign key names a removed
//! row, until nothing changes.

use std::collections::HashMap;

use roaring::RoaringTreemap;

use super::keys::{KeySet, NONE};
use super::{KeysPass, SubsetPlan};
use crate::tokens::QName;

/// Computes the plan from pass 2's keys.
pub(crate) fn close(pass: KeysPass) -> SubsetPlan {
    let KeysPass { graph, data, .. } = pass;
    let mut removed: HashMap<QName, RoaringTreemap> = data
        .iter()
        .map(|(q, t)| (q.clone(), t.cut.clone()))
        .collect();
    let mut counts = vec![0u64; graph.keys.len()];
    loop {
        let mut changed = false;
        for (ki, key) in graph.keys.iter().enumerate() {
            let mut set = KeySet::default();
            for (p, slot) in &key.parents {
                if let (Some(t), Some(r)) = (data.get(p), removed.get(p)) {
                    for ord in r.iter() {
                        if let Some(&k) = t.slots[*slot].get((ord - 1) as usize) {
                            set.insert(k);
                        }
                    }
                }
            }
            for (c, slot) in &key.children {
                let Some(t) = data.get(c) else { continue };
                // A self-reference: rows removed now remove their own referencing rows in
                // the same scan when those come later in the dump.
                let own_parent = key.parents.iter().find(|(p, _)| p == c).map(|(_, s)| *s);
                let r = removed.entry(c.clone()).or_default();
                for (i, &k) in t.slots[*slot].iter().enumerate() {
                    let ord = i as u64 + 1;
                    if k == NONE || r.contains(ord) || !(key.all_removed || set.contains(k)) {
                        continue;
                    }
                    r.insert(ord);
                    counts[ki] += 1;
                    changed = true;
                    if let Some(ps) = own_parent {
                        if let Some(&pk) = t.slots[ps].get(i) {
                            set.insert(pk);
                        }
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    let mut report: Vec<String> = graph
        .keys
        .iter()
        .zip(&counts)
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{}: {n} rows removed", k.label))
        .collect();
    report.sort();
    let mut tables: Vec<(QName, RoaringTreemap, bool)> = removed
        .into_iter()
        .filter(|(_, r)| !r.is_empty())
        .map(|(q, r)| {
            let filtered = graph.filters.contains_key(&q);
            (q, r, filtered)
        })
        .collect();
    tables.sort_by_key(|(q, ..)| q.display());
    let index = tables
        .iter()
        .enumerate()
        .map(|(i, (q, ..))| (q.clone(), i))
        .collect();
    SubsetPlan {
        tables,
        index,
        report,
    }
}
