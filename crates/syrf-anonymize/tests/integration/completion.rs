//! The bash completion script in a real bash: subcommand flags are completed (clap_complete's
//! hyphenated-name bug fixed), `--key` is never offered. Once through bash's completion
//! machinery directly (`complete -p`, the completion function, `COMPREPLY`), once typed with
//! Tab in an interactive bash under tmux.

use crate::common;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_syrf-anonymize");

/// Writes the bash completion script into `dir`.
fn script(dir: &Path) -> PathBuf {
    let out = common::bin()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let path = dir.join("syrf-anonymize.bash");
    std::fs::write(&path, out.stdout).unwrap();
    path
}

/// What bash's completion offers for the command line `words` (the last one is completed).
fn complete(script: &Path, words: &[&str]) -> Vec<String> {
    let line = words.join(" ");
    let program = format!(
        "source {script}\n\
         complete -p syrf-anonymize >/dev/null || exit 9\n\
         func=$(complete -p syrf-anonymize | sed -E 's/.* -F ([^ ]+) .*/\\1/')\n\
         COMP_LINE={line:?}\n\
         read -ra COMP_WORDS <<< \"$COMP_LINE\"\n\
         COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n\
         COMP_POINT=${{#COMP_LINE}}\n\
         \"$func\" syrf-anonymize \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script = script.display()
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_subcommand_flags_and_never_key() {
    let dir = tempfile::tempdir().unwrap();
    let script = script(dir.path());
    assert_eq!(
        complete(&script, &["syrf-anonymize", "check", "--r"]),
        ["--rules"]
    );
    assert_eq!(
        complete(&script, &["syrf-anonymize", "verify", "--orig"]),
        ["--original"]
    );
    let scan = complete(&script, &["syrf-anonymize", "scan", "--s"]);
    assert!(
        scan.contains(&"--suggest".to_owned()) && scan.contains(&"--strict".to_owned()),
        "{scan:?}"
    );
    assert_eq!(
        complete(&script, &["syrf-anonymize", "--key"]),
        ["--key-file"],
        "--key is never offered"
    );
    let all = complete(&script, &["syrf-anonymize", "--"]);
    assert!(all.contains(&"--allow-empty-rules".to_owned()), "{all:?}");
    assert!(!all.contains(&"--key".to_owned()), "{all:?}");
}

/// Types `syrf-anonymize check --ru<Tab>` into an interactive bash under tmux and reads the
/// screen.
#[test]
fn tab_in_an_interactive_bash_under_tmux_completes_a_subcommand_flag() {
    if Command::new("tmux").arg("-V").output().is_err() {
        syrf_testdata::skip(env!("CARGO_PKG_NAME"), "tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = script(dir.path());
    let bin_dir = Path::new(BIN).parent().unwrap();
    let rc = dir.path().join("rc");
    std::fs::write(
        &rc,
        format!(
            "PS1='READY> '\nexport PATH={}:$PATH\nsource {}\n",
            bin_dir.display(),
            script.display()
        ),
    )
    .unwrap();
    let socket = dir.path().join("tmux.sock");
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args(args)
            .output()
            .unwrap()
    };
    let started = tmux(&[
        "new-session",
        "-d",
        "-x",
        "200",
        "-y",
        "20",
        &format!("bash --noprofile --rcfile {} -i", rc.display()),
    ]);
    assert!(started.status.success(), "{started:?}");
    let screen = || String::from_utf8_lossy(&tmux(&["capture-pane", "-p"]).stdout).into_owned();
    let wait_for = |what: &str| {
        // Polls the screen; a bound on the attempts, not a timing assertion.
        for _ in 0..200 {
            if screen().contains(what) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    };
    assert!(wait_for("READY>"), "no prompt: {}", screen());
    tmux(&["send-keys", "syrf-anonymize check --ru", "Tab"]);
    let completed = wait_for("syrf-anonymize check --rules");
    let shown = screen();
    tmux(&["kill-server"]);
    assert!(completed, "Tab did not complete --rules:\n{shown}");
}
