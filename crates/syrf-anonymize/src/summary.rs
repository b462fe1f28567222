//! The end-of-run summary: stderr text and the `--report` JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anonymize_core::{EchoReport, Report, RuleReport};
use serde::Serialize;

/// Runs shorter than this get no MB/s figure: it would measure start-up, not throughput.
const MIN_SECONDS_FOR_RATE: f64 = 0.25;

/// Documents or rows of one collection or table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CollectionCounts {
    /// `db.collection`, `schema.table` or `table`.
    pub name: String,
    /// What happened to it: `kept`, `limited` (by `size_limits`), `excluded`, `not selected`,
    /// `schema only`, `dropped (users/roles...)`, `dropped (credentials...)` (SQL credential
    /// tables), `dropped (--oplog drop)`.
    pub action: String,
    /// Documents or rows read.
    pub documents_in: u64,
    /// Documents or rows written.
    pub documents_out: u64,
    /// MongoDB: document keys containing a `.` that shadow a rule path (`{"FullName.First":
    /// ...}` beside a rule `FullName.First`, which names a sub-document's field): no rule
    /// reached their values. A rule names such a key with an escaped dot (`FullName\.First`).
    pub shadowing_keys: u64,
    /// The paths of the rules those keys shadow, as written in the rules file (never a key
    /// from the data).
    pub shadowed_rules: Vec<String>,
    /// A sample of the top-level field names seen (MongoDB, collections with rules), for
    /// suggestions; not in the report, since names can come from the data.
    #[serde(skip)]
    pub(crate) field_names: Vec<String>,
}

/// What a SQL run dropped, or could not check, beyond the per-table counts (all empty for
/// MongoDB archives). Never holds a value from the data.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SqlFindings {
    /// What was dropped as credentials (credential tables, account statements, role
    /// passwords), one line each; empty with `--keep-users`.
    pub credentials_dropped: Vec<String>,
    /// Objects of kept tables dropped with an excluded table they depend on (foreign keys,
    /// views, rules, triggers, policies), so that the output restores into an empty database.
    pub dependents_dropped: Vec<String>,
    /// Rows a subset removed because a foreign key named a removed row (size limits,
    /// `schema_only`), one line per foreign key with its count.
    pub subset_removed: Vec<String>,
    /// Tables with field rules whose `CREATE TABLE` the dump did not hold (data-only dumps):
    /// their generated columns, which may copy covered values, cannot be recognised
    /// (a `--strict` failure).
    pub undefined_tables: Vec<String>,
    /// PostgreSQL large objects (`pg_dump -b`) in the dump; no field rule covers them.
    pub large_objects: u64,
    /// What was done with them: `kept`, `emptied` or `dropped` (the rules file's
    /// `large_objects:`), or `kept (not named by the rules)`; `None` when there were none.
    pub large_objects_action: Option<&'static str>,
    /// Large objects were kept without the rules file naming them (a `--strict` failure).
    pub large_objects_unreviewed: bool,
}

impl SqlFindings {
    /// The `--strict` problems among these findings, one entry each.
    fn strict_problems(&self) -> Vec<String> {
        let mut parts = Vec::new();
        if !self.undefined_tables.is_empty() {
            parts.push(format!(
                "tables with rules whose CREATE TABLE was not in the dump (generated columns cannot be recognised): {}",
                self.undefined_tables.join(", ")
            ));
        }
        if self.large_objects_unreviewed {
            parts.push(format!(
                "{} large object{} kept although the rules file does not name them (`large_objects: keep | empty | drop`)",
                self.large_objects,
                if self.large_objects == 1 { "" } else { "s" }
            ));
        }
        parts
    }
}

