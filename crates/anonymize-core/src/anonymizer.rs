//! The run-time object: resolves collections to plans and applies transforms, counting.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Mutex;

use crate::counts::RuleCounts;
use crate::echo::{EchoGuard, EchoHit, EchoSet};

use crate::key::KeyMode;
use crate::memo;
use crate::path::strict_prefix;
use crate::plan::{PlanNode, RuleId};
use crate::report::{CollectionUse, EchoReport, Report, RuleReport};
use crate::rules::RuleSet;
use crate::transform::{self, Digester, Outcome, Transform, Written};
use crate::value::{Replacement, Value};

/// Where a document or row sits in its collection or table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowContext {
    /// 1-based position of the document or row in its collection or table, in input order.
    pub ordinal: u64,
}

/// Why a collection or table is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExcludeReason {
    /// Named in `exclusions`.
    Excluded,
    /// A `collections:` list exists and does not name it.
    NotSelected,
}

/// What to do with a collection or table.
#[derive(Debug, Clone, Copy)]
pub enum Disposition<'a> {
    /// Drop it entirely: structure, data and everything that belongs to it.
    Exclude(ExcludeReason),
    /// Keep it, following the plan.
    Keep(CollectionPlan<'a>),
}

/// The rules that apply to one collection or table.
#[derive(Debug, Clone, Copy)]
pub struct CollectionPlan<'a> {
    root: Option<&'a PlanNode>,
    max_rows: Option<u64>,
    schema_only: bool,
}

impl<'a> CollectionPlan<'a> {
    /// The field rules' tree, or `None` when no field rule applies (copy rows verbatim).
    pub fn root(&self) -> Option<&'a PlanNode> {
        self.root
    }

    /// Keep only the first N documents or rows.
    pub fn max_rows(&self) -> Option<u64> {
        self.max_rows
    }

    /// Keep the structure, drop the data: SQL, the table's DDL; MongoDB, the collection's
    /// metadata and indexes (its documents and oplog writes are dropped).
    pub fn schema_only(&self) -> bool {
        self.schema_only
    }
}

/// A rules file cannot run in this configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `hmac` needs a key.
    #[error("the rule `{table}.{path}` uses `hmac`, which refuses to run without a key")]
    HmacWithoutKey {
        /// Table key.
        table: String,
        /// Field path.
        path: String,
    },
    /// Two rules where one path is a prefix of the other.
    #[error(
        "the rules `{table}.{path}` and `{table}.{other}` overlap: one path contains the other"
    )]
    OverlappingPaths {
        /// Table key.
        table: String,
        /// The later path.
        path: String,
        /// The earlier one it overlaps.
        other: String,
    },
}

/// The steps of each rule of one table.
type RuleSteps = Vec<(Vec<String>, RuleId)>;

struct CompiledRule {
    table: String,
    path: String,
    transform: Transform,
    /// Results are remembered per thread ([`crate::memo`]).
    memo: bool,
    counts: RuleCounts,
}

/// What the rules file says about one name; each aspect is optional so that a qualified
/// name can override a bare one aspect by aspect.
#[derive(Default)]
struct NameEntry {
    plan: Option<usize>,
    excluded: bool,
    max_rows: Option<u64>,
    filter: Option<usize>,
    schema_only: bool,
    selected: bool,
    uses: Vec<usize>,
}

