//! Defaults that must not ship data: rules that cover nothing are refused, `check` reports
//! every error of a file, `--report` is written by failed runs too, and a run stopped by
//! SIGTERM or SIGINT leaves no partial output file behind.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common;
use common::run_with_stdin;

const KEY: &str = "safe-defaults-test-key-0123456789";

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/syrf-sample.archive")
}

fn cmd() -> Command {
    let mut c = common::bin();
    c.env("SYRF_ANONYMIZE_KEY", KEY);
    c
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Empty, comment-only and cut-short files are refused by a run (`--strict` included) and by
/// `check`; `--allow-empty-rules` makes both accept them, and the run then copies the dump.
#[test]
fn rules_that_cover_nothing_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let archive = std::fs::read(sample()).unwrap();
    for (i, text) in [
        "",
        "# rules to come\n",
        "rules:\n  pmInvestigator:\n",
        "rules:\n  pmInvestigator:\n    fields:\n",
    ]
    .into_iter()
    .enumerate()
    {
        let rules = write(dir.path(), &format!("empty{i}.yaml"), text);
        for extra in [&[][..], &["--strict"][..]] {
            let mut c = cmd();
            c.arg("--rules")
                .arg(&rules)
                .args(["--keep-users"])
                .args(extra);
            let out = run_with_stdin(c, &archive);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{text:?} {extra:?}: {err}");
            assert!(
                err.contains("the rules cover nothing") && err.contains("--allow-empty-rules"),
                "{err}"
            );
            assert!(out.stdout.is_empty(), "nothing is written");
        }
        let out = cmd()
            .arg("check")
            .arg("--rules")
            .arg(&rules)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "check {text:?}: {err}");
        assert!(err.contains("the rules cover nothing"), "{err}");

        let out = cmd()
            .args(["check", "--allow-empty-rules", "--rules"])
            .arg(&rules)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(err.contains("covers nothing"), "{err}");

        let mut c = cmd();
        c.arg("--rules")
            .arg(&rules)
            .args(["--allow-empty-rules", "--keep-users", "-q"]);
        let out = run_with_stdin(c, &archive);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(out.stdout, archive, "a deliberate copy is a copy");
    }
    // One exclusion, limit or rule is enough.
    let rules = write(dir.path(), "one.yaml", "exclusions: [pmStudy]\n");
    let out = cmd()
        .arg("check")
        .arg("--rules")
        .arg(&rules)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// `check` lists every error of a file with its line, not only the first.
#[test]
fn check_reports_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "bad.yaml",
        "rules:\n  users:\n    fields:\n      email: hash_emial\n      phone: digits\n      \
         name: {transform: mask, keep_frist: 1}\n  posts: [x]\nexclusion: [sessions]\n",
    );
    let out = cmd()
        .arg("check")
        .arg("--rules")
        .arg(&rules)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for (line, what) in [
        (4, "hash_emial"),
        (6, "keep_frist"),
        (7, "expected `fields:`"),
        (8, "exclusion"),
    ] {
        let prefix = format!("bad.yaml:{line}:");
        assert!(
            err.lines().any(|l| l.contains(&prefix) && l.contains(what)),
            "no error at line {line} about {what}: {err}"
        );
    }
    assert!(err.contains("4 errors in"), "{err}");
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("the report is written")).unwrap()
}

/// A failed run writes `--report` too, with the error and the exit code; a `--strict` failure
/// also has the summary.
#[test]
fn failed_runs_write_the_report_with_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let archive = std::fs::read(sample()).unwrap();
    let rules = write(
        dir.path(),
        "rules.yaml",
        "rules:\n  pmInvestigator:\n    fields:\n      Email: hash_email\n",
    );
    let path = dir.path().join("report.json");

    // Bad input (exit 3): a truncated archive.
    let mut c = cmd();
    c.arg("--rules").arg(&rules).arg("--report").arg(&path);
    let out = run_with_stdin(c, &archive[..archive.len() / 2]);
    assert_eq!(out.status.code(), Some(3));
    let r = report(&path);
    assert_eq!(r["exit_code"], 3, "{r}");
    assert!(
        r["error"].as_str().unwrap().contains("mongodump archive"),
        "{r}"
    );

    // --strict (exit 4): the summary and the error.
    std::fs::remove_file(&path).unwrap();
    let typo = write(
        dir.path(),
        "typo.yaml",
        "rules:\n  pmInvestigator:\n    fields:\n      Emial: hash_email\n",
    );
    let mut c = cmd();
    c.arg("--rules")
        .arg(&typo)
        .args(["--strict", "--keep-users", "--report"])
        .arg(&path);
    let out = run_with_stdin(c, &archive);
    assert_eq!(out.status.code(), Some(4));
    let r = report(&path);
    assert_eq!(r["exit_code"], 4, "{r}");
    assert!(r["error"].as_str().unwrap().starts_with("--strict"), "{r}");
    assert_eq!(r["format"], "mongo", "{r}");

    // Success: the summary alone, as before.
    let mut c = cmd();
    c.arg("--rules").arg(&rules).arg("--report").arg(&path);
    let out = run_with_stdin(c, &archive);
    assert_eq!(out.status.code(), Some(0));
    let r = report(&path);
    assert!(r.get("error").is_none() && r["format"] == "mongo", "{r}");
}

/// SIGTERM and SIGINT while `--output FILE` is written, fed by a pipe that has sent only part
/// of the dump: the partial file is removed, the target never appears, and the exit status is
/// 128 + the signal's number.
#[cfg(unix)]
#[test]
fn signals_remove_the_partial_output() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.yaml",
        "rules:\n  t:\n    columns:\n      name: hash\n",
    );
    let mut dump = b"-- MySQL dump 10.13\nCREATE TABLE `t` (\n  `id` int NOT NULL,\n  `name` varchar(50)\n);\n".to_vec();
    for i in 0..20_000 {
        dump.extend_from_slice(format!("INSERT INTO `t` VALUES ({i},'some text');\n").as_bytes());
    }
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let output = dir.path().join(format!("out-{signal}.sql"));
        let mut child = cmd()
            .arg("--rules")
            .arg(&rules)
            .arg("--output")
            .arg(&output)
            .args(["-q", "--threads", "1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // Part of the dump; the pipe stays open, so the run waits for more.
        stdin.write_all(&dump[..dump.len() / 2]).unwrap();
        stdin.flush().unwrap();
        let partial = || {
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".partial"))
                .collect::<Vec<_>>()
        };
        // Wait (without a time limit) until the run has created its partial file.
        while partial().is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let killed = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        drop(stdin);
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert!(err.is_empty(), "{err}");
        assert_eq!(status.code(), Some(code), "SIG{signal}");
        assert!(partial().is_empty(), "SIG{signal} left {:?}", partial());
        assert!(!output.exists(), "SIG{signal}: no output is put into place");
    }
}
