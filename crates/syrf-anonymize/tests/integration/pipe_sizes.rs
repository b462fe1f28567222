//! Pipes on standard input and output grow to 1 MiB (fewer sleeps and wake-ups per 100 MB on
//! both sides of `cat dump | syrf-anonymize | mongorestore --archive`), and the output read
//! through them is the same as through files.

#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common;

const KEY: &str = "pipe growth test key 0123456789abcdef";

/// The capacity of the pipe `fd` belongs to.
fn pipe_size(fd: &impl AsRawFd) -> i32 {
    // SAFETY: F_GETPIPE_SZ reads the capacity of the pipe behind an open descriptor the
    // caller owns; it touches no memory of this process.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETPIPE_SZ) }
}

/// The capacity the binary can set: 1 MiB unless the system allows less.
fn expected_size() -> i32 {
    let max = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .unwrap_or(1 << 20);
    // Root may exceed the limit; others get at most it (the binary then keeps 64 KiB).
    if max >= 1 << 20 {
        1 << 20
    } else {
        64 << 10
    }
}

#[test]
fn stdin_and_stdout_pipes_grow_and_the_output_is_the_same() {
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../samples/syrf-sample.archive"
    );
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/syrf.yaml");
    let input = std::fs::read(sample).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let from_file = dir.path().join("out.archive");
    let out = common::bin()
        .args(["--quiet", "--rules", rules, "--input", sample, "--output"])
        .arg(&from_file)
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = std::fs::read(&from_file).unwrap();

    let mut child = common::bin()
        .args(["--quiet", "--rules", rules])
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // The binary grows both pipes as it opens them, before reading (a new pipe holds 64 KiB:
    // without the growth this waits out the deadline).
    let want = expected_size();
    let deadline = Instant::now() + Duration::from_secs(60);
    while (pipe_size(&stdin), pipe_size(&stdout)) != (want, want) {
        assert!(
            Instant::now() < deadline,
            "pipes: stdin {} and stdout {} bytes, expected {want}",
            pipe_size(&stdin),
            pipe_size(&stdout)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let mut piped = Vec::new();
    stdout.read_to_end(&mut piped).unwrap();
    feeder.join().unwrap().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    assert!(
        piped == expected,
        "output through pipes differs from output through files"
    );
}
