//! `inspect`, `scan` and `verify` read pg_dump tar (`-Ft`) and directory (`-Fd`) archives,
//! made by the real `pg_dump`, through the same archive feed the rewriter reads: `verify`
//! with any of plain/custom/tar/directory on either side, a planted leak found (exit 5, the
//! table and column named, no value printed), a damaged directory's error naming the table.
//! The real-server test needs the PostgreSQL `./scripts/test` starts, hence `#[ignore]`.

use crate::common;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Output;

const KEY: &str = "pg24read-test-key-0123456789abcdef";

const RULES: &str = "rules:\n  users:\n    fields:\n      email: {transform: hash_email}\n\
                     exclusions:\n  - secrets\n";

/// A value of the source database (row 7's email), looked for in what the commands print.
const PLANTED: &str = "person7@example.com";

use common::{ok, pg};

fn psql(db: &str, sql: &str) -> String {
    ok(pg("psql")
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .arg(format!("--dbname={db}")))
}

fn run(args: &[&Path]) -> Output {
    common::bin()
        .args(args)
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .output()
        .expect("the binary runs")
}

fn p(s: &str) -> &Path {
    Path::new(s)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn verify(rules: &Path, original: &Path, anonymized: &Path) -> Output {
    run(&[
        p("verify"),
        p("--original"),
        original,
        p("--rules"),
        rules,
        anonymized,
    ])
}

/// The data file of `public.users` in a directory archive (the `.dat.gz` whose rows start
/// with `1\t`), decompressed.
fn users_file(dir: &Path) -> (PathBuf, String) {
    for f in std::fs::read_dir(dir).unwrap() {
        let path = f.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".dat.gz") {
            continue;
        }
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        if text.lines().any(|l| l.starts_with("7\t")) && text.contains("note 7") {
            return (path, text);
        }
    }
    panic!("no data file of public.users in {}", dir.display());
}

