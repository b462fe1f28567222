//! The binary end to end: key handling, `check`, exit codes, files renamed only on success,
//! gzip in and out, pass-through of the real archives and dumps.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;
use common::{gunzip, run_with_stdin};

const BIN: &str = env!("CARGO_BIN_EXE_syrf-anonymize");
const KEY: &str = "cli-test-key-0123456789abcdef";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The third-party conformance data (`$SYRF_TESTDATA_DIR/<sub>`), or `None` after a loud skip.
fn shared(sub: &str) -> Option<PathBuf> {
    syrf_testdata::conformance_dir!(sub)
}

/// The generated SyRF archive shipped in the repository.
fn sample() -> PathBuf {
    repo().join("samples/syrf-sample.archive")
}

fn cmd() -> Command {
    let mut c = common::bin();
    c.env_remove("SYRF_ANONYMIZE_KEY");
    c
}

fn empty_rules(dir: &Path) -> PathBuf {
    let p = dir.join("empty.yaml");
    std::fs::write(&p, "# no rules\n").unwrap();
    p
}

#[test]
fn check_accepts_shipped_rules_and_rejects_typos() {
    for rules in ["syrf.yaml", "laravel.yaml", "directus.yaml", "rails.yaml"] {
        let path = repo().join("rules").join(rules);
        if !path.exists() && rules != "syrf.yaml" {
            continue;
        }
        let out = cmd()
            .args(["check", "--rules"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{rules}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "rules:\n  users:\n    fields:\n      email: hash_emial\n",
    )
    .unwrap();
    let out = cmd().args(["check", "--rules"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":4:7:") && err.contains("did you mean `hash_email`"),
        "{err}"
    );
}

#[test]
fn refuses_to_run_without_a_key_and_never_takes_one_as_a_flag() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let out = run_with_stdin(
        {
            let mut c = cmd();
            c.arg("--rules").arg(&rules).arg("--allow-empty-rules");
            c
        },
        b"-- MySQL dump\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no key"));
    for flag in [
        &["--key", "secret-value"][..],
        &["--key=secret-value"],
        &["--key"],
    ] {
        let out = cmd()
            .args(flag)
            .args(["--rules", "x.yaml"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "there is no --key flag");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("there is no --key flag") && err.contains("--key-file"),
            "{err}"
        );
        assert!(
            !err.contains("--unkeyed") && !err.contains("secret-value"),
            "{err}"
        );
    }
    // A short key is refused, and its bytes are not echoed.
    let out = run_with_stdin(
        {
            let mut c = cmd();
            c.arg("--rules")
                .arg(&rules)
                .env("SYRF_ANONYMIZE_KEY", "tiny-secret");
            c
        },
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("tiny-secret"));
}

#[test]
fn unkeyed_warns() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let archive = std::fs::read(sample()).unwrap();
    let mut c = cmd();
    c.arg("--rules")
        .arg(&rules)
        .arg("--allow-empty-rules")
        .args(["--unkeyed", "--keep-users"]);
    let out = run_with_stdin(c, &archive);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("UNKEYED"));
    assert_eq!(out.stdout, archive);
}

#[test]
fn real_archives_pass_through_byte_identical_plain_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let Some(mongo) = shared("mongo") else { return };
    for entry in std::fs::read_dir(mongo).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.contains(".archive") {
            continue;
        }
        let input = std::fs::read(&path).unwrap();
        let mut c = cmd();
        c.arg("--rules")
            .arg(&rules)
            .arg("--allow-empty-rules")
            .arg("--quiet")
            .env("SYRF_ANONYMIZE_KEY", KEY);
        let out = run_with_stdin(c, &input);
        if name == "mongo-tools_bad-format.archive" {
            // mongorestore refuses its metadata JSON: so does the rewriter (bad input).
            assert_eq!(out.status.code(), Some(3), "{name}");
            continue;
        }
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if name.ends_with(".gz") {
            assert_eq!(&out.stdout[..2], &[0x1f, 0x8b], "{name}: gzip in, gzip out");
            assert_eq!(gunzip(&out.stdout), gunzip(&input), "{name}");
        } else {
            assert_eq!(out.stdout, input, "{name}");
        }
    }
}

