//! A small per-thread memo of recent results of the transforms whose output is a pure function
//! of the key, the rule and the value (names through `fake`, `hash` of names, `hash_email` of
//! addresses that repeat across tables): a hit copies the remembered text instead of computing
//! digests again.
//!
//! Each thread has its own tables (no lock, no sharing between worker threads), one per rule,
//! direct-mapped, of [`SLOTS`] entries, allocated when a rule first stores a result, and
//! doubled (up to [`MAX_SLOTS`], twice that for the narrowest entries, within [`BUDGET_BYTES`]
//! per anonymizer and thread) while it hits but misses more than an eighth of a window. The
//! tables belong to one [`Anonymizer`](crate::Anonymizer) (its digester's id): another one on
//! the same thread gets its own, so the results of one key are never served for another. A
//! thread keeps the tables of at most [`OWNERS`] anonymizers, dropping the least recently used.
//!
//! An entry is as narrow as the table's values allow: 32, 64 or 128 bytes (a three-byte header,
//! then input and output), aligned so that it never straddles a cache line. A table takes the
//! width its first result needs, and widens when more than one result in [`LONG_SHARE`] of a
//! window did not fit. Names and their fakes fit 32 bytes, so a table of 4,096 of them is
//! 128 KB instead of about 512 KB with fixed 127-byte entries: the tables of two name rules
//! fit a 1 MB L2 cache together (docs/performance.md, branch core23).
//!
//! Only text results ([`Written::Str`]) of text inputs are remembered, and only when input and
//! output fit one entry; everything else is computed every time. A table whose trial window of
//! [`WINDOW`] lookups hits too rarely is switched off for a while ([`OFF_FOR`] values), so data
//! whose values never repeat pays almost nothing for it.

use std::cell::{Cell, RefCell};

use crate::transform::Written;
use crate::value::Value;

/// Entries a rule's table starts with, per thread (a power of two).
pub(crate) const SLOTS: usize = 256;

/// Entries a table grows to at most (see [`Table::count`]): realistic names (Zipf over a few
/// thousand) hit 58% of 256 direct-mapped entries and 92% of 4096. Tables of the narrowest
/// entries grow to twice as many (256 KB): last names (Zipf over 10,000) hit 79% of 4,096.
const MAX_SLOTS: usize = 4096;

/// Most entries of a table of entries `width` bytes wide.
fn max_slots(width: usize) -> usize {
    if width <= MIN_WIDTH {
        2 * MAX_SLOTS
    } else {
        MAX_SLOTS
    }
}

/// Bytes one thread's tables of one anonymizer hold together at most, whatever the number of
/// rules (2 MiB: 16,384 of the widest entries): tables grow and widen only while this allows.
const BUDGET_BYTES: usize = 4 * MAX_SLOTS * MAX_WIDTH;

/// Bytes of an entry's header: the input's type, the input's length, the output's length.
const HEADER: usize = 3;

/// The narrowest entry, in bytes (entries are powers of two from this to [`MAX_WIDTH`]: an
/// aligned entry never straddles a 64-byte cache line, or spans whole lines).
const MIN_WIDTH: usize = 32;

/// The widest entry, in bytes.
const MAX_WIDTH: usize = 128;

/// Longest input remembered (shorter than the widest entry's data).
const CAP: usize = MAX_WIDTH - HEADER - 1;

/// A window in which more than one result in `LONG_SHARE` did not fit the table's entries (but
/// would fit wider ones) widens them.
const LONG_SHARE: u32 = 16;

/// Anonymizers whose tables a thread keeps.
const OWNERS: usize = 4;

/// One rule's table and its counters.
struct Table {
    /// The entries, `width` bytes each, from `start` (64-byte aligned); empty until the first
    /// store chooses the width.
    bytes: Vec<u8>,
    start: usize,
    /// Bytes per entry (0 until the first store).
    width: usize,
    /// log2 of the number of entries.
    bits: u32,
    hits: u64,
    misses: u64,
    /// Lookups, hits and results too long for the entries in the current trial window.
    window: u32,
    window_hits: u32,
    window_long: u32,
    /// Values still to compute without the memo.
    off: u32,
}