/// Everything a run reports.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// `mongo`, `mysql` or `postgres`.
    pub format: &'static str,
    /// `collection` (MongoDB) or `table` (SQL).
    pub unit: &'static str,
    /// Whether the input was gzip.
    pub input_gzip: bool,
    /// Whether the output is gzip.
    pub output_gzip: bool,
    /// Whether transforms were keyed.
    pub keyed: bool,
    /// Per collection or table.
    pub collections: Vec<CollectionCounts>,
    /// Per rule.
    pub rules: Vec<RuleReport>,
    /// Values of all rules replaced by null because their transform could not handle them
    /// (the sum of the rules' `failed_closed`).
    pub failed_closed: u64,
    /// The echo guard: uncovered fields or columns that held a copy of a covered value's
    /// original in the same document or row, rewritten or nulled (a `--strict` failure).
    pub echoes: Vec<EchoReport>,
    /// Per table or collection with a `when:` in its rules: rows or documents the condition
    /// kept from the rules (left with their original values).
    pub when_skipped: Vec<anonymize_core::WhenReport>,
    /// `table.path` of rules that never saw a value.
    pub unmatched_rules: Vec<String>,
    /// Names in the rules file that matched nothing (`section: name`), with a "did you mean"
    /// when a collection or table of the dump has a close name.
    pub unmatched_names: Vec<String>,
    /// For an unmatched rule (`table.path`, as in `unmatched_rules`), the path it probably
    /// meant: a field name seen in its collection within a small edit distance of the rule's
    /// first step (MongoDB: among the top-level names of each collection's first documents).
    pub did_you_mean: BTreeMap<String, String>,
    /// Uncompressed bytes read.
    pub bytes_in: u64,
    /// Uncompressed bytes written.
    pub bytes_out: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// `bytes_in / seconds` in MB/s (10^6 bytes); `None` for runs too short to measure.
    pub mb_per_second: Option<f64>,
    /// The run failed `--strict`.
    pub strict_failed: bool,
    /// Whether this CPU has SHA extensions (without them keyed digests cost about 4× more).
    pub sha_extensions: bool,
    /// SQL dumps: credentials and dependents dropped, tables without their definition, large
    /// objects (flattened into the report).
    #[serde(flatten)]
    pub sql: SqlFindings,
}

impl Summary {
    /// Fills the rule parts from the anonymizer's report, and the rate.
    pub(crate) fn with_report(mut self, report: Report) -> Summary {
        self.unmatched_rules = report
            .unmatched_rules()
            .map(|r| format!("{}.{}", r.table, r.path))
            .collect();
        self.did_you_mean = report
            .unmatched_rules()
            .filter_map(|r| {
                let near = self.suggest_path(&r.table, &r.path)?;
                Some((format!("{}.{}", r.table, r.path), near))
            })
            .collect();
        let seen: Vec<&str> = self.collections.iter().map(|c| c.name.as_str()).collect();
        self.unmatched_names = report
            .unmatched_collections()
            .map(|c| match closest_name(&c.name, &seen) {
                Some(near) => format!("{}: {} (did you mean `{near}`?)", c.section, c.name),
                None => format!("{}: {}", c.section, c.name),
            })
            .collect();
        self.failed_closed = report.rules.iter().map(|r| r.failed_closed).sum();
        self.echoes = report.echoes;
        self.when_skipped = report.when_skipped;
        self.rules = report.rules;
        self.mb_per_second = (self.seconds >= MIN_SECONDS_FOR_RATE)
            .then(|| self.bytes_in as f64 / self.seconds / 1e6);
        self
    }

    /// The path a never-matched rule of `table` probably meant: `path` with its first step
    /// replaced by the closest top-level field name seen in the collections `table` names,
    /// when that step was never seen and a seen name is close enough to be a typo.
    fn suggest_path(&self, table: &str, path: &str) -> Option<String> {
        let (first, rest) = split_first_step(path);
        let first = first.replace("\\.", ".");
        let names: Vec<&str> = self
            .collections
            .iter()
            .filter(|c| {
                c.name == table
                    || c.name
                        .strip_suffix(table)
                        .is_some_and(|db| db.ends_with('.'))
            })
            .flat_map(|c| c.field_names.iter().map(String::as_str))
            .collect();
        if names.is_empty() || names.contains(&first.as_str()) {
            return None;
        }
        let want = first.to_lowercase();
        let limit = (want.chars().count() / 3).max(1);
        let near = names
            .iter()
            .map(|&n| (edit_distance(&want, &n.to_lowercase()), n))
            .filter(|&(d, _)| d <= limit)
            .min_by_key(|&(d, _)| d)?
            .1;
        let near = near.replace('.', "\\.");
        Some(match rest {
            Some(rest) => format!("{near}.{rest}"),
            None => near,
        })
    }

    /// True when documents held keys that shadow a rule path (a `--strict` failure).
    pub fn has_shadowing_keys(&self) -> bool {
        self.collections.iter().any(|c| c.shadowing_keys > 0)
    }

    /// Values the echo guard rewrote or nulled (a `--strict` failure).
    pub fn echo_count(&self) -> u64 {
        self.echoes.iter().map(|e| e.rewritten + e.nulled).sum()
    }

