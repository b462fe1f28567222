//! SQL subsets through the binary: a file is read again from its path, a pipe is spooled to
//! an unnamed temporary file in `$TMPDIR` (nothing is left there, on success or failure) or
//! refused with `--no-spool`; a pipe and a file give the same bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;
use common::run_with_stdin;

const KEY: &str = "subset-cli-test-key-0123456789";

/// pagila's dump; `None` (with a loud skip line) without the third-party test data.
fn pagila() -> Option<PathBuf> {
    Some(syrf_testdata::conformance_dir!("sql")?.join("pagila.sql.gz"))
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
    let mut c = common::bin();
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
    let Some(pagila) = pagila() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (rules, key) = setup(dir.path());
    let from_file = dir.path().join("file.sql");
    let out = cmd(&rules, &key, tmp.path())
        .arg("--input")
        .arg(pagila.clone())
        .arg("--output")
        .arg(&from_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gz = std::fs::read(pagila.clone()).unwrap();
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
    let Some(pagila) = pagila() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (rules, key) = setup(dir.path());
    let gz = std::fs::read(pagila.clone()).unwrap();
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
        .arg(pagila.clone())
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
    let Some(pagila) = pagila() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (rules, key) = setup(dir.path());
    let missing = dir.path().join("no-such-dir");
    let gz = std::fs::read(pagila.clone()).unwrap();
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

#[test]
fn archive_references_pipe_and_file_give_the_same_bytes() {
    use mongo_archive::synth::{generate_vec, SynthConfig};
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let archive = generate_vec(&SynthConfig {
        target_bytes: 2_000_000,
        ..SynthConfig::default()
    });
    let input = dir.path().join("syrf.archive");
    std::fs::write(&input, &archive).unwrap();
    let rules = dir.path().join("refs.yaml");
    std::fs::write(
        &rules,
        "references:\n  pmStudy.ProjectId: pmProject._id\nsize_limits:\n  pmProject: {max_documents: 3}\n",
    )
    .unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, KEY).unwrap();
    let run = |pipe: bool, out: &Path| {
        let mut c = common::bin();
        c.env_remove("SYRF_ANONYMIZE_KEY")
            .env("TMPDIR", tmp.path())
            .arg("--rules")
            .arg(&rules)
            .arg("--key-file")
            .arg(&key)
            .arg("--output")
            .arg(out);
        if pipe {
            run_with_stdin(c, &archive)
        } else {
            c.arg("--input").arg(&input).output().unwrap()
        }
    };
    let (a, b) = (dir.path().join("a.archive"), dir.path().join("b.archive"));
    let file = run(false, &a);
    assert!(
        file.status.success(),
        "{}",
        String::from_utf8_lossy(&file.stderr)
    );
    let summary = String::from_utf8_lossy(&file.stderr);
    assert!(
        summary.contains("subset (reference kept valid): pmStudy.ProjectId -> pmProject._id: "),
        "{summary}"
    );
    let pipe = run(true, &b);
    assert!(
        pipe.status.success(),
        "{}",
        String::from_utf8_lossy(&pipe.stderr)
    );
    assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap());
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn a_subset_that_cannot_read_its_keys_fails_even_when_the_rewrite_would_not() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = setup(dir.path());
    let rules = dir.path().join("limit.yaml");
    std::fs::write(&rules, "size_limits:\n  p: {max_rows: 1}\n").unwrap();
    // `c`'s rows do not give `pid`, the column of its foreign key to the limited `p`.
    let dump = "--\n-- PostgreSQL database dump\n--\n\
                CREATE TABLE public.p (id integer);\nCREATE TABLE public.c (id integer, pid integer);\n\
                COPY public.p (id) FROM stdin;\n1\n2\n\\.\nCOPY public.c (id) FROM stdin;\n1\n\\.\n\
                ALTER TABLE ONLY public.c ADD CONSTRAINT c_fk FOREIGN KEY (pid) REFERENCES public.p(id);\n";
    let mut c = cmd(&rules, &key, dir.path());
    c.arg("--output").arg(dir.path().join("o.sql"));
    let out = run_with_stdin(c, dump.as_bytes());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("public.c") && err.contains("`pid`"), "{err}");
    assert!(
        !dir.path().join("o.sql").exists(),
        "a failed run leaves no output file"
    );
}

#[test]
fn check_rejects_a_reference_without_a_field() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yaml");
    std::fs::write(&rules, "references:\n  pmStudy: pmProject._id\n").unwrap();
    let out = common::bin()
        .args(["check", "--rules"])
        .arg(&rules)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("r.yaml:2:3: `pmStudy` names no field"),
        "{err}"
    );
}
