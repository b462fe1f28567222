//! `--metrics FILE`: the run's figures in the Prometheus text exposition format (0.0.4, what
//! node_exporter's textfile collector and the Pushgateway read), encoded by the `prometheus`
//! crate and written atomically (a temporary file beside the target, renamed onto it).
//!
//! Every series is a gauge describing the last run. Three are kept across runs, read back
//! from the previous file: `syrf_anonymize_last_success_timestamp_seconds`,
//! `syrf_anonymize_last_success_output_bytes` and
//! `syrf_anonymize_previous_success_output_bytes` are only advanced by a successful run.
//!
//! Label sets are bounded: at most [`MAX_COLLECTION_SERIES`] collections or tables and
//! [`MAX_RULE_SERIES`] rules get series of their own (those with the most records, and the rules
//! with failed-closed values first, then the most values); the rest are summed into one
//! `_other` series and counted by `syrf_anonymize_series_folded`. Error kinds are a fixed set.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use prometheus::{Encoder, Gauge, GaugeVec, Opts, Registry, TextEncoder};

use super::record::{unix_seconds, RunRecord};

/// Collections or tables with series of their own; the rest are folded into `_other`.
pub const MAX_COLLECTION_SERIES: usize = 100;
/// Rules with series of their own; the rest are folded into `_other`.
pub const MAX_RULE_SERIES: usize = 200;
/// The label value standing for the folded rest.
pub const OTHER: &str = "_other";

/// Series kept from the previous metrics file when a run fails.
pub const LAST_SUCCESS_TIMESTAMP: &str = "syrf_anonymize_last_success_timestamp_seconds";
/// Output bytes of the most recent successful run (kept on failure).
pub const LAST_SUCCESS_OUTPUT: &str = "syrf_anonymize_last_success_output_bytes";
/// Output bytes of the successful run before the most recent one (kept on failure).
pub const PREVIOUS_SUCCESS_OUTPUT: &str = "syrf_anonymize_previous_success_output_bytes";

/// Why the metrics could not be produced or written. Never holds a value from the data.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The registry or the encoder refused the series (a bug, reported rather than panicking).
    #[error("cannot encode the metrics: {0}")]
    Encode(String),
    /// Writing or renaming the file failed.
    #[error("cannot write the metrics file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl From<prometheus::Error> for MetricsError {
    fn from(e: prometheus::Error) -> Self {
        MetricsError::Encode(e.to_string())
    }
}

/// The series carried over from earlier runs. A field is `None` when it is unknown (no
/// previous file, or it did not hold the series).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Previous {
    /// `syrf_anonymize_last_success_timestamp_seconds`.
    pub last_success_timestamp: Option<f64>,
    /// `syrf_anonymize_last_success_output_bytes`.
    pub last_success_output_bytes: Option<f64>,
    /// `syrf_anonymize_previous_success_output_bytes`.
    pub previous_success_output_bytes: Option<f64>,
}

impl Previous {
    /// Reads the kept series from a previous exposition (unlabelled samples; anything else,
    /// malformed lines included, is ignored).
    pub fn parse(text: &str) -> Previous {
        let mut p = Previous::default();
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_ascii_whitespace();
            let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            if !value.is_finite() {
                continue;
            }
            match name {
                LAST_SUCCESS_TIMESTAMP => p.last_success_timestamp = Some(value),
                LAST_SUCCESS_OUTPUT => p.last_success_output_bytes = Some(value),
                PREVIOUS_SUCCESS_OUTPUT => p.previous_success_output_bytes = Some(value),
                _ => {}
            }
        }
        p
    }

    /// Reads them from `path`; a missing or unreadable file means nothing is known.
    pub fn read(path: &Path) -> Previous {
        std::fs::read(path)
            .map(|b| Previous::parse(&String::from_utf8_lossy(&b)))
            .unwrap_or_default()
    }

    /// The kept series after `record`: advanced by a success, unchanged by a failure.
    pub fn after(&self, record: &RunRecord<'_>) -> Previous {
        if !record.success() {
            return *self;
        }
        let out = record.output.as_ref().map_or(0, |d| d.bytes) as f64;
        Previous {
            last_success_timestamp: Some(unix_seconds(record.finished)),
            last_success_output_bytes: Some(out),
            previous_success_output_bytes: self.last_success_output_bytes,
        }
    }
}

/// Registers gauges on one registry.
struct Builder {
    registry: Registry,
}

impl Builder {
    fn gauge(&self, name: &str, help: &str, value: f64) -> Result<(), MetricsError> {
        let g = Gauge::with_opts(Opts::new(name, help))?;
        g.set(value);
        self.registry.register(Box::new(g))?;
        Ok(())
    }

