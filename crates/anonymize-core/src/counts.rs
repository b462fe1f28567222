//! A rule's counters, sharded by thread: worker threads that apply the same rule count into
//! cache lines of their own, so counting costs no cache-line traffic between cores (a single
//! shared atomic per counter made two threads slower than one on narrow rows).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Shards per rule; threads beyond this many share shards (still exact, just contended).
const SHARDS: usize = 16;

/// What one rule counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Values the rule covered.
    pub(crate) seen: u64,
    /// Values it changed (failed closed included).
    pub(crate) changed: u64,
    /// Values nulled because they could not be transformed.
    pub(crate) failed_closed: u64,
}

/// One thread's counters of one rule, alone in its cache line.
#[derive(Default)]
#[repr(align(64))]
struct Shard {
    seen: AtomicU64,
    changed: AtomicU64,
    failed_closed: AtomicU64,
}

/// The counters of one rule.
pub(crate) struct RuleCounts {
    shards: Box<[Shard]>,
}

impl Default for RuleCounts {
    fn default() -> Self {
        RuleCounts {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

/// The next shard handed to a thread that counts for the first time.
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's shard (`usize::MAX`: not yet chosen).
    static THIS_SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn this_shard() -> usize {
    THIS_SHARD.with(|s| {
        let mut i = s.get();
        if i == usize::MAX {
            i = NEXT_SHARD.fetch_add(1, Relaxed) % SHARDS;
            s.set(i);
        }
        i
    })
}

impl RuleCounts {
    /// Counts one value: seen, and changed and failed closed as given.
    pub(crate) fn count(&self, changed: bool, failed_closed: bool) {
        let shard = &self.shards[this_shard()];
        shard.seen.fetch_add(1, Relaxed);
        if changed {
            shard.changed.fetch_add(1, Relaxed);
        }
        if failed_closed {
            shard.failed_closed.fetch_add(1, Relaxed);
        }
    }

    /// The sums over all threads.
    pub(crate) fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for s in self.shards.iter() {
            t.seen += s.seen.load(Relaxed);
            t.changed += s.changed.load(Relaxed);
            t.failed_closed += s.failed_closed.load(Relaxed);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_many_threads_add_up() {
        let counts = RuleCounts::default();
        std::thread::scope(|s| {
            for t in 0..(SHARDS + 4) {
                let counts = &counts;
                s.spawn(move || {
                    for i in 0..1000 {
                        counts.count(i % 2 == 0, t == 0 && i < 10);
                    }
                });
            }
        });
        let n = (SHARDS as u64 + 4) * 1000;
        assert_eq!(
            counts.totals(),
            Totals {
                seen: n,
                changed: n / 2,
                failed_closed: 10
            }
        );
    }
}
