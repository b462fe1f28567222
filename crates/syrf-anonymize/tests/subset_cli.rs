//! SQL subsets through the binary: a file is read again from its path, a pipe is spooled to
//! an unnamed temporary file in `$TMPDIR` (nothing is left there, on success or failure) or
//! refused with `--no-spool`; a pipe and a file give the same bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::run_with_stdin;

const BIN: &str = env!("CARGO_BIN_EXE_syrf-anonymize");
const KEY: &str = "subset-cli-test-key-0123456789";

fn pagila() -> PathBuf {
    syrf_testdata::conformance_dir!("sql")
        .expect("the conformance data ($SYRF_TESTDATA_DIR/sql)")
        .join("pagila.sql.gz")
}

fn setup(dir: &Path) -> (PathBuf, PathBuf) {
    let rules = dir.join("subset.yaml");
    std::fs::write(
        &rules,
        "size_limits:\n  customer: {max_rows: 50}\nrules:\n  customer:\n    columns:\n      email: hash_email\n",
    )
    .unwrap();
    let key = dir.join("key");
    std::fs::write(&key, KEY).unwrap();
    (rules, key)
}

fn cmd(rules: &Path, key: &Path, tmp: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("SYRF_ANONYMIZE_KEY")
        .env("TMPDIR", tmp)
        .arg("--rules")
        .arg(rules)
        .arg("--key-file")
        .arg(key)
        .args(["--compress", "none", "--quiet"]);
    c
}

#[test]
fn pipe_and_file_give_the_same_bytes_and_leave_no_spool() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (rules, key) = setup(dir.path());
    let from_file = dir.path().join("file.sql");
    let out = cmd(&rules, &key, tmp.path())
        .arg("--input")
        .arg(pagila())
        .arg("--output")
        .arg(&from_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gz = std::fs::read(pagila()).unwrap();
    let from_pipe = dir.path().join("pipe.sql");
    let mut c = cmd(&rules, &key, tmp.path());
    c.arg("--output").arg(&from_pipe);
    let out = run_with_stdin(c, &gz);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (a, b) = (
        std::fs::read(&from_file).unwrap(),
        std::fs::read(&from_pipe).unwrap(),
    );
    assert!(a == b, "a pipe and a file gave different outputs");
    let text = String::from_utf8_lossy(&a);
    let customers = text
        .split("COPY public.customer ")
        .nth(1)
        .and_then(|s| s.split("\\.\n").next())
        .unwrap();
    assert_eq!(customers.lines().count(), 51, "the COPY line and 50 rows");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "spool left in TMPDIR"
    );

    // A failing run (a dump cut inside a COPY block) leaves nothing either.
    let plain = common::gunzip(&gz);
    let cut = &plain[..plain.len() / 2];
    let mut c = cmd(&rules, &key, tmp.path());
    c.arg("--output").arg(dir.path().join("cut.sql"));
    let out = run_with_stdin(c, cut);
    assert!(!out.status.success());
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "spool left in TMPDIR"
    );
}

#[test]
fn no_spool_refuses_a_pipe_but_reads_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let (rules, key) = setup(dir.path());
    let gz = std::fs::read(pagila()).unwrap();
    let mut c = cmd(&rules, &key, dir.path());
    c.args(["--no-spool", "--output"])
        .arg(dir.path().join("o.sql"));
    let out = run_with_stdin(c, &gz);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--no-spool") && err.contains("--input PATH"),
        "{err}"
    );
    let out = cmd(&rules, &key, dir.path())
        .arg("--no-spool")
        .arg("--input")
        .arg(pagila())
        .arg("--output")
        .arg(dir.path().join("o.sql"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_spool_goes_to_tmpdir() {
    let dir = tempfile::tempdir().unwrap();
    let (rules, key) = setup(dir.path());
    let missing = dir.path().join("no-such-dir");
    let gz = std::fs::read(pagila()).unwrap();
    let mut c = cmd(&rules, &key, &missing);
    c.arg("--output").arg(dir.path().join("o.sql"));
    let out = run_with_stdin(c, &gz);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("cannot spool the input") && err.contains("no-such-dir"),
        "{err}"
    );
}
