//! deploy/monitoring/: the alert rules pass the real `promtool check rules` and their unit
//! tests (`promtool test rules`, one test group per alert), the PrometheusRule resource holds
//! the same groups, and the rules and the Grafana dashboard only name series the binary really
//! writes (read from a real `--metrics` file).

use crate::common;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;
use serde_yaml_ng::Value;

fn monitoring(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/monitoring")
        .join(name)
}

fn yaml(name: &str) -> Value {
    let text = std::fs::read_to_string(monitoring(name)).unwrap();
    Value::deserialize(serde_yaml_ng::Deserializer::from_str(&text))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every `syrf_anonymize_*` name in `text`.
fn series_names(text: &str) -> BTreeSet<String> {
    names_with_prefix(text, "syrf_anonymize_")
}

/// Every name starting with `prefix` in `text`.
fn names_with_prefix(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

fn alerts() -> Vec<String> {
    yaml("syrf-anonymize.rules.yaml")["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap().iter())
        .map(|r| r["alert"].as_str().expect("only alerting rules").to_owned())
        .collect()
}

#[test]
fn prometheusrule_holds_the_rules_files_groups() {
    let plain = yaml("syrf-anonymize.rules.yaml");
    let resource = yaml("prometheusrule.yaml");
    assert_eq!(resource["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(resource["kind"], "PrometheusRule");
    assert!(resource["metadata"]["name"].is_string());
    assert_eq!(resource["spec"]["groups"], plain["groups"]);
    let names = alerts();
    for want in [
        "SyrfSnapshotFailed",
        "SyrfSnapshotStale",
        "SyrfSnapshotOutputShrank",
        "SyrfFailedClosedValues",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing");
    }
}

#[test]
fn every_alert_has_unit_tests_and_a_runbook_section() {
    let tests = std::fs::read_to_string(monitoring("tests/alerts.test.yaml")).unwrap();
    let runbook = std::fs::read_to_string(monitoring("../../docs/runbook.md")).unwrap();
    let rules = yaml("syrf-anonymize.rules.yaml");
    for rule in rules["groups"][0]["rules"].as_sequence().unwrap() {
        let name = rule["alert"].as_str().unwrap();
        let firing = format!("alertname: {name}\n        exp_alerts:\n          - exp_labels");
        assert!(tests.contains(&firing), "no test where {name} fires");
        assert!(
            tests.contains(&format!("alertname: {name}\n        exp_alerts: []")),
            "no test where {name} stays silent"
        );
        assert!(
            runbook.contains(&format!("\n## {name}\n")),
            "runbook lacks {name}"
        );
        let url = rule["annotations"]["runbook_url"].as_str().unwrap();
        assert_eq!(url, format!("docs/runbook.md#{}", name.to_lowercase()));
    }
}

#[test]
fn rules_and_dashboard_name_only_series_the_binary_writes() {
    // Two successful runs write every series, the kept ones included.
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("m.prom");
    for _ in 0..2 {
        let out = common::bin()
            .args(["--rules", "rules/syrf.yaml", "--unkeyed", "--quiet"])
            .args(["--input", "samples/syrf-sample.archive", "--output"])
            .arg(dir.path().join("out.archive"))
            .arg("--metrics")
            .arg(&metrics)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let written = series_names(&std::fs::read_to_string(&metrics).unwrap());
    assert!(written.contains("syrf_anonymize_previous_success_output_bytes"));

    let dashboard_text = std::fs::read_to_string(monitoring("grafana-dashboard.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&dashboard_text).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    let mut ids = BTreeSet::new();
    for p in panels {
        assert!(ids.insert(p["id"].as_u64().unwrap()), "duplicate panel id");
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty());
        for t in targets {
            assert!(t["expr"].as_str().unwrap().contains("syrf_"));
        }
    }
    let rules_text = std::fs::read_to_string(monitoring("syrf-anonymize.rules.yaml")).unwrap();
    for (what, text) in [("dashboard", &dashboard_text), ("rules", &rules_text)] {
        for name in series_names(text) {
            assert!(
                written.contains(&name),
                "{what} names {name}, which the binary never writes"
            );
        }
    }
    // The restore panels name only series the restore Job's report script pushes.
    let restore_job = std::fs::read_to_string(monitoring("../preview-restore-job.yaml")).unwrap();
    let pushed = names_with_prefix(&restore_job, "syrf_restore_");
    let shown = names_with_prefix(&dashboard_text, "syrf_restore_");
    assert!(!shown.is_empty());
    assert!(shown.is_subset(&pushed), "{shown:?} vs {pushed:?}");
    // The dashboard shows success, duration, bytes and per-collection counts.
    for needed in [
        "syrf_anonymize_run_success",
        "syrf_anonymize_run_duration_seconds",
        "syrf_anonymize_output_bytes",
        "syrf_anonymize_collection_records_out",
    ] {
        assert!(series_names(&dashboard_text).contains(needed), "{needed}");
    }
}

fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(monitoring(""))
        .output()
        .unwrap_or_else(|e| {
            panic!("promtool not found ({e}): install Debian's `prometheus` package (scripts/test does)")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
#[ignore = "needs promtool (Debian's prometheus package), installed by ./scripts/test"]
fn promtool_checks_and_unit_tests_the_alert_rules() {
    let n = alerts().len();
    let checked = promtool(&["check", "rules", "syrf-anonymize.rules.yaml"]);
    assert!(
        checked.contains(&format!("SUCCESS: {n} rules found")),
        "{checked}"
    );
    let tested = promtool(&["test", "rules", "tests/alerts.test.yaml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

/// The preview restore Job's `report` container script, run by bash here against the real
/// Pushgateway with the status files a failed and a successful restore leave.
#[test]
#[ignore = "needs the prometheus-pushgateway started by ./scripts/test"]
fn restore_job_report_pushes_metrics_appends_audit_and_keeps_the_exit_code() {
    let url = std::env::var("SYRF_TEST_PUSHGATEWAY_URL").expect(
        "SYRF_TEST_PUSHGATEWAY_URL is not set: run ./scripts/test, which starts a prometheus-pushgateway on loopback",
    );
    let text = std::fs::read_to_string(monitoring("../preview-restore-job.yaml")).unwrap();
    let job = Value::deserialize(serde_yaml_ng::Deserializer::from_str(&text)).unwrap();
    let report = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(report["name"], "report");
    let script = report["args"][0].as_str().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path();
    std::fs::write(scratch.join("dump.gz"), b"0123456789").unwrap();
    std::fs::write(scratch.join("snapshot-id"), "2026-12-05-daily\n").unwrap();
    std::fs::write(scratch.join("dump.sha256"), "ab12\n").unwrap();
    let preview = format!("f22-restore-test-{}", std::process::id());
    let run = |status: &str| {
        std::fs::write(scratch.join("restore.status"), status).unwrap();
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", script])
            .env("SCRATCH", scratch)
            .env("AUDIT_DIR", scratch)
            .env("PUSHGATEWAY_URL", &url)
            .env("PREVIEW", &preview)
            .output()
            .unwrap()
    };
    let group = || -> serde_json::Value {
        let mut body = String::new();
        use std::io::Read as _;
        ureq::get(format!("{url}/api/v1/metrics"))
            .call()
            .unwrap()
            .into_body()
            .into_reader()
            .read_to_string(&mut body)
            .unwrap();
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        json["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| {
                g["labels"]["job"] == "syrf-restore" && g["labels"]["instance"] == preview.as_str()
            })
            .cloned()
            .expect("the restore's group")
    };
    let value = |g: &serde_json::Value, name: &str| {
        g[name]["metrics"][0]["value"].as_str().map(str::to_owned)
    };

    let ok = run("0 1800000000 1800000042\n");
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let g = group();
    assert_eq!(value(&g, "syrf_restore_success").as_deref(), Some("1"));
    assert_eq!(
        value(&g, "syrf_restore_duration_seconds").as_deref(),
        Some("42")
    );
    assert_eq!(value(&g, "syrf_restore_input_bytes").as_deref(), Some("10"));
    assert_eq!(
        value(&g, "syrf_restore_last_success_timestamp_seconds").as_deref(),
        Some("1.800000042e+09")
    );

    let failed = run("3 1800000100 1800000105\n");
    assert_eq!(
        failed.status.code(),
        Some(3),
        "the restore's exit code fails the Job"
    );
    let g = group();
    assert_eq!(value(&g, "syrf_restore_success").as_deref(), Some("0"));
    assert_eq!(value(&g, "syrf_restore_exit_code").as_deref(), Some("3"));
    assert_eq!(
        value(&g, "syrf_restore_last_success_timestamp_seconds").as_deref(),
        Some("1.800000042e+09"),
        "kept"
    );

    let audit = std::fs::read_to_string(scratch.join("syrf-restore.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["event"], "restore");
    assert_eq!(lines[0]["snapshot"], "2026-12-05-daily");
    assert_eq!(lines[0]["success"], true);
    assert_eq!(lines[0]["start"], "2027-01-15T08:00:00Z");
    assert_eq!(lines[0]["input"]["sha256"], "ab12");
    assert_eq!(lines[1]["success"], false);
    assert_eq!(lines[1]["exit_code"], 3);

    ureq::delete(format!("{url}/metrics/job/syrf-restore/instance/{preview}"))
        .call()
        .unwrap();
}

/// The preview restore Job end to end outside a cluster: its `restore` init container script
/// (with `/scratch` mapped to a temporary directory, the real `syrf-anonymize inspect`, and a
/// stub `mongorestore`) always leaves its status and succeeds, and the `report` container
/// script appends the audit line and exits with the restore's code, so a failed restore fails
/// the Job. The Pushgateway is unreachable here: the push only warns.
#[test]
fn restore_job_records_its_status_and_the_report_exits_with_it() {
    let text = std::fs::read_to_string(monitoring("../preview-restore-job.yaml")).unwrap();
    let job = Value::deserialize(serde_yaml_ng::Deserializer::from_str(&text)).unwrap();
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["initContainers"][1]["name"], "restore");
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("scratch");
    let stubs = dir.path().join("bin");
    std::fs::create_dir_all(&scratch).unwrap();
    std::fs::create_dir_all(&stubs).unwrap();
    let restore_script = pod["initContainers"][1]["args"][0]
        .as_str()
        .unwrap()
        .replace("/scratch", scratch.to_str().unwrap());
    let report_script = pod["containers"][0]["args"][0].as_str().unwrap();

    // The tools the restore container's image has: syrf-anonymize (the real one) and a
    // mongorestore that records its arguments and exits with $STUB_RC.
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_syrf-anonymize"),
        stubs.join("syrf-anonymize"),
    )
    .unwrap();
    let stub = stubs.join("mongorestore");
    std::fs::write(
        &stub,
        "#!/bin/sh\necho \"$@\" > \"$STUB_ARGS\"\nexit \"${STUB_RC:-0}\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        stubs.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // What the download container leaves: the snapshot, its manifest, its id.
    let archive = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/syrf-sample.archive"),
    )
    .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &archive).unwrap();
    let dump = gz.finish().unwrap();
    let dump_path = scratch.join("dump.gz");
    std::fs::write(&dump_path, &dump).unwrap();
    let made = common::bin()
        .arg("inspect")
        .arg(&dump_path)
        .arg("--output")
        .arg(scratch.join("manifest.json"))
        .output()
        .unwrap();
    assert!(made.status.success());
    std::fs::write(scratch.join("snapshot-id"), "2026-12-05-daily\n").unwrap();

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gateway = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let args_file = dir.path().join("mongorestore.args");
    let restore = |rc: &str| {
        let _ = std::fs::remove_file(&args_file);
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &restore_script])
            .env("PATH", &path)
            .env("TARGET_URI", "mongodb://preview.invalid/db")
            .env("COLLECTIONS", "pmStudy,pmProject")
            .env("STUB_RC", rc)
            .env("STUB_ARGS", &args_file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the restore init container always succeeds"
        );
        let status = std::fs::read_to_string(scratch.join("restore.status")).unwrap();
        status.split_whitespace().next().unwrap().to_owned()
    };
    let report = || {
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", report_script])
            .env("SCRATCH", &scratch)
            .env("AUDIT_DIR", dir.path())
            .env("PUSHGATEWAY_URL", &gateway)
            .env("PREVIEW", "pr-7")
            .output()
            .unwrap()
    };

    assert_eq!(restore("0"), "0");
    let args = std::fs::read_to_string(&args_file).unwrap();
    assert!(
        args.contains("--nsInclude=*.pmStudy --nsInclude=*.pmProject"),
        "{args}"
    );
    assert!(
        args.contains(&format!("--archive={}", dump_path.display())),
        "{args}"
    );
    let ok = report();
    assert_eq!(ok.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&ok.stderr).contains("warning: cannot push the restore metrics")
    );

    assert_eq!(restore("1"), "1", "mongorestore failed");
    assert_eq!(
        report().status.code(),
        Some(1),
        "a failed restore fails the Job"
    );

    // A corrupt download: inspect refuses it (exit 3) and nothing is restored.
    std::fs::write(&dump_path, &dump[..dump.len() / 2]).unwrap();
    assert_eq!(restore("0"), "3");
    assert!(!args_file.exists(), "mongorestore never ran");
    assert_eq!(report().status.code(), Some(3));

    let audit = std::fs::read_to_string(dir.path().join("syrf-restore.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let codes: Vec<_> = lines
        .iter()
        .map(|l| l["exit_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [0, 1, 3]);
    assert_eq!(lines[0]["success"], true);
    assert_eq!(lines[0]["target"], "pr-7");
    assert_eq!(lines[0]["snapshot"], "2026-12-05-daily");
    let sha: String = {
        use sha2::Digest as _;
        sha2::Sha256::digest(&dump)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(lines[0]["input"]["sha256"], sha.as_str());
    assert_eq!(lines[0]["input"]["bytes"], dump.len() as u64);
    assert_eq!(lines[2]["success"], false);
}
