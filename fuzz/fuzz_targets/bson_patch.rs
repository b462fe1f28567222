//! The zero-copy patcher on arbitrary document bytes: no panic, and a valid document stays
//! valid after patching.
#![no_main]

use anonymize_core::{Disposition, RowContext};
use libfuzzer_sys::fuzz_target;
use mongo_archive::Patcher;
use syrf_anonymize_fuzz::mongo_anonymizer;

fuzz_target!(|data: &[u8]| {
    let anon = mongo_anonymizer();
    let Disposition::Keep(plan) = anon.resolve(Some("test"), "foo") else {
        unreachable!("test.foo has rules")
    };
    let root = plan.root().expect("field rules");
    // The bson crate allocates what the length prefix claims: check the prefix first.
    let valid = data.len() >= 5
        && i32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize == data.len()
        && bson::Document::from_reader(data).is_ok();
    let mut patcher = Patcher::new();
    match patcher.patch(data, root, anon, RowContext { ordinal: 3 }) {
        Ok(Some(out)) => {
            if valid {
                if let Err(e) = bson::Document::from_reader(out) {
                    panic!("patched a valid document into an invalid one: {e}");
                }
            }
        }
        Ok(None) | Err(_) => {}
    }
});
