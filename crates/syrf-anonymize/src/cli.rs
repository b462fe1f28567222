//! The command-line parser's assembly: [`Cli`] and its [`Command`]s, from the argument types of
//! [`crate::args`] and the subcommands' own (`subcommands`); the usage text.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::args::{CompletionsArgs, ManArgs, RunArgs};
use crate::subcommands::{InspectArgs, PreviewConfigArgs, ScanArgs, VerifyArgs};

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
    Verify(VerifyArgs),
    /// Print a JSON manifest of a dump: collections/tables, counts, fields and types.
    Inspect(InspectArgs),
    /// Report fields no rule covers whose values look like personal data (MongoDB archives).
    Scan(ScanArgs),
    /// Read a PR description on stdin and print its `#preview-config` block for $GITHUB_OUTPUT.
    PreviewConfig(PreviewConfigArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    Man(ManArgs),
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