/// The tables of one anonymizer, by rule index.
struct Owned {
    owner: u64,
    tables: Vec<Option<Table>>,
    /// Bytes of all of `tables` together (at most [`BUDGET_BYTES`] once they grow).
    bytes: usize,
}

thread_local! {
    /// This thread's tables, most recently used anonymizer first.
    static MEMO: RefCell<Vec<Owned>> = const { RefCell::new(Vec::new()) };
    /// For the first [`QUICK_OFF_RULES`] rules: `(owner, values)`, a table of this thread
    /// that is off ([`OFF_FOR`]) for that many more values. [`lookup`] moves a table's
    /// count-down here, where [`memoised`] finds it without the tables (unique values, such
    /// as addresses and phone numbers, keep their tables off nearly all the time: reaching
    /// a table cost about 60 instructions a value).
    static QUICK_OFF: [Cell<(u64, u32)>; QUICK_OFF_RULES] =
        const { [const { Cell::new((0, 0)) }; QUICK_OFF_RULES] };
}

/// Rules (by index) whose off count-downs [`QUICK_OFF`] holds.
const QUICK_OFF_RULES: usize = 32;

/// Whether `owner`'s table of `rule` on this thread is off for this value (then counted
/// down), by [`QUICK_OFF`] alone.
#[inline]
fn quickly_off(owner: u64, rule: usize) -> bool {
    QUICK_OFF.with(|off| {
        let Some(cell) = off.get(rule) else {
            return false;
        };
        match cell.get() {
            (o, left) if o == owner && left > 0 => {
                cell.set((o, left - 1));
                true
            }
            _ => false,
        }
    })
}

/// Values `owner`'s table of `rule` is still off for in [`QUICK_OFF`] (0: none there).
fn quick_off_left(owner: u64, rule: usize) -> u32 {
    QUICK_OFF.with(|off| match off.get(rule).map(Cell::get) {
        Some((o, left)) if o == owner => left,
        _ => 0,
    })
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

/// A word of the 1 to 7 bytes of `rest` (every byte counts; two overlapping reads or three
/// single bytes, so no copy of a variable length).
#[inline]
fn tail_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    let word = |at: usize| {
        rest.get(at..at + 4)
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map_or(0, u32::from_le_bytes)
    };
    if n >= 4 {
        u64::from(word(0)) | u64::from(word(n - 4)) << 32
    } else {
        let byte = |i: usize| u64::from(rest.get(i).copied().unwrap_or(0));
        byte(0) | byte(n / 2) << 8 | byte(n.wrapping_sub(1)) << 16
    }
}

