//! Regression: arrays nested 100,000 deep under a covered field overflowed the walker's stack
//! (found by the hostile-input catalogue). Nesting below a rule path is refused beyond 200
//! levels (MongoDB's own BSON validation limit); anything MongoDB stores still patches.

use crate::common;

use anonymize_core::{Disposition, RowContext};
use common::*;
use mongo_archive::{PatchError, Patcher};

/// `{a: [[[ ... ["Zebediah"] ... ]]]}` with `depth` arrays, built front to back.
fn nested_arrays(depth: usize) -> Vec<u8> {
    let s = b"Zebediah";
    let mut sizes = Vec::with_capacity(depth);
    let mut size = 4 + (1 + 2 + 4 + s.len() + 1) + 1;
    for _ in 0..depth {
        sizes.push(size);
        size = 4 + 1 + 2 + size + 1;
    }
    let top = 4 + 1 + 2 + sizes[depth - 1] + 1;
    let mut d = Vec::with_capacity(top);
    d.extend((top as i32).to_le_bytes());
    d.extend([0x04, b'a', 0]);
    for k in (0..depth).rev() {
        d.extend((sizes[k] as i32).to_le_bytes());
        if k > 0 {
            d.extend([0x04, b'0', 0]);
        }
    }
    d.extend([0x02, b'0', 0]);
    d.extend(((s.len() + 1) as i32).to_le_bytes());
    d.extend(s);
    d.push(0);
    d.extend(std::iter::repeat_n(0u8, depth + 1));
    assert_eq!(d.len(), top);
    d
}

fn patch(depth: usize) -> Result<Option<bson::Document>, PatchError> {
    let anon = rules("rules:\n  c:\n    fields:\n      a: hash\n");
    let Disposition::Keep(plan) = anon.resolve(None, "c") else {
        panic!("c has rules")
    };
    let doc = nested_arrays(depth);
    let mut p = Patcher::new();
    let out = p.patch(&doc, plan.root().unwrap(), &anon, RowContext { ordinal: 1 })?;
    Ok(out.map(|b| bson::Document::from_reader(b).unwrap()))
}

#[test]
fn arrays_nested_100000_deep_are_refused_without_overflowing() {
    match patch(100_000) {
        Err(PatchError::Unsupported(m)) => {
            assert!(m.contains("nested more than 200 levels"), "{m}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn nesting_mongodb_accepts_is_still_patched() {
    let out = patch(150).unwrap().expect("the string was hashed");
    let mut v = out.get("a").unwrap();
    while let bson::Bson::Array(items) = v {
        v = &items[0];
    }
    let bson::Bson::String(s) = v else {
        panic!("{v:?}")
    };
    assert_ne!(s, "Zebediah");
    assert_eq!(s.len(), 16);
}