    fn vec(&self, name: &str, help: &str, labels: &[&str]) -> Result<GaugeVec, MetricsError> {
        let g = GaugeVec::new(Opts::new(name, help), labels)?;
        self.registry.register(Box::new(g.clone()))?;
        Ok(g)
    }
}

/// Every error kind a run can end with, so that `syrf_anonymize_run_error` has a fixed label
/// set (`none` on success).
pub const ERROR_KINDS: [&str; 9] = [
    "none",
    "usage",
    "empty_input",
    "unknown_format",
    "bad_input",
    "output",
    "broken_pipe",
    "strict",
    super::record::KIND_REPORT,
];

/// The exposition of `record`, with `kept` (from [`Previous::after`]) for the kept series; a
/// kept series that is unknown is left out.
pub fn render(record: &RunRecord<'_>, kept: &Previous) -> Result<String, MetricsError> {
    let b = Builder {
        registry: Registry::new(),
    };
    let flag = |x: bool| if x { 1.0 } else { 0.0 };
    b.gauge(
        "syrf_anonymize_run_success",
        "1 when the last run succeeded (exit code 0), else 0.",
        flag(record.success()),
    )?;
    b.gauge(
        "syrf_anonymize_run_exit_code",
        "Exit code of the last run.",
        f64::from(record.exit_code),
    )?;
    let kind = record.error_kind.unwrap_or("none");
    let errors = b.vec(
        "syrf_anonymize_run_error",
        "1 for the kind of error the last run ended with (none on success), 0 for the others.",
        &["kind"],
    )?;
    for k in ERROR_KINDS {
        errors.with_label_values(&[k]).set(flag(k == kind));
    }
    b.gauge(
        "syrf_anonymize_run_duration_seconds",
        "Wall-clock duration of the last run.",
        record.duration_seconds(),
    )?;
    b.gauge(
        "syrf_anonymize_last_run_timestamp_seconds",
        "Unix time the last run ended, successful or not.",
        unix_seconds(record.finished),
    )?;
    b.gauge(
        "syrf_anonymize_input_bytes",
        "Input bytes the last run read, as read (compressed for a gzip input).",
        record.input.as_ref().map_or(0, |d| d.bytes) as f64,
    )?;
    b.gauge(
        "syrf_anonymize_output_bytes",
        "Output bytes the last run wrote, as written (compressed for a gzip output).",
        record.output.as_ref().map_or(0, |d| d.bytes) as f64,
    )?;
    let info = b.vec(
        "syrf_anonymize_run_info",
        "Always 1: the version and the dump format of the last run.",
        &["version", "format"],
    )?;
    info.with_label_values(&[
        env!("CARGO_PKG_VERSION"),
        record.format.unwrap_or("unknown"),
    ])
    .set(1.0);
    if let Some(t) = kept.last_success_timestamp {
        b.gauge(
            LAST_SUCCESS_TIMESTAMP,
            "Unix time the last successful run ended (kept by failed runs).",
            t,
        )?;
    }
    if let Some(v) = kept.last_success_output_bytes {
        b.gauge(
            LAST_SUCCESS_OUTPUT,
            "Output bytes of the last successful run (kept by failed runs).",
            v,
        )?;
    }
    if let Some(v) = kept.previous_success_output_bytes {
        b.gauge(
            PREVIOUS_SUCCESS_OUTPUT,
            "Output bytes of the successful run before the last successful one (kept by failed runs).",
            v,
        )?;
    }
    if let Some(summary) = record.summary {
        summary_series(&b, summary)?;
    }
    let mut out = Vec::new();
    TextEncoder::new().encode(&b.registry.gather(), &mut out)?;
    String::from_utf8(out).map_err(|e| MetricsError::Encode(e.to_string()))
}