/// Slot index of `bytes` (a multiply-rotate hash over 8-byte words).
fn slot_of(bytes: &[u8], bits: u32) -> usize {
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
        h = (h.rotate_left(5) ^ tail_word(rest)).wrapping_mul(K);
    }
    // The top bits of a product depend on every bit of the input.
    (h.wrapping_mul(K) >> (64 - bits)) as usize
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
///
/// `compute` runs outside the thread-local access: the lookup ([`lookup`]) and the store
/// ([`remember`], after a miss) each take it once, so neither the value nor the result is
/// moved through the access's closure (copies that stalled on store forwarding: see
/// docs/performance.md, branch row25).
#[inline]
pub(crate) fn memoised<R>(
    owner: u64,
    rule: usize,
    value: Value<'_>,
    out: &mut Vec<u8>,
    compute: impl FnOnce(Value<'_>, &mut Vec<u8>) -> (Written, R),
    changed: R,
) -> (Written, R) {
    if quickly_off(owner, rule) {
        return compute(value, out);
    }
    let Some((kind, input)) = key_of(&value) else {
        return compute(value, out);
    };
    let slot = match lookup(owner, rule, kind, input, out) {
        Lookup::Hit => return (Written::Str, changed),
        Lookup::Skip => return compute(value, out),
        Lookup::Miss(slot) => slot,
    };
    let result = compute(value, out);
    remember(
        owner,
        rule,
        slot,
        (kind, input),
        (result.0 == Written::Str).then_some(out),
    );
    result
}

/// Where this thread's table of one rule kept its entries when `slots` looked: enough to
/// find the entry of a value without the thread-local access, for prefetching. A table that
/// grew or widened since then has moved: its old address is then only a wasted hint (a
/// prefetch never faults), never a wrong result.
#[derive(Clone, Copy, Debug)]
pub struct MemoSlots {
    /// Address of entry 0 (never dereferenced: only prefetched).
    base: usize,
    width: usize,
    bits: u32,
}

/// The entries of this thread's table of `owner`'s rule `rule`, when it has some and is on.
pub(crate) fn slots(owner: u64, rule: usize) -> Option<MemoSlots> {
    MEMO.with(|memo| {
        let memo = memo.try_borrow().ok()?;
        let table = memo
            .first()
            .filter(|o| o.owner == owner)?
            .tables
            .get(rule)?
            .as_ref()?;
        (table.off == 0 && table.width > 0 && quick_off_left(owner, rule) == 0).then(|| MemoSlots {
            base: table.bytes.as_ptr() as usize + table.start,
            width: table.width,
            bits: table.bits,
        })
    })
}

impl MemoSlots {
    /// Asks the CPU to bring into its cache the entry where `input`'s result would be
    /// remembered, so that its lookup a little later does not wait for memory (the first
    /// load of a slot was most of the memo's time: docs/performance.md, branch row25).
    /// Never changes what the memo holds or counts.
    #[inline]
    pub fn prefetch(&self, input: &[u8]) {
        if input.len() < CAP {
            let at = self
                .base
                .wrapping_add(slot_of(input, self.bits).wrapping_mul(self.width));
            prefetch_line(at as *const u8);
        }
    }
}

/// A hint to load the cache line at `at` (no effect on what any load or store sees).
#[inline(always)]
fn prefetch_line(at: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it never faults, whatever the address, and neither
    // reads nor writes memory as far as the program can see (SSE, part of the x86_64
    // baseline). `at` points into a live table anyway.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(at.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

/// What [`lookup`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lookup {
    /// The remembered output is in `out`.
    Hit,
    /// Not remembered: compute, then [`remember`] the result in this slot.
    Miss(usize),
    /// Compute without the memo (its table is off, or the memo is busy).
    Skip,
}

/// Looks `input` of type `kind` up in this thread's table of `owner`'s rule `rule` (made
/// when missing), copying a remembered output into `out` (cleared first) on a hit; counts
/// a hit at once (a miss is counted by [`remember`]).
fn lookup(owner: u64, rule: usize, kind: u8, input: &[u8], out: &mut Vec<u8>) -> Lookup {
    MEMO.with(|memo| {
        // Transforms never call back into the memo; should one ever, it computes.
        let Ok(mut memo) = memo.try_borrow_mut() else {
            return Lookup::Skip;
        };
        let Some((table, budget)) = table(&mut memo, owner, rule, true) else {
            return Lookup::Skip;
        };
        if table.off > 0 {
            table.off -= 1;
            // The rest of the count-down where `memoised` finds it without the tables.
            QUICK_OFF.with(|off| {
                if let Some(cell) = off.get(rule) {
                    cell.set((owner, table.off));
                    table.off = 0;
                }
            });
            return Lookup::Skip;
        }
        let slot = slot_of(input, table.bits);
        let Some(found) = table.find(slot, kind, input) else {
            return Lookup::Miss(slot);
        };
        out.clear();
        out.extend_from_slice(found);
        if let Some(change) = table.count(true) {
            table.change(change, budget);
        }
        Lookup::Hit
    })
}

/// After a [`Lookup::Miss`] in `slot`: counts the miss and remembers `output` (`None`: the
/// result was not text) for `input` of type `kind`, when it fits.
fn remember(
    owner: u64,
    rule: usize,
    slot: usize,
    (kind, input): (u8, &[u8]),
    output: Option<&[u8]>,
) {
    MEMO.with(|memo| {
        let Ok(mut memo) = memo.try_borrow_mut() else {
            return;
        };
        let Some((table, budget)) = table(&mut memo, owner, rule, false) else {
            return;
        };
        let change = table.count(false);
        if let Some(output) = output {
            table.store(slot, kind, input, output, budget);
        }
        if let Some(change) = change {
            table.change(change, budget);
        }
    })
}

/// The narrowest entry width that holds `len` bytes of input and output (`None`: none does).
fn width_for(len: usize) -> Option<usize> {
    let need = HEADER + len;
    (need <= MAX_WIDTH).then(|| need.max(MIN_WIDTH).next_power_of_two())
}

impl Table {
    /// A table of [`SLOTS`] entries with no storage yet.
    fn new() -> Table {
        Table {
            bytes: Vec::new(),
            start: 0,
            width: 0,
            bits: SLOTS.trailing_zeros(),
            hits: 0,
            misses: 0,
            window: 0,
            window_hits: 0,
            window_long: 0,
            off: 0,
        }
    }

    /// Bytes of storage the table's entries take.
    fn size(&self) -> usize {
        self.width << self.bits
    }

    /// Replaces the storage by empty entries of `width` bytes, `1 << bits` of them, aligned
    /// to 64 bytes (the extra 63 bytes let the first entry start on a cache line).
    fn allocate(&mut self, bits: u32, width: usize) {
        self.bytes = vec![0; (width << bits) + 63];
        self.start = self.bytes.as_ptr().align_offset(64).min(63);
        self.width = width;
        self.bits = bits;
    }

    /// Entry `slot` (empty when the table has no storage yet).
    fn entry(&self, slot: usize) -> &[u8] {
        let at = self.start + slot * self.width;
        self.bytes.get(at..at + self.width).unwrap_or_default()
    }

    /// The remembered output of `input` of type `kind`, when entry `slot` holds it.
    #[inline]
    fn find(&self, slot: usize, kind: u8, input: &[u8]) -> Option<&[u8]> {
        let (&[k, in_len, out_len], data) = self.entry(slot).split_first_chunk::<HEADER>()?;
        let n = usize::from(in_len);
        if k != kind || n != input.len() || data.get(..n)? != input {
            return None;
        }
        data.get(n..n + usize::from(out_len))
    }

    /// Remembers `output` for `input` of type `kind` in entry `slot`, when it fits; the first
    /// store gives the table entries as wide as it needs (within `used`, the owner's bytes).
    fn store(&mut self, slot: usize, kind: u8, input: &[u8], output: &[u8], used: &mut usize) {
        let len = input.len() + output.len();
        let Some(need) = width_for(len) else {
            return;
        };
        if self.width == 0 {
            if *used + (need << self.bits) > BUDGET_BYTES {
                return;
            }
            self.allocate(self.bits, need);
            *used += self.size();
        }
        if need > self.width {
            self.window_long += 1;
            return;
        }
        let at = self.start + slot * self.width;
        let Some(e) = self.bytes.get_mut(at..at + HEADER + len) else {
            return;
        };
        e[0] = kind;
        e[1] = input.len() as u8;
        e[2] = output.len() as u8;
        e[HEADER..HEADER + input.len()].copy_from_slice(input);
        e[HEADER + input.len()..].copy_from_slice(output);
    }

    /// Counts a lookup; at the end of a trial window, switches the table off when it lost,
    /// and says how the table should change: wider entries when too many results did not fit
    /// them (not a fair trial: they were dropped for their length), more of them when it hit
    /// but missed often enough (an eighth) that a larger table could hit more (values repeat
    /// beyond what the table holds).
    fn count(&mut self, hit: bool) -> Option<Change> {
        if hit {
            self.hits += 1;
            self.window_hits += 1;
        } else {
            self.misses += 1;
        }
        self.window += 1;
        if self.window < WINDOW {
            return None;
        }
        let (hits, long) = (self.window_hits, self.window_long);
        self.window = 0;
        self.window_hits = 0;
        self.window_long = 0;
        if long * LONG_SHARE > WINDOW {
            Some(Change::Widen)
        } else if hits * MIN_HIT_SHARE < WINDOW {
            self.off = OFF_FOR;
            None
        } else {
            ((WINDOW - hits) * 8 > WINDOW).then_some(Change::Grow)
        }
    }

    /// Applies `change` (emptying the table: its entries are only remembered results): twice
    /// as wide entries, up to [`MAX_WIDTH`], or twice as many, up to [`max_slots`], while
    /// `used`, the bytes of its owner's tables, stays within [`BUDGET_BYTES`].
    fn change(&mut self, change: Change, used: &mut usize) {
        let (bits, width) = match change {
            Change::Widen if self.width < MAX_WIDTH => (self.bits, self.width * 2),
            Change::Grow if (1usize << self.bits) < max_slots(self.width) => {
                (self.bits + 1, self.width)
            }
            _ => return,
        };
        let old = self.size();
        if width == 0 || *used - old + (width << bits) > BUDGET_BYTES {
            return;
        }
        self.allocate(bits, width);
        *used = *used - old + self.size();
    }
}

/// How a table changes at the end of a trial window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    /// Twice as wide entries.
    Widen,
    /// Twice as many entries.
    Grow,
}