#[test]
fn compression_can_be_forced_either_way() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let plain = std::fs::read(sample()).unwrap();
    let mut c = cmd();
    c.arg("--rules")
        .arg(&rules)
        .arg("--allow-empty-rules")
        .args([
            "--quiet",
            "--keep-users",
            "--compress",
            "gzip",
            "--level",
            "9",
        ]);
    c.env("SYRF_ANONYMIZE_KEY", KEY);
    let out = run_with_stdin(c, &plain);
    assert!(out.status.success());
    assert_eq!(gunzip(&out.stdout), plain);
    let mut c = cmd();
    c.arg("--rules").arg(&rules).args([
        "--allow-empty-rules",
        "--quiet",
        "--keep-users",
        "--compress",
        "none",
    ]);
    c.env("SYRF_ANONYMIZE_KEY", KEY);
    let out = run_with_stdin(c, &out.stdout);
    assert!(out.status.success());
    assert_eq!(out.stdout, plain);
}

#[test]
fn truncated_input_fails_and_leaves_no_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let archive = std::fs::read(sample()).unwrap();
    let input = dir.path().join("truncated.archive");
    let output = dir.path().join("out.archive");
    for cut in [10, 100, archive.len() / 2, archive.len() - 1] {
        std::fs::write(&input, &archive[..cut]).unwrap();
        let out = cmd()
            .arg("--rules")
            .arg(&rules)
            .arg("--allow-empty-rules")
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&output)
            .env("SYRF_ANONYMIZE_KEY", KEY)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(3),
            "cut at {cut}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!output.exists(), "cut at {cut}: no file renamed into place");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("partial"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[test]
fn output_file_written_on_success_with_report() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let output = dir.path().join("out.archive");
    let report = dir.path().join("report.json");
    let out = cmd()
        .arg("--rules")
        .arg(&rules)
        .arg("--allow-empty-rules")
        .arg("--keep-users")
        .arg("--input")
        .arg(sample())
        .arg("--output")
        .arg(&output)
        .arg("--report")
        .arg(&report)
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&output).unwrap(),
        std::fs::read(sample()).unwrap(),
        "no rules and --keep-users: byte-identical"
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["format"], "mongo");
    assert_eq!(json["unit"], "collection");
    assert!(json["bytes_in"].as_u64().unwrap() > 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(" bytes in, "), "{stderr}");
}

#[test]
fn strict_fails_on_unmatched_rules_without_renaming() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("typo.yaml");
    std::fs::write(
        &rules,
        "rules:\n  pmInvestigator:\n    fields:\n      Emial: hash_email\n",
    )
    .unwrap();
    let output = dir.path().join("out.archive");
    let base = || {
        let mut c = cmd();
        c.arg("--rules")
            .arg(&rules)
            .arg("--input")
            .arg(sample())
            .arg("--output")
            .arg(&output)
            .env("SYRF_ANONYMIZE_KEY", KEY);
        c
    };
    let out = base().output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: rule pmInvestigator.Emial never matched"),
        "{stderr}"
    );
    std::fs::remove_file(&output).unwrap();
    let out = base().arg("--strict").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!output.exists());
}

#[test]
fn unknown_input_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let mut c = cmd();
    c.arg("--rules")
        .arg(&rules)
        .arg("--allow-empty-rules")
        .env("SYRF_ANONYMIZE_KEY", KEY);
    let out = run_with_stdin(c, b"\x00\x01\x02 this is not a dump");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format"));
}

