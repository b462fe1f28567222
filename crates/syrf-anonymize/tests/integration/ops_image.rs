//! The container image without docker: `scripts/build-image-rootfs` (the Dockerfile's only build
//! step) on the test binary, the tree it makes, and, as root, the sample anonymization run
//! inside that tree with chroot as the image's non-root user.

use crate::common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn build_rootfs(dir: &Path) -> PathBuf {
    let rootfs = dir.join("rootfs");
    let out = Command::new("bash")
        .arg(root().join("scripts/build-image-rootfs"))
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_syrf-anonymize"))
        .arg(&rootfs)
        .output()
        .expect("run scripts/build-image-rootfs");
    assert!(
        out.status.success(),
        "build-image-rootfs failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    rootfs
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[test]
fn rootfs_holds_what_the_image_needs() {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = build_rootfs(dir.path());
    let bin = rootfs.join("usr/local/bin/syrf-anonymize");
    let mode = std::fs::metadata(&bin).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    for f in [
        "syrf.yaml",
        "laravel.yaml",
        "directus.yaml",
        "rails.yaml",
        "schema.json",
    ] {
        let shipped = std::fs::read(root().join("rules").join(f)).unwrap();
        let copied = std::fs::read(rootfs.join("usr/share/syrf-anonymize/rules").join(f)).unwrap();
        assert_eq!(shipped, copied, "{f}");
    }
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap();
    assert!(passwd.contains("syrf:x:10001:10001:"), "{passwd}");
    assert!(passwd.lines().all(|l| l.ends_with(":/sbin/nologin")));
    assert!(!rootfs.join("bin/sh").exists(), "no shell in the image");
    let tmp = std::fs::metadata(rootfs.join("tmp")).unwrap();
    assert_eq!(tmp.permissions().mode() & 0o7777, 0o1777);
    if is_root() {
        assert_eq!(
            std::fs::metadata(rootfs.join("scratch")).unwrap().uid(),
            10001
        );
    }

    // Every library the binary needs is in the tree, at the path the loader looks for it.
    let ldd = Command::new("ldd").arg(&bin).output();
    match ldd {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            for line in text.lines() {
                let path = line
                    .split("=>")
                    .nth(1)
                    .unwrap_or(line)
                    .split_whitespace()
                    .next()
                    .unwrap_or("");
                if path.starts_with('/') {
                    assert!(
                        rootfs.join(path.trim_start_matches('/')).exists(),
                        "{path} missing from the tree"
                    );
                }
            }
        }
        _ => syrf_testdata::skip(env!("CARGO_PKG_NAME"), "ldd unavailable or a static binary"),
    }

    // The Dockerfile's runtime stage is this tree and nothing else, run as the non-root user.
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("RUN scripts/build-image-rootfs /rootfs"));
    assert!(dockerfile.contains("FROM scratch\nCOPY --from=build /rootfs/ /\nUSER 10001:10001"));
    assert!(dockerfile.contains(r#"ENTRYPOINT ["/usr/local/bin/syrf-anonymize"]"#));
    let mongo = std::fs::read_to_string(root().join("Dockerfile.mongo")).unwrap();
    assert!(mongo.contains("RUN scripts/build-image-rootfs /rootfs"));
    assert!(mongo.contains("USER mongodb"));
}

#[test]
fn sample_runs_inside_the_tree_as_the_non_root_user() {
    let chroot = ["/usr/sbin/chroot", "/sbin/chroot", "/usr/bin/chroot"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(chroot) = chroot.filter(|_| is_root()) else {
        syrf_testdata::skip(
            env!("CARGO_PKG_NAME"),
            "chroot into the image tree needs root and chroot",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rootfs = build_rootfs(dir.path());
    let sample = std::fs::read(root().join("samples/syrf-sample.archive")).unwrap();
    let mut cmd = Command::new(chroot);
    cmd.arg("--userspec=10001:10001")
        .arg(&rootfs)
        .args([
            "/usr/local/bin/syrf-anonymize",
            "--rules",
            "/usr/share/syrf-anonymize/rules/syrf.yaml",
            "--quiet",
        ])
        .env_clear()
        .env("SYRF_ANONYMIZE_KEY", "image-test-key-0123456789abcdef");
    let out = common::run_with_stdin(cmd, &sample);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checked = mongo_archive::verify::verify(&out.stdout).expect("a valid archive");
    assert!(checked.namespace("syrftest.pmInvestigator").is_some());
    assert!(
        checked.namespace("syrftest.pmAuditLog").is_none(),
        "excluded"
    );
    assert_ne!(out.stdout, sample);

    // The non-root user writes in /scratch, not in /etc.
    let man = Command::new(chroot)
        .arg("--userspec=10001:10001")
        .arg(&rootfs)
        .args(["/usr/local/bin/syrf-anonymize", "man", "--dir", "/scratch"])
        .output()
        .unwrap();
    assert!(
        man.status.success(),
        "{}",
        String::from_utf8_lossy(&man.stderr)
    );
    assert!(rootfs.join("scratch/syrf-anonymize.1").is_file());
    let denied = Command::new(chroot)
        .arg("--userspec=10001:10001")
        .arg(&rootfs)
        .args(["/usr/local/bin/syrf-anonymize", "man", "--dir", "/etc"])
        .output()
        .unwrap();
    assert!(
        !denied.status.success(),
        "the non-root user cannot write /etc"
    );
}
