//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes, documented in `--help` and README.
pub mod exit {
    /// The dump was rewritten.
    pub const SUCCESS: i32 = 0;
    /// An I/O failure on the output or another unexpected error.
    pub const FAILURE: i32 = 1;
    /// Bad usage, a bad rules file, or no key.
    pub const USAGE: i32 = 2;
    /// The input is not a valid dump (truncated, corrupt, unsupported).
    pub const BAD_INPUT: i32 = 3;
    /// `--strict`: a rule, collection or field never matched.
    pub const STRICT: i32 = 4;
}

const AFTER_HELP: &str = "\
The key comes from --key-file PATH or the SYRF_ANONYMIZE_KEY environment variable, never from a
command-line value. Without one the run is refused unless --unkeyed is given.

Exit codes:
  0  success
  1  output I/O error or other failure
  2  bad usage, bad rules file, or no key
  3  bad input: truncated, corrupt or unsupported dump
  4  --strict: a rule, collection or field never matched anything

Examples:
  gsutil cat gs://bucket/dump.gz | syrf-anonymize --rules rules/syrf.yaml | mongorestore --gzip --archive=- --drop
  mysqldump app | syrf-anonymize --rules rules/laravel.yaml | mysql app_dev
  syrf-anonymize check --rules rules/syrf.yaml";

/// Turns production database dumps into safe, production-like copies, as a stream.
#[derive(Debug, Parser)]
#[command(name = "syrf-anonymize", version, after_help = AFTER_HELP, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a rules file and exit 0 (valid) or 2 (invalid).
    Check {
        /// The rules file.
        #[arg(long, value_name = "FILE")]
        rules: PathBuf,
    },
    /// Check that no value a rule covered in the original survives in the anonymized output
    /// (exit 0, or 5 when one does).
    Verify(crate::verify::VerifyArgs),
}

/// Options of a run (the default command).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The rules file (YAML).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Input dump, `-` for stdin.
    #[arg(long, short = 'i', value_name = "PATH", default_value = "-")]
    pub input: PathBuf,
    /// Output dump, `-` for stdout. A file is written to a temporary name and renamed into
    /// place only when the whole run succeeded.
    #[arg(long, short = 'o', value_name = "PATH", default_value = "-")]
    pub output: PathBuf,
    /// Input format; detected from the first bytes by default.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// Output compression; mirrors the input by default.
    #[arg(long, value_enum, default_value_t = CompressArg::Auto)]
    pub compress: CompressArg,
    /// gzip level of the output, 0-9.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=9))]
    pub level: Option<u32>,
    /// File holding the secret key (at least 16 bytes; trailing newline ignored).
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// Run without a key: hashes become plain SHA-256, which anyone can reverse for guessable
    /// values. `hmac` rules refuse to run.
    #[arg(long)]
    pub unkeyed: bool,
    /// Fail (exit 4) when a rule, collection or field never matched anything.
    #[arg(long)]
    pub strict: bool,
    /// No summary on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Also write the summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Keep only these collections or tables (comma separated, bare or qualified names).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub collections: Option<Vec<String>>,
    /// MongoDB: keep `admin.system.users`/`system.roles` and `--dumpDbUsersAndRoles` data
    /// (credential hashes), dropped by default.
    #[arg(long)]
    pub keep_users: bool,
    /// MongoDB: what to do with an `--oplog` dump's oplog: apply the collections' rules to it,
    /// or drop it.
    #[arg(long, value_enum, default_value_t = OplogArg::Apply)]
    pub oplog: OplogArg,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Detect from magic bytes and the first statements.
    Auto,
    /// A mongodump archive (`--archive`, optionally `--gzip`).
    Mongo,
    /// A mysqldump / mariadb-dump SQL dump.
    Mysql,
    /// A pg_dump plain SQL dump.
    Postgres,
}

/// `--compress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressArg {
    /// Same as the input.
    Auto,
    /// gzip, compressed on all cores.
    Gzip,
    /// Uncompressed.
    None,
}

/// `--oplog`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OplogArg {
    /// Rewrite oplog entries with their collection's rules; fail on entries that cannot be
    /// made safe.
    Apply,
    /// Remove the oplog from the output.
    Drop,
}