    /// One line per field or column where the echo guard found copies of covered values.
    fn echo_lines(&self) -> Vec<String> {
        self.echoes
            .iter()
            .map(|e| {
                format!(
                    "{}: `{}` held copies of `{}`: {} rewritten, {} nulled",
                    e.table, e.field, e.echo_of, e.rewritten, e.nulled
                )
            })
            .collect()
    }

    /// True when the SQL findings fail `--strict`: tables with rules but no definition, or
    /// large objects kept without being named.
    pub fn has_sql_strict_problems(&self) -> bool {
        !self.sql.strict_problems().is_empty()
    }

    /// Why `--strict` failed: what never matched, collections with shadowing keys, and the
    /// SQL findings that fail it.
    pub fn strict_problems(&self) -> String {
        let mut parts = Vec::new();
        let never = self.never_matched();
        if !never.is_empty() {
            parts.push(format!("never matched: {}", never.join("; ")));
        }
        let shadowing = self.shadowing_warnings();
        if !shadowing.is_empty() {
            parts.push(shadowing.join("; "));
        }
        if self.echo_count() > 0 {
            parts.push(format!(
                "the echo guard found copies of covered values in fields no rule covers \
                 (rewritten or nulled; cover those fields with rules): {}",
                self.echo_lines().join("; ")
            ));
        }
        parts.extend(self.sql.strict_problems());
        parts.join("; ")
    }