/// The per-run totals and the bounded per-collection and per-rule series.
fn summary_series(b: &Builder, s: &crate::Summary) -> Result<(), MetricsError> {
    b.gauge(
        "syrf_anonymize_input_uncompressed_bytes",
        "Uncompressed bytes of the dump the last run read.",
        s.bytes_in as f64,
    )?;
    b.gauge(
        "syrf_anonymize_output_uncompressed_bytes",
        "Uncompressed bytes of the dump the last run wrote.",
        s.bytes_out as f64,
    )?;
    b.gauge(
        "syrf_anonymize_failed_closed_values",
        "Values of all rules that the last run replaced by null because their transform could not handle their type (fail closed).",
        s.rules.iter().map(|r| r.failed_closed).sum::<u64>() as f64,
    )?;
    b.gauge(
        "syrf_anonymize_unmatched_rules",
        "Rules of the last run that never saw a value.",
        s.unmatched_rules.len() as f64,
    )?;
    let folded = b.vec(
        "syrf_anonymize_series_folded",
        "Collections/tables or rules of the last run summed into the _other series (label caps).",
        &["family"],
    )?;

    let rin = b.vec(
        "syrf_anonymize_collection_records_in",
        "Documents or rows of a collection or table the last run read.",
        &["collection", "action"],
    )?;
    let rout = b.vec(
        "syrf_anonymize_collection_records_out",
        "Documents or rows of a collection or table the last run wrote.",
        &["collection", "action"],
    )?;
    let mut collections: Vec<&crate::CollectionCounts> = s.collections.iter().collect();
    collections.sort_by_key(|c| std::cmp::Reverse(c.documents_in));
    folded
        .with_label_values(&["collection"])
        .set(collections.len().saturating_sub(MAX_COLLECTION_SERIES) as f64);
    for (i, c) in collections.iter().enumerate() {
        let labels = if i < MAX_COLLECTION_SERIES {
            [c.name.as_str(), c.action.as_str()]
        } else {
            [OTHER, OTHER]
        };
        rin.with_label_values(&labels).add(c.documents_in as f64);
        rout.with_label_values(&labels).add(c.documents_out as f64);
    }

    let labels = ["rule", "transform"];
    let seen = b.vec(
        "syrf_anonymize_rule_values_seen",
        "Values a rule (table.path) was applied to in the last run.",
        &labels,
    )?;
    let changed = b.vec(
        "syrf_anonymize_rule_values_changed",
        "Values a rule rewrote in the last run.",
        &labels,
    )?;
    let failed = b.vec(
        "syrf_anonymize_rule_values_failed_closed",
        "Values a rule replaced by null in the last run (a type its transform cannot handle).",
        &labels,
    )?;
    let echoes = b.vec(
        "syrf_anonymize_rule_echoes",
        "Uncovered values of the same document or row that held a copy of this rule's original, found by the echo guard in the last run (rewritten or nulled).",
        &labels,
    )?;
    // The echo guard's counts per rule (`table.echo_of`), over every field that echoed it.
    let mut echoes_of: std::collections::HashMap<String, u64> = Default::default();
    for e in &s.echoes {
        *echoes_of
            .entry(format!("{}.{}", e.table, e.echo_of))
            .or_default() += e.rewritten + e.nulled;
    }
    let mut rules: Vec<&anonymize_core::RuleReport> = s.rules.iter().collect();
    rules.sort_by_key(|r| std::cmp::Reverse((r.failed_closed, r.values_seen)));
    folded
        .with_label_values(&["rule"])
        .set(rules.len().saturating_sub(MAX_RULE_SERIES) as f64);
    for (i, r) in rules.iter().enumerate() {
        let name = format!("{}.{}", r.table, r.path);
        let labels = if i < MAX_RULE_SERIES {
            [name.as_str(), r.transform]
        } else {
            [OTHER, OTHER]
        };
        seen.with_label_values(&labels).add(r.values_seen as f64);
        changed
            .with_label_values(&labels)
            .add(r.values_changed as f64);
        failed
            .with_label_values(&labels)
            .add(r.failed_closed as f64);
        echoes
            .with_label_values(&labels)
            .add(echoes_of.get(&name).copied().unwrap_or(0) as f64);
    }
    Ok(())
}

/// Writes `text` to `path` atomically: a temporary file in the same directory (a dot name
/// ending in `.tmp`, which the textfile collector ignores), mode 0644 so that a collector
/// running as another user can read it, synced, then renamed onto `path`.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), MetricsError> {
    let io = |source| MetricsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    temp.write_all(text.as_bytes()).map_err(io)?;
    temp.as_file().sync_all().map_err(io)?;
    temp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// `--metrics FILE`: reads the kept series from the file's previous version, renders `record`
