//! What is known about the dump's relations: what the rules decide for each, their
//! definitions, and the ownerships statements told (partitions, sequences, indexes and
//! statistics, dropped tables), from which exclusions spread. No I/O.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use anonymize_core::{Anonymizer, Disposition, ExcludeReason, PlanNode};

use crate::ddl::{Column, CreateTable, TableDef};
use crate::stmt::{Derive, LateKind};
use crate::tally::Tally;
use crate::tokens::QName;
use crate::{Dialect, TableSummary};

/// How a table hangs below another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// A partition (`PARTITION OF`, `ATTACH PARTITION`).
    Partition,
    /// `INHERITS`.
    Inherits,
}

/// The rule node of column `name`: exact, or ignoring ASCII case where the dialect's column
/// names are case-insensitive (MySQL/MariaDB), as a run matches rules to columns.
pub fn column_node<'a>(
    root: Option<&'a PlanNode>,
    name: &str,
    dialect: Dialect,
) -> Option<&'a PlanNode> {
    let root = root?;
    root.child(name.as_bytes()).or_else(|| {
        if !dialect.case_insensitive_columns() {
            return None;
        }
        let key = root
            .child_names()
            .find(|k| k.eq_ignore_ascii_case(name.as_bytes()))?;
        root.child(key)
    })
}

/// MySQL credential tables (in the `mysql` database).
pub(crate) const CREDENTIAL_TABLES: &[&str] = &["global_priv", "user", "servers"];
/// MySQL/MariaDB statistics tables (in the `mysql` database).
pub(crate) const STATISTICS_TABLES: &[&str] = &[
    "column_stats",
    "index_stats",
    "table_stats",
    "innodb_table_stats",
    "innodb_index_stats",
];

/// Why rows without a column list cannot be read for an `INHERITS` child (`reason` from
/// [`Catalog::inherits_order_unknown`]), with advice. Shared by the rewriter and the reader.
pub(crate) fn unknown_order_message(reason: &str) -> String {
    format!(
        "rows without a column list for an INHERITS child whose column order the dump does not \
         record ({reason}): pg_dump --inserts writes the values in the source table's physical \
         order, which differs from the order of the CREATE TABLE when a parent gained a column \
         after the child was created (pg_dump's own restore then puts them into other columns), \
         so rules could be applied to the wrong values; dump with --column-inserts (or COPY)"
    )
}

/// Longest chain of parents followed (partitions of partitions...).
const MAX_DEPTH: usize = 32;

/// What the rules decide for the rows of one table, with what it inherits from the tables
/// above it (partitioned tables, `INHERITS` parents): each aspect (field rules, row limit,
/// schema-only) is the table's own when the rules name it for the table, else the nearest
/// parent's. A limit is counted over every table that shares it, rules' row ordinals over
/// every table that shares the rules.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TablePlan<'a> {
    root: Option<&'a PlanNode>,
    max_rows: Option<u64>,
    schema_only: bool,
    /// Row counter of the table whose rules apply.
    pub(crate) rule_counter: usize,
    /// Row counter of the table whose limit applies.
    pub(crate) limit_counter: usize,
}

impl<'a> TablePlan<'a> {
    /// The rules' tree of column paths, if any rule applies.
    pub(crate) fn root(&self) -> Option<&'a PlanNode> {
        self.root
    }

    /// The row limit.
    pub(crate) fn max_rows(&self) -> Option<u64> {
        self.max_rows
    }

    /// Rows are dropped, the DDL kept.
    pub(crate) fn schema_only(&self) -> bool {
        self.schema_only
    }

    /// The same plan without field rules (a subset's passes that write nothing).
    pub(crate) fn without_rules(self) -> TablePlan<'a> {
        TablePlan { root: None, ..self }
    }
}

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
    /// The tables each table hangs below.
    parents: HashMap<QName, Vec<(QName, Link)>>,
    /// Row counters by table (indexes into the tally's counters).
    counters: HashMap<QName, usize>,
    /// The current database (MySQL `USE`).
    current_db: Option<String>,
    /// The schema of unqualified names (PostgreSQL `search_path`).
    search_schema: Option<String>,
    /// The table of the last MySQL `LOCK TABLES`.
    locked: Option<QName>,
    /// The names in each partitioned table's `PARTITION BY (...)`.
    partition_keys: HashMap<QName, Vec<String>>,
    /// Composite types (`CREATE TYPE ... AS (...)`) and the typed tables `OF` them.
    types: HashMap<QName, Rc<TableDef>>,
    typed: HashMap<QName, QName>,
    /// Views (`CREATE VIEW`).
    views: HashSet<QName>,
    /// Sequences in `excluded_extra` because every table using them is excluded.
    seqs_excluded: HashSet<QName>,
    /// Foreign keys: the referencing table and the clause.
    pub(crate) foreign_keys: Vec<(QName, crate::ddl::ForeignKey)>,
    /// Objects dropped because they depend on an excluded table, for the summary.
    pub(crate) dependents_dropped: Vec<String>,
    /// Credentials are kept (`keep_users`).
    keep_users: bool,
    /// Cache of `any_excluded_table`: the number of known tables when it last said false.
    excluded_checked: Option<usize>,
    /// Rows and bytes per table.
    pub(crate) tally: Tally,
}

