//! The end-of-run summary: stderr text and the `--report` JSON.

use std::fmt::Write as _;

use anonymize_core::{Report, RuleReport};
use serde::Serialize;

/// Runs shorter than this get no MB/s figure: it would measure start-up, not throughput.
const MIN_SECONDS_FOR_RATE: f64 = 0.25;

/// Documents or rows of one collection or table.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionCounts {
    /// `db.collection`, `schema.table` or `table`.
    pub name: String,
    /// What happened to it: `kept`, `limited` (by `size_limits`), `excluded`, `not selected`,
    /// `schema only`, `dropped (users/roles...)`, `dropped (--oplog drop)`.
    pub action: String,
    /// Documents or rows read.
    pub documents_in: u64,
    /// Documents or rows written.
    pub documents_out: u64,
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
    /// `table.path` of rules that never saw a value.
    pub unmatched_rules: Vec<String>,
    /// Names in the rules file that matched nothing (`section: name`), with a "did you mean"
    /// when a collection or table of the dump has a close name.
    pub unmatched_names: Vec<String>,
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
}

impl Summary {
    /// Fills the rule parts from the anonymizer's report, and the rate.
    pub(crate) fn with_report(mut self, report: Report) -> Summary {
        self.unmatched_rules = report
            .unmatched_rules()
            .map(|r| format!("{}.{}", r.table, r.path))
            .collect();
        let seen: Vec<&str> = self.collections.iter().map(|c| c.name.as_str()).collect();
        self.unmatched_names = report
            .unmatched_collections()
            .map(|c| match closest_name(&c.name, &seen) {
                Some(near) => format!("{}: {} (did you mean `{near}`?)", c.section, c.name),
                None => format!("{}: {}", c.section, c.name),
            })
            .collect();
        self.rules = report.rules;
        self.mb_per_second = (self.seconds >= MIN_SECONDS_FOR_RATE)
            .then(|| self.bytes_in as f64 / self.seconds / 1e6);
        self
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
            .map(|r| format!("rule {r}"))
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
        for r in &self.unmatched_rules {
            let _ = writeln!(s, "  warning: rule {r} never matched a value");
        }
        for n in &self.unmatched_names {
            let _ = writeln!(s, "  warning: {n} matched no {}", self.unit);
        }
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
        s
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

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
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
    }
}
