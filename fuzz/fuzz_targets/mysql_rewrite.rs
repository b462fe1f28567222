//! The MySql dump rewriter on arbitrary bytes: no panic, and identity without rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sql_dump::{rewrite_sql, Dialect, SqlOptions};
use syrf_anonymize_fuzz::{empty_anonymizer, sql_anonymizer};

fuzz_target!(|data: &[u8]| {
    let opts = SqlOptions {
        dialect: Some(Dialect::MySql),
        ..Default::default()
    };
    let mut out = Vec::new();
    if rewrite_sql(data, &mut out, empty_anonymizer(), &opts).is_ok() {
        assert_eq!(out, data, "a rule-less rewrite changed the dump");
    }
    let mut out = Vec::new();
    let _ = rewrite_sql(data, &mut out, sql_anonymizer(), &opts);
});