impl<'a> Catalog<'a> {
    /// An empty catalog.
    pub(crate) fn new(
        anon: &'a Anonymizer,
        dialect: Dialect,
        filter: Option<Vec<String>>,
        keep_users: bool,
    ) -> Self {
        Catalog {
            keep_users,
            views: HashSet::new(),
            seqs_excluded: HashSet::new(),
            foreign_keys: Vec::new(),
            types: HashMap::new(),
            typed: HashMap::new(),
            partition_keys: HashMap::new(),
            dependents_dropped: Vec::new(),
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
            // Without a `search_path`, PostgreSQL resolves unqualified names to `public`
            // (Adminer-style dumps name tables bare and set no path).
            search_schema: (dialect == Dialect::Postgres).then(|| "public".to_owned()),
            parents: HashMap::new(),
            counters: HashMap::new(),
            tally: Tally::default(),
        }
    }

    /// The schema of unqualified names: the current database in MySQL, the first schema of
    /// the `search_path` in PostgreSQL.
    pub(crate) fn default_schema(&self) -> Option<String> {
        if self.dialect.names_in_current_db() {
            self.current_db.clone()
        } else {
            self.search_schema.clone()
        }
    }

    /// Records a PostgreSQL `search_path`.
    pub(crate) fn set_search_schema(&mut self, schema: Option<String>) {
        self.search_schema = schema;
    }

