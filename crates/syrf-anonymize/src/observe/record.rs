//! [`RunRecord`]: the facts of one run that the metrics and the audit line report.

use std::time::SystemTime;

use crate::summary::Summary;

use super::digest::StreamDigest;

/// The error kind of a run that failed after the anonymization itself (writing the `--report`
/// file), beside [`crate::Error::kind`]'s.
pub const KIND_REPORT: &str = "report";

/// Everything the metrics and the audit log say about one run.
#[derive(Debug, Clone)]
pub struct RunRecord<'a> {
    /// When the run started.
    pub started: SystemTime,
    /// When it ended.
    pub finished: SystemTime,
    /// The process exit code.
    pub exit_code: i32,
    /// `None` on success, else [`crate::Error::kind`] or [`KIND_REPORT`].
    pub error_kind: Option<&'static str>,
    /// The run's summary: on success, and on a `--strict` failure.
    pub summary: Option<&'a Summary>,
    /// The format: the summary's, or the one `--format` forced, when known.
    pub format: Option<&'static str>,
    /// The input bytes as read (before decompression), when the input was opened.
    pub input: Option<StreamDigest>,
    /// The output bytes as written (after compression), when the output was opened.
    pub output: Option<StreamDigest>,
    /// True when the output was put into place (success); false when it was abandoned.
    pub output_committed: bool,
    /// SHA-256 (hex) of the rules file's bytes, when it was read.
    pub rules_sha256: Option<String>,
    /// The key's fingerprint; `None` for an unkeyed run or before the key was loaded.
    pub key_fingerprint: Option<String>,
    /// `keyed`, `unkeyed`, or `none` (the run failed before the key was loaded).
    pub key_mode: &'static str,
}

impl RunRecord<'_> {
    /// True when the run succeeded (exit code 0).
    pub fn success(&self) -> bool {
        self.exit_code == crate::exit::SUCCESS
    }

    /// Wall-clock seconds from start to end (0 when the clock went backwards).
    pub fn duration_seconds(&self) -> f64 {
        self.finished
            .duration_since(self.started)
            .map_or(0.0, |d| d.as_secs_f64())
    }
}

/// Seconds since the Unix epoch (0 before it).
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
