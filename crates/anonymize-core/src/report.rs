//! What the rules did during a run, for summaries and `--strict`.

use serde::Serialize;

/// Counters of one field rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleReport {
    /// The collection or table key as written in the rules file.
    pub table: String,
    /// The field path as written.
    pub path: String,
    /// The transform's name.
    pub transform: &'static str,
    /// Values the rule was applied to (null values included).
    pub values_seen: u64,
    /// Values it rewrote.
    pub values_changed: u64,
    /// Values of a type the transform cannot handle, replaced by null (fail closed).
    pub failed_closed: u64,
}

/// Whether a name from the rules file matched any collection or table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionUse {
    /// The name as written.
    pub name: String,
    /// Where it was written: `rules`, `exclusions`, `size_limits`, `collections` or `schema_only`.
    pub section: &'static str,
    /// True when some collection or table in the dump resolved to it.
    pub matched: bool,
}

/// Copies of covered values the echo guard found in one uncovered field or column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EchoReport {
    /// The collection or table key (as written in the rules file) of the rule whose
    /// original value was found.
    pub table: String,
    /// The uncovered field (dotted, `[]` for array elements) or column holding the copies.
    /// Names that do not look like field names (they may come from the data, e.g. map keys)
    /// are shown as `<key>`.
    pub field: String,
    /// The path of the rule whose original was found (the first one in the value).
    pub echo_of: String,
    /// Values rewritten with the pseudonym.
    pub rewritten: u64,
    /// Values replaced by null.
    pub nulled: u64,
}

/// Rows or documents a table's `when:` kept from its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhenReport {
    /// The collection or table key as written in the rules file.
    pub table: String,
    /// Rows or documents left with their original values because a condition was false.
    pub rows_skipped: u64,
}

/// Everything the rules did in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// One entry per field rule, in file order.
    pub rules: Vec<RuleReport>,
    /// One entry per name in the rules file.
    pub collections: Vec<CollectionUse>,
    /// Echoes of covered values in uncovered fields or columns (issue 18.9), sorted.
    pub echoes: Vec<EchoReport>,
    /// Per table with a `when:`, in file order: rows its conditions kept from the rules.
    pub when_skipped: Vec<WhenReport>,
}

impl Report {
    /// Field rules that never saw a value: usually a typo that leaks data.
    pub fn unmatched_rules(&self) -> impl Iterator<Item = &RuleReport> {
        self.rules.iter().filter(|r| r.values_seen == 0)
    }

    /// Values the echo guard rewrote or nulled.
    pub fn echo_count(&self) -> u64 {
        self.echoes.iter().map(|e| e.rewritten + e.nulled).sum()
    }

    /// Names in the rules file that matched no collection or table.
    pub fn unmatched_collections(&self) -> impl Iterator<Item = &CollectionUse> {
        self.collections.iter().filter(|c| !c.matched)
    }
}
