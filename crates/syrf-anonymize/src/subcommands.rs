//! The command-line glue of `inspect`, `preview-config` and `verify`: their arguments, where
//! they read and write, and exit codes. The logic is in the library
//! ([`syrf_anonymize::inspect`], [`syrf_anonymize::preview_config`],
//! [`syrf_anonymize::verify`]).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::Value;
use syrf_anonymize::inspect::{self, InspectError, InspectOptions};
use syrf_anonymize::preview_config;
use syrf_anonymize::scan;
use syrf_anonymize::verify::{self, VerifyOptions};

use syrf_anonymize::exit;

use crate::args::FormatArg;
use crate::output::Destination;

/// Arguments of `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The dump (mongodump archive, MySQL/MariaDB or PostgreSQL SQL; gzip or not), `-` for stdin.
    #[arg(value_name = "DUMP")]
    pub dump: PathBuf,
    /// Input format; detected from the first bytes by default.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// Also show the first N values of every field or column. Off by default: without it the
    /// manifest holds names, types and counts only, never a value from the data.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub sample: usize,
    /// Write the manifest to FILE (a temporary name renamed into place on success) instead of
    /// stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Arguments of `preview-config`.
#[derive(Debug, Args)]
pub struct PreviewConfigArgs {
    /// The PR description, `-` for stdin.
    #[arg(long, short = 'i', value_name = "PATH", default_value = "-")]
    pub input: PathBuf,
    /// Print one JSON object instead of `key=value` lines.
    #[arg(long)]
    pub json: bool,
    /// A rules file whose `references:` close the `collections` list: the collections the
    /// listed ones reference are added, transitively (each addition is said on stderr).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The original (not anonymized) dump.
    #[arg(long, value_name = "PATH")]
    pub original: PathBuf,
    /// The rules file the output was made with.
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    /// A field path the user knowingly keeps (`field.path`, `collection.field.path` or
    /// `db.collection.field.path`); repeatable.
    #[arg(long, value_name = "PATH")]
    pub allow: Vec<String>,
    /// The anonymized dump to check.
    pub anonymized: PathBuf,
}

/// `verify`; returns the exit code: 0, 5 when an original value survives, or an error's code.
pub fn verify_main(args: &VerifyArgs) -> i32 {
    let result = syrf_anonymize::load_rules(&args.rules).and_then(|rules| {
        let (original, _, _) = crate::open_input(&args.original)?;
        let (anonymized, _, _) = crate::open_input(&args.anonymized)?;
        let options = VerifyOptions {
            allow: args.allow.clone(),
        };
        verify::verify(original, anonymized, rules, &options)
    });
    match result {
        Ok(report) => {
            eprint!("{report}");
            report.exit_code()
        }
        Err(e) => {
            eprintln!("syrf-anonymize verify: error: {e}");
            e.exit_code()
        }
    }
}

/// An input that could not be opened: a damaged pg_dump directory archive is bad input (exit
/// 3), anything else a usage error (exit 2), as for a run.
fn open_error(e: syrf_anonymize::Error) -> InspectError {
    match e {
        syrf_anonymize::Error::BadInput(m) => InspectError::BadInput(m),
        e => InspectError::Usage(e.to_string()),
    }
}

/// Builds the manifest of the dump at `args.dump`.
fn manifest(args: &InspectArgs) -> Result<Value, InspectError> {
    let (input, _, _) = crate::open_input(&args.dump).map_err(open_error)?;
    let input_modified = (args.dump != Path::new("-"))
        .then(|| {
            std::fs::metadata(&args.dump)
                .and_then(|m| m.modified())
                .ok()
        })
        .flatten();
    let options = InspectOptions {
        format: args.format.format(),
        sample: args.sample,
        input_modified,
    };
    let mut manifest = inspect::manifest(input, &options).map_err(|e| match e {
        InspectError::BadInput(m) => {
            InspectError::BadInput(format!("{}: {m}", args.dump.display()))
        }
        other => other,
    })?;
    if sql_dump::is_pg_directory(&args.dump) {
        // Read as its SQL text: the manifest names the directory's format and size.
        let (mut size, mut gzip) = (0u64, false);
        for f in std::fs::read_dir(&args.dump)
            .into_iter()
            .flatten()
            .flatten()
        {
            size += f.metadata().map_or(0, |m| m.len());
            gzip |= f.file_name().to_string_lossy().ends_with(".dat.gz");
        }
        if let Value::Object(m) = &mut manifest {
            m.insert("format".into(), "postgres-directory".into());
            m.insert(
                "compression".into(),
                if gzip { "gzip" } else { "none" }.into(),
            );
            m.insert("size_bytes".into(), size.into());
        }
    }
    Ok(manifest)
}