/// and replaces the file. Returns the exposition written.
pub fn write_file(path: &Path, record: &RunRecord<'_>) -> Result<String, MetricsError> {
    let kept = Previous::read(path).after(record);
    let text = render(record, &kept)?;
    write_atomically(path, &text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CollectionCounts, Summary};
    use anonymize_core::RuleReport;
    use std::time::{Duration, SystemTime};

    fn summary(collections: usize, rules: usize) -> Summary {
        Summary {
            format: "postgres",
            unit: "table",
            input_gzip: false,
            output_gzip: false,
            keyed: true,
            collections: (0..collections)
                .map(|i| CollectionCounts {
                    name: format!("public.t{i}"),
                    action: "kept".into(),
                    documents_in: i as u64,
                    documents_out: i as u64,
                    ..Default::default()
                })
                .collect(),
            rules: (0..rules)
                .map(|i| RuleReport {
                    table: "t".into(),
                    path: format!("c{i}"),
                    transform: "hash",
                    values_seen: 10 + i as u64,
                    values_changed: 9 + i as u64,
                    // One rule far down the list failed closed: it must keep its own series.
                    failed_closed: u64::from(i == 0),
                })
                .collect(),
            unmatched_rules: Vec::new(),
            unmatched_names: Vec::new(),
            did_you_mean: Default::default(),
            bytes_in: 1000,
            bytes_out: 900,
            seconds: 1.0,
            mb_per_second: None,
            strict_failed: false,
            failed_closed: 1,
            echoes: vec![anonymize_core::EchoReport {
                table: "t".into(),
                field: "display".into(),
                echo_of: "c229".into(),
                rewritten: 2,
                nulled: 1,
            }],
            when_skipped: Vec::new(),
            sha_extensions: true,
            sql: Default::default(),
        }
    }

    fn record(summary: &Summary, exit_code: i32) -> RunRecord<'_> {
        let started = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        RunRecord {
            started,
            finished: started + Duration::from_millis(2500),
            exit_code,
            error_kind: (exit_code != 0).then_some("strict"),
            summary: Some(summary),
            format: None,
            input: None,
            output: Some(crate::observe::StreamDigest {
                bytes: 900,
                sha256: None,
            }),
            output_committed: exit_code == 0,
            rules_sha256: None,
            key_fingerprint: None,
            key_mode: "keyed",
        }
    }

    fn samples<'t>(text: &'t str, name: &str) -> Vec<&'t str> {
        text.lines()
            .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
            .collect()
    }

    #[test]
    fn label_sets_are_capped_and_the_rest_is_summed_into_other() {
        let (nc, nr) = (MAX_COLLECTION_SERIES + 50, MAX_RULE_SERIES + 30);
        let s = summary(nc, nr);
        let r = record(&s, 0);
        let text = render(&r, &Previous::default().after(&r)).unwrap();
        let rows = samples(&text, "syrf_anonymize_collection_records_in");
        assert_eq!(rows.len(), MAX_COLLECTION_SERIES + 1);
        // The 50 smallest tables (0..50 records) are folded: 0 + 1 + ... + 49.
        assert!(
            rows.contains(
                &r#"syrf_anonymize_collection_records_in{action="_other",collection="_other"} 1225"#
            ),
            "{rows:?}"
        );
        assert!(text.contains(r#"syrf_anonymize_series_folded{family="collection"} 50"#));
        assert!(text.contains(r#"syrf_anonymize_series_folded{family="rule"} 30"#));
        let seen = samples(&text, "syrf_anonymize_rule_values_seen");
        assert_eq!(seen.len(), MAX_RULE_SERIES + 1);
        assert!(text.contains(
            r#"syrf_anonymize_rule_values_failed_closed{rule="t.c0",transform="hash"} 1"#
        ));
        // The echo guard's counts, rewritten and nulled, of the rule whose original echoed.
        assert!(text.contains(r#"syrf_anonymize_rule_echoes{rule="t.c229",transform="hash"} 3"#));
        assert!(text.contains(r#"syrf_anonymize_rule_echoes{rule="t.c228",transform="hash"} 0"#));
        assert!(text.contains("syrf_anonymize_failed_closed_values 1\n"));
    }

    #[test]
    fn kept_series_advance_on_success_only() {
        let s = summary(1, 1);
        let ok = record(&s, 0);
        let first = Previous::default().after(&ok);
        assert_eq!(first.last_success_timestamp, Some(1_800_000_002.5));
        assert_eq!(first.last_success_output_bytes, Some(900.0));
        assert_eq!(first.previous_success_output_bytes, None);
        let text = render(&ok, &first).unwrap();
        let back = Previous::parse(&text);
        assert_eq!(back, first);
        let failed = record(&s, 4);
        assert_eq!(back.after(&failed), first);
        let failed_text = render(&failed, &back.after(&failed)).unwrap();
        assert!(failed_text.contains("syrf_anonymize_run_success 0\n"));
        assert!(failed_text.contains(r#"syrf_anonymize_run_error{kind="strict"} 1"#));
        assert!(
            failed_text.contains("syrf_anonymize_last_success_timestamp_seconds 1800000002.5\n")
        );
        let second = back.after(&ok);
        assert_eq!(second.previous_success_output_bytes, Some(900.0));
        // Garbage and foreign lines are ignored.
        assert_eq!(
            Previous::parse("x\nsyrf_anonymize_last_success_timestamp_seconds NaN\n# y 1\n"),
            Previous::default()
        );
    }
}
