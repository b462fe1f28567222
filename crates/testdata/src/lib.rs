//! Test-only helper: where the third-party conformance data (real mongodump archives, the
//! Sakila and pagila dumps) lives, and the loud skip when it is absent.
//!
//! The data is not part of the repository. It is found in one place: the directory named by
//! the environment variable [`ENV`] (`SYRF_TESTDATA_DIR`), by default `../shared/testdata`
//! beside the workspace root. Without it, a conformance test calls [`conformance_dir!`], which
//! prints `SKIPPED (conformance): <crate> <test>: <why>` on stderr (and appends the same line to
//! the file named by [`LOG_ENV`], which `scripts/test` lists at its end), and returns.
//! When the variable is set explicitly and the directory is missing, the test fails instead:
//! asking for data that is not there is a set-up error, not a skip.

#![warn(missing_docs)]

use std::io::Write;
use std::path::{Path, PathBuf};

/// The environment variable naming the conformance data directory.
pub const ENV: &str = "SYRF_TESTDATA_DIR";
/// The environment variable naming a file that collects the `SKIPPED (conformance)` lines.
pub const LOG_ENV: &str = "SYRF_SKIPPED_LOG";

/// The workspace root (this crate lives in `crates/testdata`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The conformance data directory: `$SYRF_TESTDATA_DIR`, else `<workspace root>/../shared/testdata`.
/// The second value tells whether it was set explicitly.
pub fn root() -> (PathBuf, bool) {
    match std::env::var_os(ENV).filter(|v| !v.is_empty()) {
        Some(dir) => (PathBuf::from(dir), true),
        None => (workspace_root().join("../shared/testdata"), false),
    }
}

/// The subdirectory `sub` (`mongo`, `sql`) of the conformance data, or `None` after printing
/// the skip line for `package`'s current test. Use [`conformance_dir!`] rather than this.
pub fn dir_for(package: &str, sub: &str) -> Option<PathBuf> {
    let (root, explicit) = root();
    let dir = root.join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    if explicit {
        panic!(
            "{ENV}={} is set but {} is not a directory: the conformance data is missing",
            root.display(),
            dir.display()
        );
    }
    skip(
        package,
        &format!(
            "no third-party test data at {} (set {ENV} to the directory holding mongo/ and sql/)",
            dir.display()
        ),
    );
    None
}

/// Prints `SKIPPED (conformance): <package> <test>: <why>` on stderr and appends it to the
/// file named by [`LOG_ENV`], if any.
pub fn skip(package: &str, why: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?");
    let line = format!("SKIPPED (conformance): {package} {test}: {why}\n");
    eprint!("{line}");
    if let Some(log) = std::env::var_os(LOG_ENV).filter(|v| !v.is_empty()) {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// `conformance_dir!("mongo")`: the conformance data's `mongo/` directory, or `None` after a
/// loud skip line naming the calling crate and test. Typical use:
/// `let Some(dir) = syrf_testdata::conformance_dir!("sql") else { return };`
#[macro_export]
macro_rules! conformance_dir {
    ($sub:expr) => {
        $crate::dir_for(env!("CARGO_PKG_NAME"), $sub)
    };
}
