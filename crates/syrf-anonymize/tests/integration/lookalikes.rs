//! Inputs that are not a dump this tool reads, detected or under a forced `--format`: refused
//! with advice naming what they are, never copied through. The pg_dump and mariadb-dump cases
//! use the real tools against the servers `./scripts/test` starts (or `scripts/dev-servers`),
//! hence `#[ignore]`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common;
use common::run_with_stdin;

const KEY: &str = "lookalikes-test-key-0123456789";
const RULES: &str = "rules:\n  users:\n    columns:\n      email: hash_email\n";

fn rules(dir: &Path) -> PathBuf {
    let p = dir.join("rules.yaml");
    std::fs::write(&p, RULES).unwrap();
    p
}

/// Runs the binary on `input` (a path) with `args`; stdin is empty.
fn run_on(dir: &Path, input: &Path, args: &[&str]) -> Output {
    common::bin()
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .arg("--rules")
        .arg(rules(dir))
        .arg("--input")
        .arg(input)
        .args(args)
        .output()
        .unwrap()
}

/// The input is refused with `code` under auto-detection and every forced format, nothing is
/// written on stdout, and the message holds `advice`.
fn assert_refused(dir: &Path, input: &Path, code: i32, advice: &str) {
    for format in ["auto", "mysql", "postgres", "mongo"] {
        let out = run_on(dir, input, &["--format", format]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{} --format {format}: {err}",
            input.display()
        );
        assert!(
            err.contains(advice),
            "{} --format {format}: {err}",
            input.display()
        );
        assert!(out.stdout.is_empty(), "--format {format}: nothing written");
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run under ./scripts/test or scripts/dev-servers")
    })
}

