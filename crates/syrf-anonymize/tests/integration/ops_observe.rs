//! `--metrics`, `--metrics-push` and `--audit-log` on real runs of the binary: the metrics file
//! is checked by the real `promtool check metrics` (Debian's `prometheus` package), pushes go to
//! a real `prometheus-pushgateway` (started on loopback by scripts/test, which exports
//! `SYRF_TEST_PUSHGATEWAY_URL`) and are read back, and the audit log's digests are recomputed
//! here. Tests needing promtool or the Pushgateway are `#[ignore]`d like the real-server tests
//! and fail, never skip, when the tool is missing.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// A key no output may contain, in any spelling.
const KEY: &str = "f22-observe-test-key-never-printed";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_syrf-anonymize")
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key"), format!("{KEY}\n")).unwrap();
        Dir { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A run of the sample archive (or `input`) with `extra` flags.
    fn run(&self, input: &Path, output: &str, extra: &[&str]) -> Output {
        Command::new(bin())
            .arg("--rules")
            .arg(repo("rules/syrf.yaml"))
            .arg("--key-file")
            .arg(self.path("key"))
            .arg("--input")
            .arg(input)
            .arg("--output")
            .arg(self.path(output))
            .arg("--quiet")
            .args(extra)
            .env_remove("SYRF_ANONYMIZE_KEY")
            .stdin(Stdio::null())
            .output()
            .expect("run syrf-anonymize")
    }

    /// The sample archive, gzip-compressed, and a truncated copy of it.
    fn inputs(&self) -> (PathBuf, PathBuf) {
        let archive = std::fs::read(repo("samples/syrf-sample.archive")).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&archive).unwrap();
        let gz = gz.finish().unwrap();
        let (good, bad) = (
            self.path("in.archive.gz"),
            self.path("truncated.archive.gz"),
        );
        std::fs::write(&good, &gz).unwrap();
        std::fs::write(&bad, &gz[..gz.len() / 2]).unwrap();
        (good, bad)
    }
}

fn assert_no_key(text: &str) {
    assert!(!text.contains(KEY), "the key leaked");
    assert!(
        !text.contains(&sha256(KEY.as_bytes())),
        "the key's SHA-256 leaked"
    );
    let hex: String = KEY.bytes().map(|b| format!("{b:02x}")).collect();
    assert!(!text.contains(&hex), "the key leaked as hex");
}

