//! Helpers for the real-server tests (`real_servers_*.rs`): talk to the private MariaDB and
//! PostgreSQL that `./scripts/test` (or `scripts/dev-servers`) starts, through their real command
//! line clients and dump tools, and run the sql-dump library in-process between dump and restore.
//!
//! Connection settings come from the environment (`SYRF_TEST_MYSQL_*`, `SYRF_TEST_PG_*`). These
//! tests are `#[ignore]`d so that a plain `cargo test` stays fast; `./scripts/test` runs them with
//! `--include-ignored`, and when they run without the servers' variables they fail: they never
//! pass silently.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};

/// The key every real-server test anonymizes with (so MySQL and PostgreSQL results can be compared).
pub const TEST_KEY: &[u8] = b"syrf-anonymize real-server test key";

/// Reads a required environment variable set by `./scripts/test`; panics with a clear message.
pub fn require_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{name} is not set: the real-server tests need the MariaDB and PostgreSQL that \
             ./scripts/test starts (or `scripts/dev-servers start` then `source DIR/env`)"
        ),
    }
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Reads a file of the repository (relative to its root).
pub fn repo_file(rel: &str) -> Vec<u8> {
    let path = repo_root().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Reads a text file of the repository (relative to its root).
pub fn repo_text(rel: &str) -> String {
    String::from_utf8(repo_file(rel)).unwrap_or_else(|e| panic!("{rel} is not UTF-8: {e}"))
}

/// Builds the anonymizer for a rules text with [`TEST_KEY`].
pub fn anonymizer(rules_yaml: &str, rules_name: &str) -> Anonymizer {
    anonymizer_with_key(rules_yaml, rules_name, TEST_KEY)
}

/// Builds the anonymizer for a rules text and key.
pub fn anonymizer_with_key(rules_yaml: &str, rules_name: &str, key: &[u8]) -> Anonymizer {
    let rules = RuleSet::from_yaml(rules_yaml, rules_name)
        .unwrap_or_else(|e| panic!("rules {rules_name} rejected: {e}"));
    let key = Key::from_bytes(key).expect("test key accepted");
    Anonymizer::new(rules, KeyMode::Keyed(key)).expect("anonymizer built")
}

/// Runs the sql-dump library over a whole dump held in memory.
pub fn anonymize_with(dump: &[u8], anon: &Anonymizer) -> Vec<u8> {
    let mut out = Vec::with_capacity(dump.len() + dump.len() / 8);
    sql_dump::rewrite_sql(dump, &mut out, anon, &sql_dump::SqlOptions::default())
        .unwrap_or_else(|e| panic!("sql-dump rejected a real dump: {e}"));
    out
}

/// Anonymizes a dump with a rules text and [`TEST_KEY`] on `threads` worker threads
/// ([`sql_dump::SqlOptions::threads`]).
pub fn anonymize_threads(dump: &[u8], rules_yaml: &str, threads: usize) -> Vec<u8> {
    let anon = anonymizer(rules_yaml, "test-rules.yaml");
    let mut out = Vec::with_capacity(dump.len() + dump.len() / 8);
    let options = sql_dump::SqlOptions {
        threads,
        ..sql_dump::SqlOptions::default()
    };
    sql_dump::rewrite_sql(dump, &mut out, &anon, &options)
        .unwrap_or_else(|e| panic!("sql-dump rejected a real dump on {threads} threads: {e}"));
    out
}

/// Anonymizes a dump with a rules text and [`TEST_KEY`].
pub fn anonymize(dump: &[u8], rules_yaml: &str) -> Vec<u8> {
    anonymize_with(dump, &anonymizer(rules_yaml, "test-rules.yaml"))
}

/// Decompresses a gzip file with the system's `gzip` and anonymizes it as it streams.
pub fn anonymize_gz_file(path: &Path, anon: &Anonymizer) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .arg("-dc")
        .arg(path)
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip runs");
    let reader = BufReader::with_capacity(1 << 16, child.stdout.take().unwrap());
    let mut out = Vec::new();
    let result = sql_dump::rewrite_sql(reader, &mut out, anon, &sql_dump::SqlOptions::default());
    let status = child.wait().expect("gzip waited");
    assert!(status.success(), "gzip -dc {} failed", path.display());
    result.unwrap_or_else(|e| panic!("sql-dump rejected {}: {e}", path.display()));
    out
}