#[test]
fn real_sql_dumps_pass_through_and_gzip_mirrors() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let Some(sql) = shared("sql") else { return };
    for name in [
        "sakila.sql.gz",
        "sakila-rowinsert.sql.gz",
        "pagila.sql.gz",
        "pagila-inserts.sql.gz",
    ] {
        let input = std::fs::read(sql.join(name)).unwrap();
        let mut c = cmd();
        c.arg("--rules")
            .arg(&rules)
            .arg("--allow-empty-rules")
            .arg("--report")
            .arg(dir.path().join("r.json"));
        c.env("SYRF_ANONYMIZE_KEY", KEY);
        let out = run_with_stdin(c, &input);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(gunzip(&out.stdout), gunzip(&input), "{name}");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
        let expected = if name.starts_with("sakila") {
            "mysql"
        } else {
            "postgres"
        };
        assert_eq!(json["format"], expected, "{name}");
    }
}

#[test]
fn sql_rules_rewrite_and_report_and_errors_hide_values() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("sakila.yaml");
    std::fs::write(
        &rules,
        "rules:\n  customer:\n    columns:\n      email: hash_email\nexclusions: [payment]\n",
    )
    .unwrap();
    let Some(sql) = shared("sql") else { return };
    let input = gunzip(&std::fs::read(sql.join("sakila.sql.gz")).unwrap());
    let mut c = cmd();
    c.arg("--rules")
        .arg(&rules)
        .arg("--strict")
        .env("SYRF_ANONYMIZE_KEY", KEY);
    let out = run_with_stdin(c, &input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("MARY.SMITH@sakilacustomer.org"));
    assert!(!text.contains("INSERT INTO `payment`"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("customer.email [hash_email]: 599 / 599 / 0"),
        "{stderr}"
    );
    // A truncated dump inside a customer row: exit 3, and the message names no value.
    let original_cut = String::from_utf8_lossy(&input)
        .find("INSERT INTO `customer`")
        .unwrap()
        + 200;
    let mut c = cmd();
    c.arg("--rules").arg(&rules).env("SYRF_ANONYMIZE_KEY", KEY);
    let out = run_with_stdin(c, &input[..original_cut]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.to_lowercase().contains("sakilacustomer.org"),
        "{stderr}"
    );
}

/// A rules file with a typo'd field, so `--strict` fails at the end of the run.
fn typo_rules(dir: &Path, table: &str) -> PathBuf {
    let p = dir.join("typo.yaml");
    std::fs::write(
        &p,
        format!("rules:\n  {table}:\n    fields:\n      Emial: hash_email\n"),
    )
    .unwrap();
    p
}

fn run_stdin(args: &[&str], rules: &Path, input: &[u8]) -> std::process::Output {
    let mut c = cmd();
    // The flag only matters for the tests' empty rules file.
    c.arg("--rules")
        .arg(rules)
        .arg("--allow-empty-rules")
        .args(args)
        .env("SYRF_ANONYMIZE_KEY", KEY);
    run_with_stdin(c, input)
}

#[test]
fn strict_on_stdout_never_sends_a_complete_archive() {
    let dir = tempfile::tempdir().unwrap();
    let rules = typo_rules(dir.path(), "pmInvestigator");
    let input = std::fs::read(sample()).unwrap();
    let complete = run_stdin(&["-q"], &rules, &input);
    assert!(complete.status.success());
    assert!(mongo_archive::verify::verify(&complete.stdout).is_ok());

    let strict = run_stdin(&["-q", "--strict"], &rules, &input);
    assert_eq!(strict.status.code(), Some(4));
    // Everything but the final terminator: mongorestore stops at the missing end.
    assert_eq!(strict.stdout, complete.stdout[..complete.stdout.len() - 4]);
    assert!(mongo_archive::verify::verify(&strict.stdout).is_err());

    // gzip: the stream ends with a truncated member, so gunzip (and mongorestore) fail.
    let zipped = run_stdin(&["-q", "--strict", "--compress", "gzip"], &rules, &input);
    assert_eq!(zipped.status.code(), Some(4));
    let mut plain = Vec::new();
    let err = flate2::read::MultiGzDecoder::new(&zipped.stdout[..])
        .read_to_end(&mut plain)
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    assert_eq!(plain, strict.stdout);
}

