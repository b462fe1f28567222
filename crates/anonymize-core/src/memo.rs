//! A small per-thread memo of recent results of the transforms whose output is a pure function
//! of the key, the rule and the value (names through `fake`, `hash` of names, `hash_email` of
//! addresses that repeat across tables): a hit copies the remembered text instead of computing
//! digests again.
//!
//! Each thread has its own tables (no lock, no sharing between worker threads), one per rule,
//! direct-mapped, of [`SLOTS`] entries, allocated when a rule first stores a result. The tables
//! belong to one [`Anonymizer`](crate::Anonymizer) (its digester's id): another one on the same
//! thread gets its own, so the results of one key are never served for another. A thread
//! keeps the tables of at most [`OWNERS`] anonymizers, dropping the least recently used.
//!
//! Only text results ([`Written::Str`]) of text inputs are remembered, and only when input and
//! output fit one slot; everything else is computed every time. A table whose trial window of
//! [`WINDOW`] lookups hits too rarely is switched off for a while ([`OFF_FOR`] values), so data
//! whose values never repeat pays almost nothing for it.

use std::cell::RefCell;

use crate::transform::Written;
use crate::value::Value;

/// Entries per rule and thread (a power of two).
pub(crate) const SLOTS: usize = 256;

/// Bytes of input plus output one entry holds.
const CAP: usize = 124;

/// Anonymizers whose tables a thread keeps.
const OWNERS: usize = 4;

/// One remembered result: `data[..in_len]` the input, `data[in_len..in_len + out_len]` the
/// output.
#[derive(Clone, Copy)]
struct Slot {
    /// 0: empty; else 1 + the input's type (1: `Str`, 2: `Bytes`).
    kind: u8,
    in_len: u8,
    out_len: u8,
    data: [u8; CAP],
}

const EMPTY: Slot = Slot {
    kind: 0,
    in_len: 0,
    out_len: 0,
    data: [0; CAP],
};

/// One rule's table and its counters.
struct Table {
    slots: Box<[Slot]>,
    hits: u64,
    misses: u64,
    /// Lookups and hits of the current trial window.
    window: u32,
    window_hits: u32,
    /// Values still to compute without the memo.
    off: u32,
}

/// The tables of one anonymizer, by rule index.
struct Owned {
    owner: u64,
    tables: Vec<Option<Table>>,
}

thread_local! {
    /// This thread's tables, most recently used anonymizer first.
    static MEMO: RefCell<Vec<Owned>> = const { RefCell::new(Vec::new()) };
}

/// The memo's key for a value: its type and bytes (`None`: not remembered).
fn key_of<'v>(value: &Value<'v>) -> Option<(u8, &'v [u8])> {
    let (kind, bytes) = match *value {
        Value::Str(s) => (1, s.as_bytes()),
        Value::Bytes(b) => (2, b),
        _ => return None,
    };
    (bytes.len() < CAP).then_some((kind, bytes))
}

/// Slot index of `bytes` (a multiply-rotate hash over 8-byte words).
fn slot_of(bytes: &[u8]) -> usize {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    // The top bits of a product depend on every bit of the input.
    (h.wrapping_mul(K) >> (64 - SLOTS.trailing_zeros())) as usize
}

/// Lookups per trial window of a table.
const WINDOW: u32 = 1024;

/// A window with fewer hits than `WINDOW / MIN_HIT_SHARE` switches the table off: a miss costs
/// a lookup and a store (about a tenth of a digest), so below about one hit in eight the memo
/// costs more than it saves.
const MIN_HIT_SHARE: u32 = 8;

/// Values computed without the memo after a losing window, before the next trial window.
const OFF_FOR: u32 = 16 * 1024;