/// Decompresses a gzip file with the system's `gzip`.
pub fn gunzip_file(path: &Path) -> Vec<u8> {
    let out = Command::new("gzip")
        .arg("-dc")
        .arg(path)
        .output()
        .expect("gzip runs");
    assert!(out.status.success(), "gzip -dc {} failed", path.display());
    out.stdout
}

/// Output of a command run with the given stdin.
pub struct Run {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Runs a command, feeding `input` on stdin from a separate thread (no pipe deadlock).
pub fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    thread::scope(|s| {
        let w = s.spawn(move || {
            // A failing server closes its input early; the exit status tells the story.
            let _ = stdin.write_all(input);
        });
        let e = s.spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).expect("read stdout");
        w.join().unwrap();
        let err = e.join().unwrap();
        let status = child.wait().expect("child waited");
        Run {
            status,
            stdout: out,
            stderr: String::from_utf8_lossy(&err).into_owned(),
        }
    })
}

/// Shortens a diagnostic so a failing test does not print megabytes.
pub fn clip(s: &str) -> String {
    if s.len() <= 4000 {
        s.to_string()
    } else {
        let mut end = 4000;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}... ({} bytes)", &s[..end], s.len())
    }
}

/// Asserts that none of `needles` occurs in `haystack`, ignoring ASCII case.
///
/// One pass over the haystack whatever the number of needles (hundreds of emails over a
/// multi-megabyte dump stay fast in a debug build): needles are indexed by their first bytes.
pub fn assert_absent(haystack: &[u8], needles: &[String], what: &str) {
    let hay = haystack.to_ascii_lowercase();
    let mut index: HashMap<[u8; 4], Vec<(Vec<u8>, &String)>> = HashMap::new();
    for n in needles {
        assert!(!n.is_empty(), "{what}: empty needle");
        let lower = n.to_ascii_lowercase().into_bytes();
        match <[u8; 4]>::try_from(lower.get(..4).unwrap_or_default()) {
            Ok(prefix) => index.entry(prefix).or_default().push((lower, n)),
            Err(_) => {
                let found = memchr::memmem::find(&hay, &lower);
                assert!(
                    found.is_none(),
                    "{what}: an original value survived anonymization at byte {}: {n:?}",
                    found.unwrap_or(0)
                );
            }
        }
    }
    for (i, window) in hay.windows(4).enumerate() {
        let Some(candidates) = index.get(window) else {
            continue;
        };
        for (lower, original) in candidates {
            assert!(
                !hay[i..].starts_with(lower),
                "{what}: an original value survived anonymization at byte {i}: {original:?}"
            );
        }
    }
}

/// Counts occurrences of `needle` in `haystack`.
pub fn count_occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    memchr::memmem::find_iter(haystack, needle).count()
}

/// A MariaDB/MySQL server reached through its socket with the real `mariadb` client.
pub struct MySql {
    socket: String,
    user: String,
    password: String,
}

impl MySql {
    /// Connection settings from `SYRF_TEST_MYSQL_{SOCKET,USER,PASSWORD}`.
    pub fn from_env() -> Self {
        Self {
            socket: require_env("SYRF_TEST_MYSQL_SOCKET"),
            user: require_env("SYRF_TEST_MYSQL_USER"),
            password: require_env("SYRF_TEST_MYSQL_PASSWORD"),
        }
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.arg("--no-defaults")
            .arg(format!("--socket={}", self.socket))
            .arg(format!("--user={}", self.user))
            .arg(format!("--password={}", self.password));
        c
    }

    fn client(&self, db: Option<&str>) -> Command {
        let mut c = self.command("mariadb");
        c.arg("--default-character-set=utf8mb4");
        if let Some(db) = db {
            c.arg(format!("--database={db}"));
        }
        c
    }

    /// Runs SQL (a script) in `db`; panics with the client's error on failure.
    pub fn exec(&self, db: Option<&str>, sql: &str) {
        let r = run_with_stdin(&mut self.client(db), sql.as_bytes());
        assert!(
            r.status.success(),
            "mariadb failed on {}: {}",
            clip(sql),
            clip(&r.stderr)
        );
    }