/// Applies a [`RuleSet`] with a key. `Send + Sync`; every method takes `&self`.
///
/// See the [crate documentation](crate) for an example.
pub struct Anonymizer {
    digester: Digester,
    rules: Vec<CompiledRule>,
    plans: Vec<PlanNode>,
    /// `(qualified plan, bare plan)` -> the plan of both merged (qualified wins per path).
    merged: HashMap<(usize, usize), usize>,
    names: HashMap<String, NameEntry>,
    uses: Vec<(String, &'static str, AtomicBool)>,
    has_selection: bool,
    keep_dependents: bool,
    large_objects: Option<crate::LargeObjects>,
    references: Vec<crate::Reference>,
    filters: Vec<Vec<crate::Condition>>,
    /// Every table's `when:`, in file order (also at the root of its plans).
    whens: Vec<std::sync::Arc<crate::When>>,
    echo_guard: EchoGuard,
    /// rule -> field -> (rewritten, nulled) echoes; locked only when an echo is found.
    echoes: Mutex<HashMap<RuleId, EchoCounts>>,
}

/// Per field (as the report shows it): (rewritten, nulled) echoes of one rule.
type EchoCounts = HashMap<String, (u64, u64)>;

/// A field name as the echo report shows it: steps that do not look like field names (they
/// may come from the data, e.g. map keys holding e-mail addresses) become `<key>`.
fn report_field(field: &str) -> std::borrow::Cow<'_, str> {
    let step_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'-' | b'#'))
    };
    if field
        .split('.')
        .all(|step| step_ok(step.strip_suffix("[]").unwrap_or(step)))
    {
        // The common case, without allocating: every step is a field name.
        return std::borrow::Cow::Borrowed(field);
    }
    let shown = field
        .split('.')
        .map(|step| {
            let bare = step.strip_suffix("[]").unwrap_or(step);
            if step_ok(bare) {
                step.to_owned()
            } else {
                "<key>".to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(".");
    std::borrow::Cow::Owned(shown)
}

impl std::fmt::Debug for Anonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anonymizer")
            .field("keyed", &self.digester.is_keyed())
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

/// True for the transforms whose results [`memo`] remembers: their output is a pure function
/// of the key, the rule and the value (never of the row's ordinal), and computing it costs
/// more than a memo lookup (measured by the `transforms` bench: see README, "Performance").
fn memo_pays(t: &Transform) -> bool {
    matches!(
        t,
        Transform::Hash { .. }
            | Transform::Hmac { .. }
            | Transform::HashEmail { .. }
            | Transform::Fake { .. }
            | Transform::Digits
            | Transform::DateShift { .. }
    )
}

impl Anonymizer {
    /// Compiles `rules` for a run with `key`.
    pub fn new(rules: RuleSet, key: KeyMode) -> Result<Anonymizer, ConfigError> {
        let digester = Digester::new(&key);
        let mut anon = Anonymizer {
            digester,
            rules: Vec::new(),
            plans: Vec::new(),
            merged: HashMap::new(),
            names: HashMap::new(),
            uses: Vec::new(),
            has_selection: rules.collections.is_some(),
            keep_dependents: rules.keep_dependents,
            large_objects: rules.large_objects,
            echo_guard: rules.echo_guard,
            echoes: Mutex::new(HashMap::new()),
            references: rules.references.clone(),
            filters: Vec::new(),
            whens: Vec::new(),
        };
        let pairs = rules.qualified_pairs();
        // Per table: its plan index and its rules' steps, for merging below.
        let mut compiled: Vec<(usize, RuleSteps)> = Vec::new();
        for table in rules.tables {
            let mut root = PlanNode::default();
            let mut steps_of: RuleSteps = Vec::new();
            for field in table.fields {
                if matches!(field.transform, Transform::Hmac { .. }) && !anon.digester.is_keyed() {
                    return Err(ConfigError::HmacWithoutKey {
                        table: table.name,
                        path: field.path,
                    });
                }
                let id = RuleId(anon.rules.len() as u32);
                let steps = field.steps();
                if root.insert(&steps, id).is_err() {
                    let other = steps_of
                        .iter()
                        .find(|(s, _)| strict_prefix(s, &steps) || *s == steps)
                        .map(|(_, id)| anon.rules[id.index()].path.clone())
                        .unwrap_or_default();
                    return Err(ConfigError::OverlappingPaths {
                        table: table.name,
                        path: field.path,
                        other,
                    });
                }
                steps_of.push((steps, id));
                anon.rules.push(CompiledRule {
                    table: table.name.clone(),
                    path: field.path,
                    memo: memo_pays(&field.transform),
                    transform: field.transform,
                    counts: RuleCounts::default(),
                });
            }
            if !table.when.is_empty() {
                let when = std::sync::Arc::new(crate::When::new(table.name.clone(), table.when));
                root.set_when(Some(when.clone()));
                anon.whens.push(when);
            }
            let plan = anon.plans.len();
            anon.plans.push(root);
            anon.entry(&table.name, "rules").plan = Some(plan);
            compiled.push((plan, steps_of));
        }
        // A qualified key's fields merged with its bare key's: the qualified rule wins where
        // both name the same path; the bare key's other rules still apply.
        for (q, b) in pairs {
            let (q_plan, q_steps) = &compiled[q];
            let (b_plan, b_steps) = &compiled[b];
            let mut root = anon.plans[*q_plan].clone();
            // The qualified key's `when:` wins; without one, the bare key's applies.
            if root.when().is_none() {
                let bare_when = anon.plans[*b_plan].when_arc();
                root.set_when(bare_when);
            }
            for (steps, id) in b_steps {
                if q_steps.iter().any(|(s, _)| s == steps) {
                    continue;
                }
                if root.insert(steps, *id).is_err() {
                    let rule = &anon.rules[id.index()];
                    return Err(ConfigError::OverlappingPaths {
                        table: rule.table.clone(),
                        path: rule.path.clone(),
                        other: q_steps
                            .iter()
                            .find(|(s, _)| strict_prefix(s, steps))
                            .map(|(_, id)| anon.rules[id.index()].path.clone())
                            .unwrap_or_default(),
                    });
                }
            }
            anon.merged.insert((*q_plan, *b_plan), anon.plans.len());
            anon.plans.push(root);
        }
        for name in &rules.exclusions {
            anon.entry(name, "exclusions").excluded = true;
        }
        for limit in &rules.size_limits {
            let filter = (!limit.filter.is_empty()).then(|| {
                anon.filters.push(limit.filter.clone());
                anon.filters.len() - 1
            });
            let entry = anon.entry(&limit.name, "size_limits");
            entry.max_rows = Some(limit.max_rows);
            entry.filter = filter;
        }
        for name in &rules.schema_only {
            anon.entry(name, "schema_only").schema_only = true;
        }
        for name in rules.collections.iter().flatten() {
            anon.entry(name, "collections").selected = true;
        }
        Ok(anon)
    }

    fn entry(&mut self, name: &str, section: &'static str) -> &mut NameEntry {
        let use_index = self.uses.len();
        self.uses
            .push((name.to_owned(), section, AtomicBool::new(false)));
        let entry = self.names.entry(name.to_owned()).or_default();
        entry.uses.push(use_index);
        entry
    }

    /// What to do with collection or table `name`, optionally qualified by its database or
    /// schema `db`. A qualified key in the rules file (`db.name`) wins over a bare one, aspect
    /// by aspect (rules, exclusion, limit, schema-only, selection); when both have field rules,
    /// their field sets merge and the qualified key wins for a path both name.
    pub fn resolve(&self, db: Option<&str>, name: &str) -> Disposition<'_> {
        let qualified = db.and_then(|db| self.names.get(&format!("{db}.{name}")));
        let bare = self.names.get(name);
        for entry in [qualified, bare].into_iter().flatten() {
            for &u in &entry.uses {
                self.uses[u].2.store(true, Relaxed);
            }
        }
        let pick = |f: &dyn Fn(&NameEntry) -> bool| -> Option<&NameEntry> {
            qualified.filter(|e| f(e)).or(bare.filter(|e| f(e)))
        };
        if pick(&|e| e.excluded).is_some() {
            return Disposition::Exclude(ExcludeReason::Excluded);
        }
        if self.has_selection && pick(&|e| e.selected).is_none() {
            return Disposition::Exclude(ExcludeReason::NotSelected);
        }
        Disposition::Keep(CollectionPlan {
            root: self.plan_of(qualified, bare),
            max_rows: pick(&|e| e.max_rows.is_some()).and_then(|e| e.max_rows),
            schema_only: pick(&|e| e.schema_only).is_some(),
        })
    }

    /// The field plan for a qualified and a bare entry: merged when both have one.
    fn plan_of(
        &self,
        qualified: Option<&NameEntry>,
        bare: Option<&NameEntry>,
    ) -> Option<&PlanNode> {
        let q = qualified.and_then(|e| e.plan);
        let b = bare.and_then(|e| e.plan);
        let index = match (q, b) {
            (Some(q), Some(b)) => self.merged.get(&(q, b)).copied().unwrap_or(q),
            (q, b) => q.or(b)?,
        };
        Some(&self.plans[index]).filter(|root| root.has_children())
    }

    /// True when some collection or table may resolve to [`Disposition::Exclude`]: the rules
    /// have `exclusions` or a `collections:` list. Formats can skip work that only exclusion
    /// needs (e.g. holding back DDL to find what belongs to an excluded table).
    pub fn may_exclude(&self) -> bool {
        self.has_selection || self.names.values().any(|e| e.excluded)
    }

    /// True when the rules name no collection or table at all (no rules, exclusions, limits,
    /// schema-only or selection): every document or row passes unchanged. Formats use it to
    /// decide whether data they cannot attribute to a collection or table is an error.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// True when the rules drop some rows of a kept table or all rows of a kept table's
    /// definition: a `size_limits` entry or a `schema_only` table (what a subset that keeps
    /// references must follow).
    pub fn removes_rows(&self) -> bool {
        self.names
            .values()
            .any(|e| e.max_rows.is_some() || e.schema_only)
    }

    /// The `where` conditions of `name`'s size limit (a qualified key wins over a bare one),
    /// empty when it has none.
    pub fn filter_of(&self, db: Option<&str>, name: &str) -> &[crate::Condition] {
        let qualified = db.and_then(|db| self.names.get(&format!("{db}.{name}")));
        let bare = self.names.get(name);
        [qualified, bare]
            .into_iter()
            .flatten()
            .find(|e| e.max_rows.is_some())
            .and_then(|e| e.filter)
            .map_or(&[], |i| &self.filters[i][..])
    }

    /// True when some size limit has a `where`.
    pub fn has_filters(&self) -> bool {
        !self.filters.is_empty()
    }

    /// The rules file's declared references (MongoDB subsets).
    pub fn references(&self) -> &[crate::Reference] {
        &self.references
    }

    /// The row limit the rules give `name` in database `db` (`None`: no limit, or excluded).
    pub fn max_rows_of(&self, db: Option<&str>, name: &str) -> Option<u64> {
        match self.resolve(db, name) {
            Disposition::Keep(p) => p.max_rows(),
            Disposition::Exclude(_) => None,
        }
    }

    /// The rules file's `keep_dependents`: SQL objects of kept tables that depend on an
    /// excluded table are kept (by default they are dropped with it).
    pub fn keep_dependents(&self) -> bool {
        self.keep_dependents
    }

    /// The rules file's `large_objects` (SQL), if it says it.
    pub fn large_objects(&self) -> Option<crate::LargeObjects> {
        self.large_objects
    }

    /// The transform of a rule.
    pub fn transform(&self, rule: RuleId) -> &Transform {
        &self.rules[rule.index()].transform
    }

    /// True when the rule replaces a whole array at once (`null`, `remove`, `constant`,
    /// `keep`) rather than each of its elements.
    pub fn applies_to_whole_array(&self, rule: RuleId) -> bool {
        self.transform(rule).applies_to_whole_value()
    }

    /// Applies a rule to a value and counts what it did.
    ///
    /// A transform that cannot handle the value's type returns [`Replacement::Null`] (fail
    /// closed) and counts it; null input stays null unless the transform is `constant`
    /// (or `remove`, which removes the field).
    ///
    /// Allocates the replacement; [`apply_into`](Self::apply_into) writes into a reused buffer
    /// instead and gives the same results.
    pub fn apply(&self, rule: RuleId, value: Value<'_>, ctx: &RowContext) -> Replacement {
        // Empty until a transform writes text: scalar and null results allocate nothing.
        let mut buf = Vec::new();
        self.apply_into(rule, value, ctx, &mut buf)
            .to_replacement(&buf)
    }

    /// Like [`apply`](Self::apply), without allocating in the common case: text and binary
    /// results are written into `out` (cleared first; keep one buffer and reuse it), scalars
    /// are returned in the [`Written`].
    ///
    /// ```
    /// use anonymize_core::{Anonymizer, Disposition, KeyMode, RowContext, RuleSet, Value, Written};
    /// let rules = RuleSet::from_yaml("rules:\n  t:\n    fields:\n      name: sequential\n", "x.yaml")?;
    /// let anon = Anonymizer::new(rules, KeyMode::Unkeyed)?;
    /// let Disposition::Keep(plan) = anon.resolve(None, "t") else { unreachable!() };
    /// let rule = plan.root().unwrap().child(b"name").unwrap().rule().unwrap();
    /// let mut buf = Vec::new();
    /// let written = anon.apply_into(rule, Value::Str("John"), &RowContext { ordinal: 7 }, &mut buf);
    /// assert_eq!((written, &buf[..]), (Written::Str, &b"User7"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply_into(
        &self,
        rule: RuleId,
        value: Value<'_>,
        ctx: &RowContext,
        out: &mut Vec<u8>,
    ) -> Written {
        let compiled = &self.rules[rule.index()];
        let compute = |value: Value<'_>, out: &mut Vec<u8>| {
            transform::apply_into(&compiled.transform, &self.digester, value, ctx.ordinal, out)
        };
        let (replacement, outcome) = if compiled.memo {
            memo::memoised(
                self.digester.id(),
                rule.index(),
                value,
                out,
                compute,
                Outcome::Changed,
            )
        } else {
            compute(value, out)
        };
        compiled.counts.count(
            outcome != Outcome::Unchanged,
            outcome == Outcome::FailedClosed,
        );
        replacement
    }

    /// Where the calling thread's memo (module `memo`) of `rule` keeps its entries, when
    /// the rule's results are remembered and its table is on: a format that knows the values
    /// it will rewrite next prefetches their entries with it
    /// ([`MemoSlots::prefetch`](crate::MemoSlots::prefetch)), so that their lookups do
    /// not wait for memory. Ask again now and then (per batch of rows): tables move as they
    /// grow, and switch off and on. Changes no result and no count.
    pub fn memo_slots(&self, rule: RuleId) -> Option<crate::MemoSlots> {
        let compiled = self.rules.get(rule.index())?;
        compiled
            .memo
            .then(|| memo::slots(self.digester.id(), rule.index()))?
    }

    /// `(table, path, hits, misses)` of the calling thread's memo of recent results, per rule
    /// (see README, "Performance"): for measuring hit rates; both 0 for rules whose transform
    /// is not memoised or that saw no text value on this thread.
    #[doc(hidden)]
    pub fn memo_counts_this_thread(&self) -> Vec<(&str, &str, u64, u64)> {
        self.rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let (hits, misses) = memo::counts(self.digester.id(), i);
                (r.table.as_str(), r.path.as_str(), hits, misses)
            })
            .collect()
    }

    /// Counts a value a rule covered without calling [`apply`](Self::apply) (e.g. a format
    /// that drops a whole array for `remove`).
    pub fn record_seen(&self, rule: RuleId, changed: bool) {
        self.rules[rule.index()].counts.count(changed, false);
    }

    /// Counts a value a rule covered that a format replaced by null without calling
    /// [`apply`](Self::apply), because its type cannot hold what the rule expects (e.g. a
    /// scalar where the rule's path goes into a sub-document): seen, changed, failed closed.
    pub fn record_failed_closed(&self, rule: RuleId) {
        self.rules[rule.index()].counts.count(true, true);
    }

    /// The rules file's `echo_guard` settings.
    pub fn echo_guard(&self) -> EchoGuard {
        self.echo_guard
    }

    /// An empty [`EchoSet`] for this run's settings (one per stream or worker; cleared per
    /// document or row).
    pub fn echo_set(&self) -> EchoSet {
        EchoSet::new(self.echo_guard)
    }

    /// Counts one uncovered value `field` (a dotted field path, `[]` marking array elements,
    /// or a column name) in which the echo guard found a covered original (`hit`).
    pub fn record_echo(&self, hit: EchoHit, field: &str) {
        let mut echoes = self.echoes.lock().unwrap_or_else(|e| e.into_inner());
        let shown = report_field(field);
        let per_field = echoes.entry(hit.rule).or_default();
        // Allocates only for the first echo of a field.
        let counts = match per_field.get_mut(shown.as_ref()) {
            Some(counts) => counts,
            None => per_field.entry(shown.into_owned()).or_insert((0, 0)),
        };
        if hit.nulled {
            counts.1 += 1;
        } else {
            counts.0 += 1;
        }
    }

    /// A short keyed tag of `variant` for a `hash_email` rule (`None` for other transforms):
    /// six hex characters of a digest of the text under the rules' key. `hash_email`
    /// normalises an address (trimmed, lower-cased unless `case_sensitive`), so `Bob@x`,
    /// `bob@x` and ` bob@x` share one pseudonym; a format whose column tells such variants
    /// apart (a unique PostgreSQL `text`, a MySQL `_bin` column) appends this tag of the
    /// variant to the pseudonym's local part (`<hash>+<tag>.<domain hash>@...`), so the
    /// variants stay distinct and recognisably linked by their common `<hash>`.
    pub fn hash_email_variant_tag(&self, rule: RuleId, variant: &str) -> Option<String> {
        if !matches!(self.transform(rule), Transform::HashEmail { .. }) {
            return None;
        }
        let digest = self
            .digester
            .digest("hash_email/variant", &[variant.as_bytes()]);
        let mut out = Vec::with_capacity(6);
        crate::encoding::hex_to(&digest, 6, &mut out);
        String::from_utf8(out).ok()
    }

    /// The field path of a rule as written in the rules file (for error messages that must
    /// not name fields taken from the data).
    pub fn rule_path(&self, rule: RuleId) -> &str {
        &self.rules[rule.index()].path
    }

    /// True when transforms are keyed.
    pub fn is_keyed(&self) -> bool {
        self.digester.is_keyed()
    }

    /// What the rules did so far.
    pub fn report(&self) -> Report {
        Report {
            rules: self
                .rules
                .iter()
                .map(|r| {
                    let totals = r.counts.totals();
                    RuleReport {
                        table: r.table.clone(),
                        path: r.path.clone(),
                        transform: r.transform.name(),
                        values_seen: totals.seen,
                        values_changed: totals.changed,
                        failed_closed: totals.failed_closed,
                    }
                })
                .collect(),
            collections: self
                .uses
                .iter()
                .map(|(name, section, used)| CollectionUse {
                    name: name.clone(),
                    section,
                    matched: used.load(Relaxed),
                })
                .collect(),
            echoes: self.echo_report(),
            when_skipped: self
                .whens
                .iter()
                .map(|w| crate::WhenReport {
                    table: w.table().to_owned(),
                    rows_skipped: w.rows_skipped(),
                })
                .collect(),
        }
    }

    fn echo_report(&self) -> Vec<EchoReport> {
        let echoes = self.echoes.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<EchoReport> = echoes
            .iter()
            .flat_map(|(rule, fields)| fields.iter().map(move |(f, c)| (rule, f, c)))
            .map(|(rule, field, &(rewritten, nulled))| {
                let r = &self.rules[rule.index()];
                EchoReport {
                    table: r.table.clone(),
                    field: field.clone(),
                    echo_of: r.path.clone(),
                    rewritten,
                    nulled,
                }
            })
            .collect();
        out.sort_by(|a, b| (&a.table, &a.field, &a.echo_of).cmp(&(&b.table, &b.field, &b.echo_of)));
        out
    }
}
