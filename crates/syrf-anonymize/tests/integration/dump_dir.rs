//! mongodump directories through the binary: directory in and out, directory to archive and
//! archive to directory, gzip, the same policy and checks as archives, nothing left behind on
//! failure; `inspect` and `verify` read directories too.

use crate::common;
use std::path::{Path, PathBuf};
use std::process::Output;

use mongo_archive::verify;

const KEY: &str = "dump-dir-test-key-0123456789";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sample() -> PathBuf {
    root().join("samples/syrf-sample.archive")
}

fn rules() -> PathBuf {
    root().join("rules/syrf.yaml")
}

/// The binary with the test key and `args` (`common::bin()` drops the caller's settings).
fn run(args: &[&str]) -> Output {
    common::bin()
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .args(args)
        .output()
        .unwrap()
}

/// A quiet run of the shipped rules from `input` to `output`.
fn anonymize(input: &Path, output: &Path) -> Output {
    run(&[
        "--rules",
        s(&rules()),
        "--input",
        s(input),
        "--output",
        s(output),
        "-q",
    ])
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Documents per body namespace, in order.
fn documents(archive: &[u8]) -> Vec<(String, Vec<Vec<u8>>)> {
    let mut v: Vec<_> = verify::verify_keep_documents(archive)
        .unwrap()
        .namespaces
        .into_iter()
        .map(|n| (n.name(), n.documents))
        .collect();
    v.sort();
    v
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The sample as a mongodump directory (converted without rules' effects on the data: the
/// conversion runs with the rules, so it is compared with a direct archive run below).
fn sample_dir(tmp: &Path, gzip: bool) -> PathBuf {
    let dir = tmp.join(if gzip { "dump-gz" } else { "dump" });
    let none = tmp.join("none.yaml");
    std::fs::write(&none, "exclusions: [nothing_here]\n").unwrap();
    let compress = if gzip { "gzip" } else { "none" };
    ok(&run(&[
        "--rules",
        s(&none),
        "--input",
        s(&sample()),
        "--output-layout",
        "directory",
        "--compress",
        compress,
        "--output",
        s(&dir),
        "-q",
    ]));
    dir
}

#[test]
fn a_directory_is_anonymized_like_the_archive_it_came_from() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sample_dir(tmp.path(), false);
    // The reference: the archive itself, anonymized.
    let direct = tmp.path().join("direct.archive");
    ok(&anonymize(&sample(), &direct));
    // Directory in, directory out; then that directory as an archive (no rules change it).
    let out_dir = tmp.path().join("anonymized");
    ok(&anonymize(&dir, &out_dir));
    assert!(out_dir.join("syrftest/pmInvestigator.bson").is_file());
    assert!(out_dir
        .join("syrftest/pmInvestigator.metadata.json")
        .is_file());
    let back = tmp.path().join("back.archive");
    let none = tmp.path().join("none.yaml");
    ok(&run(&[
        "--rules",
        s(&none),
        "--input",
        s(&out_dir),
        "--output",
        s(&back),
        "-q",
    ]));
    assert_eq!(
        documents(&std::fs::read(&back).unwrap()),
        documents(&std::fs::read(&direct).unwrap())
    );
    // Directory in, archive out (for `mongorestore --archive`): the same documents.
    let converted = tmp.path().join("converted.archive");
    ok(&anonymize(&dir, &converted));
    assert_eq!(
        documents(&std::fs::read(&converted).unwrap()),
        documents(&std::fs::read(&direct).unwrap())
    );
    // `verify` reads directories on both sides, and finds nothing.
    let v = run(&[
        "verify",
        "--original",
        s(&dir),
        "--rules",
        s(&rules()),
        s(&out_dir),
    ]);
    ok(&v);
    // ... and finds the originals in the unanonymized directory.
    let leak = run(&[
        "verify",
        "--original",
        s(&dir),
        "--rules",
        s(&rules()),
        s(&dir),
    ]);
    assert_eq!(
        leak.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&leak.stderr)
    );
    // `inspect` reads a directory.
    let inspect = run(&["inspect", s(&out_dir)]);
    ok(&inspect);
    let manifest: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(manifest["format"], "mongo");
    assert!(manifest["documents"].as_u64().unwrap() > 0);
    // `scan` reads a directory (as the archive stream it is read as: the run's policy skips
    // the excluded collection).
    let o = run(&["scan", "--rules", s(&rules()), s(&dir)]);
    ok(&o);
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(report.contains("707 documents read"), "{report}");
    assert!(report.contains("syrftest.pmAuditLog: skipped"), "{report}");
}

#[test]
fn gzip_directories_stay_gzip_and_convert_to_a_gzip_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sample_dir(tmp.path(), true);
    assert!(files(&dir).iter().all(|f| {
        let bytes = std::fs::read(f).unwrap();
        bytes.starts_with(&[0x1f, 0x8b])
    }));
    let out_dir = tmp.path().join("anonymized");
    ok(&anonymize(&dir, &out_dir));
    let names: Vec<String> = files(&out_dir)
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.ends_with(".gz")), "{names:?}");
    let archive = tmp.path().join("x.archive.gz");
    ok(&anonymize(&dir, &archive));
    assert!(std::fs::read(&archive).unwrap().starts_with(&[0x1f, 0x8b]));
}

#[test]
fn a_failed_run_leaves_no_output_directory_and_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sample_dir(tmp.path(), false);
    let victim = dir.join("syrftest/pmStudy.bson");
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() - 10]).unwrap();
    let out_dir = tmp.path().join("anonymized");
    let out = anonymize(&dir, &out_dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("pmStudy.bson"), "{err}");
    assert!(!out_dir.exists());
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_non_empty_output_directory_and_stray_files_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sample_dir(tmp.path(), false);
    let busy = tmp.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("keep.txt"), "mine").unwrap();
    let out = anonymize(&dir, &busy);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(busy.join("keep.txt")).unwrap(),
        "mine"
    );

    std::fs::write(dir.join("syrftest/notes.txt"), "x").unwrap();
    let out = run(&[
        "--rules",
        s(&rules()),
        "--input",
        s(&dir),
        "--output",
        s(&tmp.path().join("o")),
        "-q",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("notes.txt"), "{err}");
}