/// `compute(out)` for `value` under rule `rule` of the anonymizer `owner`, served from this
/// thread's memo when it remembers the value, and remembered when it can be. `compute` must
/// write the same bytes and return the same result for the same owner, rule and value; a
/// remembered result is returned as `(Written::Str, changed)`.
///
/// A rule whose values rarely repeat (unique addresses) stops using the memo on this thread
/// after a trial window with few hits, and tries again later: outputs are the same either way.
pub(crate) fn memoised<R>(
    owner: u64,
    rule: usize,
    value: Value<'_>,
    out: &mut Vec<u8>,
    compute: impl FnOnce(Value<'_>, &mut Vec<u8>) -> (Written, R),
    changed: R,
) -> (Written, R) {
    let Some((kind, input)) = key_of(&value) else {
        return compute(value, out);
    };
    MEMO.with(|memo| {
        // Transforms never call back into the memo; should one ever, it computes.
        let Ok(mut memo) = memo.try_borrow_mut() else {
            return compute(value, out);
        };
        let Some(table) = table(&mut memo, owner, rule, true) else {
            return compute(value, out);
        };
        if table.off > 0 {
            table.off -= 1;
            return compute(value, out);
        }
        let slot = slot_of(input);
        let s = &table.slots[slot];
        let n = usize::from(s.in_len);
        let hit = s.kind == kind && n == input.len() && &s.data[..n] == input;
        if hit {
            out.clear();
            out.extend_from_slice(&s.data[n..n + usize::from(s.out_len)]);
            table.count(true);
            return (Written::Str, changed);
        }
        table.count(false);
        let result = compute(value, out);
        if result.0 == Written::Str && input.len() + out.len() <= CAP {
            let s = &mut table.slots[slot];
            s.kind = kind;
            s.in_len = input.len() as u8;
            s.out_len = out.len() as u8;
            s.data[..input.len()].copy_from_slice(input);
            s.data[input.len()..input.len() + out.len()].copy_from_slice(out);
        }
        result
    })
}

impl Table {
    /// Counts a lookup; at the end of a trial window, switches the table off when it lost.
    fn count(&mut self, hit: bool) {
        if hit {
            self.hits += 1;
            self.window_hits += 1;
        } else {
            self.misses += 1;
        }
        self.window += 1;
        if self.window == WINDOW {
            if self.window_hits * MIN_HIT_SHARE < WINDOW {
                self.off = OFF_FOR;
            }
            self.window = 0;
            self.window_hits = 0;
        }
    }
}

/// The table of `rule` of `owner` (made when `create`), moving `owner` to the front.
fn table(memo: &mut Vec<Owned>, owner: u64, rule: usize, create: bool) -> Option<&mut Table> {
    match memo.iter().position(|o| o.owner == owner) {
        Some(0) => {}
        Some(i) => memo[..=i].rotate_right(1),
        None if create => {
            if memo.len() == OWNERS {
                memo.pop();
            }
            memo.insert(
                0,
                Owned {
                    owner,
                    tables: Vec::new(),
                },
            );
        }
        None => return None,
    }
    let tables = &mut memo[0].tables;
    if tables.len() <= rule {
        if !create {
            return None;
        }
        tables.resize_with(rule + 1, || None);
    }
    if tables[rule].is_none() && create {
        tables[rule] = Some(Table {
            slots: vec![EMPTY; SLOTS].into_boxed_slice(),
            hits: 0,
            misses: 0,
            window: 0,
            window_hits: 0,
            off: 0,
        });
    }
    tables[rule].as_mut()
}

/// This thread's `(hits, misses)` of `owner`'s rule `rule` so far.
pub(crate) fn counts(owner: u64, rule: usize) -> (u64, u64) {
    MEMO.with(|memo| {
        memo.borrow()
            .iter()
            .find(|o| o.owner == owner)
            .and_then(|o| o.tables.get(rule)?.as_ref())
            .map_or((0, 0), |t| (t.hits, t.misses))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upper(v: Value<'_>, out: &mut Vec<u8>) -> (Written, bool) {
        let Value::Str(s) = v else {
            return (Written::Null, false);
        };
        out.clear();
        out.extend(s.bytes().map(|b| b.to_ascii_uppercase()));
        (Written::Str, true)
    }

    #[test]
    fn hits_after_a_miss_and_never_across_owners_or_rules() {
        let mut out = Vec::new();
        let r = memoised(9001, 0, Value::Str("abc"), &mut out, upper, true);
        assert_eq!((r, &out[..]), ((Written::Str, true), &b"ABC"[..]));
        assert_eq!(counts(9001, 0), (0, 1));
        let r = memoised(
            9001,
            0,
            Value::Str("abc"),
            &mut out,
            |_, _| panic!("hit"),
            true,
        );
        assert_eq!((r, &out[..]), ((Written::Str, true), &b"ABC"[..]));
        assert_eq!(counts(9001, 0), (1, 1));
        // Another rule, another owner: computed, and kept apart.
        let other = |v: Value<'_>, out: &mut Vec<u8>| {
            out.clear();
            out.extend_from_slice(b"x");
            let _ = v;
            (Written::Str, true)
        };
        memoised(9001, 1, Value::Str("abc"), &mut out, other, true);
        assert_eq!(out, b"x");
        memoised(9002, 0, Value::Str("abc"), &mut out, other, true);
        assert_eq!(out, b"x");
        memoised(9001, 0, Value::Str("abc"), &mut out, other, true);
        assert_eq!(out, b"ABC", "owner 9001's rule 0 entry survives");
        memoised(9002, 0, Value::Str("abc"), &mut out, upper, true);
        assert_eq!(out, b"x", "owner 9002's own entry");
        // The same bytes as another type are not the same key.
        memoised(9001, 0, Value::Bytes(b"abc"), &mut out, other, true);
        assert_eq!(out, b"x");
    }

    #[test]
    fn long_values_and_non_text_are_not_remembered() {
        let long = "a".repeat(CAP);
        let mut out = Vec::new();
        for _ in 0..2 {
            memoised(9003, 0, Value::Str(&long), &mut out, upper, true);
            assert_eq!(out, long.to_uppercase().as_bytes());
        }
        assert_eq!(counts(9003, 0), (0, 0), "not even looked up");
        let mut calls = 0;
        for _ in 0..2 {
            memoised(
                9003,
                0,
                Value::Int32(1),
                &mut out,
                |_, _| {
                    calls += 1;
                    (Written::Int32(2), true)
                },
                true,
            );
        }
        assert_eq!(calls, 2);
    }

    #[test]
    fn a_losing_table_switches_off_and_tries_again() {
        let mut out = Vec::new();
        let distinct: Vec<String> = (0..WINDOW).map(|i| format!("v{i}")).collect();
        for v in &distinct {
            memoised(9004, 0, Value::Str(v), &mut out, upper, true);
        }
        assert_eq!(counts(9004, 0), (0, u64::from(WINDOW)));
        // Off: repeats are computed, not even looked up.
        for _ in 0..OFF_FOR {
            memoised(9004, 0, Value::Str("v1"), &mut out, upper, true);
            assert_eq!(out, b"V1");
        }
        assert_eq!(counts(9004, 0), (0, u64::from(WINDOW)));
        // Then a new trial: the repeats hit.
        memoised(9004, 0, Value::Str("v1"), &mut out, upper, true);
        memoised(9004, 0, Value::Str("v1"), &mut out, upper, true);
        assert_eq!(counts(9004, 0).0, 1);
    }

    #[test]
    fn slots_spread() {
        let used: std::collections::HashSet<usize> = (0..SLOTS)
            .map(|i| slot_of(format!("name{i}").as_bytes()))
            .collect();
        assert!(used.len() > SLOTS / 2, "{} of {SLOTS}", used.len());
    }
}