fn audit_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert_no_key(&text);
    assert!(text.ends_with('\n'));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn audit_log_after_a_successful_and_a_failed_run() {
    let d = Dir::new();
    let (good, bad) = d.inputs();
    let log = d.path("audit.jsonl");
    let log_arg = log.to_str().unwrap();

    let ok = d.run(&good, "out.gz", &["--audit-log", log_arg]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let failed = d.run(&bad, "failed.gz", &["--audit-log", log_arg]);
    assert_eq!(failed.status.code(), Some(3));
    // Fails before the input is opened: the line is still written.
    let no_rules = Command::new(bin())
        .args([
            "--rules",
            "/nonexistent/rules.yaml",
            "--unkeyed",
            "--audit-log",
            log_arg,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(no_rules.status.code(), Some(2));

    let lines = audit_lines(&log);
    assert_eq!(lines.len(), 3);
    let key = anonymize_core::Key::from_bytes(KEY.as_bytes()).unwrap();
    let rules_sha = sha256(&std::fs::read(repo("rules/syrf.yaml")).unwrap());

    let s = &lines[0];
    assert_eq!(s["schema"], 1);
    assert_eq!(s["success"], true);
    assert_eq!(s["exit_code"], 0);
    assert_eq!(s["error_kind"], Value::Null);
    assert_eq!(s["format"], "mongo");
    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(s["rules"]["sha256"], rules_sha.as_str());
    assert_eq!(s["key"]["mode"], "keyed");
    assert_eq!(s["key"]["fingerprint"], key.fingerprint().as_str());
    let input = std::fs::read(&good).unwrap();
    assert_eq!(s["input"]["bytes"], input.len() as u64);
    assert_eq!(s["input"]["sha256"], sha256(&input).as_str());
    let output = std::fs::read(d.path("out.gz")).unwrap();
    assert_eq!(s["output"]["bytes"], output.len() as u64);
    assert_eq!(s["output"]["sha256"], sha256(&output).as_str());
    assert_eq!(s["output"]["committed"], true);
    assert_eq!(s["counts"]["input_gzip"], true);
    assert!(s["counts"]["values_changed"].as_u64().unwrap() > 0);
    assert_eq!(s["counts"]["failed_closed"], 0);
    assert!(s["start"].as_str().unwrap() <= s["end"].as_str().unwrap());
    assert!(s["end"].as_str().unwrap().ends_with('Z'));

    let f = &lines[1];
    assert_eq!(f["success"], false);
    assert_eq!(f["exit_code"], 3);
    assert_eq!(f["error_kind"], "bad_input");
    assert_eq!(f["key"]["fingerprint"], key.fingerprint().as_str());
    let truncated = std::fs::read(&bad).unwrap();
    assert_eq!(f["input"]["bytes"], truncated.len() as u64);
    assert_eq!(f["input"]["sha256"], sha256(&truncated).as_str());
    assert_eq!(f["output"]["committed"], false);
    assert!(
        !d.path("failed.gz").exists(),
        "a failed run leaves no output"
    );
    assert_eq!(f["counts"], Value::Null);

    let u = &lines[2];
    assert_eq!(u["exit_code"], 2);
    assert_eq!(u["error_kind"], "usage");
    assert_eq!(u["rules"]["sha256"], Value::Null);
    assert_eq!(u["key"]["mode"], "none");
    assert_eq!(u["input"]["sha256"], Value::Null);
}

#[test]
fn an_unwritable_audit_log_fails_before_the_run() {
    let d = Dir::new();
    let (good, _) = d.inputs();
    let out = d.run(
        &good,
        "out.gz",
        &["--audit-log", "/nonexistent/dir/audit.jsonl"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot append to the audit log"));
    assert!(!d.path("out.gz").exists());
}

/// Each run appends under the advisory lock: while this test holds it, runs that have finished
/// their work wait for it (none exits, nothing is written); released, every line arrives whole.
#[test]
fn runs_append_under_the_advisory_lock() {
    let d = Dir::new();
    let (_, bad) = d.inputs();
    let log = d.path("audit.jsonl");
    let holder = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&log)
        .unwrap();
    holder.lock().unwrap();
    // Failing runs: they reach the audit line within milliseconds.
    let mut children: Vec<_> = (0..6)
        .map(|i| {
            Command::new(bin())
                .arg("--rules")
                .arg(repo("rules/syrf.yaml"))
                .arg("--key-file")
                .arg(d.path("key"))
                .arg("--input")
                .arg(&bad)
                .arg("--output")
                .arg(d.path(&format!("out-{i}.gz")))
                .arg("--audit-log")
                .arg(&log)
                .arg("--quiet")
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    // Not a timing assertion: a correct run cannot exit while the lock is held, however long
    // this waits; a run that does not take the lock is caught if it finishes in this time.
    std::thread::sleep(std::time::Duration::from_secs(2));
    for c in &mut children {
        assert!(
            c.try_wait().unwrap().is_none(),
            "a run wrote its audit line without the lock"
        );
    }
    assert_eq!(std::fs::metadata(&log).unwrap().len(), 0);
    holder.unlock().unwrap();
    for mut c in children {
        assert_eq!(c.wait().unwrap().code(), Some(3));
    }
    assert_eq!(audit_lines(&log).len(), 6);
}

#[test]
fn a_metrics_file_in_a_missing_directory_fails_before_the_run() {
    let d = Dir::new();
    let (good, _) = d.inputs();
    let out = d.run(&good, "out.gz", &["--metrics", "/nonexistent/dir/m.prom"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write the metrics file"));
    assert!(!d.path("out.gz").exists());
}

#[test]
fn concurrent_runs_append_whole_lines() {
    let d = Dir::new();
    let (good, bad) = d.inputs();
    let log = d.path("audit.jsonl");
    let (runs, rounds) = (12, 2);
    for round in 0..rounds {
        let children: Vec<_> = (0..runs)
            .map(|i| {
                let input = if i % 3 == 0 { &bad } else { &good };
                Command::new(bin())
                    .arg("--rules")
                    .arg(repo("rules/syrf.yaml"))
                    .arg("--key-file")
                    .arg(d.path("key"))
                    .arg("--input")
                    .arg(input)
                    .arg("--output")
                    .arg(d.path(&format!("out-{round}-{i}.gz")))
                    .arg("--threads=1")
                    .arg("--audit-log")
                    .arg(&log)
                    .arg("--quiet")
                    .stdin(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            c.wait().unwrap();
        }
    }
    let lines = audit_lines(&log);
    assert_eq!(lines.len(), runs * rounds);
    let failures = lines.iter().filter(|l| l["exit_code"] == 3).count();
    assert_eq!(failures, rounds * runs.div_ceil(3));
}

#[test]
fn a_failed_push_warns_and_never_fails_the_copy() {
    let d = Dir::new();
    let (good, _) = d.inputs();
    // A port nobody listens on, and a listener that accepts and never answers (bounded by the
    // timeout).
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://user:{KEY}@{}", silent.local_addr().unwrap());
    // A server that reads each request and answers HTTP 500.
    let failing = TcpListener::bind("127.0.0.1:0").unwrap();
    let failing_url = format!("http://{}", failing.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in failing.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then as many body bytes as Content-Length says.
            let body_len = loop {
                let Ok(n) = stream.read(&mut buf) else {
                    break 0;
                };
                if n == 0 {
                    break 0;
                }
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_lowercase();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break (end + 4 + len).saturating_sub(request.len());
                }
            };
            let mut left = body_len;
            while left > 0 {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left = left.saturating_sub(n),
                }
            }
            let _ = stream.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 12\r\nConnection: close\r\n\r\nstorage full",
            );
        }
    });
    let out = d.run(&good, "c.gz", &["--metrics-push", &failing_url]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("answered HTTP 500: storage full"),
        "{stderr}"
    );
    for (url, output) in [(&closed_url, "a.gz"), (&silent_url, "b.gz")] {
        let out = d.run(
            &good,
            output,
            &["--metrics-push", url, "--metrics-push-timeout", "1"],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            stderr.contains("warning: cannot push the metrics"),
            "{stderr}"
        );
        assert_no_key(&stderr);
        assert!(d.path(output).exists());
    }
}

fn promtool() -> &'static str {
    let found = Command::new("promtool").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "promtool not found: install Debian's `prometheus` package (scripts/test does)"
    );
    "promtool"
}

fn promtool_check_metrics(text: &str) {
    let mut child = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of an unlabelled sample.
fn value(text: &str, name: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .map(str::to_owned)
}

#[test]
#[ignore = "needs promtool (Debian's prometheus package), installed by ./scripts/test"]
fn metrics_file_after_successful_and_failed_runs_passes_promtool() {
    let d = Dir::new();
    let (good, bad) = d.inputs();
    let metrics = d.path("syrf.prom");
    let m = metrics.to_str().unwrap();

    let ok = d.run(&good, "out.gz", &["--metrics", m]);
    assert!(ok.status.success());
    let first = std::fs::read_to_string(&metrics).unwrap();
    promtool_check_metrics(&first);
    let out_len = std::fs::metadata(d.path("out.gz"))
        .unwrap()
        .len()
        .to_string();
    assert_eq!(
        value(&first, "syrf_anonymize_run_success").as_deref(),
        Some("1")
    );
    assert_eq!(
        value(&first, "syrf_anonymize_output_bytes"),
        Some(out_len.clone())
    );
    assert_eq!(
        value(&first, "syrf_anonymize_input_bytes"),
        Some(std::fs::metadata(&good).unwrap().len().to_string())
    );
    assert_eq!(
        value(&first, "syrf_anonymize_last_success_output_bytes"),
        Some(out_len.clone())
    );
    assert_eq!(
        value(&first, "syrf_anonymize_previous_success_output_bytes"),
        None
    );
    assert!(first.contains(
        r#"syrf_anonymize_collection_records_in{action="kept",collection="syrftest.pmInvestigator"} 20"#
    ));
    assert!(first.contains(
        r#"syrf_anonymize_rule_values_changed{rule="pmInvestigator.Email",transform="hash_email"}"#
    ));
    let success_at = value(&first, "syrf_anonymize_last_success_timestamp_seconds").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&metrics).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o644,
            "readable by a collector running as another user"
        );
    }

    let failed = d.run(&bad, "failed.gz", &["--metrics", m]);
    assert_eq!(failed.status.code(), Some(3));
    let second = std::fs::read_to_string(&metrics).unwrap();
    promtool_check_metrics(&second);
    assert_eq!(
        value(&second, "syrf_anonymize_run_success").as_deref(),
        Some("0")
    );
    assert_eq!(
        value(&second, "syrf_anonymize_run_exit_code").as_deref(),
        Some("3")
    );
    assert!(second.contains("syrf_anonymize_run_error{kind=\"bad_input\"} 1"));
    assert!(second.contains("syrf_anonymize_run_error{kind=\"none\"} 0"));
    assert_eq!(
        value(&second, "syrf_anonymize_last_success_timestamp_seconds"),
        Some(success_at.clone()),
        "a failed run keeps the last success's time"
    );
    assert_eq!(
        value(&second, "syrf_anonymize_last_success_output_bytes"),
        Some(out_len.clone())
    );
    assert_ne!(
        value(&second, "syrf_anonymize_last_run_timestamp_seconds"),
        value(&first, "syrf_anonymize_last_run_timestamp_seconds")
    );

    let again = d.run(&good, "out2.gz", &["--metrics", m]);
    assert!(again.status.success());
    let third = std::fs::read_to_string(&metrics).unwrap();
    promtool_check_metrics(&third);
    assert_eq!(
        value(&third, "syrf_anonymize_previous_success_output_bytes"),
        Some(out_len)
    );
    assert_ne!(
        value(&third, "syrf_anonymize_last_success_timestamp_seconds"),
        Some(success_at)
    );
    // Only the metrics file and the outputs: no temporary file left behind.
    let mut names: Vec<String> = std::fs::read_dir(d.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "in.archive.gz",
            "key",
            "out.gz",
            "out2.gz",
            "syrf.prom",
            "truncated.archive.gz"
        ]
    );
}