/// The table of `rule` of `owner` (made when `create`), moving `owner` to the front, with
/// the count of its owner's bytes.
#[inline]
fn table(
    memo: &mut Vec<Owned>,
    owner: u64,
    rule: usize,
    create: bool,
) -> Option<(&mut Table, &mut usize)> {
    // Nearly every lookup: the front owner's existing table.
    let ready = memo
        .first()
        .is_some_and(|o| o.owner == owner && matches!(o.tables.get(rule), Some(Some(_))));
    if !ready && !make_table(memo, owner, rule, create) {
        return None;
    }
    let Owned { tables, bytes, .. } = memo.first_mut()?;
    Some((tables.get_mut(rule)?.as_mut()?, bytes))
}

/// Moves `owner` to the front and makes its table of `rule` when `create`; false when there is
/// none.
#[cold]
fn make_table(memo: &mut Vec<Owned>, owner: u64, rule: usize, create: bool) -> bool {
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
                    bytes: 0,
                },
            );
        }
        None => return false,
    }
    let Owned { tables, .. } = &mut memo[0];
    if tables.len() <= rule {
        if !create {
            return false;
        }
        tables.resize_with(rule + 1, || None);
    }
    if tables[rule].is_none() && create {
        tables[rule] = Some(Table::new());
    }
    tables[rule].is_some()
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

    /// The off count-down is the same whether it runs in [`QUICK_OFF`] (the first rules)
    /// or in the table (the others): `OFF_FOR` values computed without a lookup, then a trial.
    #[test]
    fn a_losing_table_switches_off_and_tries_again() {
        for rule in [0, QUICK_OFF_RULES + 3] {
            let mut out = Vec::new();
            let distinct: Vec<String> = (0..WINDOW).map(|i| format!("v{i}")).collect();
            for v in &distinct {
                memoised(9004, rule, Value::Str(v), &mut out, upper, true);
            }
            assert_eq!(counts(9004, rule), (0, u64::from(WINDOW)));
            // Off: repeats are computed, not even looked up.
            for i in 0..OFF_FOR {
                memoised(9004, rule, Value::Str("v1"), &mut out, upper, true);
                assert_eq!(out, b"V1");
                // No prefetch hint while off (the last off value turns it on again).
                assert_eq!(slots(9004, rule).is_none(), i + 1 < OFF_FOR, "value {i}");
                let quick = if rule < QUICK_OFF_RULES {
                    OFF_FOR - 1 - i
                } else {
                    0
                };
                assert_eq!(
                    quick_off_left(9004, rule),
                    quick,
                    "value {i} of rule {rule}"
                );
            }
            assert_eq!(counts(9004, rule), (0, u64::from(WINDOW)));
            // Then a new trial: the repeats hit.
            memoised(9004, rule, Value::Str("v1"), &mut out, upper, true);
            memoised(9004, rule, Value::Str("v1"), &mut out, upper, true);
            assert_eq!(counts(9004, rule).0, 1);
        }
    }

    #[test]
    fn a_table_too_small_for_its_repeats_grows_within_the_budget() {
        let mut out = Vec::new();
        let values: Vec<String> = (0..600).map(|i| format!("name{i}")).collect();
        let mut x = 7u64;
        let mut run = |n: u32, out: &mut Vec<u8>| {
            let before = counts(9005, 0);
            for _ in 0..n {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let v = &values[(x >> 33) as usize % values.len()];
                memoised(9005, 0, Value::Str(v), out, upper, true);
                assert_eq!(*out, v.to_uppercase().into_bytes());
            }
            let after = counts(9005, 0);
            (after.0 - before.0) as f64 / n as f64
        };
        let first = run(WINDOW, &mut out);
        assert!(first < 0.6, "600 values in 256 entries: {first}");
        run(16 * WINDOW, &mut out);
        let later = run(4 * WINDOW, &mut out);
        assert!(later > 0.85, "grown: {later}");
        MEMO.with(|m| {
            let m = m.borrow();
            let owned = m.iter().find(|o| o.owner == 9005).unwrap();
            let table = owned.tables[0].as_ref().unwrap();
            let len = 1usize << table.bits;
            assert!(len > SLOTS && len <= max_slots(MIN_WIDTH), "{len}");
            assert_eq!(table.width, MIN_WIDTH, "short names, narrow entries");
            assert_eq!(owned.bytes, len * MIN_WIDTH);
        });
        // Many rules of one owner share the budget: values that need the widest entries.
        let long: Vec<String> = (0..600).map(|i| format!("{i:0>60}")).collect();
        for rule in 1..12 {
            run_rule(9006, rule, &long);
        }
        MEMO.with(|m| {
            let m = m.borrow();
            let owned = m.iter().find(|o| o.owner == 9006).unwrap();
            let tables: Vec<&Table> = owned.tables[1..]
                .iter()
                .map(|t| t.as_ref().unwrap())
                .collect();
            let sizes: Vec<usize> = tables.iter().map(|t| 1 << t.bits).collect();
            assert_eq!(owned.bytes, tables.iter().map(|t| t.size()).sum::<usize>());
            assert!(tables.iter().all(|t| t.width == MAX_WIDTH || t.width == 0));
            // The first rules grew; the budget stopped the rest.
            assert!(sizes[0] > SLOTS, "{sizes:?}");
            assert_eq!(*sizes.last().unwrap(), SLOTS, "{sizes:?}");
            assert!(owned.bytes <= BUDGET_BYTES, "{sizes:?}");
        });
    }

    #[test]
    fn entries_take_the_width_their_results_need() {
        let mut out = Vec::new();
        // A first result of 40 bytes: 64-byte entries at once, so the second lookup hits.
        let v = "a".repeat(20);
        memoised(9007, 0, Value::Str(&v), &mut out, upper, true);
        memoised(9007, 0, Value::Str(&v), &mut out, upper, true);
        assert_eq!(counts(9007, 0), (1, 1));
        let width = |owner: u64| {
            MEMO.with(|m| {
                let m = m.borrow();
                let o = m.iter().find(|o| o.owner == owner).unwrap();
                o.tables[0].as_ref().unwrap().width
            })
        };
        assert_eq!(width(9007), 64);
        // Short values first, then mostly longer ones: the entries widen and hit again.
        let short: Vec<String> = (0..100).map(|i| format!("n{i}")).collect();
        let longer: Vec<String> = (0..100).map(|i| format!("{i:0>40}")).collect();
        for v in short.iter().cycle().take(WINDOW as usize) {
            memoised(9008, 0, Value::Str(v), &mut out, upper, true);
        }
        assert_eq!(width(9008), MIN_WIDTH);
        let mut hits = 0;
        for (i, v) in longer.iter().cycle().take(3 * WINDOW as usize).enumerate() {
            let before = counts(9008, 0).0;
            memoised(9008, 0, Value::Str(v), &mut out, upper, true);
            assert_eq!(out, v.to_uppercase().as_bytes());
            if i >= 2 * WINDOW as usize {
                hits += counts(9008, 0).0 - before;
            }
        }
        assert_eq!(width(9008), 128);
        assert!(hits > u64::from(WINDOW) / 2, "{hits}");
    }

    /// Many random lookups among `values` (600 of them: more than 256 entries hold).
    fn run_rule(owner: u64, rule: usize, values: &[String]) {
        let mut out = Vec::new();
        let mut x = rule as u64 + 1;
        for _ in 0..(40 * WINDOW) {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let v = &values[(x >> 33) as usize % values.len()];
            memoised(owner, rule, Value::Str(v), &mut out, upper, true);
        }
    }

    proptest::proptest! {
        /// `memoised` returns and writes what `compute` does, for any sequence of lookups
        /// over a few owners, rules and values (repeats, text and bytes, values too long to
        /// remember), whether or not its entry was prefetched first; and counts a hit or a miss
        /// for each lookup of a value short enough to remember while its table is on (a
        /// prefetch counts nothing).
        #[test]
        fn memoised_is_compute(
            steps in proptest::collection::vec(
                (0u64..2, 0usize..3, 0usize..12, proptest::bool::ANY, proptest::bool::ANY), 1..400),
        ) {
            let values: Vec<String> = (0..12)
                .map(|i| if i == 11 { "z".repeat(CAP + 3) } else { format!("v{}", i * 7) })
                .collect();
            let compute = |rule: usize| move |v: Value<'_>, out: &mut Vec<u8>| {
                let (tag, bytes): (u8, &[u8]) = match v {
                    Value::Str(s) => (b's', s.as_bytes()),
                    Value::Bytes(b) => (b'b', b),
                    _ => return (Written::Null, false),
                };
                out.clear();
                out.extend_from_slice(&[tag, b'0' + rule as u8]);
                out.extend(bytes.iter().rev());
                (if tag == b's' { Written::Str } else { Written::Bytes }, true)
            };
            for &(owner, rule, v, bytes, prefetched) in &steps {
                let owner = 77_000 + owner;
                let text = &values[v];
                let value = if bytes { Value::Bytes(text.as_bytes()) } else { Value::Str(text) };
                let (h0, m0) = counts(owner, rule);
                if let Some(slots) = slots(owner, rule).filter(|_| prefetched) {
                    slots.prefetch(text.as_bytes());
                }
                let (mut fast, mut plain) = (b"junk".to_vec(), Vec::new());
                let got = memoised(owner, rule, value, &mut fast, compute(rule), true);
                let want = compute(rule)(value, &mut plain);
                proptest::prop_assert_eq!(got, want);
                proptest::prop_assert_eq!(&fast, &plain);
                let (h, m) = counts(owner, rule);
                // Fewer lookups than a trial window: every table stays on.
                proptest::prop_assert_eq!(h + m - h0 - m0, u64::from(text.len() < CAP));
            }
        }
    }

    #[test]
    fn slots_spread() {
        let used: std::collections::HashSet<usize> = (0..SLOTS)
            .map(|i| slot_of(format!("name{i}").as_bytes(), SLOTS.trailing_zeros()))
            .collect();
        assert!(used.len() > SLOTS / 2, "{} of {SLOTS}", used.len());
    }
}
