//! The binary's tests do not inherit the caller's `SYRF_*` settings (issue 18.10): a user who
//! runs the suite with `SYRF_ANONYMIZE_KEY` exported (as README advises) gets the same
//! results. This file is its own process, so the variable it sets cannot leak into other tests.

#[path = "integration/common/mod.rs"]
mod common;
use common::{is_tool_setting, run_with_stdin};

#[test]
fn the_callers_key_and_settings_are_not_inherited() {
    // Safe here: this test binary has a single test, no other thread reads the environment.
    std::env::set_var("SYRF_ANONYMIZE_KEY", "a-key-the-caller-exported-0123456789");
    std::env::set_var("SYRF_SOMETHING_ELSE", "x");
    assert!(is_tool_setting("SYRF_ANONYMIZE_KEY") && is_tool_setting("SYRF_SOMETHING_ELSE"));
    for infra in [
        "SYRF_TEST_MYSQL_SOCKET",
        "SYRF_TESTDATA_DIR",
        "SYRF_SKIPPED_LOG",
        "SYRF_SERVERS_DIR",
    ] {
        assert!(!is_tool_setting(infra), "{infra}");
    }
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yaml");
    std::fs::write(
        &rules,
        "rules:\n  users:\n    fields:\n      email: hash_email\n",
    )
    .unwrap();
    let mut c = common::bin();
    c.arg("--rules").arg(&rules);
    let out = run_with_stdin(c, b"-- MySQL dump\n");
    // Without the inherited key the run refuses, as it does for a caller without one.
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no key"));
}