#[test]
#[ignore = "needs PostgreSQL: run with ./scripts/test"]
fn checks_read_tar_and_directory_archives_made_by_pg_dump() {
    let src = "pg24read_src";
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {src} WITH (FORCE)"),
    );
    psql("postgres", &format!("CREATE DATABASE {src}"));
    psql(
        src,
        "CREATE TABLE users (id int PRIMARY KEY, email text, note text); \
         INSERT INTO users SELECT g, 'person' || g || '@example.com', 'note ' || g \
         FROM generate_series(1, 120) g; \
         CREATE TABLE secrets (id int PRIMARY KEY, token text); \
         INSERT INTO secrets VALUES (1, 'tok');",
    );
    let tmp = tempfile::tempdir().unwrap();
    let at = |n: &str| tmp.path().join(n);
    let rules = at("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let dump = |flag: &str, path: &Path| {
        ok(pg("pg_dump")
            .arg(flag)
            .arg("-f")
            .arg(path)
            .arg(format!("--dbname={src}")));
    };
    let (plain, custom, tar, dir) = (at("in.sql"), at("in.dump"), at("in.tar"), at("in.d"));
    dump("-Fp", &plain);
    dump("-Fc", &custom);
    dump("-Ft", &tar);
    dump("-Fd", &dir);
    let anonymize = |input: &Path, output: &Path| {
        let out = run(&[
            p("--rules"),
            &rules,
            p("--input"),
            input,
            p("--output"),
            output,
            p("-q"),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    let (tar_out, dir_out, custom_out) = (at("out.tar"), at("out.d"), at("out.dump"));
    anonymize(&tar, &tar_out);
    anonymize(&dir, &dir_out);
    anonymize(&custom, &custom_out);

    // inspect: the tables and their row counts, the archive's format named.
    for (input, format) in [(&tar, "postgres-tar"), (&dir, "postgres-directory")] {
        let o = run(&[p("inspect"), input]);
        assert!(o.status.success(), "{}", stderr(&o));
        let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(m["format"], format, "{m}");
        let compression = if format == "postgres-tar" {
            "none"
        } else {
            "gzip"
        };
        assert_eq!(m["compression"], compression, "{m}");
        let text = m.to_string();
        assert!(
            text.contains("\"public.users\"") && text.contains("120"),
            "{text}"
        );
        assert!(!text.contains(PLANTED), "inspect printed a value: {text}");
    }
    // The same manifest's tables as for the plain dump (one reading of all formats).
    let tables = |input: &Path| {
        let o = run(&[p("inspect"), input]);
        assert!(o.status.success(), "{}", stderr(&o));
        let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(m["tables"][1]["name"], "public.users", "{m}");
        assert_eq!(m["tables"][1]["rows"], 120, "{m}");
        m["tables"].clone()
    };
    assert_eq!(tables(&tar), tables(&plain));
    assert_eq!(tables(&dir), tables(&plain));

    // scan: the uncovered email column is found in both archives, without --rules; covered
    // with them, nothing is left with --strict.
    for input in [&tar, &dir] {
        let o = run(&[p("scan"), input]);
        assert!(o.status.success(), "{}", stderr(&o));
        let report = String::from_utf8_lossy(&o.stdout);
        assert!(
            report.contains("users") && report.contains("email"),
            "{report}"
        );
        assert!(!report.contains(PLANTED), "scan printed a value: {report}");
        let covered = run(&[p("scan"), p("--rules"), &rules, p("--strict"), input]);
        assert_eq!(covered.status.code(), Some(0), "{}", stderr(&covered));
    }

    // verify: any format on either side; nothing covered survives the rewrites.
    for (original, anonymized) in [
        (&tar, &tar_out),
        (&dir, &dir_out),
        (&tar, &dir_out),
        (&dir, &custom_out),
        (&plain, &tar_out),
        (&custom, &dir_out),
    ] {
        let o = verify(&rules, original, anonymized);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{} vs {}: {}",
            original.display(),
            anonymized.display(),
            stderr(&o)
        );
    }
    // The originals checked against themselves: every format is caught.
    for original in [&tar, &dir] {
        let o = verify(&rules, original, original);
        assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
        assert!(stderr(&o).contains("users"), "{}", stderr(&o));
    }

    // A leak planted in the anonymized directory: row 7's original email put back.
    let (file, text) = users_file(&dir_out);
    let planted: String = text
        .lines()
        .map(|l| match l.strip_prefix("7\t") {
            Some(rest) => {
                let note = rest.split('\t').nth(1).unwrap();
                format!("7\t{PLANTED}\t{note}\n")
            }
            None => format!("{l}\n"),
        })
        .collect();
    assert_ne!(planted, text);
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&file).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(planted.as_bytes()).unwrap();
    gz.finish().unwrap();
    for original in [&dir, &tar, &plain] {
        let o = verify(&rules, original, &dir_out);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(5), "{err}");
        assert!(
            err.contains("LEAK") && err.contains("users") && err.contains("email"),
            "{err}"
        );
        assert!(!err.contains(PLANTED), "verify printed the value: {err}");
    }

    // A directory whose users data file is gone: the error names the table.
    std::fs::remove_file(&file).unwrap();
    for o in [
        run(&[p("inspect"), &dir_out]),
        run(&[p("scan"), &dir_out]),
        verify(&rules, &dir, &dir_out),
    ] {
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(3), "{err}");
        assert!(err.contains("TABLE DATA public.users"), "{err}");
    }
    // A directory whose toc.dat is cut short: bad input (exit 3) naming the TOC, for all three.
    let toc = dir_out.join("toc.dat");
    let bytes = std::fs::read(&toc).unwrap();
    std::fs::write(&toc, &bytes[..bytes.len() / 2]).unwrap();
    for o in [
        run(&[p("inspect"), &dir_out]),
        run(&[p("scan"), &dir_out]),
        verify(&rules, &dir, &dir_out),
    ] {
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(3), "{err}");
        assert!(
            err.contains("pg_dump directory archive") && err.contains("TOC"),
            "{err}"
        );
    }
    psql("postgres", &format!("DROP DATABASE {src} WITH (FORCE)"));
}