#[test]
fn failed_sql_on_stdout_ends_with_a_failing_statement() {
    let dir = tempfile::tempdir().unwrap();
    for (fixture, table) in [
        ("tests/fixtures/sql/laravel.mariadb.sql", "users"),
        ("tests/fixtures/sql/rails.pg.sql", "users"),
    ] {
        let input = std::fs::read(repo().join(fixture)).unwrap();
        let rules = typo_rules(dir.path(), table);
        let out = run_stdin(&["-q", "--strict"], &rules, &input);
        assert_eq!(out.status.code(), Some(4), "{fixture}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.ends_with("SELECT syrf_anonymize_run_failed_do_not_restore;\n")
                && text.contains("\nSELECT syrf_anonymize_run_failed_do_not_restore;\n"),
            "{fixture}: {}",
            &text[text.len().saturating_sub(300)..]
        );
        assert!(
            text.contains("-- syrf-anonymize: this run FAILED"),
            "{fixture}"
        );
        assert!(
            text.contains("--strict: never matched: rule users.Emial"),
            "{fixture}"
        );
    }
}

#[test]
fn empty_missing_and_directory_inputs_have_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let out = run_stdin(&[], &rules, b"");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the input is empty"));
    for (input, why) in [
        (dir.path().join("missing.archive"), "No such file"),
        (dir.path().to_path_buf(), "is a directory"),
    ] {
        let out = cmd()
            .arg("--rules")
            .arg(&rules)
            .arg("--allow-empty-rules")
            .arg("--input")
            .arg(&input)
            .env("SYRF_ANONYMIZE_KEY", KEY)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", input.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("cannot open the input") && err.contains(why),
            "{err}"
        );
    }
    // An output that cannot be created is an output I/O error: 1.
    let out = cmd()
        .arg("--rules")
        .arg(&rules)
        .arg("--allow-empty-rules")
        .arg("--input")
        .arg(sample())
        .arg("--output")
        .arg(dir.path().join("no/such/dir/out.archive"))
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot create the output"));
}

#[test]
fn rules_are_required_for_a_run() {
    let out = cmd().env("SYRF_ANONYMIZE_KEY", KEY).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--rules FILE is required"));
    let help = cmd().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("syrf-anonymize --rules FILE [--input"),
        "{help}"
    );
    assert!(help.contains("141"), "exit codes in --help");
}

#[cfg(unix)]
#[test]
fn broken_pipe_exits_quietly_with_141() {
    use std::io::Write;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    // 40 copies of the sample's SQL-free bytes would not parse; use a big SQL dump instead.
    let mut dump = b"-- MySQL dump 10.13\n".to_vec();
    for i in 0..200_000 {
        dump.extend_from_slice(format!("INSERT INTO `t` VALUES ({i},'some text');\n").as_bytes());
    }
    let mut child = cmd()
        .arg("--rules")
        .arg(&rules)
        .arg("--allow-empty-rules")
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away at once
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&dump);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert_eq!(out.status.code(), Some(141));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn summary_speaks_of_tables_limits_and_near_names() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yaml");
    std::fs::write(
        &rules,
        "rules:\n  pmInvestigater:\n    fields:\n      Email: hash_email\nsize_limits:\n  pmStudy:\n    max_documents: 5\n",
    )
    .unwrap();
    let out = run_stdin(&[], &rules, &std::fs::read(sample()).unwrap());
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("  collection "), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("syrftest.pmStudy") && l.ends_with("limited")),
        "{err}"
    );
    assert!(
        err.contains("rules: pmInvestigater (did you mean `syrftest.pmInvestigator`?)"),
        "{err}"
    );
    assert!(
        !err.contains("MB/s"),
        "a run this short has no meaningful rate: {err}"
    );

    let sql = std::fs::read(repo().join("tests/fixtures/sql/rails.pg.sql")).unwrap();
    let out = run_stdin(&[], &empty_rules(dir.path()), &sql);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("  table ") && !err.contains("collection"),
        "{err}"
    );
}

