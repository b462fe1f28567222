//! `syrf-anonymize completions SHELL` and `syrf-anonymize man`: generated from the clap
//! definition, so they always match the flags.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use syrf_anonymize::exit;

use crate::args::{CompletionsArgs, ManArgs};
use crate::cli::Cli;

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "syrf-anonymize", &mut out);
    if shell == Shell::Bash {
        out = fix_bash_hyphenated_name(&out);
    }
    out
}

/// clap_complete's bash script names the states of a hyphenated binary's subcommands two ways:
/// `syrf__anonymize__subcmd__check` where it walks the words, `syrf__subcmd__anonymize__…`
/// where it completes them, so no subcommand's flags are ever offered (bash falls back to
/// file names). One spelling, the first, everywhere.
fn fix_bash_hyphenated_name(script: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(script)
        .replace("syrf__subcmd__anonymize", "syrf__anonymize")
        .into_bytes()
}

/// The main man page (roff).
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    Ok(out)
}

/// Runs `completions`; returns the exit code.
pub fn completions_main(args: &CompletionsArgs) -> i32 {
    write_stdout(&completions(args.shell))
}

/// Runs `man`; returns the exit code.
pub fn man_main(args: &ManArgs) -> i32 {
    let result = match &args.dir {
        None => man_page().map(|page| write_stdout(&page)),
        Some(dir) => clap_mangen::generate_to(Cli::command(), dir).map(|()| exit::SUCCESS),
    };
    result.unwrap_or_else(|e| {
        eprintln!("syrf-anonymize: man: {e}");
        exit::FAILURE
    })
}

fn write_stdout(bytes: &[u8]) -> i32 {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => exit::SUCCESS,
        Err(e) => {
            eprintln!("syrf-anonymize: writing to stdout: {e}");
            exit::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_name_every_subcommand_and_flag() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let text = String::from_utf8(completions(shell)).unwrap();
            for word in [
                "inspect",
                "preview-config",
                "completions",
                "check",
                "rules",
                "strict",
                "key-file",
                "sample",
            ] {
                assert!(text.contains(word), "{shell:?} completion lacks {word}");
            }
            if shell == Shell::Bash {
                assert!(text.contains("--key-file"));
            }
        }
    }

    #[test]
    fn man_page_documents_the_flags() {
        let page = String::from_utf8(man_page().unwrap()).unwrap();
        assert!(page.starts_with(".ie"), "roff output");
        assert!(page.contains(".TH syrf-anonymize 1"), "{}", &page[..200]);
        assert!(page.contains("\\-\\-key\\-file"));
        assert!(page.contains("inspect"));
    }

    #[test]
    fn man_pages_per_subcommand() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            man_main(&ManArgs {
                dir: Some(dir.path().to_path_buf())
            }),
            exit::SUCCESS
        );
        for page in ["syrf-anonymize.1", "syrf-anonymize-inspect.1"] {
            assert!(dir.path().join(page).is_file(), "{page}");
        }
    }
}
