//! The Postgres dump rewriter on arbitrary bytes: no panic, identity without rules,
//! and with rules an output that reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sql_dump::{rewrite_sql, Dialect, SqlOptions};
use syrf_anonymize_fuzz::{empty_anonymizer, sql_anonymizer};

fuzz_target!(|data: &[u8]| {
    let opts = SqlOptions {
        dialect: Some(Dialect::Postgres),
        ..Default::default()
    };
    let mut out = Vec::new();
    if rewrite_sql(data, &mut out, empty_anonymizer(), &opts).is_ok() {
        assert_eq!(out, data, "a rule-less rewrite changed the dump");
    }
    // With rules: a successful rewrite is a dump that reads back.
    let mut out = Vec::new();
    if rewrite_sql(data, &mut out, sql_anonymizer(), &opts).is_ok() {
        let mut again = Vec::new();
        if let Err(e) = rewrite_sql(&out[..], &mut again, empty_anonymizer(), &opts) {
            panic!("the rewritten dump does not read back: {e}");
        }
    }
});