#[test]
fn progress_only_when_asked_or_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let input = std::fs::read(sample()).unwrap();
    let quiet = run_stdin(&[], &rules, &input);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("progress:"));
    let size = input.len().to_string();
    let shown = run_stdin(&["--progress", "--input-size", &size], &rules, &input);
    assert!(shown.status.success());
    let err = String::from_utf8_lossy(&shown.stderr);
    assert!(
        err.contains("syrf-anonymize: progress: 0.6 MB read") && err.contains("100%"),
        "{err}"
    );
}

#[cfg(unix)]
mod output_files {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    fn run_to(output: &Path) -> std::process::Output {
        let dir = tempfile::tempdir().unwrap();
        let rules = empty_rules(dir.path());
        cmd()
            .arg("--rules")
            .arg(&rules)
            .arg("--allow-empty-rules")
            .arg("--keep-users")
            .arg("--input")
            .arg(sample())
            .arg("--output")
            .arg(output)
            .env("SYRF_ANONYMIZE_KEY", KEY)
            .output()
            .unwrap()
    }

    #[test]
    fn a_fifo_is_written_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let reader_path = fifo.clone();
        let reader = std::thread::spawn(move || std::fs::read(reader_path).unwrap());
        // Through a symlink too, as `/dev/stdout`-like names are.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        let out = run_to(&link);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(reader.join().unwrap(), std::fs::read(sample()).unwrap());
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn a_symlink_is_followed_and_its_target_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.archive");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("current.archive");
        std::os::unix::fs::symlink("real.archive", &link).unwrap();
        let out = run_to(&link);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            std::fs::read(&target).unwrap(),
            std::fs::read(sample()).unwrap()
        );
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "an existing file keeps its mode");
    }

    #[test]
    fn a_new_file_gets_the_umask_mode() {
        let dir = tempfile::tempdir().unwrap();
        let rules = empty_rules(dir.path());
        let output = dir.path().join("new.archive");
        // The umask is per process: set it in a shell that then becomes the binary.
        let status = Command::new("sh")
            .arg("-c")
            .arg("umask 027 && exec \"$0\" \"$@\"")
            .arg(BIN)
            .arg("--rules")
            .arg(&rules)
            .arg("--allow-empty-rules")
            .arg("--input")
            .arg(sample())
            .arg("--output")
            .arg(&output)
            .arg("--quiet")
            .env("SYRF_ANONYMIZE_KEY", KEY)
            .status()
            .unwrap();
        assert!(status.success());
        let mode = std::fs::metadata(&output).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }
}

/// Runs the binary with stdin, stdout and stderr on a pseudo-terminal (util-linux `script`).
#[cfg(unix)]
fn on_a_terminal(args: &[&str]) -> (Option<i32>, String) {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let line = std::iter::once(BIN)
        .chain(args.iter().copied())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("util-linux `script`");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[cfg(unix)]
#[test]
fn terminals_get_no_silent_wait_and_no_binary() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let rules = rules.to_str().unwrap();
    let (code, text) = on_a_terminal(&["--rules", rules, "--allow-empty-rules"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("stdin is a terminal"), "{text}");

    let sample = sample();
    let (code, text) = on_a_terminal(&[
        "--rules",
        rules,
        "--allow-empty-rules",
        "--input",
        sample.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("refusing to write binary output"), "{text}");
    assert!(
        !text.contains("pmInvestigator"),
        "no archive bytes reached the terminal"
    );
}