    /// One line per collection with keys that shadow a rule path.
    fn shadowing_warnings(&self) -> Vec<String> {
        self.collections
            .iter()
            .filter(|c| c.shadowing_keys > 0)
            .map(|c| {
                format!(
                    "{}: {} document key{} containing `.` shadow{} rule path {}; their values were not rewritten (a rule names such a key with an escaped dot: `a\\.b`)",
                    c.name,
                    c.shadowing_keys,
                    if c.shadowing_keys == 1 { "" } else { "s" },
                    if c.shadowing_keys == 1 { "s" } else { "" },
                    c.shadowed_rules
                        .iter()
                        .map(|r| format!("`{r}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect()
    }

    /// True when something in the rules file never matched.
    pub fn has_unmatched(&self) -> bool {
        !self.unmatched_rules.is_empty() || !self.unmatched_names.is_empty()
    }

    /// What never matched, one entry per rule or name.
    pub fn never_matched(&self) -> Vec<String> {
        let mut what: Vec<String> = self
            .unmatched_rules
            .iter()
            .map(|r| match self.did_you_mean.get(r) {
                Some(near) => format!("rule {r} (did you mean `{near}`?)"),
                None => format!("rule {r}"),
            })
            .collect();
        what.extend(self.unmatched_names.iter().cloned());
        what
    }

    /// The human-readable summary for stderr.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "syrf-anonymize: {} dump{}{}, {}",
            self.format,
            if self.input_gzip { ", gzip in" } else { "" },
            if self.output_gzip { ", gzip out" } else { "" },
            if self.keyed { "keyed" } else { "UNKEYED" }
        );
        if !self.collections.is_empty() {
            let width = self
                .collections
                .iter()
                .map(|c| c.name.len())
                .max()
                .unwrap_or(0)
                .max(10);
            let _ = writeln!(
                s,
                "  {:width$}  {:>10}  {:>10}  action",
                self.unit, "in", "out"
            );
            for c in &self.collections {
                let _ = writeln!(
                    s,
                    "  {:width$}  {:>10}  {:>10}  {}",
                    c.name, c.documents_in, c.documents_out, c.action
                );
            }
        }
        if !self.rules.is_empty() {
            let _ = writeln!(s, "  rules (values seen / changed / failed closed):");
            for r in &self.rules {
                let _ = writeln!(
                    s,
                    "    {}.{} [{}]: {} / {} / {}",
                    r.table, r.path, r.transform, r.values_seen, r.values_changed, r.failed_closed
                );
            }
        }
        if !self.rules.is_empty() {
            let _ = writeln!(
                s,
                "  failed closed: {} value{}; echoes of covered values: {} value{}",
                self.failed_closed,
                if self.failed_closed == 1 { "" } else { "s" },
                self.echo_count(),
                if self.echo_count() == 1 { "" } else { "s" }
            );
        }
        for w in &self.when_skipped {
            let _ = writeln!(
                s,
                "  when: {}: {} {} kept from the rules (condition false)",
                w.table,
                w.rows_skipped,
                if self.unit == "collection" {
                    "documents"
                } else {
                    "rows"
                }
            );
        }
        for e in self.echo_lines() {
            let _ = writeln!(s, "  warning: echo guard: {e}");
        }
        for r in &self.unmatched_rules {
            let _ = write!(s, "  warning: rule {r} never matched a value");
            match self.did_you_mean.get(r) {
                Some(near) => {
                    let _ = writeln!(s, " (did you mean `{near}`?)");
                }
                None => s.push('\n'),
            }
        }
        for w in self.shadowing_warnings() {
            let _ = writeln!(s, "  warning: {w}");
        }
        for n in &self.unmatched_names {
            let _ = writeln!(s, "  warning: {n} matched no {}", self.unit);
        }
        self.sql_text(&mut s);
        let _ = write!(
            s,
            "  {} bytes in, {} bytes out, {:.2} s",
            self.bytes_in, self.bytes_out, self.seconds
        );
        match self.mb_per_second {
            Some(rate) => {
                let _ = writeln!(s, ", {rate:.1} MB/s");
            }
            None => s.push('\n'),
        }
        if !self.sha_extensions && !self.rules.is_empty() {
            let _ = writeln!(
                s,
                "  note: this CPU has no SHA extensions: each keyed digest costs about 4x more than on one that has"
            );
        }
        s
    }
}

impl Summary {
    /// The SQL findings' lines of the text summary.
    fn sql_text(&self, s: &mut String) {
        let f = &self.sql;
        for c in &f.credentials_dropped {
            let _ = writeln!(s, "  credentials dropped (--keep-users keeps them): {c}");
        }
        for d in &f.dependents_dropped {
            let _ = writeln!(s, "  dropped with an excluded table: {d}");
        }
        for r in &f.subset_removed {
            let _ = writeln!(s, "  subset (reference kept valid): {r}");
        }
        for t in &f.undefined_tables {
            let _ = writeln!(
                s,
                "  warning: {t} has rules but its CREATE TABLE was not in the dump: generated columns (which may copy covered values) cannot be recognised"
            );
        }
        if let Some(action) = f.large_objects_action {
            let _ = writeln!(
                s,
                "  {}large objects: {} {action}{}",
                if f.large_objects_unreviewed {
                    "warning: "
                } else {
                    ""
                },
                f.large_objects,
                if f.large_objects_unreviewed {
                    "; no rule covers them: say `large_objects: keep | empty | drop` in the rules file"
                } else {
                    ""
                }
            );
        }
    }
}

/// The seen name closest to `wanted` (compared bare, case-insensitively), when it is close
/// enough to be a typo.
fn closest_name<'a>(wanted: &str, seen: &[&'a str]) -> Option<&'a str> {
    let bare = |n: &str| n.rsplit('.').next().unwrap_or(n).to_lowercase();
    let want = wanted.to_lowercase();
    let want_bare = bare(wanted);
    seen.iter()
        .map(|&name| {
            let d = edit_distance(&want, &name.to_lowercase())
                .min(edit_distance(&want_bare, &bare(name)));
            (d, name)
        })
        .filter(|&(d, _)| d > 0 && d <= (want_bare.chars().count() / 3).max(1))
        .min_by_key(|&(d, _)| d)
        .map(|(_, name)| name)
}

/// A rule path's first step and the rest, split at the first dot not escaped by `\`.
fn split_first_step(path: &str) -> (&str, Option<&str>) {
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'.' => return (&path[..i], Some(&path[i + 1..])),
            _ => i += 1,
        }
    }
    (path, None)
}

/// Edit distance over chars, a swap of two neighbours counting as one edit (optimal string
/// alignment), so `Emial` is one edit from `Email`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut row: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        row[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j - 1] + cost).min(prev[j] + 1).min(row[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            row[j] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut row);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let seen = [
            "syrftest.pmInvestigator",
            "syrftest.pmStudy",
            "public.users",
        ];
        assert_eq!(
            closest_name("pmInvestigater", &seen),
            Some("syrftest.pmInvestigator")
        );
        assert_eq!(closest_name("user", &seen), Some("public.users"));
        assert_eq!(closest_name("orders", &seen), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("Emial", "Email"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
    }

    #[test]
    fn first_step_honours_escaped_dots() {
        assert_eq!(split_first_step("a.b.c"), ("a", Some("b.c")));
        assert_eq!(split_first_step("a\\.b.c"), ("a\\.b", Some("c")));
        assert_eq!(split_first_step("a"), ("a", None));
    }
}
