//! pg_dump directory archives through the binary with `--threads`: one table data file per
//! worker gives the same directory, byte for byte, as one thread (gzip and uncompressed); a
//! SIGINT while the workers write removes the partial output directory with everything in it
//! (exit 130). The input's stall is a named pipe in place of one data file, so the signal
//! arrives mid-run without any timing. Real-server tests need the PostgreSQL `./scripts/test`
//! starts, hence `#[ignore]`.

use crate::common;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const KEY: &str = "dir24par-key-0123456789abcdef-xyz";

const RULES: &str = "rules:\n  people:\n    columns:\n      email: {transform: hash_email}\n  \
                     orders:\n    columns:\n      note: {transform: mask, keep_start: 1}\n";

use common::{ok, pg};

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
    common::bin()
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
        let (a, b) = (tree(&one), tree(&two));
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
    let mut child = common::bin()
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

// ----- mongodump directories: one collection file per worker ---------------------------------

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bin(args: &[&str]) -> std::process::Output {
    let mut c = common::bin();
    c.env("SYRF_ANONYMIZE_KEY", KEY)
        .args(args)
        .output()
        .unwrap()
}

/// A quiet run of `rules` from the directory `input` to the directory `output`, which must
/// succeed.
fn anonymize_directory(rules: &Path, input: &Path, output: &Path) {
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    let out = bin(&[
        "--rules",
        &path(rules),
        "--input",
        &path(input),
        "--output",
        &path(output),
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file below `dir` (a pg_dump or mongodump directory), by relative path.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The sample archive written as a mongodump directory `dump-{compress}` in `tmp` (a copy:
/// rules that exclude nothing absent from it).
fn sample_directory(tmp: &Path, compress: &str) -> PathBuf {
    let none = tmp.join("none.yaml");
    std::fs::write(&none, "exclusions: [nothing_here]\n").unwrap();
    let dir = tmp.join(format!("dump-{compress}"));
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let out = bin(&[
        "--rules",
        &s(&none),
        "--input",
        &s(&repo().join("samples/syrf-sample.archive")),
        "--output-layout",
        "directory",
        "--compress",
        compress,
        "--output",
        &s(&dir),
        "-q",
        "--threads",
        "1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

fn report_parts(path: &Path) -> (serde_json::Value, serde_json::Value, serde_json::Value) {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    (
        v["collections"].clone(),
        v["rules"].clone(),
        v["unmatched_rules"].clone(),
    )
}

/// The sample archive as a mongodump directory, plain and gzip, rewritten with the shipped
/// rules (and a size limit and `sequential` ordinals, which count per collection) on one and
/// on two threads: the same files, byte for byte, and the same report.
#[test]
fn mongodump_directories_on_two_threads_equal_one_thread() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = repo().join("rules/syrf.yaml");
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    for compress in ["none", "gzip"] {
        let dir = sample_directory(tmp.path(), compress);
        let collections = tree(&dir).keys().filter(|k| k.contains(".bson")).count();
        assert!(collections >= 3, "several collection files: {collections}");
        let mut got = Vec::new();
        for threads in ["1", "2"] {
            let output = tmp.path().join(format!("out-{compress}-{threads}"));
            let report = tmp.path().join(format!("report-{compress}-{threads}.json"));
            let out = bin(&[
                "--rules",
                &s(&rules),
                "--input",
                &s(&dir),
                "--output",
                &s(&output),
                "--threads",
                threads,
                "--report",
                &s(&report),
                "-q",
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            got.push((tree(&output), report_parts(&report)));
        }
        let (one, two) = (&got[0], &got[1]);
        assert_eq!(
            one.0.keys().collect::<Vec<_>>(),
            two.0.keys().collect::<Vec<_>>()
        );
        for (name, bytes) in &one.0 {
            assert!(
                two.0[name] == *bytes,
                "{compress}: {name} differs with --threads 2"
            );
        }
        assert_eq!(
            one.1, two.1,
            "{compress}: the same collections, rule counts, unmatched rules"
        );
        assert!(
            one.0.keys().any(|k| k.ends_with(".gz")) == (compress == "gzip"),
            "{compress}: the files keep the input's compression"
        );
    }
}

/// A damaged collection file on a worker: the run fails naming the file, and neither the
/// output nor a partial directory is left.
#[test]
fn a_damaged_collection_file_on_a_worker_names_it_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let dir = sample_directory(tmp.path(), "none");
    let (victim, bytes) = tree(&dir)
        .into_iter()
        .filter(|(k, _)| k.ends_with(".bson"))
        .max_by_key(|(_, b)| b.len())
        .unwrap();
    std::fs::write(dir.join(&victim), &bytes[..bytes.len() - 3]).unwrap();
    let outs = tmp.path().join("outs");
    std::fs::create_dir(&outs).unwrap();
    let output = outs.join("anon");
    let rules = repo().join("rules/syrf.yaml");
    let out = bin(&[
        "--rules",
        &s(&rules),
        "--input",
        &s(&dir),
        "--output",
        &s(&output),
        "--threads",
        "2",
        "-q",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let file = Path::new(&victim)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(err.contains(&file), "names {file}: {err}");
    assert!(!output.exists());
    assert!(partials(&outs).is_empty(), "no partial directory left");
}

// ----- deploy/dir-indexed-job.yaml: shards of a mongodump directory over pods ----------------

fn yaml_docs(name: &str) -> Vec<serde_yaml_ng::Value> {
    use serde::Deserialize;
    let path = repo().join("deploy").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde_yaml_ng::Value::deserialize(d).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect()
}

fn kind<'a>(docs: &'a [serde_yaml_ng::Value], kind: &str) -> &'a serde_yaml_ng::Value {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind))
        .unwrap_or_else(|| panic!("no {kind}"))
}

fn shard_script() -> String {
    let docs = yaml_docs("dir-indexed-job.yaml");
    kind(&docs, "ConfigMap")["data"]["shard.sh"]
        .as_str()
        .expect("shard.sh")
        .to_owned()
}

fn env_value(container: &serde_yaml_ng::Value, name: &str) -> Option<String> {
    container["env"]
        .as_sequence()?
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str().map(str::to_owned))
}

/// The manifests are valid YAML of the kinds they claim (as tests/ops_deploy.rs checks the
/// others): an Indexed Job whose pods take their shard by index, with the rules from the
/// ConfigMap, the key from the Secret, metrics and audit as the other Jobs; the assemble Job
/// expects as many shards as the Indexed Job completes.
#[test]
fn dir_indexed_job_manifests() {
    let docs = yaml_docs("dir-indexed-job.yaml");
    for d in &docs {
        assert!(d["apiVersion"].is_string() && d["kind"].is_string());
    }
    let job = kind(&docs, "Job");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    let completions = job["spec"]["completions"].as_u64().unwrap();
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let c = &pod["containers"][0];
    assert_eq!(env_value(c, "SHARDS"), Some(completions.to_string()));
    let key = c["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "SYRF_ANONYMIZE_KEY")
        .expect("the key from the environment");
    assert_eq!(
        key["valueFrom"]["secretKeyRef"]["name"],
        "syrf-anonymize-key"
    );
    let volumes = pod["volumes"].as_sequence().unwrap();
    assert!(volumes
        .iter()
        .any(|v| v["configMap"]["name"] == "syrf-anonymize-rules"));
    assert!(volumes
        .iter()
        .any(|v| v["configMap"]["name"] == "syrf-dump-dir-shard"));
    let script = c["args"][0].as_str().unwrap();
    assert!(script.contains("shard.sh \"$i\" \"$SHARDS\""));
    assert!(script.contains("i=\"$JOB_COMPLETION_INDEX\""));
    assert!(
        script.contains("syrf-anonymize --rules /etc/syrf-anonymize/rules.yaml --input /tmp/view")
    );
    assert!(script.contains("--metrics-push \"$PUSHGATEWAY_URL\""));
    assert!(script.contains("--audit-log /audit/"));
    assert!(!script.contains("--strict") && !script.contains("--key"));
    assert!(c["command"][2] == "pipefail" || script.contains("pipefail"));

    let assemble = yaml_docs("dir-assemble-job.yaml");
    let job = kind(&assemble, "Job");
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(env_value(c, "SHARDS"), Some(completions.to_string()));
    let script = c["args"][0].as_str().unwrap();
    assert!(script.contains("uniq -d") && script.contains("mongorestore"));
}

/// shard.sh (taken from the manifest) for K = 2 and 3 over the sample as a directory, plain
/// and gzip: every collection in exactly one shard, and the shards' outputs put together are
/// byte for byte the unsharded run's. A dump with an oplog, and a shard number not below K,
/// are refused.
#[test]
fn shards_partition_the_collections_and_assemble_to_the_unsharded_output() {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("shard.sh");
    std::fs::write(&script, shard_script()).unwrap();
    let rules = repo().join("rules/syrf.yaml");
    for compress in ["none", "gzip"] {
        let dir = sample_directory(tmp.path(), compress);
        let whole = tmp.path().join(format!("whole-{compress}"));
        anonymize_directory(&rules, &dir, &whole);
        let expected = tree(&whole);
        let inputs = tree(&dir)
            .into_keys()
            .filter(|k| !k.starts_with("prelude.json"))
            .collect::<Vec<_>>();
        for k in [2usize, 3] {
            let mut union: BTreeMap<String, Vec<u8>> = BTreeMap::new();
            let mut taken: BTreeMap<String, usize> = BTreeMap::new();
            for i in 0..k {
                let view = tmp.path().join(format!("view-{compress}-{k}-{i}"));
                ok(Command::new("sh")
                    .arg(&script)
                    .args([i.to_string(), k.to_string()])
                    .arg(&dir)
                    .arg(&view));
                for f in tree(&view).into_keys() {
                    *taken.entry(f).or_default() += 1;
                }
                let out_i = tmp.path().join(format!("shard-{compress}-{k}-{i}"));
                anonymize_directory(&rules, &view, &out_i);
                for (name, bytes) in tree(&out_i) {
                    if let Some(before) = union.get(&name) {
                        assert!(name.starts_with("prelude.json"), "{name} in two shards");
                        assert!(*before == bytes, "the same prelude.json in every shard");
                    }
                    union.insert(name, bytes);
                }
            }
            for f in &inputs {
                assert_eq!(
                    taken.get(f),
                    Some(&1),
                    "{compress}, K={k}: {f} in exactly one shard"
                );
            }
            assert_eq!(
                union.keys().collect::<Vec<_>>(),
                expected.keys().collect::<Vec<_>>(),
                "{compress}, K={k}"
            );
            for (name, bytes) in &expected {
                assert!(union[name] == *bytes, "{compress}, K={k}: {name} differs");
            }
        }
    }
    // Refusals.
    let dir = tmp.path().join("dump-none");
    let bad = Command::new("sh")
        .arg(&script)
        .args(["2", "2"])
        .arg(&dir)
        .arg(tmp.path().join("v-bad"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    std::fs::write(dir.join("oplog.bson"), b"").unwrap();
    let oplog = Command::new("sh")
        .arg(&script)
        .args(["0", "2"])
        .arg(&dir)
        .arg(tmp.path().join("v-oplog"))
        .output()
        .unwrap();
    assert_eq!(oplog.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&oplog.stderr).contains("oplog"));
}
