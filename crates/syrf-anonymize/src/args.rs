//! The argument types of the command line that more than one module needs: a run's flags
//! ([`RunArgs`], with its observability flags [`ObserveArgs`] and value enums), `--format`
//! ([`FormatArg`], also a subcommand flag) and the shell subcommands' arguments. The parser's
//! assembly ([`crate::cli`]), `main`, the subcommands, `observe_cli` and `shell` import them;
//! this module imports none of those.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use clap_complete::Shell;

/// Options of a run (the default command).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The rules file (YAML). Required for a run.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Input dump, `-` for stdin (not a terminal).
    #[arg(long, short = 'i', value_name = "PATH", default_value = "-")]
    pub input: PathBuf,
    /// Output dump, `-` for stdout (binary output is refused on a terminal). A regular file
    /// (or a symlink's target) is written to a temporary name beside it and renamed into place
    /// only when the whole run succeeded, keeping an existing file's mode; a device or FIFO is
    /// written directly.
    #[arg(long, short = 'o', value_name = "PATH", default_value = "-")]
    pub output: PathBuf,
    /// Input format; detected from the first bytes by default.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// MongoDB output layout: `auto` writes a mongodump directory when the input is one and
    /// `--output` names a path not ending in `.archive` or `.gz`, else an archive stream.
    #[arg(long, value_enum, default_value_t = LayoutArg::Auto)]
    pub output_layout: LayoutArg,
    /// Output compression; mirrors the input by default.
    #[arg(long, value_enum, default_value_t = CompressArg::Auto)]
    pub compress: CompressArg,
    /// gzip level of the output, 0-9.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=9))]
    pub level: Option<u32>,
    /// Worker threads transforming documents and rows (default: all cores). The output is
    /// byte-identical whatever the number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
    /// File holding the secret key (at least 16 bytes; surrounding whitespace ignored).
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// Run without a key: hashes become plain SHA-256, which anyone can reverse for guessable
    /// values. `hmac` rules refuse to run.
    #[arg(long)]
    pub unkeyed: bool,
    /// Fail (exit 4) when a rule, collection or field never matched anything.
    #[arg(long)]
    pub strict: bool,
    /// Run with a rules file that covers nothing (no field rule, exclusion, schema_only table
    /// or size limit), which copies the dump unchanged; refused (exit 2) without this flag.
    #[arg(long)]
    pub allow_empty_rules: bool,
    /// No summary on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Show progress on stderr even when it is not a terminal (it is shown on a terminal by
    /// default, and never with --quiet).
    #[arg(long)]
    pub progress: bool,
    /// The input's size in bytes when it is a pipe, for the progress's percent and ETA (the
    /// size of an input file is known). Compressed bytes, for a gzip input.
    #[arg(long, value_name = "BYTES")]
    pub input_size: Option<u64>,
    /// SQL subsets (`size_limits`, `schema_only`) read the dump before rewriting it, to keep
    /// foreign keys valid: a piped input is then spooled to a temporary file in $TMPDIR
    /// (removed on exit). With this flag such a run fails instead; give the input as a file.
    #[arg(long)]
    pub no_spool: bool,
    /// Also write the summary as JSON to FILE; a failed run writes it too, with `error` and
    /// `exit_code` (and the summary's fields when there is one).
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
    /// Metrics and audit log (`observe_cli`).
    #[command(flatten)]
    pub observe: ObserveArgs,
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

impl FormatArg {
    /// The format this forces, `None` for `auto`.
    pub fn format(self) -> Option<syrf_anonymize::Format> {
        use syrf_anonymize::Format;
        match self {
            FormatArg::Auto => None,
            FormatArg::Mongo => Some(Format::Mongo),
            FormatArg::Mysql => Some(Format::MySql),
            FormatArg::Postgres => Some(Format::Postgres),
        }
    }
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

/// `--output-layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutArg {
    /// A directory for a directory input written to a path, else an archive.
    Auto,
    /// A mongodump archive stream (`mongorestore --archive`).
    Archive,
    /// A mongodump directory (`mongorestore DIR`).
    Directory,
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

/// `--metrics`, `--metrics-push*`, `--audit-log`.
#[derive(Debug, Args)]
pub struct ObserveArgs {
    /// Write the run's figures to FILE in the Prometheus text format (for node_exporter's
    /// textfile collector), atomically, after a successful and after a failed run.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Push the same figures to the Prometheus Pushgateway at URL (http://HOST:PORT). A failed
    /// push prints a warning and never fails the run.
    #[arg(long, value_name = "URL")]
    pub metrics_push: Option<String>,
    /// The Pushgateway grouping label `job`.
    #[arg(long, value_name = "NAME", default_value = "syrf-anonymize")]
    pub metrics_job: String,
    /// The Pushgateway grouping label `instance` (none by default).
    #[arg(long, value_name = "NAME")]
    pub metrics_instance: Option<String>,
    /// Seconds each Pushgateway request may take (at most two per run: reading back the series
    /// a failed run keeps, when there is no --metrics file, then the push).
    #[arg(long, value_name = "SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub metrics_push_timeout: u64,
    /// Append one JSON line per run (successful or not) to FILE: times, version, the rules'
    /// SHA-256, the key's fingerprint, input and output sizes and SHA-256, counts, exit code.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
}

impl ObserveArgs {
    /// True when any observability flag is given.
    pub(crate) fn any(&self) -> bool {
        self.metrics.is_some() || self.metrics_push.is_some() || self.audit_log.is_some()
    }
}

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Arguments of `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command (`syrf-anonymize.1`, `syrf-anonymize-inspect.1`, ...) into
    /// DIR instead of the main page to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}