/// Writes the manifest to stdout or, atomically, to `path`.
fn write(manifest: &Value, path: Option<&Path>) -> Result<(), InspectError> {
    let mut text = serde_json::to_string_pretty(manifest)
        .map_err(|e| InspectError::Output(format!("manifest: {e}")))?;
    text.push('\n');
    let path = path.unwrap_or(Path::new("-"));
    let fail = |e: std::io::Error| InspectError::Output(format!("writing {}: {e}", path.display()));
    let mut out = Destination::open(path).map_err(fail)?;
    match out.write_all(text.as_bytes()) {
        Ok(()) => out.commit().map_err(fail),
        Err(e) => {
            out.abandon();
            Err(fail(e))
        }
    }
}

/// `inspect`; returns the exit code.
pub fn inspect_main(args: &InspectArgs) -> i32 {
    match manifest(args).and_then(|m| write(&m, args.output.as_deref())) {
        Ok(()) => exit::SUCCESS,
        Err(e) => {
            eprintln!("syrf-anonymize: inspect: {e}");
            e.exit_code()
        }
    }
}

/// Reads the whole input (`-` is stdin).
fn read_all(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut text = Vec::new();
    if path == Path::new("-") {
        std::io::stdin().lock().read_to_end(&mut text)?;
    } else {
        std::fs::File::open(path)?.read_to_end(&mut text)?;
    }
    Ok(text)
}

/// `preview-config`; returns the exit code.
pub fn preview_config_main(args: &PreviewConfigArgs) -> i32 {
    let text = match read_all(&args.input) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "syrf-anonymize: preview-config: reading {}: {e}",
                args.input.display()
            );
            return exit::FAILURE;
        }
    };
    let text = String::from_utf8_lossy(&text);
    match preview_config::parse(&text) {
        Ok(mut config) => {
            if let Some(path) = &args.rules {
                let rules = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read the rules file {}: {e}", path.display()))
                    .and_then(|t| {
                        anonymize_core::RuleSet::from_yaml(&t, &path.display().to_string())
                            .map_err(|e| e.to_string())
                    });
                let rules = match rules {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("syrf-anonymize: preview-config: {e}");
                        return exit::USAGE;
                    }
                };
                for a in preview_config::close_over_references(&mut config, &rules.references) {
                    eprintln!(
                        "syrf-anonymize: preview-config: added `{}` (referenced: {})",
                        a.collection, a.by
                    );
                }
            }
            if args.json {
                println!("{}", preview_config::to_json(&config));
            } else {
                print!("{}", preview_config::to_github_output(&config));
            }
            exit::SUCCESS
        }
        Err(e) => {
            eprintln!("syrf-anonymize: {e}");
            exit::USAGE
        }
    }
}

/// Arguments of `scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The rules file; without it no field is covered.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Show the first value of every finding (values are never shown without it).
    #[arg(long)]
    pub show_values: bool,
    /// Exit 4 when anything is found.
    #[arg(long)]
    pub strict: bool,
    /// Print a starting rules file (YAML) covering the findings on stdout instead of the report.
    #[arg(long)]
    pub suggest: bool,
    /// The mongodump archive or MySQL/MariaDB/PostgreSQL dump (gzip or not), `-` for stdin.
    #[arg(value_name = "DUMP")]
    pub dump: PathBuf,
}

/// `scan`; returns the exit code: 0, 4 with `--strict` when something was found, or an
/// error's code.
pub fn scan_main(args: &ScanArgs) -> i32 {
    let rules = match args.rules.as_deref().map(syrf_anonymize::load_rules) {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            eprintln!("syrf-anonymize: scan: {e}");
            return e.exit_code();
        }
    };
    let report = crate::open_input(&args.dump)
        .map_err(open_error)
        .and_then(|(input, _, _)| {
            let options = scan::ScanOptions {
                show_values: args.show_values,
            };
            scan::scan(input, rules.as_ref(), &options)
        });
    match report {
        Ok(report) => {
            if args.suggest {
                print!("{}", report.suggest());
                eprint!("{report}");
            } else {
                print!("{report}");
            }
            if args.strict {
                report.strict_exit_code()
            } else {
                exit::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("syrf-anonymize: scan: {}: {e}", args.dump.display());
            e.exit_code()
        }
    }
}