    /// Drops and recreates a database.
    pub fn fresh_db(&self, name: &str) {
        self.exec(
            None,
            &format!(
                "DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}` \
                 CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
            ),
        );
    }

    /// Drops a database if it exists.
    pub fn drop_db(&self, name: &str) {
        self.exec(None, &format!("DROP DATABASE IF EXISTS `{name}`;"));
    }

    /// Restores a dump with the real client (`mariadb [db] < dump`) and `--show-warnings`;
    /// panics if the client fails and returns the warnings it printed.
    pub fn restore(&self, db: Option<&str>, dump: &[u8]) -> Vec<String> {
        let mut c = self.client(db);
        c.arg("--show-warnings").arg("--batch");
        let r = run_with_stdin(&mut c, dump);
        assert!(
            r.status.success(),
            "restoring the anonymized dump into {db:?} failed: {}",
            clip(&r.stderr)
        );
        let all = format!("{}\n{}", String::from_utf8_lossy(&r.stdout), r.stderr);
        all.lines()
            .filter(|l| l.starts_with("Warning") || l.starts_with("Note") || l.contains("(Code "))
            .map(str::to_string)
            .collect()
    }

    /// Restores and asserts the server issued no warnings except the listed codes
    /// (e.g. 1906: MariaDB ignoring a dumped value of a generated column).
    pub fn restore_clean(&self, db: Option<&str>, dump: &[u8], allowed_codes: &[u32]) {
        let warnings = self.restore(db, dump);
        let bad: Vec<&String> = warnings
            .iter()
            .filter(|w| {
                !allowed_codes
                    .iter()
                    .any(|c| w.contains(&format!("(Code {c})")))
            })
            .collect();
        assert!(
            bad.is_empty(),
            "restore into {db:?} gave warnings (truncated or invalid values?): {bad:#?}"
        );
    }

    /// Runs a query and returns its rows (tab separated fields; `NULL` for SQL NULL; tabs,
    /// newlines and backslashes inside values escaped by the client as `\t`, `\n`, `\\`).
    pub fn query(&self, db: Option<&str>, sql: &str) -> Vec<Vec<String>> {
        let mut c = self.client(db);
        c.arg("--batch").arg("--skip-column-names");
        tab_separated_rows(&mut c, sql)
    }

    /// Runs a query that returns one value.
    pub fn scalar(&self, db: Option<&str>, sql: &str) -> String {
        let rows = self.query(db, sql);
        assert!(
            rows.len() == 1 && rows[0].len() == 1,
            "expected one value from {sql}, got {rows:?}"
        );
        rows[0][0].clone()
    }

    /// Runs a query that returns one integer.
    pub fn count(&self, db: Option<&str>, sql: &str) -> i64 {
        let v = self.scalar(db, sql);
        v.parse()
            .unwrap_or_else(|_| panic!("expected an integer from {sql}, got {v:?}"))
    }

    /// Dumps with the real `mariadb-dump` (`mysqldump` on Debian is the same program).
    pub fn dump(&self, args: &[&str]) -> Vec<u8> {
        self.dump_with("mariadb-dump", args)
    }

