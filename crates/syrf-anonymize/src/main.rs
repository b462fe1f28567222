//! `syrf-anonymize`: the thin command-line front of the anonymize-core, mongo-archive and
//! sql-dump crates. See `syrf-anonymize --help` and README.md.

mod cli;
mod formats;
mod input;
mod key;
mod output;
mod pgzip;
mod run;
mod summary;
mod verify;
mod verify_sql;

use clap::Parser;

use cli::{exit, Cli, Command};

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Check { rules }) => match run::load_rules(&rules) {
            Ok(set) => {
                let fields: usize = set.tables.iter().map(|t| t.fields.len()).sum();
                eprintln!(
                    "{}: ok ({} collections/tables with {} field rules, {} exclusions, {} size limits)",
                    rules.display(),
                    set.tables.len(),
                    fields,
                    set.exclusions.len(),
                    set.size_limits.len()
                );
                exit::SUCCESS
            }
            Err(e) => {
                eprintln!("syrf-anonymize: {e}");
                e.exit_code()
            }
        },
        Some(Command::Verify(args)) => verify::main(&args),
        None => match run::run(&cli.run) {
            Ok(()) => exit::SUCCESS,
            Err(e) => {
                eprintln!("syrf-anonymize: error: {e}");
                e.exit_code()
            }
        },
    };
    std::process::exit(code);
}
