//! Subsets that keep foreign keys valid.
//!
//! A row limit (`size_limits`), a `schema_only` table or an exclusion kept as a dependency
//! (`keep_dependents`) removes rows; rows that reference removed rows through a foreign key
//! of the dump are removed too, transitively (self-references and cycles included), so every
//! foreign key of the output holds and a limit stays a maximum. Dumps are not in dependency
//! order (pg_dump writes its foreign keys after the data), so a subset reads the dump three
//! times through the same statement loop, writing nothing the first two:
//!
//! 1. [`Mode::Schema`]: the foreign keys ([`fk`]) and, from the catalog, partitions (which
//!    share their parent's keys) and what the rules do to each table ([`graph`]);
//! 2. [`Mode::Keys`]: for the tables a removal can reach, each row's referenced and
//!    referencing keys ([`keys`]) and the rows a limit drops; then the closure
//!    ([`closure`]) gives every table's removed row ordinals;
//! 3. [`Mode::Apply`]: the real rewrite, dropping those rows.

pub(crate) mod closure;
pub(crate) mod fk;
pub(crate) mod graph;
pub(crate) mod keys;

use std::collections::HashMap;
use std::sync::Arc;

use roaring::RoaringTreemap;

use crate::tokens::QName;
use graph::Graph;
use keys::{Fields, Key, KeyReader};

/// What a subset removes: the 1-based row ordinals (in dump order, per table) of every
/// table that loses rows, and what each foreign key removed. Made by
/// [`crate::plan_subset`], applied by [`crate::rewrite_sql`] through
/// [`crate::SqlOptions::subset`].
#[derive(Debug, Default)]
pub struct SubsetPlan {
    /// Per table: its removed ordinals, and whether its `where` filter decides alone (its
    /// limit counted over matching rows only).
    tables: Vec<(QName, RoaringTreemap, bool)>,
    index: HashMap<QName, usize>,
    report: Vec<String>,
}

impl SubsetPlan {
    /// One line per foreign key that removed rows (`name (child(cols) -> parent(cols)): N
    /// rows removed`), then the foreign keys the rules made unusable; never a value.
    pub fn report(&self) -> &[String] {
        &self.report
    }

    /// Rows removed in all (limits' cut-offs included).
    pub fn rows_removed(&self) -> u64 {
        self.tables.iter().map(|(_, r, _)| r.len()).sum()
    }
}

/// The rows of one table read in pass 2.
#[derive(Debug, Default)]
pub(crate) struct TableKeys {
    /// Rows read.
    pub(crate) rows: u64,
    /// Ordinals the limit dropped.
    pub(crate) cut: RoaringTreemap,
    /// Per slot (a column list of [`Graph`]), each row's key.
    pub(crate) slots: Vec<Vec<Key>>,
}

/// Pass 2's state.
pub(crate) struct KeysPass {
    pub(crate) graph: Graph,
    pub(crate) data: HashMap<QName, TableKeys>,
    /// The table being read, its slots' field positions in the current statement, and the
    /// statement's column count.
    cur: Option<(QName, Vec<Vec<usize>>, usize)>,
    /// The current table's filter and its conditions' field positions.
    cur_filter: Option<(graph::Filter, Vec<usize>)>,
    /// Rows matching each filter so far, by the table it names.
    matched: HashMap<QName, u64>,
    reader: KeyReader,
    text: Vec<u8>,
}

/// Pass 3's state.
pub(crate) struct ApplyPass {
    plan: Arc<SubsetPlan>,
    ordinals: Vec<u64>,
    cur: Option<usize>,
}

impl ApplyPass {
    /// The plan's report, for the summary.
    pub(crate) fn report(&self) -> &[String] {
        self.plan.report()
    }
}

/// What the statement loop does for subsetting.
#[derive(Default)]
pub(crate) enum Mode {
    /// No subset.
    #[default]
    Off,
    /// Pass 1: foreign keys are collected; rows are not looked at.
    Schema(Vec<fk::ForeignKey>),
    /// Pass 2: keys of the tracked tables' rows are collected.
    Keys(Box<KeysPass>),
    /// Pass 3: removed rows are dropped.
    Apply(ApplyPass),
}

impl Mode {
    /// Pass 2 over what pass 1 learned.
    pub(crate) fn keys(graph: Graph) -> Mode {
        Mode::Keys(Box::new(KeysPass {
            graph,
            data: HashMap::new(),
            cur: None,
            cur_filter: None,
            matched: HashMap::new(),
            reader: KeyReader::default(),
            text: Vec::new(),
        }))
    }

    /// Pass 3 with `plan`.
    pub(crate) fn apply(plan: Arc<SubsetPlan>) -> Mode {
        let ordinals = vec![0; plan.tables.len()];
        Mode::Apply(ApplyPass {
            plan,
            ordinals,
            cur: None,
        })
    }

    /// No subset.
    pub(crate) fn is_off(&self) -> bool {
        matches!(self, Mode::Off)
    }

    /// A pass that writes nothing: rules are not applied.
    pub(crate) fn collecting(&self) -> bool {
        matches!(self, Mode::Schema(_) | Mode::Keys(_))
    }

    /// Pass 2: limits are counted row by row.
    pub(crate) fn counts_limits(&self) -> bool {
        matches!(self, Mode::Keys(_))
    }

    /// Pass 1.
    pub(crate) fn is_schema(&self) -> bool {
        matches!(self, Mode::Schema(_))
    }

