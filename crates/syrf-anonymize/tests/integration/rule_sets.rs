//! Every shipped rule set passes the checks README recommends on its own fixture: a `--strict`
//! run, `verify` of the output against the original, and `scan --strict` of the original and of
//! the output. The fixtures are real `mariadb-dump` / `pg_dump` outputs (made by
//! `scripts/make-sql-fixtures`) and the shipped sample archive.

use crate::common;
use std::path::{Path, PathBuf};
use std::process::Output;

const KEY: &str = "rule-sets-test-key-0123456789";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    common::bin()
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .args(args)
        .output()
        .unwrap()
}

fn assert_ok(out: &Output, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// (rules file, fixture, `verify --allow` paths the rules file's header documents).
const SETS: &[(&str, &str, &[&str])] = &[
    ("rules/syrf.yaml", "samples/syrf-sample.archive", &[]),
    (
        "rules/laravel.yaml",
        "tests/fixtures/sql/laravel.mariadb.sql",
        &[],
    ),
    ("rules/rails.yaml", "tests/fixtures/sql/rails.pg.sql", &[]),
    (
        "rules/directus.yaml",
        "tests/fixtures/sql/directus.mariadb.sql",
        // The fixture's own collection: directus.yaml's header says why and how.
        &["articles.date_created"],
    ),
];

#[test]
fn shipped_rule_sets_pass_verify_and_scan_strict_on_their_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    for (rules, fixture, allow) in SETS {
        let rules = root().join(rules);
        let fixture = root().join(fixture);
        let name = rules.file_stem().unwrap().to_string_lossy().into_owned();
        let output = dir.path().join(format!("{name}.out"));
        let out = run(&[
            "--rules".as_ref(),
            rules.as_os_str(),
            "--strict".as_ref(),
            "-q".as_ref(),
            "--input".as_ref(),
            fixture.as_os_str(),
            "--output".as_ref(),
            output.as_os_str(),
        ]);
        assert_ok(&out, &format!("{name}: --strict run"));

        let mut args: Vec<&std::ffi::OsStr> = vec![
            "verify".as_ref(),
            "--original".as_ref(),
            fixture.as_os_str(),
            "--rules".as_ref(),
            rules.as_os_str(),
        ];
        for a in *allow {
            args.push("--allow".as_ref());
            args.push(a.as_ref());
        }
        args.push(output.as_os_str());
        let out = run(&args);
        assert_ok(&out, &format!("{name}: verify"));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("no covered value found"),
            "{name}: verify"
        );

        for dump in [&fixture, &output] {
            let out = run(&[
                "scan".as_ref(),
                "--rules".as_ref(),
                rules.as_os_str(),
                "--strict".as_ref(),
                dump.as_os_str(),
            ]);
            assert_ok(&out, &format!("{name}: scan --strict {}", dump.display()));
        }
    }
}
