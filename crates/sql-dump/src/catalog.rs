//! What is known about the dump's relations: what the rules decide for each, their
//! definitions, and the ownerships statements told (partitions, sequences, indexes and
//! statistics, dropped tables), from which exclusions spread. No I/O.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use anonymize_core::{Anonymizer, CollectionPlan, Disposition, ExcludeReason};

use crate::ddl::{CreateTable, TableDef};
use crate::stmt::{Derive, LateKind};
use crate::tally::Tally;
use crate::tokens::QName;
use crate::{Dialect, TableSummary};

/// What is known about one relation.
struct TableState<'a> {
    disposition: Disposition<'a>,
    def: Option<Rc<TableDef>>,
    is_table: bool,
    summary: Option<usize>,
}

/// The relations of one dump.
pub(crate) struct Catalog<'a> {
    anon: &'a Anonymizer,
    dialect: Dialect,
    /// `collections` selection: only these tables are kept.
    filter: Option<Vec<String>>,
    tables: HashMap<QName, TableState<'a>>,
    derived: Vec<Derive>,
    derived_seen: usize,
    excluded_extra: HashSet<QName>,
    index_table: HashMap<QName, QName>,
    /// Extended statistics and their tables (PostgreSQL `CREATE STATISTICS`).
    stats_table: HashMap<QName, QName>,
    /// Tables named by PostgreSQL `DROP TABLE` statements.
    dropped_tables: HashSet<QName>,
    /// The current database (MySQL `USE`).
    current_db: Option<String>,
    /// The table of the last MySQL `LOCK TABLES`.
    locked: Option<QName>,
    /// Cache of `any_excluded_table`: the number of known tables when it last said false.
    excluded_checked: Option<usize>,
    /// Rows and bytes per table.
    pub(crate) tally: Tally,
}

impl<'a> Catalog<'a> {
    /// An empty catalog.
    pub(crate) fn new(anon: &'a Anonymizer, dialect: Dialect, filter: Option<Vec<String>>) -> Self {
        Catalog {
            anon,
            dialect,
            filter,
            tables: HashMap::new(),
            derived: Vec::new(),
            derived_seen: 0,
            excluded_extra: HashSet::new(),
            index_table: HashMap::new(),
            stats_table: HashMap::new(),
            dropped_tables: HashSet::new(),
            excluded_checked: None,
            current_db: None,
            locked: None,
            tally: Tally::default(),
        }
    }

    /// The schema of unqualified names: the current database in MySQL.
    pub(crate) fn default_schema(&self) -> Option<String> {
        if self.dialect.names_in_current_db() {
            self.current_db.clone()
        } else {
            None
        }
    }

    /// Records `USE db`.
    pub(crate) fn use_db(&mut self, db: String) {
        self.current_db = Some(db);
    }

    /// Records `LOCK TABLES t`.
    pub(crate) fn lock(&mut self, table: Option<QName>) {
        self.locked = table;
    }

    /// `UNLOCK TABLES`: the table locked.
    pub(crate) fn unlock(&mut self) -> Option<QName> {
        self.locked.take()
    }

    /// Whether anything may be dropped: rules exclude something, or a selection applies.
    pub(crate) fn may_exclude(&self) -> bool {
        self.anon.may_exclude() || self.filter.is_some()
    }

