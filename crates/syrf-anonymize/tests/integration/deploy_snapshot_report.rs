//! deploy/snapshot-cronjob.yaml's two scripts run as written, with `mongodump` and `gsutil`
//! stubbed (the first prints the shipped sample archive, the second records what it is asked
//! to copy): a good run uploads the dump, its manifest and report; a failed run (`--strict`)
//! uploads only the failed run's report, which holds the error, and fails with its status.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_yaml_ng::Value;

const BIN: &str = env!("CARGO_BIN_EXE_syrf-anonymize");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// (init container's script, upload container's script), mount paths moved into `dir`.
fn scripts(dir: &Path) -> (String, String) {
    let text = std::fs::read_to_string(root().join("deploy/snapshot-cronjob.yaml")).unwrap();
    let doc = Value::deserialize(serde_yaml_ng::Deserializer::from_str(&text)).unwrap();
    let pod = &doc["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let fix = |s: &Value| {
        s.as_str()
            .unwrap()
            .replace("/etc/syrf-anonymize/", &format!("{}/etc/", dir.display()))
            .replace("/scratch/", &format!("{}/scratch/", dir.display()))
            .replace("/audit/", &format!("{}/audit/", dir.display()))
    };
    (
        fix(&pod["initContainers"][0]["args"][0]),
        fix(&pod["containers"][0]["args"][0]),
    )
}

/// Runs both containers' scripts as the pod would (the upload after the init container);
/// returns (upload's exit code, the gsutil calls).
fn cron_run(dir: &Path, rules: &str) -> (Option<i32>, String) {
    for sub in ["etc", "scratch", "bin", "audit"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("etc/rules.yaml"), rules).unwrap();
    let sample = root().join("samples/syrf-sample.archive");
    let calls = dir.join("gsutil.calls");
    let _ = std::fs::remove_file(&calls);
    for (name, body) in [
        (
            "mongodump",
            format!("#!/bin/sh\ngzip -c {}\n", sample.display()),
        ),
        (
            "gsutil",
            // Reads its stdin like the real one (`echo … | gsutil cp -`), or the writer may
            // die of SIGPIPE under pipefail.
            format!(
                "#!/bin/sh\necho \"$@\" >> {}\ncat > /dev/null\n",
                calls.display()
            ),
        ),
    ] {
        let path = dir.join("bin").join(name);
        std::fs::write(&path, body).unwrap();
        Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    }
    let path = format!(
        "{}:{}:{}",
        dir.join("bin").display(),
        Path::new(BIN).parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    let (init, upload) = scripts(dir);
    let run = |script: &str| {
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", script])
            .env("PATH", &path)
            .env("MONGO_URI", "mongodb://stub")
            .env("BUCKET", "bucket")
            // Nothing listens there: the push fails at once, which only warns.
            .env("PUSHGATEWAY_URL", "http://127.0.0.1:9")
            .env("SYRF_ANONYMIZE_KEY", "snapshot-report-test-key-0123456789")
            .output()
            .unwrap()
    };
    let init_out = run(&init);
    assert!(
        init_out.status.success(),
        "the init container hands its status on: {}",
        String::from_utf8_lossy(&init_out.stderr)
    );
    let up = run(&upload);
    (
        up.status.code(),
        std::fs::read_to_string(&calls).unwrap_or_default(),
    )
}

#[test]
fn snapshot_job_uploads_a_failed_runs_report_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(root().join("rules/syrf.yaml")).unwrap();
    let (code, calls) = cron_run(dir.path(), &shipped);
    assert_eq!(code, Some(0), "{calls}");
    assert!(
        calls.contains("dump.gz")
            && calls.contains("manifest.json")
            && calls.contains("report.json"),
        "{calls}"
    );
    assert!(!calls.contains("/failed/"), "{calls}");

    let dir = tempfile::tempdir().unwrap();
    let typo = "rules:\n  pmInvestigator:\n    fields:\n      Emial: hash_email\n";
    let (code, calls) = cron_run(dir.path(), typo);
    assert_eq!(
        code,
        Some(4),
        "the Job fails with the run's status: {calls}"
    );
    assert!(calls.contains("gs://bucket/failed/"), "{calls}");
    assert!(!calls.contains("dump.gz"), "no dump uploaded: {calls}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("scratch/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["exit_code"], 4);
    assert!(report["error"].as_str().unwrap().contains("--strict"));
}
