//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use syrf_anonymize::exit;

const USAGE: &str = "\
syrf-anonymize --rules FILE [--input PATH|-] [--output PATH|-] [OPTIONS]
       syrf-anonymize check --rules FILE
       syrf-anonymize verify --original PATH --rules FILE [--allow PATH]... ANONYMIZED
       syrf-anonymize inspect DUMP [--format F] [--sample N] [--output FILE]
       syrf-anonymize scan [--rules FILE] [--show-values] [--strict] [--suggest] DUMP
       syrf-anonymize preview-config [--input PATH] [--json]
       syrf-anonymize completions [bash|zsh|fish|elvish|powershell]
       syrf-anonymize man [--dir DIR]";

const AFTER_HELP: &str = "\
The key comes from --key-file PATH or the SYRF_ANONYMIZE_KEY environment variable, never from a
command-line value (it would show in `ps` and in shell history), so there is no --key flag.
Without one the run is refused unless --unkeyed is given.

A failed run (exit 1, 3 or 4) never leaves an output a restore tool takes for complete: a file
output is not renamed into place; on stdout or a device, a mongodump archive lacks its final
terminator, a SQL dump ends with a statement that makes mysql and psql -v ON_ERROR_STOP=1 fail,
and a gzip output ends with a truncated member.

A rules file that covers nothing (empty, comments only, cut short: no field rule, exclusion,
schema_only table or size limit) is refused (exit 2) unless --allow-empty-rules is given.
SIGTERM, SIGINT or SIGHUP while writing --output FILE removes the partial file and exits
128 + the signal's number (143, 130, 129).

Exit codes:
  0    success
  1    output I/O error (cannot create or write the output) or other failure
  2    bad usage (flags, an input path that is missing or not a file, binary output to a
       terminal), bad rules file, or no key
  3    bad input: empty, truncated, corrupt or unsupported dump
  4    --strict: a rule, collection or field never matched anything
  5    verify: a value a rule covered in the original was found in the anonymized output
  129, 130, 143  stopped by SIGHUP, SIGINT, SIGTERM while writing --output FILE
  141  the output's reader went away (broken pipe); nothing is printed

Subcommands:
  check            validate a rules file (exit 0 or 2)
  verify           check that no covered original value survives in an output (exit 0 or 5)
  inspect          print a dump's JSON manifest (collections/tables, counts, fields and types)
  scan             report fields no rule covers whose values look like personal data
  preview-config   read a PR description's #preview-config block, print it for $GITHUB_OUTPUT
  completions      print a shell completion script
  man              print the man page, or write one page per subcommand with --dir

Examples:
  gsutil cat gs://bucket/dump.gz | syrf-anonymize --rules rules/syrf.yaml | mongorestore --gzip --archive=- --drop
  mysqldump app | syrf-anonymize --rules rules/laravel.yaml | mysql app_dev
  syrf-anonymize check --rules rules/syrf.yaml
  syrf-anonymize verify --original dump.gz --rules rules/syrf.yaml anonymized.gz
  syrf-anonymize inspect dump.gz --output manifest.json
  syrf-anonymize scan --rules rules/syrf.yaml --strict dump.gz
  printf '%s' \"$PR_BODY\" | syrf-anonymize preview-config >> \"$GITHUB_OUTPUT\"
  syrf-anonymize completions bash > /etc/bash_completion.d/syrf-anonymize";

/// Turns production database dumps into safe, production-like copies, as a stream.
#[derive(Debug, Parser)]
#[command(
    name = "syrf-anonymize",
    version,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    override_usage = USAGE
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands. Each variant's arguments live beside it; `main` dispatches on the variant.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a rules file and exit 0 (valid) or 2 (invalid, with every error found, or
    /// covering nothing).
    Check {
        /// The rules file.
        #[arg(long, value_name = "FILE")]
        rules: PathBuf,
        /// Accept a rules file that covers nothing (a run then needs the same flag).
        #[arg(long)]
        allow_empty_rules: bool,
    },
    /// Check that no value a rule covered in the original survives in the anonymized output
    /// (exit 0, or 5 when one does).
    Verify(crate::subcommands::VerifyArgs),
    /// Print a JSON manifest of a dump: collections/tables, counts, fields and types.
    Inspect(crate::subcommands::InspectArgs),
    /// Report fields no rule covers whose values look like personal data (MongoDB archives).
    Scan(crate::subcommands::ScanArgs),
    /// Read a PR description on stdin and print its `#preview-config` block for $GITHUB_OUTPUT.
    PreviewConfig(crate::subcommands::PreviewConfigArgs),
    /// Print a shell completion script.
    Completions(crate::shell::CompletionsArgs),
    /// Print the man page (roff).
    Man(crate::shell::ManArgs),
}

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
    pub observe: crate::observe_cli::ObserveArgs,
}

/// True when the command line holds `--key` or `--key=…` (before a `--`): there is no such
/// flag, and `main` refuses it before clap parses anything, so that no message (nor a clap
/// suggestion such as `--unkeyed`) echoes the value, and help, man page and completions never
/// offer it.
pub fn has_key_flag(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    args.into_iter()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--key" || a.as_encoded_bytes().starts_with(b"--key="))
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The hand-written usage and after-help, and README's command-line synopsis, name every
    /// subcommand the parser has, with the same first line.
    #[test]
    fn usage_after_help_and_readme_list_every_subcommand() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
                .unwrap();
        let synopsis = readme
            .split("## The command line")
            .nth(1)
            .and_then(|s| s.split("```").nth(1))
            .expect("README has a synopsis block under `## The command line`");
        let usage: Vec<&str> = USAGE.lines().map(str::trim).collect();
        let names: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .collect();
        assert!(names.len() >= 5, "{names:?}");
        for name in &names {
            let prefix = format!("syrf-anonymize {name}");
            let in_usage = usage.iter().find(|l| l.starts_with(&prefix));
            let in_readme = synopsis
                .lines()
                .map(|l| l.split('#').next().unwrap_or("").trim())
                .find(|l| l.starts_with(&prefix));
            assert!(in_usage.is_some(), "usage lacks {name}");
            assert_eq!(
                in_usage,
                in_readme.as_ref(),
                "usage and README differ on {name}"
            );
            assert!(
                AFTER_HELP.contains(&format!("\n  {name} ")),
                "after-help lacks {name}"
            );
        }
        assert_eq!(
            usage.len(),
            names.len() + 1,
            "usage lists something the parser lacks"
        );
    }
}
