//! Archive reader and rewriter on arbitrary bytes: no panic, identity without rules, and
//! with rules an output the reader accepts again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mongo_archive::reader::{ArchiveReader, Item};
use mongo_archive::{rewrite_archive, OplogMode, RewriteOptions};
use syrf_anonymize_fuzz::{empty_anonymizer, mongo_anonymizer};

fuzz_target!(|data: &[u8]| {
    // The reader alone, to the end or the first error.
    let mut reader = ArchiveReader::new(data);
    for _ in 0..100_000 {
        match reader.next_item() {
            Ok(Item::End) | Err(_) => break,
            Ok(_) => {}
        }
    }

    // No rules, users kept: a successful run is byte-identical.
    let keep_all = RewriteOptions {
        keep_users: true,
        ..Default::default()
    };
    let mut out = Vec::new();
    if rewrite_archive(data, &mut out, empty_anonymizer(), &keep_all).is_ok() {
        assert_eq!(out, data, "a rule-less rewrite changed the archive");
    }

    // Rules, exclusions, limits; the oplog applied or dropped by the last byte.
    let opts = RewriteOptions {
        oplog: if data.last().is_some_and(|b| b & 1 == 1) {
            OplogMode::Drop
        } else {
            OplogMode::Apply
        },
        ..Default::default()
    };
    let mut out = Vec::new();
    if rewrite_archive(data, &mut out, mongo_anonymizer(), &opts).is_ok() {
        let mut again = Vec::new();
        if let Err(e) = rewrite_archive(&out[..], &mut again, empty_anonymizer(), &keep_all) {
            panic!("the rewritten archive does not read back: {e}");
        }
    }
});
