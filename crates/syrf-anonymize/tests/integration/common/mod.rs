//! Helpers shared by the binary's integration tests.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};

/// Runs `command` with `stdin` fed from another thread (so large inputs cannot deadlock).
pub fn run_with_stdin(mut command: Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start syrf-anonymize");
    let mut sin = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    // The binary may stop reading early (an error): a broken pipe here is not the test's concern.
    let feeder = std::thread::spawn(move || {
        let _ = sin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait for syrf-anonymize");
    feeder.join().expect("stdin feeder");
    out
}

/// Decompresses one or more gzip members.
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

/// `SYRF_*` variables that belong to the test infrastructure (servers, shared data, skip
/// log), not to the tool: passed through to the binary.
const TEST_INFRASTRUCTURE: &[&str] = &[
    "SYRF_TEST_",
    "SYRF_TESTDATA_DIR",
    "SYRF_SKIPPED_LOG",
    "SYRF_SERVERS_DIR",
];

/// True for a `SYRF_*` setting of the tool (e.g. `SYRF_ANONYMIZE_KEY`) that a test's binary
/// must not inherit from the caller's environment.
pub fn is_tool_setting(name: &str) -> bool {
    name.starts_with("SYRF_") && !TEST_INFRASTRUCTURE.iter().any(|p| name.starts_with(p))
}

/// The binary under test, without the caller's `SYRF_*` settings (a user running the suite
/// with `SYRF_ANONYMIZE_KEY` exported, as README advises, must not change what the tests
/// see); tests set what they need explicitly.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_syrf-anonymize"));
    for (name, _) in std::env::vars_os() {
        if let Some(name) = name.to_str() {
            if is_tool_setting(name) {
                c.env_remove(name);
            }
        }
    }
    c
}

/// A test-infrastructure variable `scripts/test` (or `scripts/dev-servers`) exports.
pub fn test_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run under ./scripts/test or scripts/dev-servers")
    })
}

/// A PostgreSQL client program (`psql`, `pg_dump`, `pg_restore`) pointed at the test server
/// (`SYRF_TEST_PG_*`), never asking for a password.
pub fn pg(program: &str) -> Command {
    let mut c = Command::new(program);
    c.arg(format!("--host={}", test_env("SYRF_TEST_PG_HOST")))
        .arg(format!("--port={}", test_env("SYRF_TEST_PG_PORT")))
        .arg(format!("--username={}", test_env("SYRF_TEST_PG_USER")))
        .arg("--no-password")
        .env_remove("PGPASSWORD");
    c
}

/// Runs `c`, asserts it succeeded (printing its stderr if not) and returns its stdout.
pub fn ok(c: &mut Command) -> String {
    let out = c.output().expect("runs");
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
