//! What pass 1 learned, made into the tables and keys pass 2 reads: the foreign keys whose
//! referenced rows a removal can reach, each spread over the partitions of its tables.

use std::collections::{HashMap, HashSet};

use crate::catalog::Catalog;
use crate::tokens::QName;
use crate::Dialect;

use super::fk::ForeignKey;

/// A table and one of its slots (column lists read in pass 2).
pub(crate) type End = (QName, usize);

/// A foreign key a removal can reach.
#[derive(Debug)]
pub(crate) struct ActiveKey {
    /// For summaries.
    pub(crate) label: String,
    /// The tables whose rows reference (the declaring table and its partitions).
    pub(crate) children: Vec<End>,
    /// The tables whose rows are referenced and may be removed.
    pub(crate) parents: Vec<End>,
    /// Some referenced table loses all its rows (`schema_only`, or excluded while its
    /// dependents are kept): every non-NULL reference is removed.
    pub(crate) all_removed: bool,
}

/// A `where` filter on a table's rows (its own, or its partitioned parent's).
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    /// The table the rules name: rows of its partitions count towards one limit.
    pub(crate) owner: QName,
    /// The limit (`u64::MAX`: none).
    pub(crate) max_rows: u64,
    /// The conditions, all of which a kept row matches.
    pub(crate) conditions: Vec<anonymize_core::Condition>,
}

/// The tables and keys of a subset.
#[derive(Debug)]
pub(crate) struct Graph {
    dialect: Dialect,
    /// Filtered tables.
    pub(crate) filters: HashMap<QName, Filter>,
    /// Column lists read per table.
    slots: HashMap<QName, Vec<Vec<String>>>,
    /// The foreign keys a removal can reach.
    pub(crate) keys: Vec<ActiveKey>,
}

impl Graph {
    /// The graph of `fks` under what the catalog (after a whole pass) knows.
    pub(crate) fn build(
        fks: Vec<ForeignKey>,
        cat: &mut Catalog<'_>,
        anon: &anonymize_core::Anonymizer,
        dialect: Dialect,
    ) -> Graph {
        let keep_dependents = anon.keep_dependents();
        cat.apply_derivations();
        let mut below: HashMap<QName, Vec<QName>> = HashMap::new();
        for (child, parent) in cat.partition_links() {
            below.entry(parent).or_default().push(child);
        }
        let family = |q: &QName| {
            let mut out = vec![q.clone()];
            let mut i = 0;
            while i < out.len() && out.len() < 100_000 {
                for c in below.get(&out[i]).into_iter().flatten() {
                    if !out.contains(c) {
                        out.push(c.clone());
                    }
                }
                i += 1;
            }
            out
        };
        let mut names: HashSet<QName> = cat.table_names().into_iter().collect();
        for fk in &fks {
            names.insert(fk.child.clone());
            names.insert(fk.parent.clone());
        }
        let mut gone = HashSet::new(); // rows not written at all
        let mut all_removed = HashSet::new(); // not written, yet referenced by kept keys
        let mut dropped_with = HashSet::new(); // excluded with their foreign keys
        let mut seeds = HashSet::new();
        for q in &names {
            let excluded = cat.is_excluded(q, true);
            let plan = cat.plan(q);
            let schema_only = plan.is_some_and(|p| p.schema_only());
            if excluded || schema_only {
                gone.insert(q.clone());
                if schema_only || keep_dependents {
                    all_removed.insert(q.clone());
                } else {
                    dropped_with.insert(q.clone());
                }
            } else if plan.is_some_and(|p| p.max_rows().is_some()) {
                seeds.insert(q.clone());
            }
        }
        // `where` filters, spread over the partitions of the table they name.
        let mut filters: HashMap<QName, Filter> = HashMap::new();
        for q in &names {
            let conditions = anon.filter_of(q.schema.as_deref(), &q.name);
            if conditions.is_empty() || !seeds.contains(q) {
                continue;
            }
            let filter = Filter {
                owner: q.clone(),
                max_rows: anon
                    .max_rows_of(q.schema.as_deref(), &q.name)
                    .unwrap_or(u64::MAX),
                conditions: conditions.to_vec(),
            };
            for member in family(q) {
                if seeds.contains(&member) {
                    filters.entry(member).or_insert_with(|| filter.clone());
                }
            }
        }
        // Each key over the physical tables: (children, parents), kept ones only.
        let spread: Vec<(Vec<QName>, Vec<QName>)> = fks
            .iter()
            .map(|fk| {
                let children = family(&fk.child)
                    .into_iter()
                    .filter(|c| !gone.contains(c))
                    .collect();
                let parents = family(&fk.parent);
                (children, parents)
            })
            .collect();
        let usable = |i: usize| {
            !spread[i].0.is_empty() && !spread[i].1.iter().any(|p| dropped_with.contains(p))
        };
        // Tables that can lose rows: seeds, and children of keys whose parents can.
        let mut affected: HashSet<QName> = seeds.iter().chain(&all_removed).cloned().collect();
        loop {
            let mut changed = false;
            for (i, (children, parents)) in spread.iter().enumerate() {
                if usable(i) && parents.iter().any(|p| affected.contains(p)) {
                    for c in children {
                        changed |= affected.insert(c.clone());
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let ci = dialect.case_insensitive_columns();
        let mut slots: HashMap<QName, Vec<Vec<String>>> = HashMap::new();
        let mut slot = |q: &QName, cols: &[String]| {
            let list = slots.entry(q.clone()).or_default();
            let same = |a: &Vec<String>| {
                a.len() == cols.len()
                    && a.iter().zip(cols).all(|(x, y)| {
                        if ci {
                            x.eq_ignore_ascii_case(y)
                        } else {
                            x == y
                        }
                    })
            };
            match list.iter().position(same) {
                Some(k) => k,
                None => {
                    list.push(cols.to_vec());
                    list.len() - 1
                }
            }
        };
        let mut keys = Vec::new();
        for (i, fk) in fks.iter().enumerate() {
            let (children, parents) = &spread[i];
            if !usable(i) || !parents.iter().any(|p| affected.contains(p)) {
                continue;
            }
            let children = children
                .iter()
                .map(|c| (c.clone(), slot(c, &fk.child_cols)))
                .collect();
            let read: Vec<End> = parents
                .iter()
                .filter(|p| affected.contains(*p) && !all_removed.contains(*p))
                .map(|p| (p.clone(), slot(p, &fk.parent_cols)))
                .collect();
            keys.push(ActiveKey {
                label: fk.label(),
                children,
                parents: read,
                all_removed: parents.iter().any(|p| all_removed.contains(p)),
            });
        }
        // Filtered tables are read row by row even when no key reaches them.
        for q in filters.keys() {
            slots.entry(q.clone()).or_default();
        }
        Graph {
            dialect,
            filters,
            slots,
            keys,
        }
    }

    /// Pass 2 reads the rows of `q`.
    pub(crate) fn tracked(&self, q: &QName) -> bool {
        self.slots.contains_key(q)
    }

    /// The column lists read from `q`'s rows.
    pub(crate) fn slots(&self, q: &QName) -> Option<&[Vec<String>]> {
        self.slots.get(q).map(Vec::as_slice)
    }

    /// Column names compare ignoring ASCII case.
    pub(crate) fn case_insensitive(&self) -> bool {
        self.dialect.case_insensitive_columns()
    }

    /// The dump's dialect.
    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }
}