    /// Records the database a dump's header names: it applies from where the header appears
    /// (concatenated dumps, `{ mysqldump a; mysqldump b; }`, have one header each).
    pub(crate) fn header_db(&mut self, db: String) {
        self.current_db = Some(db);
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
            let dropped =
                (!self.keep_users && self.is_credential_table(q)) || self.is_statistics_table(q);
            let disposition = if dropped {
                Disposition::Exclude(ExcludeReason::Excluded)
            } else {
                self.anon.resolve(q.schema.as_deref(), &q.name)
            };
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

    /// Whether `q` holds account credentials: MySQL's `mysql.global_priv` (MariaDB) and
    /// `mysql.user` (password hashes), `mysql.servers` (federated servers' passwords).
    pub(crate) fn is_credential_table(&self, q: &QName) -> bool {
        self.dialect.names_in_current_db()
            && q.schema.as_deref() == Some("mysql")
            && CREDENTIAL_TABLES.contains(&q.name.as_str())
    }

    /// Whether `q` is a statistics table whose rows may hold column values
    /// (`mysql.column_stats` keeps each analysed column's smallest and largest value):
    /// its rows are always dropped.
    pub(crate) fn is_statistics_table(&self, q: &QName) -> bool {
        self.dialect.names_in_current_db()
            && q.schema.as_deref() == Some("mysql")
            && STATISTICS_TABLES.contains(&q.name.as_str())
    }

    /// Records a `CREATE VIEW`.
    pub(crate) fn add_view(&mut self, view: QName) {
        self.views.insert(view);
    }

    /// Whether the dump defines `q` as a table or a view.
    pub(crate) fn is_known_relation(&self, q: &QName) -> bool {
        self.views.contains(q) || self.tables.get(q).is_some_and(|t| t.is_table)
    }

    /// Records a `CREATE TABLE`.
    pub(crate) fn define(&mut self, create: CreateTable) {
        let name = create.name;
        if let Some(of_type) = create.of_type {
            self.typed.insert(name.clone(), of_type);
        }
        if !create.partition_key.is_empty() {
            self.partition_keys
                .insert(name.clone(), create.partition_key.clone());
        }
        if let Some(parent) = create.partition_of {
            self.derive(Derive::PartitionOf {
                child: name.clone(),
                parent,
            });
        }
        for parent in create.inherits {
            self.derive(Derive::Inherits {
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

    /// The columns of `q`, if its `CREATE TABLE` was seen: a `PARTITION OF` partition has
    /// its parent's columns; an `INHERITS` child its parents' columns first, then its own.
    pub(crate) fn def(&mut self, q: &QName) -> Option<Rc<TableDef>> {
        self.def_at(q, 0)
    }

    /// A column of `table` whose type is the row type of an excluded table the dump
    /// defines (`a public.audit`): `(column, excluded table)`.
    pub(crate) fn row_type_of_excluded(&mut self, table: &QName) -> Option<(String, QName)> {
        let def = self.state(table).def.clone()?;
        let schema = table.schema.clone();
        for col in &def.columns {
            let first = col.type_name.split([' ', '(', '[']).next().unwrap_or("");
            let q = match first.rsplit_once('.') {
                Some((s, n)) => QName {
                    schema: Some(s.to_owned()),
                    name: n.to_owned(),
                },
                None => QName {
                    schema: schema.clone(),
                    name: first.to_owned(),
                },
            };
            if self.tables.get(&q).is_some_and(|t| t.is_table) && self.is_excluded(&q, true) {
                return Some((col.name.clone(), q));
            }
        }
        None
    }

    /// Why the positional order of `q`'s rows (`pg_dump --inserts`, no column list) is not
    /// known, if it is an `INHERITS` child whose order the dump does not record: pg_dump writes
    /// the values in the source table's physical column order, and its `CREATE TABLE` lists only
    /// the child's local columns after `INHERITS`, so the same DDL stands for different orders
    /// (a parent's column added after the child was created comes after the child's own
    /// columns in the source, before them on restore). The order is known only when the child
    /// lists no column of its own, at most one parent has columns, and that parent's order is
    /// known (a chain of such children under a plain table); the values then follow the
    /// topmost table's definition.
    pub(crate) fn inherits_order_unknown(&mut self, q: &QName) -> Option<String> {
        self.order_unknown_at(q, 0)
    }

    fn order_unknown_at(&mut self, q: &QName, depth: usize) -> Option<String> {
        let inherits: Vec<QName> = self
            .parents
            .get(q)
            .into_iter()
            .flatten()
            .filter(|(_, l)| *l == Link::Inherits)
            .map(|(p, _)| p.clone())
            .collect();
        if inherits.is_empty() {
            return None;
        }
        if depth >= MAX_DEPTH {
            return Some("its INHERITS chain is too deep".to_owned());
        }
        if self
            .state(q)
            .def
            .as_ref()
            .is_some_and(|d| !d.columns.is_empty())
        {
            return Some(format!(
                "{} is an INHERITS child that lists columns of its own",
                q.display()
            ));
        }
        let mut with_columns = Vec::new();
        for p in inherits {
            if self
                .def_at(&p, depth + 1)
                .is_some_and(|d| !d.columns.is_empty())
            {
                with_columns.push(p);
            }
        }
        if with_columns.len() > 1 {
            return Some(format!(
                "{} inherits columns from several parents",
                q.display()
            ));
        }
        let first = with_columns.pop();
        first.and_then(|p| self.order_unknown_at(&p, depth + 1))
    }

    /// Records a composite type.
    pub(crate) fn add_type(&mut self, name: QName, def: TableDef) {
        self.types.insert(name, Rc::new(def));
    }

    /// Whether `type_name` (a column's type as written, lowercase) names a composite type
    /// the dump defines (by its last name part).
    pub(crate) fn is_composite_type(&self, type_name: &str) -> bool {
        let first = type_name.split([' ', '(']).next().unwrap_or("");
        let name = first.rsplit('.').next().unwrap_or("").trim_matches('"');
        self.types.keys().any(|q| q.name.eq_ignore_ascii_case(name))
    }

    fn def_at(&mut self, q: &QName, depth: usize) -> Option<Rc<TableDef>> {
        let mut own = self.state(q).def.clone();
        // A typed table: its type's columns (its own list only adds options, `id WITH
        // OPTIONS NOT NULL`, and constraints).
        if let Some(def) = self.typed.get(q).and_then(|t| self.types.get(t)) {
            own = Some(def.clone());
        }
        let parents = self.parents.get(q).cloned().unwrap_or_default();
        if depth >= MAX_DEPTH || parents.is_empty() {
            return own;
        }
        let inherits: Vec<&QName> = parents
            .iter()
            .filter(|(_, l)| *l == Link::Inherits)
            .map(|(p, _)| p)
            .collect();
        if inherits.is_empty() {
            // A partition: its own columns when its CREATE TABLE listed them (pg_dump writes
            // partitions as tables, then ATTACH PARTITION), else its parent's.
            if own.as_ref().is_some_and(|d| !d.columns.is_empty()) {
                return own;
            }
            let parent = parents[0].0.clone();
            return self.def_at(&parent, depth + 1).or(own);
        }
        let mut columns: Vec<Column> = Vec::new();
        for parent in inherits {
            let def = self.def_at(parent, depth + 1)?;
            for c in &def.columns {
                if !columns.iter().any(|x| x.name == c.name) {
                    columns.push(c.clone());
                }
            }
        }
        for c in own.iter().flat_map(|d| d.columns.iter()) {
            if !columns.iter().any(|x| x.name == c.name) {
                columns.push(c.clone());
            }
        }
        Some(Rc::new(TableDef { columns }))
    }

    /// Records an ownership.
    pub(crate) fn derive(&mut self, d: Derive) {
        let link = match &d {
            Derive::PartitionOf { child, parent } => Some((child, parent, Link::Partition)),
            Derive::Inherits { child, parent } => Some((child, parent, Link::Inherits)),
            Derive::SeqOf { .. } | Derive::DependsOn { .. } => None,
        };
        if let Some((child, parent, link)) = link {
            let list = self.parents.entry(child.clone()).or_default();
            if !list.iter().any(|(p, _)| p == parent) {
                list.push((parent.clone(), link));
            }
        }
        self.derived.push(d);
    }

    /// The first table `q` hangs below.
    fn parent(&self, q: &QName) -> Option<&QName> {
        self.parents.get(q).and_then(|l| l.first()).map(|(p, _)| p)
    }

    /// The row counter of `q`.
    fn counter(&mut self, q: &QName) -> usize {
        if let Some(&c) = self.counters.get(q) {
            return c;
        }
        let c = self.tally.add_counter();
        self.counters.insert(q.clone(), c);
        c
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

    /// What the rules decide for the rows of `q` (with what it inherits from the tables
    /// above it); `None` when the rules exclude `q` itself.
    pub(crate) fn plan(&mut self, q: &QName) -> Option<TablePlan<'a>> {
        let Disposition::Keep(own) = self.state(q).disposition else {
            return None;
        };
        let (mut root, mut root_from) = (own.root(), q.clone());
        let (mut max_rows, mut max_from) = (own.max_rows(), q.clone());
        let mut schema_only = own.schema_only();
        let mut cur = q.clone();
        for _ in 0..MAX_DEPTH {
            let Some(parent) = self.parent(&cur).cloned() else {
                break;
            };
            if let Disposition::Keep(p) = self.state(&parent).disposition {
                if root.is_none() && p.root().is_some() {
                    (root, root_from) = (p.root(), parent.clone());
                }
                if max_rows.is_none() && p.max_rows().is_some() {
                    (max_rows, max_from) = (p.max_rows(), parent.clone());
                }
                schema_only |= p.schema_only();
            }
            cur = parent;
        }
        Some(TablePlan {
            root,
            max_rows,
            schema_only,
            rule_counter: self.counter(&root_from),
            limit_counter: self.counter(&max_from),
        })
    }

    /// A column of the partition key of `q` (or of a table above it) that `plan`'s rules
    /// rewrite: rewritten, its rows would land outside their partition on restore.
    pub(crate) fn partition_key_rule(&self, q: &QName, plan: &TablePlan<'_>) -> Option<String> {
        let root = plan.root()?;
        let mut cur = Some(q.clone());
        for _ in 0..MAX_DEPTH {
            let Some(t) = cur else { break };
            for key in self.partition_keys.get(&t).into_iter().flatten() {
                if column_node(Some(root), key, self.dialect).is_some() {
                    return Some(key.clone());
                }
            }
            cur = self.parent(&t).cloned();
        }
        None
    }

    /// Tables with rows whose rules cover columns but whose definition was never seen.
    pub(crate) fn undefined_tables(&mut self) -> Vec<String> {
        let mut names: Vec<QName> = self
            .tables
            .iter()
            .filter(|(_, t)| t.summary.is_some())
            .map(|(q, _)| q.clone())
            .collect();
        names.sort_by_key(|q| self.tables[q].summary);
        let mut out = Vec::new();
        for q in names {
            let ruled = !self.is_excluded(&q, true)
                && self
                    .plan(&q)
                    .is_some_and(|p| p.root().is_some() && !p.schema_only());
            if ruled && self.def(&q).is_none() {
                out.push(q.display());
            }
        }
        out
    }

    /// The row counter of `q` for rows passed without a plan of their own.
    pub(crate) fn own_counter(&mut self, q: &QName) -> usize {
        self.counter(q)
    }

    /// Whether `q` is dropped (excluded, not selected, or owned by such a table).
    /// `is_table`: the caller knows `q` is a table.
    pub(crate) fn is_excluded(&mut self, q: &QName, is_table: bool) -> bool {
        self.excluded_in_tree(q, is_table, 0)
    }

    /// A partition or `INHERITS` child is selected with the table above it, and dropped with
    /// it; only its own exclusion drops it alone.
    fn excluded_in_tree(&mut self, q: &QName, is_table: bool, depth: usize) -> bool {
        if self.excluded_extra.contains(q) {
            return true;
        }
        let own_exclusion = matches!(
            self.state(q).disposition,
            Disposition::Exclude(ExcludeReason::Excluded)
        );
        match self.parent(q).cloned() {
            Some(parent) if !own_exclusion && depth < MAX_DEPTH => {
                self.excluded_in_tree(&parent, true, depth + 1)
            }
            _ => self.is_excluded_own(q, is_table),
        }
    }

    /// Whether the rules or the selection drop `q` itself.
    fn is_excluded_own(&mut self, q: &QName, is_table: bool) -> bool {
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
        for _ in 0..MAX_DEPTH {
            let mut changed = false;
            // A sequence goes with its tables only when every table that owns or uses it
            // (`OWNED BY`, `DEFAULT nextval(...)`, identity) goes: another table's default
            // still needs it.
            let mut seq_tables: HashMap<QName, Vec<QName>> = HashMap::new();
            for d in &self.derived {
                if let Derive::SeqOf { seq, table } = d {
                    seq_tables
                        .entry(seq.clone())
                        .or_default()
                        .push(table.clone());
                }
            }
            // Decided again each time: a table read later may use a sequence dropped so far.
            for seq in std::mem::take(&mut self.seqs_excluded) {
                self.excluded_extra.remove(&seq);
            }
            for (seq, tables) in seq_tables {
                if !self.excluded_extra.contains(&seq)
                    && tables.iter().all(|t| self.is_excluded(t, true))
                {
                    self.excluded_extra.insert(seq.clone());
                    self.seqs_excluded.insert(seq);
                }
            }
            for d in self.derived.clone() {
                let (target, source) = match d {
                    Derive::PartitionOf { child, parent } => (child, parent),
                    Derive::Inherits { child, parent } => (child, parent),
                    Derive::DependsOn { dependent, on } => {
                        let on_table = !self.views.contains(&on);
                        if !self.excluded_extra.contains(&dependent)
                            && self.is_excluded(&on, on_table)
                        {
                            self.excluded_extra.insert(dependent.clone());
                            changed = true;
                            self.dependents_dropped.push(format!(
                                "view {} (reads excluded {})",
                                dependent.display(),
                                on.display()
                            ));
                        }
                        continue;
                    }
                    Derive::SeqOf { .. } => continue,
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

    /// Partitions and the table each is a partition of (a subset's foreign keys declared on a
    /// partitioned table hold for its partitions' rows).
    pub(crate) fn partition_links(&self) -> Vec<(QName, QName)> {
        let mut links: Vec<(QName, QName)> = self
            .parents
            .iter()
            .flat_map(|(c, l)| {
                l.iter()
                    .filter(|(_, k)| *k == Link::Partition)
                    .map(|(p, _)| (c.clone(), p.clone()))
            })
            .collect();
        links.sort_by_key(|(c, p)| (c.display(), p.display()));
        links
    }

    /// The relations the dump defined or wrote rows for.
    pub(crate) fn table_names(&self) -> Vec<QName> {
        let mut names: Vec<QName> = self.tables.keys().cloned().collect();
        names.sort_by_key(QName::display);
        names
    }
}