fn pg(program: &str) -> Command {
    let mut c = Command::new(program);
    c.arg(format!("--host={}", env("SYRF_TEST_PG_HOST")))
        .arg(format!("--port={}", env("SYRF_TEST_PG_PORT")))
        .arg(format!("--username={}", env("SYRF_TEST_PG_USER")))
        .arg("--no-password");
    c
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `pg_dump -Fc`, `-Fc -Z0`, `-Ft` and `-Fd` from a real PostgreSQL were refused with advice
/// until issue 24; they are read now: each is anonymized (from a file and from stdin), and
/// `pg_restore -f -` of the output holds the table without the original address.
#[test]
#[ignore = "needs the PostgreSQL server of ./scripts/test"]
fn pg_dump_custom_tar_and_directory_formats_are_read() {
    let db = "e21_lookalike";
    let psql = |sql: &str, dbname: &str| {
        ok(pg("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dbname, "-c", sql])
            .output()
            .unwrap())
    };
    psql(&format!("DROP DATABASE IF EXISTS {db}"), "postgres");
    psql(&format!("CREATE DATABASE {db}"), "postgres");
    psql(
        "CREATE TABLE users (id int PRIMARY KEY, email text); \
         INSERT INTO users VALUES (1, 'alice.original@example.org'), (2, 'bob.original@example.org')",
        db,
    );
    let dir = tempfile::tempdir().unwrap();
    let restored_text = |archive: &Path| {
        String::from_utf8_lossy(
            &ok(Command::new("pg_restore")
                .args(["-f", "-"])
                .arg(archive)
                .output()
                .unwrap())
            .stdout,
        )
        .into_owned()
    };
    for (name, args) in [
        ("custom.dump", &["-Fc"][..]),
        ("custom-z0.dump", &["-Fc", "-Z0"][..]),
        ("dump.tar", &["-Ft"][..]),
    ] {
        let path = dir.path().join(name);
        ok(pg("pg_dump")
            .args(args)
            .arg("-f")
            .arg(&path)
            .arg(db)
            .output()
            .unwrap());
        let out_path = dir.path().join(format!("anon-{name}"));
        ok(run_on(
            dir.path(),
            &path,
            &["-q", "--output", out_path.to_str().unwrap()],
        ));
        let text = restored_text(&out_path);
        assert!(text.contains("COPY public.users"), "{name}");
        assert!(
            !text.contains("alice.original"),
            "{name}: the email survived"
        );
        // The same bytes on stdin.
        let mut c = common::bin();
        c.env("SYRF_ANONYMIZE_KEY", KEY)
            .arg("--rules")
            .arg(rules(dir.path()))
            .arg("-q");
        let out = ok(run_with_stdin(c, &std::fs::read(&path).unwrap()));
        assert!(!out.stdout.is_empty(), "{name} on stdin");
    }
    let fd = dir.path().join("dir.dump");
    ok(pg("pg_dump")
        .args(["-Fd", "-f"])
        .arg(&fd)
        .arg(db)
        .output()
        .unwrap());
    assert!(fd.join("toc.dat").is_file());
    let anon_dir = dir.path().join("anon-dir.dump");
    ok(run_on(
        dir.path(),
        &fd,
        &["-q", "--output", anon_dir.to_str().unwrap()],
    ));
    let text = restored_text(&anon_dir);
    assert!(text.contains("COPY public.users") && !text.contains("alice.original"));
    psql(&format!("DROP DATABASE {db}"), "postgres");
}

/// `mariadb-dump --xml` from a real MariaDB is refused, forced `--format mysql` included.
#[test]
#[ignore = "needs the MariaDB server of ./scripts/test"]
fn mariadb_dump_xml_is_refused() {
    let db = "e21_lookalike";
    let mariadb = || {
        let mut c = Command::new("mariadb");
        c.arg("--no-defaults")
            .arg(format!("--socket={}", env("SYRF_TEST_MYSQL_SOCKET")))
            .arg(format!("--user={}", env("SYRF_TEST_MYSQL_USER")))
            .arg(format!("--password={}", env("SYRF_TEST_MYSQL_PASSWORD")));
        c
    };
    ok(mariadb()
        .arg("-e")
        .arg(format!(
            "DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db}; \
             CREATE TABLE {db}.users (id int PRIMARY KEY, email varchar(100)); \
             INSERT INTO {db}.users VALUES (1, 'alice.original@example.org');"
        ))
        .output()
        .unwrap());
    let xml = ok(Command::new("mariadb-dump")
        .arg("--no-defaults")
        .arg(format!("--socket={}", env("SYRF_TEST_MYSQL_SOCKET")))
        .arg(format!("--user={}", env("SYRF_TEST_MYSQL_USER")))
        .arg(format!("--password={}", env("SYRF_TEST_MYSQL_PASSWORD")))
        .arg("--xml")
        .arg(db)
        .output()
        .unwrap())
    .stdout;
    assert!(String::from_utf8_lossy(&xml).contains("alice.original"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dump.xml");
    std::fs::write(&path, &xml).unwrap();
    assert_refused(dir.path(), &path, 3, "--xml");
    ok(mariadb()
        .arg("-e")
        .arg(format!("DROP DATABASE {db}"))
        .output()
        .unwrap());
}

/// One `.bson` file of a mongodump directory and its `.metadata.json`: refused with the
/// `mongodump --archive` advice; the directory itself is read.
#[test]
fn mongodump_directory_files_are_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump/app");
    std::fs::create_dir_all(&dump).unwrap();
    let mut bson = Vec::new();
    for i in 0..3 {
        bson.extend(
            bson::to_vec(&bson::doc! {"_id": i, "Email": format!("u{i}@example.org")}).unwrap(),
        );
    }
    std::fs::write(dump.join("users.bson"), &bson).unwrap();
    std::fs::write(
        dump.join("users.metadata.json"),
        r#"{"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"}],"uuid":"00","collectionName":"users","type":"collection"}"#,
    )
    .unwrap();
    assert_refused(
        dir.path(),
        &dump.join("users.bson"),
        3,
        "mongodump --archive",
    );
    assert_refused(
        dir.path(),
        &dump.join("users.metadata.json"),
        3,
        "mongodump --archive",
    );
    // The directory itself is an input (see tests/dump_dir.rs): read as the archive
    // mongodump would have written, here to stdout.
    for input in [dir.path().join("dump"), dump.clone()] {
        let out = run_on(dir.path(), &input, &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.starts_with(&[0x6d, 0xe2, 0x99, 0x81]));
    }
}

/// A forced format must find its structure: another format's dump, or text without one
/// statement the reader can attribute, fails (exit 3); a header-less dump it can read passes.
#[test]
fn a_forced_format_must_find_its_structure() {
    let dir = tempfile::tempdir().unwrap();
    let pg = dir.path().join("pg.sql");
    std::fs::write(
        &pg,
        "--\n-- PostgreSQL database dump\n--\n\nSET standard_conforming_strings = on;\n\
         CREATE TABLE public.users (id integer, email text);\n\
         COPY public.users (id, email) FROM stdin;\n1\talice.original@example.org\n\\.\n",
    )
    .unwrap();
    let out = run_on(dir.path(), &pg, &["--format", "mysql"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("PostgreSQL plain dump"), "{err}");
    assert!(out.stdout.is_empty());
    let out = run_on(dir.path(), &pg, &["--format", "mongo"]);
    assert_eq!(out.status.code(), Some(3));

    // No statement at all: forced, the run fails and its output is marked as failed.
    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "alice.original@example.org wrote this; nothing else\n",
    )
    .unwrap();
    for format in ["mysql", "postgres"] {
        let output = dir.path().join(format!("out-{format}.sql"));
        let out = run_on(
            dir.path(),
            &text,
            &["--format", format, "--output", output.to_str().unwrap()],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{format}: {err}");
        assert!(err.contains("no statement of the input"), "{err}");
        assert!(!output.exists(), "{format}: no output put into place");
    }
    let out = run_on(dir.path(), &text, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(!err.contains("force one"), "{err}");

    // A header-less dump the forced reader can attribute is read and rewritten.
    let bare = dir.path().join("bare.sql");
    std::fs::write(
        &bare,
        "CREATE TABLE users (id int, email varchar(100));\n\
         INSERT INTO users VALUES (1,'alice.original@example.org');\n",
    )
    .unwrap();
    let out = run_on(dir.path(), &bare, &["--format", "mysql", "-q"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("INSERT INTO users"), "{text}");
    assert!(!text.contains("alice.original"), "{text}");
}
