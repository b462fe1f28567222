//! pg_dump custom archives (`pg_dump -Fc`) through the binary: detected by their magic,
//! rewritten into a custom archive the real `pg_restore -j 2` restores; a damaged archive
//! fails with the entry named and no output file left. The real-server test needs the
//! PostgreSQL `./scripts/test` starts, hence `#[ignore]`.

use crate::common;
use std::path::Path;
use std::process::Command;

const KEY: &str = "pg-custom-key-0123456789abcdef";

const RULES: &str = "rules:\n  users:\n    fields:\n      email: {transform: hash_email}\n\
                     exclusions:\n  - secrets\n";

use common::{ok, pg};

fn psql(db: &str, sql: &str) -> String {
    ok(pg("psql")
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .arg(format!("--dbname={db}")))
}

fn fresh(db: &str) {
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    );
    psql("postgres", &format!("CREATE DATABASE {db}"));
}

/// Makes database `src` anew with `rows` users (an `@example.com` address each, and a note)
/// and a `secrets` table the rules exclude.
fn seed(src: &str, rows: u32) {
    fresh(src);
    psql(
        src,
        &format!(
            "CREATE TABLE users (id int PRIMARY KEY, email text, note text); \
             INSERT INTO users SELECT g, 'person' || g || '@example.com', 'note ' || g \
             FROM generate_series(1, {rows}) g; \
             CREATE TABLE secrets (id int PRIMARY KEY, token text); \
             INSERT INTO secrets VALUES (1, 'tok');"
        ),
    );
}

/// The restored database `dst` has all `rows` users, none with an original address, and no
/// `secrets` table.
fn assert_restored(dst: &str, rows: u32) {
    assert_eq!(
        psql(dst, "SELECT count(*) FROM users").trim(),
        rows.to_string()
    );
    assert_eq!(
        psql(
            dst,
            "SELECT count(*) FROM users WHERE email LIKE '%@example.com'"
        )
        .trim(),
        "0"
    );
    assert_eq!(
        psql(dst, "SELECT to_regclass('public.secrets') IS NULL").trim(),
        "t"
    );
}

fn anonymize(input: &Path, output: &Path, rules: &Path) -> std::process::Output {
    common::bin()
        .arg("--rules")
        .arg(rules)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output)
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .output()
        .expect("the binary runs")
}

#[test]
#[ignore = "needs PostgreSQL: run with ./scripts/test"]
fn custom_archive_in_custom_archive_out_restores_with_pg_restore_j2() {
    let (src, dst) = ("h24_cli_src", "h24_cli_dst");
    seed(src, 500);
    let dir = tempfile::tempdir().unwrap();
    let (input, output, rules) = (
        dir.path().join("in.dump"),
        dir.path().join("out.dump"),
        dir.path().join("rules.yaml"),
    );
    std::fs::write(&rules, RULES).unwrap();
    ok(pg("pg_dump")
        .arg("-Fc")
        .arg("-f")
        .arg(&input)
        .arg(format!("--dbname={src}")));
    let out = anonymize(&input, &output, &rules);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("postgres-custom"), "{stderr}");
    fresh(dst);
    ok(pg("pg_restore")
        .args(["--exit-on-error", "-j", "2"])
        .arg(format!("--dbname={dst}"))
        .arg(&output));
    assert_restored(dst, 500);
    let untouched = "SELECT string_agg(id || note, ',' ORDER BY id) FROM users";
    assert_eq!(psql(dst, untouched), psql(src, untouched));

    // verify reads custom archives: nothing covered survives in the output, while the
    // original checked against itself is caught; inspect lists the tables.
    let verify = |anonymized: &Path| {
        common::bin()
            .arg("verify")
            .arg("--original")
            .arg(&input)
            .arg("--rules")
            .arg(&rules)
            .arg(anonymized)
            .output()
            .unwrap()
    };
    let passed = verify(&output);
    assert!(
        passed.status.success(),
        "{}",
        String::from_utf8_lossy(&passed.stderr)
    );
    let caught = verify(&input);
    assert_eq!(
        caught.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&caught.stderr)
    );
    let manifest = common::bin().arg("inspect").arg(&input).output().unwrap();
    assert!(
        manifest.status.success(),
        "{}",
        String::from_utf8_lossy(&manifest.stderr)
    );
    let manifest = String::from_utf8_lossy(&manifest.stdout);
    assert!(
        manifest.contains("\"public.users\"") && manifest.contains("500"),
        "{manifest}"
    );

    // Through pipes: the archive on stdin, the output (offsets recorded) on stdout, read by
    // pg_restore from its stdin.
    fresh(dst);
    let mut anonymizer = common::bin()
        .arg("--rules")
        .arg(&rules)
        .arg("--quiet")
        .stdin(std::fs::File::open(&input).unwrap())
        .stdout(std::process::Stdio::piped())
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .spawn()
        .unwrap();
    let restored = pg("pg_restore")
        .arg("--exit-on-error")
        .arg(format!("--dbname={dst}"))
        .stdin(anonymizer.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(anonymizer.wait().unwrap().success());
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert_restored(dst, 500);
    assert_eq!(psql(dst, untouched), psql(src, untouched));
}

