//! The oplog rewriter and `oplog_read`: the fuzzed bytes are one oplog entry of an otherwise
//! valid archive.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mongo_archive::{rewrite_archive, RewriteOptions};
use syrf_anonymize_fuzz::{archive_with_oplog_entry, empty_anonymizer, mongo_anonymizer};

fuzz_target!(|data: &[u8]| {
    if data.len() > 1 << 20 {
        return;
    }
    // The reader `scan` and `verify` use: no panic, and it accepts what the rewriter accepts.
    let read = mongo_archive::oplog_read::operations(data, &mut |op| op.data(&mut |_| {}).or(Ok(())));
    let archive = archive_with_oplog_entry(data);
    let mut out = Vec::new();
    if rewrite_archive(
        &archive[..],
        &mut out,
        mongo_anonymizer(),
        &RewriteOptions::default(),
    )
    .is_ok()
    {
        if let Err(e) = read {
            panic!("the rewriter accepted an entry oplog_read refuses: {e}");
        }
        let mut again = Vec::new();
        let keep_all = RewriteOptions {
            keep_users: true,
            ..Default::default()
        };
        if let Err(e) = rewrite_archive(&out[..], &mut again, empty_anonymizer(), &keep_all) {
            panic!("the rewritten archive does not read back: {e}");
        }
    }
});
