//! What a run collects ([`Facts`]) for its observability flags (`--metrics`, `--metrics-push`,
//! `--audit-log`, parsed as [`crate::args::ObserveArgs`]); the rendering and writing live in
//! [`syrf_anonymize::observe`].

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use anonymize_core::KeyMode;
use syrf_anonymize::observe::{
    audit, digest, metrics, push, DigestHandle, DigestReader, DigestWriter, RunRecord, StreamDigest,
};
use syrf_anonymize::{exit, Summary};

use crate::args::{ObserveArgs, RunArgs};

/// What a run learns along the way for its metrics and audit line.
pub struct Facts {
    started: SystemTime,
    /// Count input and output bytes (any observability flag).
    count: bool,
    /// Hash them too (`--audit-log`).
    hash: bool,
    audit: Option<File>,
    rules_sha256: Option<String>,
    key_fingerprint: Option<String>,
    key_mode: &'static str,
    input: Option<DigestHandle>,
    output: Option<StreamDigest>,
    output_committed: bool,
}

impl Facts {
    /// Starts the clock, checks that the metrics file's directory exists and opens the audit
    /// log (so that a wrong path fails the run before it starts).
    pub fn start(args: &ObserveArgs) -> Result<Facts, String> {
        if let Some(path) = &args.metrics {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            if !dir.is_dir() {
                return Err(format!(
                    "cannot write the metrics file {}: {} is not a directory",
                    path.display(),
                    dir.display()
                ));
            }
        }
        let audit = match &args.audit_log {
            Some(path) => Some(audit::open(path).map_err(|e| e.to_string())?),
            None => None,
        };
        Ok(Facts {
            started: SystemTime::now(),
            count: args.any(),
            hash: audit.is_some(),
            audit,
            rules_sha256: None,
            key_fingerprint: None,
            key_mode: "none",
            input: None,
            output: None,
            output_committed: false,
        })
    }

    /// Notes the rules file's SHA-256 (read again: it is small).
    pub fn rules(&mut self, path: &Path) {
        if self.hash {
            self.rules_sha256 = std::fs::read(path).ok().map(|b| digest::sha256_hex(&b));
        }
    }

    /// Notes the key's mode and fingerprint.
    pub fn key(&mut self, mode: &KeyMode) {
        (self.key_mode, self.key_fingerprint) = match mode {
            KeyMode::Keyed(k) => ("keyed", Some(k.fingerprint())),
            KeyMode::Unkeyed => ("unkeyed", None),
        };
    }

    /// Wraps the input to count (and hash) it as it is read.
    pub fn input(&mut self, input: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
        if !self.count {
            return input;
        }
        let reader = DigestReader::new(input, self.hash);
        self.input = Some(reader.handle());
        Box::new(reader)
    }

    /// Wraps the output to count (and hash) it as it is written.
    pub fn output<W: Write>(&self, output: W) -> DigestWriter<W> {
        DigestWriter::new(output, self.hash)
    }

    /// Notes the output's figures and whether it was put into place.
    pub fn output_done(&mut self, written: StreamDigest, committed: bool) {
        if self.count {
            self.output = Some(written);
            self.output_committed = committed;
        }
    }

    /// Writes the metrics file, pushes, and appends the audit line. Returns the exit code:
    /// `code`, or [`exit::FAILURE`] when the metrics file or the audit line could not be
    /// written (a failed push only warns).
    pub fn finish(
        self,
        run: &RunArgs,
        summary: Option<&Summary>,
        code: i32,
        error_kind: Option<&'static str>,
    ) -> i32 {
        let args = &run.observe;
        if !args.any() {
            return code;
        }
        let record = RunRecord {
            started: self.started,
            finished: SystemTime::now(),
            exit_code: code,
            error_kind,
            summary,
            format: summary
                .map(|s| s.format)
                .or(run.format.format().map(|f| f.name())),
            input: self.input.as_ref().map(DigestHandle::digest),
            output: self.output.clone(),
            output_committed: self.output_committed,
            rules_sha256: self.rules_sha256.clone(),
            key_fingerprint: self.key_fingerprint.clone(),
            key_mode: self.key_mode,
        };
        let mut result = code;
        let fail = |message: String, result: &mut i32| {
            eprintln!("syrf-anonymize: error: {message}");
            if *result == exit::SUCCESS {
                *result = exit::FAILURE;
            }
        };
        if let (Some(file), Some(path)) = (&self.audit, &args.audit_log) {
            let display = |p: &Path| p.display().to_string();
            let line = audit::line(
                &record,
                &audit::Paths {
                    rules: run.rules.as_deref().map(display),
                    input: Some(display(&run.input)),
                    output: Some(display(&run.output)),
                },
            );
            if let Err(e) = audit::append(file, path, &line) {
                fail(e.to_string(), &mut result);
            }
        }
        let mut kept = None;
        if let Some(path) = &args.metrics {
            let after = metrics::Previous::read(path).after(&record);
            kept = Some(after);
            let written = metrics::render(&record, &after)
                .and_then(|text| metrics::write_atomically(path, &text));
            if let Err(e) = written {
                fail(e.to_string(), &mut result);
            }
        }
        if let Some(url) = &args.metrics_push {
            let target = push::PushTarget {
                url: url.clone(),
                job: args.metrics_job.clone(),
                instance: args.metrics_instance.clone(),
                timeout: Duration::from_secs(args.metrics_push_timeout),
            };
            if let Err(e) = push_metrics(&target, &record, kept) {
                eprintln!("syrf-anonymize: warning: cannot push the metrics: {e}");
            }
        }
        result
    }
}

/// Pushes `record`: with the kept series from the metrics file when there is one, else from
/// the Pushgateway itself. When they are known the group is replaced (`PUT`), as the metrics
/// file is; when they are not (the Pushgateway could not be read) only the series sent are
/// replaced (`POST`), so that the kept ones stay.
fn push_metrics(
    target: &push::PushTarget,
    record: &RunRecord<'_>,
    kept: Option<metrics::Previous>,
) -> Result<(), String> {
    let kept = match kept {
        Some(k) => Some(k),
        None => target.previous().ok().map(|p| p.after(record)),
    };
    let replace = kept.is_some();
    let kept = kept.unwrap_or_else(|| metrics::Previous::default().after(record));
    let text = metrics::render(record, &kept).map_err(|e| e.to_string())?;
    target.push(&text, replace).map_err(|e| e.to_string())
}