#[test]
fn a_damaged_custom_archive_fails_naming_the_entry_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output, rules) = (
        dir.path().join("in.dump"),
        dir.path().join("out.dump"),
        dir.path().join("rules.yaml"),
    );
    std::fs::write(&rules, RULES).unwrap();
    // A version 1.14 header (4-byte integers, 8-byte offsets, custom format, no compression)
    // whose TOC claims one entry and ends.
    let mut archive = b"PGDMP\x01\x0e\x00\x04\x08\x01".to_vec();
    let int = |v: u32| {
        let mut b = vec![0u8];
        b.extend_from_slice(&v.to_le_bytes());
        b
    };
    archive.extend(int(0));
    for _ in 0..7 {
        archive.extend(int(1));
    }
    for s in ["db", "15.0", "15.0"] {
        archive.extend(int(s.len() as u32));
        archive.extend_from_slice(s.as_bytes());
    }
    archive.extend(int(1));
    archive.extend(int(7));
    std::fs::write(&input, &archive).unwrap();
    let out = anonymize(&input, &output, &rules);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("pg_dump archive") && stderr.contains("ends inside a TOC entry"),
        "{stderr}"
    );
    assert!(!output.exists(), "a failed run leaves no output file");
}

#[test]
#[ignore = "needs PostgreSQL: run with ./scripts/test"]
fn directory_archive_in_directory_archive_out_restores_with_pg_restore_j2() {
    let (src, dst) = ("h24_clid_src", "h24_clid_dst");
    seed(src, 300);
    let dir = tempfile::tempdir().unwrap();
    let (input, output, rules) = (
        dir.path().join("in"),
        dir.path().join("out"),
        dir.path().join("rules.yaml"),
    );
    std::fs::write(&rules, RULES).unwrap();
    ok(pg("pg_dump")
        .args(["-Fd", "-j", "2", "-f"])
        .arg(&input)
        .arg(format!("--dbname={src}")));
    let out = anonymize(&input, &output, &rules);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("postgres-directory"), "{stderr}");
    assert!(output.join("toc.dat").exists());
    fresh(dst);
    ok(pg("pg_restore")
        .args(["--exit-on-error", "-j", "2"])
        .arg(format!("--dbname={dst}"))
        .arg(&output));
    assert_restored(dst, 300);
    // A directory cannot go to stdout.
    let refused = common::bin()
        .arg("--rules")
        .arg(&rules)
        .arg("--input")
        .arg(&input)
        .args(["--output", "-"])
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--output DIR"));
}

#[test]
#[ignore = "needs PostgreSQL: run with ./scripts/test"]
fn tar_archive_through_pipes_restores_with_pg_restore() {
    let (src, dst) = ("h24_clit_src", "h24_clit_dst");
    seed(src, 200);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let mut dump = pg("pg_dump")
        .arg("-Ft")
        .arg(format!("--dbname={src}"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut anonymizer = common::bin()
        .arg("--rules")
        .arg(&rules)
        .stdin(dump.stdout.take().unwrap())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .spawn()
        .unwrap();
    fresh(dst);
    let restored = pg("pg_restore")
        .arg("--exit-on-error")
        .arg(format!("--dbname={dst}"))
        .stdin(anonymizer.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(dump.wait().unwrap().success());
    let run = anonymizer.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("postgres-tar"), "{stderr}");
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert_restored(dst, 200);
}

/// A run failing `--strict` (a rule no table has) writes a custom archive without its last
/// bytes to stdout: the real `pg_restore` (printing the script, no server needed) rejects it,
/// while the same run without `--strict` gives an archive it reads.
#[test]
fn a_strict_failure_leaves_a_custom_archive_pg_restore_rejects() {
    let archive = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sql-dump/tests/integration/support/pg_tiny_gzip.dump");
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "rules:\n  users:\n    fields:\n      email: hash_email\n  no_such_table:\n    fields:\n      x: hash\n",
    )
    .unwrap();
    let run = |strict: bool| {
        let mut c = common::bin();
        c.arg("--rules")
            .arg(&rules)
            .arg("--input")
            .arg(&archive)
            .args(["--output", "-", "--quiet"])
            .env("SYRF_ANONYMIZE_KEY", KEY);
        if strict {
            c.arg("--strict");
        }
        c.output().unwrap()
    };
    let restore = |bytes: &[u8]| {
        let path = dir.path().join("out.dump");
        std::fs::write(&path, bytes).unwrap();
        Command::new("pg_restore")
            .args(["-f", "-"])
            .arg(&path)
            .output()
            .unwrap()
    };
    let ok = run(false);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let printed = restore(&ok.stdout);
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    assert!(String::from_utf8_lossy(&printed.stdout).contains("COPY public.users"));
    let failed = run(true);
    assert!(!failed.status.success());
    assert_eq!(failed.stdout.len() + 5, ok.stdout.len());
    assert!(!restore(&failed.stdout).status.success());
}
