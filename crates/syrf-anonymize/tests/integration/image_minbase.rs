//! The image build in the environment the Dockerfiles build in: a Debian minbase root made by
//! `debootstrap --variant=minbase` from Debian's packages (mawk as awk, no gawk), where
//! `scripts/build-image-rootfs` must copy the dynamic loader (a `\s` in awk silently did not,
//! and the image's binary could not start). The tree it builds there then anonymizes the
//! sample, run as the image's non-root user.
//!
//! Opt-in (needs root for chroot, and a minbase root): set `SYRF_TEST_MINBASE=DIR` to an
//! existing root (`debootstrap --variant=minbase bookworm DIR http://deb.debian.org/debian`),
//! or `SYRF_TEST_DEBOOTSTRAP=1` to have the test make one (cached in the target directory;
//! needs the `debootstrap` package and the Debian mirror). Otherwise it skips loudly.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn skip(why: &str) {
    syrf_testdata::skip(env!("CARGO_PKG_NAME"), why);
}

/// The minbase root to build in, or `None` (after a loud skip).
fn minbase() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SYRF_TEST_MINBASE").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if std::env::var("SYRF_TEST_DEBOOTSTRAP").as_deref() != Ok("1") {
        skip("set SYRF_TEST_MINBASE=DIR (a debootstrap minbase root) or SYRF_TEST_DEBOOTSTRAP=1");
        return None;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("minbase-bookworm");
    if dir.join("usr/bin/mawk").exists() {
        return Some(dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new("debootstrap")
        .args(["--variant=minbase", "bookworm"])
        .arg(&dir)
        .arg("http://deb.debian.org/debian")
        .output()
        .expect("SYRF_TEST_DEBOOTSTRAP=1 needs the debootstrap package");
    assert!(
        out.status.success(),
        "debootstrap failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(dir)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn rootfs_built_in_a_debian_minbase_root_runs_the_sample() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skip("chroot into the minbase root needs root");
        return;
    }
    let Some(base) = minbase() else { return };
    // The Dockerfiles' environment: mawk is awk, there is no gawk.
    let awk = Command::new("chroot")
        .arg(&base)
        .args(["readlink", "-f", "/usr/bin/awk"])
        .output()
        .unwrap();
    let awk = String::from_utf8_lossy(&awk.stdout);
    assert_eq!(awk.trim(), "/usr/bin/mawk", "awk in the minbase root");
    assert!(
        !base.join("usr/bin/gawk").exists(),
        "gawk in the minbase root"
    );

    // The script and the rule sets, as COPY . . puts them, and the binary to package.
    let work_in = format!("/tmp/syrf-image-test-{}", std::process::id());
    let work = base.join(work_in.trim_start_matches('/'));
    let _ = std::fs::remove_dir_all(&work);
    copy_dir(&root().join("scripts"), &work.join("src/scripts"));
    copy_dir(&root().join("rules"), &work.join("src/rules"));
    std::fs::copy(
        env!("CARGO_BIN_EXE_syrf-anonymize"),
        work.join("syrf-anonymize"),
    )
    .unwrap();

    let out = Command::new("chroot")
        .arg(&base)
        .args([
            "/bin/bash",
            &format!("{work_in}/src/scripts/build-image-rootfs"),
            "--binary",
            &format!("{work_in}/syrf-anonymize"),
            &format!("{work_in}/rootfs"),
        ])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "build-image-rootfs in minbase:\n{log}"
    );
    let rootfs = work.join("rootfs");
    assert!(
        std::fs::read_dir(rootfs.join("lib64"))
            .map(|d| d
                .filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with("ld-")))
            .unwrap_or(false),
        "no dynamic loader in the tree:\n{log}"
    );

    // The image's binary on the sample, in the tree alone, as the image's user.
    let sample = std::fs::read(root().join("samples/syrf-sample.archive")).unwrap();
    let mut cmd = Command::new("chroot");
    cmd.arg("--userspec=10001:10001")
        .arg(&rootfs)
        .args([
            "/usr/local/bin/syrf-anonymize",
            "--rules",
            "/usr/share/syrf-anonymize/rules/syrf.yaml",
            "--quiet",
        ])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("SYRF_ANONYMIZE_KEY", "image-test-key-0123456789abcdef");
    let run = common::run_with_stdin(cmd, &sample);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let checked = mongo_archive::verify::verify(&run.stdout).expect("a valid archive");
    assert!(checked.namespace("syrftest.pmInvestigator").is_some());
    std::fs::remove_dir_all(&work).unwrap();
}
