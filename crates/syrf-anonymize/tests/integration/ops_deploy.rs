//! deploy/: every file is valid YAML of the kind it claims, and the Jobs get the rules from the
//! ConfigMap, the key from the Secret through the environment, and run as non-root.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml_ng::Value;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

fn kube(name: &str) -> Vec<Value> {
    let docs = documents(&deploy().join(name));
    for d in &docs {
        assert!(d["apiVersion"].is_string(), "{name}: apiVersion");
        assert!(d["kind"].is_string(), "{name}: kind");
    }
    docs
}

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind))
        .unwrap_or_else(|| panic!("no {kind}"))
}

/// The pod spec of a Job or CronJob.
fn pod(doc: &Value) -> &Value {
    match doc["kind"].as_str() {
        Some("CronJob") => &doc["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        _ => &doc["spec"]["template"]["spec"],
    }
}

fn containers(pod: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for key in ["initContainers", "containers"] {
        if let Some(list) = pod[key].as_sequence() {
            all.extend(list.iter());
        }
    }
    all
}

fn script(c: &Value) -> String {
    c["args"]
        .as_sequence()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// Containers running syrf-anonymize with rules get them from the ConfigMap and the key from
/// the Secret, by environment variable.
fn check_anonymizing_containers(pod: &Value, name: &str) -> usize {
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
    let rules_volume = pod["volumes"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|v| v["configMap"]["name"] == "syrf-anonymize-rules");
    let mut n = 0;
    for c in containers(pod) {
        let s = script(c);
        if !s.contains("syrf-anonymize --rules") {
            continue;
        }
        n += 1;
        let rules_volume = rules_volume.unwrap_or_else(|| panic!("{name}: no rules ConfigMap"));
        let mounted = c["volumeMounts"]
            .as_sequence()
            .into_iter()
            .flatten()
            .any(|m| m["name"] == rules_volume["name"] && m["mountPath"] == "/etc/syrf-anonymize");
        assert!(mounted, "{name}: rules not mounted");
        let key = c["env"]
            .as_sequence()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == "SYRF_ANONYMIZE_KEY")
            .unwrap_or_else(|| panic!("{name}: no key"));
        assert_eq!(
            key["valueFrom"]["secretKeyRef"]["name"], "syrf-anonymize-key",
            "{name}"
        );
        assert!(!s.contains("--key"), "{name}: the key is never an argument");
        assert!(
            s.contains("pipefail")
                || c["command"].as_sequence().is_some_and(|cmd| cmd
                    .iter()
                    .any(|w| w.as_str().is_some_and(|w| w.contains("pipefail")))),
            "{name}: a failed stage must fail the pipeline"
        );
    }
    n
}

#[test]
fn snapshot_cronjob() {
    let docs = kube("snapshot-cronjob.yaml");
    let cron = find(&docs, "CronJob");
    let pod = pod(cron);
    assert_eq!(check_anonymizing_containers(pod, "snapshot"), 1);
    let all: String = containers(pod).into_iter().map(script).collect();
    assert!(all.contains("--strict"));
    assert!(all.contains("syrf-anonymize inspect /scratch/dump.gz --output /scratch/manifest.json"));
    // The upload runs only after the dump succeeded: the dump is an init container.
    let init = script(&pod["initContainers"][0]);
    assert!(init.contains("mongodump") && init.contains("inspect"));
    assert!(script(&pod["containers"][0]).contains("gsutil cp"));
    // Every run pushes its metrics and appends its audit line (deploy/monitoring/).
    assert!(init.contains("--metrics-push \"$PUSHGATEWAY_URL\""));
    assert!(init.contains("--audit-log /audit/"));
}

#[test]
fn preview_restore_job() {
    let docs = kube("preview-restore-job.yaml");
    let job = find(&docs, "Job");
    let pod = pod(job);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    // The restore is the last init container, so that the report container (metrics, audit
    // line, the restore's exit code) runs after it whatever happened.
    let restore = script(&pod["initContainers"][1]);
    let inspect = restore.find("syrf-anonymize inspect").expect("inspect");
    let mongorestore = restore.find("mongorestore").expect("mongorestore");
    assert!(inspect < mongorestore, "checked before restoring");
    assert!(restore.contains("restore.status"));
    let report = script(&pod["containers"][0]);
    assert!(
        report.contains("exit \"$rc\""),
        "a failed restore fails the Job"
    );
}

#[test]
fn indexed_job() {
    let docs = kube("parallel-indexed-job.yaml");
    let job = find(&docs, "Job");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    let groups = find(&docs, "ConfigMap")["data"]["groups"]
        .as_str()
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(job["spec"]["completions"].as_u64(), Some(groups as u64));
    let pod = pod(job);
    assert_eq!(check_anonymizing_containers(pod, "indexed"), 1);
    let s = script(&pod["containers"][0]);
    assert!(s.contains("JOB_COMPLETION_INDEX"));
    assert!(s.contains("--collection=\"$c\""));
    assert!(s.contains("--collections \"$c\""));
    assert!(!s.contains("--strict"));
}

#[test]
fn configmap_and_workflows() {
    let docs = kube("configmap-rules.yaml");
    let cm = find(&docs, "ConfigMap");
    let rules = cm["data"]["rules.yaml"].as_str().unwrap();
    anonymize_core::RuleSet::from_yaml(rules, "configmap").expect("valid rules");
    assert!(find(&docs, "Secret")["stringData"]["key"].is_string());
    for wf in ["github/staging-refresh.yaml", "github/pr-preview.yaml"] {
        let docs = documents(&deploy().join(wf));
        assert_eq!(docs.len(), 1, "{wf}");
        assert!(docs[0]["on"].is_mapping(), "{wf}: on");
        assert!(docs[0]["jobs"].is_mapping(), "{wf}: jobs");
    }
    let staging = &documents(&deploy().join("github/staging-refresh.yaml"))[0];
    assert!(
        staging["on"]["workflow_dispatch"].is_mapping(),
        "manual only"
    );
    assert!(staging["on"]["push"].is_null() && staging["on"]["schedule"].is_null());
    let job = &staging["jobs"]["refresh"];
    assert_eq!(job["environment"], "staging");
    assert!(job["if"].as_str().unwrap().contains("refresh staging"));
}

/// `kubectl apply -f deploy/` unedited gives Jobs that refuse to run: the ConfigMap ships the
/// full rules/syrf.yaml, and every key written in the repository's deploy files, docs and
/// scripts (the Secret's placeholder, README's demo key, a benchmark's key) is refused by the
/// binary (exit 2) without being printed.
#[test]
fn deploy_placeholders_make_the_jobs_refuse() {
    let root = deploy().join("..");
    let docs = kube("configmap-rules.yaml");
    let shipped = std::fs::read_to_string(root.join("rules/syrf.yaml")).unwrap();
    assert_eq!(
        find(&docs, "ConfigMap")["data"]["rules.yaml"].as_str(),
        Some(shipped.as_str()),
        "the ConfigMap holds rules/syrf.yaml, unchanged"
    );

    let mut keys: Vec<String> = Vec::new();
    for d in docs.iter().filter(|d| d["kind"] == "Secret") {
        if let Some(map) = d["stringData"].as_mapping() {
            keys.extend(map.values().filter_map(|v| v.as_str().map(str::to_owned)));
        }
    }
    let mut files = vec![root.join("README.md"), root.join("benches/throughput.sh")];
    for dir in ["deploy", "deploy/github", "docs", "scripts"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for (i, _) in text.match_indices("SYRF_ANONYMIZE_KEY=") {
            let value: String = text[i + "SYRF_ANONYMIZE_KEY=".len()..]
                .trim_start_matches(['"', '\''])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-_./+".contains(*c))
                .collect();
            // A literal key, not `$(…)`, `"$VAR"` or an empty assignment.
            if value.len() >= 16 {
                keys.push(value);
            }
        }
    }
    assert!(
        keys.iter().any(|k| k.starts_with("replace-with")),
        "the Secret's placeholder is found: {keys:?}"
    );
    let bin = env!("CARGO_BIN_EXE_syrf-anonymize");
    let sample = root.join("samples/syrf-sample.archive");
    for key in &keys {
        let out = std::process::Command::new(bin)
            .env("SYRF_ANONYMIZE_KEY", key)
            .arg("--rules")
            .arg(root.join("rules/syrf.yaml"))
            .arg("--input")
            .arg(&sample)
            .args(["--output", "/dev/null"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "key {key:?} was accepted: {err}"
        );
        assert!(err.contains("placeholder"), "{err}");
        assert!(!err.contains(key.as_str()), "the key is never printed");
    }
}

#[test]
fn sql_refresh_job() {
    let docs = kube("sql-refresh-job.yaml");
    let job = find(&docs, "Job");
    assert_eq!(check_anonymizing_containers(pod(job), "sql-refresh"), 1);
    let s = script(containers(pod(job))[0]);
    assert!(s.starts_with("set -euo pipefail"), "{s}");
    // Restored into a scratch database, swapped in only afterwards.
    let restore = s.find("--single-transaction").unwrap();
    let swap = s.find("RENAME TO \\\"$TARGET_DB\\\"").unwrap();
    assert!(restore < swap);
}

/// The workflows use the released image instead of compiling or installing tools on every
/// run, and a step that runs kubectl comes after the cluster credentials step.
#[test]
fn workflows_use_the_image_and_real_credentials() {
    for wf in ["github/staging-refresh.yaml", "github/pr-preview.yaml"] {
        let text = std::fs::read_to_string(deploy().join(wf)).unwrap();
        assert!(
            !text.contains("cargo install"),
            "{wf}: compiles on every run"
        );
        assert!(
            !text.contains("apt-get install -y mongodb-database-tools"),
            "{wf}: hosted runners have no MongoDB apt repository"
        );
        assert!(text.contains("syrf-anonymize-mongo"), "{wf}: the image");
        let docs = documents(&deploy().join(wf));
        for (name, job) in docs[0]["jobs"].as_mapping().unwrap() {
            let steps = job["steps"].as_sequence().unwrap();
            let uses =
                |s: &Value, what: &str| s["uses"].as_str().is_some_and(|u| u.starts_with(what));
            let creds = steps
                .iter()
                .position(|s| uses(s, "google-github-actions/get-gke-credentials"));
            if let Some(k) = steps
                .iter()
                .position(|s| s["run"].as_str().is_some_and(|r| r.contains("kubectl")))
            {
                assert!(
                    creds.is_some_and(|c| c < k),
                    "{wf} {name:?}: kubectl without credentials"
                );
            }
        }
    }
}
