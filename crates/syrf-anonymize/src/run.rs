//! One run: key, rules, input, format, output, summary.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use anonymize_core::{Anonymizer, KeyMode, RuleSet};

use crate::cli::{exit, CompressArg, FormatArg, RunArgs};
use crate::formats::{self, Format, FormatError};
use crate::input::{self, CountingReader};
use crate::key;
use crate::output::Output;
use crate::summary::RunSummary;

/// A run that did not succeed, with its exit code. Messages never hold dump values or the key.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad usage, rules or key.
    #[error("{0}")]
    Usage(String),
    /// The input is not a valid dump.
    #[error("{0}")]
    BadInput(String),
    /// Writing the output failed.
    #[error("{0}")]
    Output(String),
    /// `--strict` and something never matched.
    #[error("--strict: {0}")]
    Strict(String),
}

impl RunError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Usage(_) => exit::USAGE,
            RunError::BadInput(_) => exit::BAD_INPUT,
            RunError::Output(_) => exit::FAILURE,
            RunError::Strict(_) => exit::STRICT,
        }
    }
}

/// Reads and validates a rules file.
pub fn load_rules(path: &Path) -> Result<RuleSet, RunError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        RunError::Usage(format!(
            "cannot read the rules file {}: {e}",
            path.display()
        ))
    })?;
    RuleSet::from_yaml(&text, &path.display().to_string())
        .map_err(|e| RunError::Usage(e.to_string()))
}

/// Runs the anonymization described by `args`.
pub fn run(args: &RunArgs) -> Result<(), RunError> {
    let started = Instant::now();
    let rules_path = args
        .rules
        .as_deref()
        .ok_or_else(|| RunError::Usage("--rules FILE is required (see --help)".into()))?;
    let mut rules = load_rules(rules_path)?;
    if let Some(list) = &args.collections {
        // `--collections` narrows what the rules file keeps.
        rules.collections = Some(match rules.collections.take() {
            Some(from_file) => list
                .iter()
                .filter(|c| from_file.contains(c))
                .cloned()
                .collect(),
            None => list.clone(),
        });
    }
    let key_mode = key::load(args.key_file.as_deref(), args.unkeyed)
        .map_err(|e| RunError::Usage(e.to_string()))?;
    if matches!(key_mode, KeyMode::Unkeyed) && !args.quiet {
        eprintln!(
            "syrf-anonymize: warning: running UNKEYED (--unkeyed): hashes are plain SHA-256, and anyone can confirm a guessed email or id by hashing it"
        );
    }
    let anon = Anonymizer::new(rules, key_mode)
        .map_err(|e| RunError::Usage(format!("{}: {e}", rules_path.display())))?;

    let raw = input::open(&args.input).map_err(|e| {
        RunError::Usage(format!(
            "cannot open the input {}: {e}",
            args.input.display()
        ))
    })?;
    let peeked =
        input::peek(raw).map_err(|e| RunError::BadInput(format!("cannot read the input: {e}")))?;
    let input_gzip = input::is_gzip(&peeked.head);
    let plain: Box<dyn Read + Send> = if input_gzip {
        input::gunzip_on_thread(peeked.reader)
    } else {
        Box::new(peeked.reader)
    };
    let bytes_in = Arc::new(AtomicU64::new(0));
    let peeked = input::peek(Box::new(CountingReader::new(plain, bytes_in.clone())))
        .map_err(|e| RunError::BadInput(format!("cannot read the input: {e}")))?;
    if peeked.head.is_empty() {
        // No dump is empty: an empty stream is a failed upstream command, not an empty database.
        return Err(RunError::BadInput(
            "the input is empty (input byte 0): no dump to anonymize".into(),
        ));
    }
    let format = match args.format {
        FormatArg::Mongo => Format::Mongo,
        FormatArg::Mysql => Format::MySql,
        FormatArg::Postgres => Format::Postgres,
        FormatArg::Auto => formats::detect(&peeked.head).ok_or_else(|| {
            RunError::BadInput(
                "cannot tell the input's format: not a mongodump archive, not a MySQL/MariaDB or PostgreSQL dump (use --format to force one)".into(),
            )
        })?,
    };
    let output_gzip = match args.compress {
        CompressArg::Auto => input_gzip,
        CompressArg::Gzip => true,
        CompressArg::None => false,
    };
    let level = output_gzip.then_some(args.level.unwrap_or(6));
    let mut output = Output::create(&args.output, level).map_err(|e| {
        RunError::Usage(format!(
            "cannot create the output {}: {e}",
            args.output.display()
        ))
    })?;

    let result = formats::rewrite(format, peeked.reader, &mut output, &anon, args);
    let collections = match result {
        Ok(c) => c,
        Err(e) => {
            output.abandon();
            return Err(match e {
                FormatError::Input(m) => RunError::BadInput(m),
                FormatError::Output(m) => RunError::Output(m),
                FormatError::Usage(m) => RunError::Usage(m),
            });
        }
    };
    let bytes_out = output.bytes_written();
    let seconds = started.elapsed().as_secs_f64();
    let bytes_in = bytes_in.load(Relaxed);
    let mut summary = RunSummary {
        format: format.name(),
        input_gzip,
        output_gzip,
        keyed: anon.is_keyed(),
        collections,
        rules: Vec::new(),
        unmatched_rules: Vec::new(),
        unmatched_names: Vec::new(),
        bytes_in,
        bytes_out,
        seconds,
        mb_per_second: if seconds > 0.0 {
            bytes_in as f64 / seconds / 1e6
        } else {
            0.0
        },
        strict_failed: false,
    }
    .with_report(anon.report());
    summary.strict_failed = args.strict && summary.has_unmatched();

    if summary.strict_failed {
        output.abandon();
    } else if let Err(e) = output.commit() {
        return Err(RunError::Output(format!(
            "cannot write the output {}: {e}",
            args.output.display()
        )));
    }
    if !args.quiet {
        eprint!("{}", summary.to_text());
    }
    if let Some(path) = &args.report {
        let json =
            serde_json::to_vec_pretty(&summary).map_err(|e| RunError::Output(e.to_string()))?;
        std::fs::write(path, json).map_err(|e| {
            RunError::Output(format!("cannot write the report {}: {e}", path.display()))
        })?;
    }
    if summary.strict_failed {
        let mut what: Vec<String> = summary
            .unmatched_rules
            .iter()
            .map(|r| format!("rule {r}"))
            .collect();
        what.extend(summary.unmatched_names.iter().cloned());
        return Err(RunError::Strict(format!(
            "never matched: {}",
            what.join("; ")
        )));
    }
    Ok(())
}
