//! The end-of-run summary: stderr text and the `--report` JSON.

use std::fmt::Write as _;

use anonymize_core::{Report, RuleReport};
use serde::Serialize;

/// Documents or rows of one collection or table.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionCounts {
    /// `db.collection`, `schema.table` or `table`.
    pub name: String,
    /// What happened to it: `kept`, `excluded`, `not selected`, `schema only`, `users dropped`,
    /// `oplog dropped`, ...
    pub action: String,
    /// Documents or rows read.
    pub documents_in: u64,
    /// Documents or rows written.
    pub documents_out: u64,
}

/// Everything a run reports.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// `mongo`, `mysql` or `postgres`.
    pub format: &'static str,
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
    /// `table.path` of rules that never saw a value.
    pub unmatched_rules: Vec<String>,
    /// Names in the rules file that matched nothing (`section: name`).
    pub unmatched_names: Vec<String>,
    /// Uncompressed bytes read.
    pub bytes_in: u64,
    /// Uncompressed bytes written.
    pub bytes_out: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// `bytes_in / seconds`, in MB/s (10^6 bytes).
    pub mb_per_second: f64,
    /// The run failed `--strict`.
    pub strict_failed: bool,
}

impl RunSummary {
    /// Fills the rule parts from the anonymizer's report.
    pub fn with_report(mut self, report: Report) -> RunSummary {
        self.unmatched_rules = report
            .unmatched_rules()
            .map(|r| format!("{}.{}", r.table, r.path))
            .collect();
        self.unmatched_names = report
            .unmatched_collections()
            .map(|c| format!("{}: {}", c.section, c.name))
            .collect();
        self.rules = report.rules;
        self
    }

    /// True when something in the rules file never matched.
    pub fn has_unmatched(&self) -> bool {
        !self.unmatched_rules.is_empty() || !self.unmatched_names.is_empty()
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
                "collection", "in", "out"
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
        for r in &self.unmatched_rules {
            let _ = writeln!(s, "  warning: rule {r} never matched a value");
        }
        for n in &self.unmatched_names {
            let _ = writeln!(s, "  warning: {n} matched no collection or table");
        }
        let _ = writeln!(
            s,
            "  {} bytes in, {} bytes out, {:.2} s, {:.1} MB/s",
            self.bytes_in, self.bytes_out, self.seconds, self.mb_per_second
        );
        s
    }
}