    fn state(&mut self, q: &QName) -> &mut TableState<'a> {
        if !self.tables.contains_key(q) {
            let disposition = self.anon.resolve(q.schema.as_deref(), &q.name);
            self.tables.insert(
                q.clone(),
                TableState {
                    disposition,
                    def: None,
                    is_table: false,
                    summary: None,
                },
            );
        }
        self.tables.get_mut(q).expect("inserted")
    }

    /// Records a `CREATE TABLE`.
    pub(crate) fn define(&mut self, create: CreateTable) {
        let name = create.name;
        if let Some(parent) = create.partition_of {
            self.derived.push(Derive::PartitionOf {
                child: name.clone(),
                parent,
            });
        }
        for seq in create.sequences {
            self.derived.push(Derive::SeqOf {
                seq,
                table: name.clone(),
            });
        }
        let state = self.state(&name);
        state.def = Some(Rc::new(create.def));
        state.is_table = true;
    }

    /// The definition of `q`, if its `CREATE TABLE` was seen.
    pub(crate) fn def(&mut self, q: &QName) -> Option<Rc<TableDef>> {
        self.state(q).def.clone()
    }

    /// Records an ownership.
    pub(crate) fn derive(&mut self, d: Derive) {
        self.derived.push(d);
    }

    /// Records that index or statistics `name` belongs to `table`.
    pub(crate) fn name_owner(&mut self, kind: LateKind, name: QName, table: QName) {
        match kind {
            LateKind::Index => self.index_table.insert(name, table),
            LateKind::Statistics => self.stats_table.insert(name, table),
        };
    }

    /// The table of index or statistics `name`, if known.
    pub(crate) fn owner_of(&self, kind: LateKind, name: &QName) -> Option<&QName> {
        match kind {
            LateKind::Index => self.index_table.get(name),
            LateKind::Statistics => self.stats_table.get(name),
        }
    }

    /// Records a PostgreSQL `DROP TABLE`.
    pub(crate) fn dropped(&mut self, table: QName) {
        self.dropped_tables.insert(table);
    }

    /// Whether `DROP TABLE` named `table`.
    pub(crate) fn was_dropped(&self, table: &QName) -> bool {
        self.dropped_tables.contains(table)
    }

    /// The index of `q`'s summary (created on first use).
    pub(crate) fn summary(&mut self, q: &QName) -> usize {
        if let Some(i) = self.state(q).summary {
            return i;
        }
        let excluded = self.is_excluded(q, true);
        let schema_only = self.plan(q).is_some_and(|p| p.schema_only());
        let i = self.tally.add(TableSummary {
            table: q.display(),
            rows_in: 0,
            rows_out: 0,
            bytes_in: 0,
            bytes_out: 0,
            excluded,
            schema_only,
        });
        self.state(q).summary = Some(i);
        i
    }

    /// The rules' plan for `q`, `None` when excluded.
    pub(crate) fn plan(&mut self, q: &QName) -> Option<CollectionPlan<'a>> {
        match self.state(q).disposition {
            Disposition::Keep(p) => Some(p),
            Disposition::Exclude(_) => None,
        }
    }

    /// Whether `q` is dropped (excluded, not selected, or owned by such a table).
    /// `is_table`: the caller knows `q` is a table.
    pub(crate) fn is_excluded(&mut self, q: &QName, is_table: bool) -> bool {
        if self.excluded_extra.contains(q) {
            return true;
        }
        let all_tables = self.dialect.every_relation_is_table();
        let state = self.state(q);
        let table_like = all_tables || is_table || state.is_table;
        match state.disposition {
            Disposition::Exclude(ExcludeReason::Excluded) => true,
            Disposition::Exclude(ExcludeReason::NotSelected) => table_like,
            Disposition::Keep(_) => match &self.filter {
                Some(list) if table_like => !list
                    .iter()
                    .any(|n| *n == q.name || Some(n.as_str()) == Some(&q.display()[..])),
                _ => false,
            },
        }
    }

    /// Spreads exclusions along the ownerships recorded since the last call.
    pub(crate) fn apply_derivations(&mut self) {
        if self.derived_seen == self.derived.len() {
            return;
        }
        self.derived_seen = self.derived.len();
        loop {
            let mut changed = false;
            for d in self.derived.clone() {
                let (target, source) = match d {
                    Derive::PartitionOf { child, parent } => (child, parent),
                    Derive::SeqOf { seq, table } => (seq, table),
                };
                if !self.excluded_extra.contains(&target) && self.is_excluded(&source, true) {
                    self.excluded_extra.insert(target);
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// Whether a table the dump defines or drops is excluded (so that a name-only `DROP` may
    /// belong to one). Recomputed only when tables were added since it last said no.
    pub(crate) fn any_excluded_table(&mut self) -> bool {
        if self.filter.is_some() {
            return true;
        }
        let known = self.tables.len() + self.dropped_tables.len();
        if self.excluded_checked == Some(known) {
            return false;
        }
        let mut names: Vec<QName> = self
            .tables
            .iter()
            .filter(|(_, t)| t.is_table)
            .map(|(q, _)| q.clone())
            .collect();
        names.extend(self.dropped_tables.iter().cloned());
        if names.iter().any(|q| self.is_excluded(q, true)) {
            return true;
        }
        self.excluded_checked = Some(known);
        false
    }
}