fn pushgateway() -> String {
    std::env::var("SYRF_TEST_PUSHGATEWAY_URL").expect(
        "SYRF_TEST_PUSHGATEWAY_URL is not set: run ./scripts/test, which starts a prometheus-pushgateway on loopback",
    )
}

/// The samples of `job`'s group on the Pushgateway, by metric name (first sample's value).
fn group(url: &str, job: &str, instance: &str) -> Option<Value> {
    let mut body = String::new();
    ureq::get(format!("{url}/api/v1/metrics"))
        .call()
        .unwrap()
        .into_body()
        .into_reader()
        .read_to_string(&mut body)
        .unwrap();
    let json: Value = serde_json::from_str(&body).unwrap();
    json["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["labels"]["job"] == job && g["labels"]["instance"] == instance)
        .cloned()
}

fn pushed(group: &Value, name: &str) -> Option<String> {
    group[name]["metrics"][0]["value"]
        .as_str()
        .map(str::to_owned)
}

#[test]
#[ignore = "needs the prometheus-pushgateway started by ./scripts/test"]
fn metrics_push_to_a_real_pushgateway_and_read_back() {
    let url = pushgateway();
    let d = Dir::new();
    let (good, bad) = d.inputs();
    let job = format!("f22-observe-test-{}", std::process::id());
    let instance = "snapshot/daily one";
    let flags = [
        "--metrics-push",
        &url,
        "--metrics-job",
        &job,
        "--metrics-instance",
        instance,
    ];

    let ok = d.run(&good, "out.gz", &flags);
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert!(
        ok.status.success() && !stderr.contains("warning"),
        "{stderr}"
    );
    let g = group(&url, &job, instance).expect("the group was pushed");
    assert_eq!(
        pushed(&g, "syrf_anonymize_run_success").as_deref(),
        Some("1")
    );
    let out_len = std::fs::metadata(d.path("out.gz")).unwrap().len();
    let as_f64 = |v: Option<String>| v.and_then(|v| v.parse::<f64>().ok());
    assert_eq!(
        as_f64(pushed(&g, "syrf_anonymize_output_bytes")),
        Some(out_len as f64)
    );
    let success_at = pushed(&g, "syrf_anonymize_last_success_timestamp_seconds").unwrap();
    let records = &g["syrf_anonymize_collection_records_out"]["metrics"];
    assert!(records
        .as_array()
        .unwrap()
        .iter()
        .any(|m| { m["labels"]["collection"] == "syrftest.pmInvestigator" && m["value"] == "20" }));

    let failed = d.run(&bad, "failed.gz", &flags);
    assert_eq!(failed.status.code(), Some(3));
    let g = group(&url, &job, instance).unwrap();
    assert_eq!(
        pushed(&g, "syrf_anonymize_run_success").as_deref(),
        Some("0")
    );
    assert_eq!(
        pushed(&g, "syrf_anonymize_run_exit_code").as_deref(),
        Some("3")
    );
    assert_eq!(
        pushed(&g, "syrf_anonymize_last_success_timestamp_seconds"),
        Some(success_at),
        "read back from the Pushgateway and kept"
    );
    // A failed run has no per-collection counts: the group was replaced.
    assert!(g["syrf_anonymize_collection_records_out"].is_null());

    let again = d.run(&good, "out2.gz", &flags);
    assert!(again.status.success());
    let g = group(&url, &job, instance).unwrap();
    assert_eq!(
        as_f64(pushed(&g, "syrf_anonymize_previous_success_output_bytes")),
        Some(out_len as f64)
    );

    // Tidy up the group.
    let b64 = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE.encode(s)
    };
    ureq::delete(format!(
        "{url}/metrics/job@base64/{}/instance@base64/{}",
        b64(&job),
        b64(instance)
    ))
    .call()
    .unwrap();
    assert!(group(&url, &job, instance).is_none());
}
