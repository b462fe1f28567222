//! pg_dump directory archives through the binary with `--threads`: one table data file per
//! worker gives the same directory, byte for byte, as one thread (gzip and uncompressed); a
//! SIGINT while the workers write removes the partial output directory with everything in it
//! (exit 130). The input's stall is a named pipe in place of one data file, so the signal
//! arrives mid-run without any timing. Real-server tests need the PostgreSQL `./scripts/test`
//! starts, hence `#[ignore]`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_syrf-anonymize");
const KEY: &str = "dir24par-key-0123456789abcdef-xyz";

const RULES: &str = "rules:\n  people:\n    columns:\n      email: {transform: hash_email}\n  \
                     orders:\n    columns:\n      note: {transform: mask, keep_start: 1}\n";

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
        .arg("--no-password")
        .env_remove("PGPASSWORD");
    c
}

fn ok(c: &mut Command) -> String {
    let out = c.output().expect("runs");
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn psql(db: &str, sql: &str) {
    ok(pg("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .arg(format!("--dbname={db}")));
}

/// A database with several tables of different sizes, dumped with `pg_dump -Fd` (`args`).
fn dump(db: &str, dir: &Path, args: &[&str]) {
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    );
    psql("postgres", &format!("CREATE DATABASE {db}"));
    psql(
        db,
        "CREATE TABLE people (id int PRIMARY KEY, email text, bio text); \
         INSERT INTO people SELECT g, 'person' || g || '@example.com', repeat('b', g % 300) \
         FROM generate_series(1, 30000) g; \
         CREATE TABLE orders (id int PRIMARY KEY, person int REFERENCES people, note text); \
         INSERT INTO orders SELECT g, 1 + g % 30000, 'note ' || g FROM generate_series(1, 20000) g; \
         CREATE TABLE events (id int, label text); \
         INSERT INTO events SELECT g, 'e' || g FROM generate_series(1, 500) g; \
         CREATE TABLE tags (id int, tag text); \
         INSERT INTO tags SELECT g, 't' || g FROM generate_series(1, 50) g;",
    );
    ok(pg("pg_dump")
        .arg("--format=directory")
        .arg("--file")
        .arg(dir)
        .args(args)
        .arg(format!("--dbname={db}")));
}

fn run(input: &Path, output: &Path, rules: &Path, threads: &str) -> std::process::Output {
    Command::new(BIN)
        .arg("--rules")
        .arg(rules)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output)
        .args(["--threads", threads, "--quiet"])
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .output()
        .expect("the binary runs")
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("listed")
        .map(|f| {
            let p = f.expect("entry").path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read"))
        })
        .collect()
}

fn partials(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|f| f.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".partial"))
        .collect()
}

#[test]
#[ignore = "needs PostgreSQL: run with ./scripts/test"]
fn threads_write_the_same_directory_as_one_thread() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    for (case, args) in [("gz", &["-j", "2"][..]), ("plain", &["--compress=0"][..])] {
        let input = tmp.path().join(format!("in-{case}"));
        dump(&format!("dir24par_cli_{case}"), &input, args);
        let one = tmp.path().join(format!("one-{case}"));
        let out = run(&input, &one, &rules, "1");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let two = tmp.path().join(format!("two-{case}"));
        let out = run(&input, &two, &rules, "2");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (a, b) = (files(&one), files(&two));
        assert!(a.len() >= 5, "{case}: toc.dat and four data files");
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (name, bytes) in &a {
            assert!(b[name] == *bytes, "{case}: {name} differs with --threads 2");
        }
        // The covered addresses are gone.
        let all: Vec<u8> = a
            .iter()
            .flat_map(|(name, bytes)| {
                if name.ends_with(".gz") {
                    let mut out = Vec::new();
                    std::io::Read::read_to_end(
                        &mut flate2::read::MultiGzDecoder::new(&bytes[..]),
                        &mut out,
                    )
                    .unwrap();
                    out
                } else {
                    bytes.clone()
                }
            })
            .collect();
        assert!(!all.windows(19).any(|w| w == b"person7@example.com"));
        // A second run into an existing directory is refused, and leaves nothing behind.
        let again = run(&input, &two, &rules, "2");
        assert!(!again.status.success());
        assert!(partials(tmp.path()).is_empty());
    }
}

#[test]
#[ignore = "needs PostgreSQL: run with ./scripts/test"]
fn sigint_while_workers_write_removes_the_partial_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let input = tmp.path().join("in");
    dump("dir24par_cli_sig", &input, &["--compress=0"]);
    // The smallest data file (tags) becomes a named pipe nobody writes: the worker that
    // takes it (the last, as it is the smallest) waits there, after the others wrote theirs.
    let smallest = std::fs::read_dir(&input)
        .unwrap()
        .map(|f| f.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dat"))
        .min_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    std::fs::remove_file(&smallest).unwrap();
    ok(Command::new("mkfifo").arg(&smallest));
    let outdir = tmp.path().join("outs");
    std::fs::create_dir(&outdir).unwrap();
    let output = outdir.join("anon");
    let mut child = Command::new(BIN)
        .arg("--rules")
        .arg(&rules)
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .args(["--threads", "2", "--quiet"])
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .spawn()
        .expect("the binary starts");
    // Wait (for a state, not a time) until data files are in the partial directory.
    let written = |p: &Path| {
        std::fs::read_dir(p).ok().is_some_and(|d| {
            d.flatten().any(|inner| {
                std::fs::read_dir(inner.path()).ok().is_some_and(|files| {
                    files
                        .flatten()
                        .any(|f| f.file_name().to_string_lossy().ends_with(".dat"))
                })
            })
        })
    };
    let mut seen = false;
    for _ in 0..1200 {
        if partials(&outdir).iter().any(|p| written(p)) {
            seen = true;
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended before it was stopped: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(seen, "data files were written into a partial directory");
    ok(Command::new("kill").args(["-INT", &child.id().to_string()]));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "exit 128 + SIGINT");
    assert!(
        partials(&outdir).is_empty(),
        "the partial directory is removed"
    );
    assert!(!output.exists(), "no output directory");
}
