//! `--progress` names the MongoDB collection being read with worker threads too (the reading
//! thread names it; the documents are patched and written later).

use crate::common;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;

#[test]
fn progress_names_the_collection_with_threads() {
    let sample = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/syrf-sample.archive"),
    )
    .unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/syrf.yaml");
    for threads in ["4", "2"] {
        let mut child = common::bin()
            .env("SYRF_ANONYMIZE_KEY", "progress-test-key-0123456789")
            .arg("--rules")
            .arg(&rules)
            .args(["--progress", "--threads", threads, "--output", "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // Less than one segment of documents: the run then waits for more input, with nothing
        // applied yet, and prints a progress line every few seconds.
        stdin.write_all(&sample[..200_000]).unwrap();
        stdin.flush().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let first = lines.next().expect("a progress line").unwrap();
        assert!(first.contains("progress:"), "{first}");
        assert!(
            first.contains(", in syrftest."),
            "--threads {threads}: {first}"
        );
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
