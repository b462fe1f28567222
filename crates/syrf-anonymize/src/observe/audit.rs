//! `--audit-log FILE`: one JSON line appended per run, successful or not.
//!
//! The line holds when, what version, which rules (their SHA-256), which key (its
//! fingerprint, never the key), what was read and written (sizes and SHA-256, computed while
//! streaming), the format, counts, exit code and error kind. It never holds a value from the
//! data, nor an error message (messages can quote names; the kind is enough to triage).
//!
//! Concurrent runs appending to one file never interleave: the file is opened with
//! `O_APPEND`, locked with an advisory exclusive lock (`flock`), and the whole line, newline
//! included, goes out in one `write(2)`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::digest::StreamDigest;
use super::record::RunRecord;
use super::time::rfc3339;

/// The `schema` field of every line; bumped when a field changes meaning.
pub const SCHEMA: u32 = 1;

/// Why the audit line could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot append to the audit log {path}: {source}")]
pub struct AuditError {
    /// The log.
    pub path: PathBuf,
    /// Why.
    pub source: io::Error,
}

/// Paths the line names (as given on the command line; `-` is stdin or stdout).
#[derive(Debug, Clone, Default)]
pub struct Paths {
    /// `--rules`.
    pub rules: Option<String>,
    /// `--input`.
    pub input: Option<String>,
    /// `--output`.
    pub output: Option<String>,
}

fn stream(path: Option<&str>, digest: Option<&StreamDigest>) -> Value {
    json!({
        "path": path,
        "bytes": digest.map(|d| d.bytes),
        "sha256": digest.and_then(|d| d.sha256.as_deref()),
    })
}

/// The JSON line (without its newline) for `record`.
pub fn line(record: &RunRecord<'_>, paths: &Paths) -> String {
    let counts = record.summary.map(|s| {
        let docs_in: u64 = s.collections.iter().map(|c| c.documents_in).sum();
        let docs_out: u64 = s.collections.iter().map(|c| c.documents_out).sum();
        json!({
            "unit": s.unit,
            "collections": s.collections.len(),
            "records_in": docs_in,
            "records_out": docs_out,
            "rules": s.rules.len(),
            "values_seen": s.rules.iter().map(|r| r.values_seen).sum::<u64>(),
            "values_changed": s.rules.iter().map(|r| r.values_changed).sum::<u64>(),
            "failed_closed": s.rules.iter().map(|r| r.failed_closed).sum::<u64>(),
            "unmatched_rules": s.unmatched_rules.len(),
            "uncompressed_bytes_in": s.bytes_in,
            "uncompressed_bytes_out": s.bytes_out,
            "input_gzip": s.input_gzip,
            "output_gzip": s.output_gzip,
        })
    });
    let mut output = stream(paths.output.as_deref(), record.output.as_ref());
    output["committed"] = json!(record.output_committed);
    json!({
        "schema": SCHEMA,
        "event": "anonymize",
        "start": rfc3339(record.started),
        "end": rfc3339(record.finished),
        "duration_seconds": record.duration_seconds(),
        "version": env!("CARGO_PKG_VERSION"),
        "success": record.success(),
        "exit_code": record.exit_code,
        "error_kind": record.error_kind,
        "format": record.format,
        "rules": {
            "path": paths.rules,
            "sha256": record.rules_sha256,
        },
        "key": {
            "mode": record.key_mode,
            "fingerprint": record.key_fingerprint,
        },
        "input": stream(paths.input.as_deref(), record.input.as_ref()),
        "output": output,
        "counts": counts,
    })
    .to_string()
}

/// Opens `path` for appending (creating it, mode 0640 less the umask), before the run, so
/// that an unwritable log fails the run before it starts.
pub fn open(path: &Path) -> Result<File, AuditError> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o640);
    }
    options.open(path).map_err(|source| AuditError {
        path: path.to_path_buf(),
        source,
    })
}

/// Appends `line` and a newline to `file` (opened by [`open`]) in one write under an
/// exclusive advisory lock.
pub fn append(file: &File, path: &Path, line: &str) -> Result<(), AuditError> {
    let err = |source| AuditError {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    file.lock().map_err(err)?;
    let mut f = file;
    let written = f.write(&bytes);
    let unlocked = file.unlock();
    match written {
        Ok(n) if n == bytes.len() => unlocked.map_err(err),
        Ok(n) => Err(err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("short write: {n} of {} bytes", bytes.len()),
        ))),
        Err(e) => Err(err(e)),
    }
}
