//! `gen-archive`'s command line: `--help` is a success, an unknown flag a usage error.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_gen-archive");

#[test]
fn help_exits_zero_and_unknown_flags_exit_two() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("usage: gen-archive"));
    let out = Command::new(BIN).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no archive on a usage error");
}
