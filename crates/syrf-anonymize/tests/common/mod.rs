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