    /// Records the foreign keys of a complete statement (pass 1).
    pub(crate) fn statement(
        &mut self,
        body: &[u8],
        syntax: crate::dialect::Syntax,
        ds: Option<&str>,
    ) {
        if let Mode::Schema(fks) = self {
            fks.extend(fk::foreign_keys(body, syntax, ds));
        }
    }

    /// The rows of `table` must be read one by one.
    pub(crate) fn wants_rows(&self, table: &QName) -> bool {
        match self {
            Mode::Off | Mode::Schema(_) => false,
            Mode::Keys(k) => k.graph.tracked(table),
            Mode::Apply(a) => a.plan.index.contains_key(table),
        }
    }

    /// Pass 2 needs the column names of `table`'s rows.
    pub(crate) fn needs_columns(&self, table: &QName) -> bool {
        matches!(self, Mode::Keys(k) if k.graph.tracked(table))
    }

    /// Rows of `table` follow, with these columns (pass 2, when [`Mode::needs_columns`]).
    /// The error names a column of a key the rows do not give.
    pub(crate) fn begin(
        &mut self,
        table: &QName,
        columns: Option<&[String]>,
    ) -> Result<(), String> {
        match self {
            Mode::Off | Mode::Schema(_) => Ok(()),
            Mode::Apply(a) => {
                a.cur = a.plan.index.get(table).copied();
                Ok(())
            }
            Mode::Keys(k) => {
                k.cur = None;
                k.cur_filter = None;
                let Some(slots) = k.graph.slots(table) else {
                    return Ok(());
                };
                let Some(columns) = columns else {
                    return Err("its rows have no column list and its CREATE TABLE was not seen: the keys of a subset cannot be read".into());
                };
                let ci = k.graph.case_insensitive();
                let same = |a: &str, b: &str| {
                    if ci {
                        a.eq_ignore_ascii_case(b)
                    } else {
                        a == b
                    }
                };
                let mut positions = Vec::with_capacity(slots.len());
                for slot in slots {
                    let mut pos = Vec::with_capacity(slot.len());
                    for col in slot {
                        match columns.iter().position(|c| same(c, col)) {
                            Some(p) => pos.push(p),
                            None => {
                                return Err(format!(
                                    "its rows do not give column `{col}`, part of a foreign key: the rows a subset removes cannot be told"
                                ))
                            }
                        }
                    }
                    positions.push(pos);
                }
                if let Some(f) = k.graph.filters.get(table) {
                    let mut pos = Vec::with_capacity(f.conditions.len());
                    for c in &f.conditions {
                        let [col] = &c.path[..] else {
                            return Err(format!(
                                "a `where` condition names `{}`: on a SQL table it names a column",
                                c.path.join(".")
                            ));
                        };
                        match columns.iter().position(|x| same(x, col)) {
                            Some(p) => pos.push(p),
                            None => {
                                return Err(format!(
                                    "its rows do not give column `{col}` of its `where` condition"
                                ))
                            }
                        }
                    }
                    k.cur_filter = Some((f.clone(), pos));
                }
                let data = k.data.entry(table.clone()).or_default();
                data.slots.resize_with(slots.len(), Vec::new);
                k.cur = Some((table.clone(), positions, columns.len()));
                Ok(())
            }
        }
    }

    /// Pass 2 needs the current row's fields.
    pub(crate) fn needs_fields(&self) -> bool {
        matches!(self, Mode::Keys(k) if k.cur.is_some())
    }

    /// One row of the table given to [`Mode::begin`]; `keep`: the limit keeps it. Returns
    /// whether the row is written; the error says that the row's values do not match its
    /// columns (its keys cannot be read).
    pub(crate) fn row(&mut self, keep: bool, fields: Option<Fields<'_>>) -> Result<bool, String> {
        match self {
            Mode::Off | Mode::Schema(_) => Ok(keep),
            Mode::Apply(a) => Ok(match a.cur {
                None => keep,
                Some(i) => {
                    a.ordinals[i] += 1;
                    let (_, removed, filtered) = &a.plan.tables[i];
                    (keep || *filtered) && !removed.contains(a.ordinals[i])
                }
            }),
            Mode::Keys(k) => {
                let Some((table, positions, width)) = &k.cur else {
                    return Ok(keep);
                };
                let values = fields.map_or(0, |f| f.len());
                if values != *width {
                    return Err(format!(
                        "a row has {values} values but its columns are {width}: the keys of a subset cannot be read"
                    ));
                }
                let dialect = k.graph.dialect();
                let Some(data) = k.data.get_mut(table) else {
                    return Ok(keep);
                };
                data.rows += 1;
                let cut = match (&k.cur_filter, fields) {
                    (Some((f, pos)), Some(fields)) => {
                        let text = &mut k.text;
                        let matches = f.conditions.iter().zip(pos).all(|(c, &p)| {
                            let v = keys::decode(fields, p, text)
                                .then(|| String::from_utf8_lossy(text).into_owned());
                            c.matches(v.as_deref())
                        });
                        let n = k.matched.entry(f.owner.clone()).or_default();
                        *n += u64::from(matches);
                        !matches || *n > f.max_rows
                    }
                    _ => !keep,
                };
                if cut {
                    data.cut.insert(data.rows);
                }
                for (slot, pos) in data.slots.iter_mut().zip(positions) {
                    let key = match fields {
                        Some(f) => k.reader.key(f, pos, dialect),
                        None => keys::NONE,
                    };
                    slot.push(key);
                }
                Ok(keep)
            }
        }
    }
}