    /// Dumps with the named dump program (`mariadb-dump` or `mysqldump`).
    pub fn dump_with(&self, program: &str, args: &[&str]) -> Vec<u8> {
        let out = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

/// A PostgreSQL server reached through its socket directory with the real `psql`/`pg_dump`.
pub struct Pg {
    host: String,
    port: String,
    user: String,
}

impl Pg {
    /// Connection settings from `SYRF_TEST_PG_{HOST,PORT,USER}`.
    pub fn from_env() -> Self {
        Self {
            host: require_env("SYRF_TEST_PG_HOST"),
            port: require_env("SYRF_TEST_PG_PORT"),
            user: require_env("SYRF_TEST_PG_USER"),
        }
    }

    /// A client `program` (`pg_restore`...) with the connection settings.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.arg(format!("--host={}", self.host))
            .arg(format!("--port={}", self.port))
            .arg(format!("--username={}", self.user))
            .env("PGCLIENTENCODING", "UTF8")
            .env_remove("PGPASSWORD")
            .env_remove("PGDATABASE");
        c
    }

    fn psql(&self, db: &str) -> Command {
        let mut c = self.command("psql");
        c.arg("-X")
            .arg("--quiet")
            .arg("--no-password")
            .arg("-v")
            .arg("ON_ERROR_STOP=1")
            .arg(format!("--dbname={db}"));
        c
    }

    /// Dumps `db` with the real `pg_dump -Fd` (plus `args`) into the directory `dir`.
    pub fn dump_directory(&self, db: &str, dir: &std::path::Path, args: &[&str]) {
        let out = self
            .command("pg_dump")
            .arg("--no-password")
            .arg("--format=directory")
            .arg("--file")
            .arg(dir)
            .args(args)
            .arg(format!("--dbname={db}"))
            .output()
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "pg_dump -Fd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(sql_dump::is_pg_directory(dir));
    }

    /// Runs a SQL script in `db`; panics with psql's error on failure.
    pub fn exec(&self, db: &str, sql: &str) {
        let r = run_with_stdin(&mut self.psql(db), sql.as_bytes());
        assert!(
            r.status.success(),
            "psql failed on {}: {}",
            clip(sql),
            clip(&r.stderr)
        );
    }

    /// Drops and recreates a database.
    pub fn fresh_db(&self, name: &str) {
        self.exec(
            "postgres",
            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE);"),
        );
        self.exec(
            "postgres",
            &format!("CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8';"),
        );
    }

    /// Restores a plain-format dump with `psql -v ON_ERROR_STOP=1 --single-transaction` (one
    /// transaction only makes row-per-INSERT dumps restore faster); panics on any error.
    pub fn restore(&self, db: &str, dump: &[u8]) {
        let mut c = self.psql(db);
        c.arg("--single-transaction");
        let r = run_with_stdin(&mut c, dump);
        assert!(
            r.status.success(),
            "restoring the anonymized dump into {db} failed: {}",
            clip(&r.stderr)
        );
        assert!(
            !r.stderr.contains("ERROR"),
            "psql reported errors restoring into {db}: {}",
            clip(&r.stderr)
        );
    }

    /// Runs a query and returns its rows (fields split on tab; SQL NULL as `\N`).
    pub fn query(&self, db: &str, sql: &str) -> Vec<Vec<String>> {
        let mut c = self.psql(db);
        c.arg("--no-align")
            .arg("--tuples-only")
            .arg("--field-separator=\t")
            .arg("--pset=null=\\N");
        tab_separated_rows(&mut c, sql)
    }

    /// Runs a query that returns one value.
    pub fn scalar(&self, db: &str, sql: &str) -> String {
        let rows = self.query(db, sql);
        assert!(
            rows.len() == 1 && rows[0].len() == 1,
            "expected one value from {sql}, got {rows:?}"
        );
        rows[0][0].clone()
    }

    /// Runs a query that returns one integer.
    pub fn count(&self, db: &str, sql: &str) -> i64 {
        let v = self.scalar(db, sql);
        v.parse()
            .unwrap_or_else(|_| panic!("expected an integer from {sql}, got {v:?}"))
    }

    /// Dumps the cluster with the real `pg_dumpall` and the given options.
    pub fn dumpall(&self, args: &[&str]) -> Vec<u8> {
        let out = self
            .command("pg_dumpall")
            .arg("--no-password")
            .args(args)
            .output()
            .expect("pg_dumpall runs");
        assert!(
            out.status.success(),
            "pg_dumpall {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Dumps `db` with the real `pg_dump` (plain format) and the given options.
    pub fn dump(&self, db: &str, args: &[&str]) -> Vec<u8> {
        let out = self
            .command("pg_dump")
            .arg("--no-password")
            .args(args)
            .arg(format!("--dbname={db}"))
            .output()
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "pg_dump {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

/// Runs a client `command` with `sql` on stdin and splits its output into tab-separated rows.
fn tab_separated_rows(command: &mut Command, sql: &str) -> Vec<Vec<String>> {
    let r = run_with_stdin(command, sql.as_bytes());
    assert!(
        r.status.success(),
        "query failed: {}: {}",
        clip(sql),
        clip(&r.stderr)
    );
    String::from_utf8(r.stdout)
        .expect("UTF-8 query output")
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}
