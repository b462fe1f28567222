//! A rule's counters, sharded by thread: worker threads that apply the same rule count into
//! cache lines of their own, so counting costs no cache-line traffic between cores (a single
//! shared atomic per counter made two threads slower than one on narrow rows).
//!
//! A thread leases one of [`SHARDS`] shard indices for its lifetime (returned when it ends) and
//! is the only writer of that shard of every rule: it counts with a plain load and store, not
//! a locked read-modify-write (three `lock add`s a value before). Threads beyond [`SHARDS`]
//! at once count into one more, shared shard with atomic additions. The totals are exact once
//! the counting threads are joined (or, for the calling thread, at any time it reads them).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

/// Shards owned by one thread each; more threads at once share one more shard.
const SHARDS: usize = 16;

/// The shard of threads that found every owned shard leased.
const SHARED: usize = SHARDS;

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

impl Shard {
    /// Adds to the counters; `owned`: the calling thread is the shard's only writer.
    #[inline]
    fn add(&self, changed: bool, failed_closed: bool, owned: bool) {
        let bump = |counter: &AtomicU64, n: u64| {
            if owned {
                // No other thread writes this counter: a plain load and store add exactly.
                counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
            } else if n > 0 {
                counter.fetch_add(n, Relaxed);
            }
        };
        bump(&self.seen, 1);
        bump(&self.changed, u64::from(changed));
        bump(&self.failed_closed, u64::from(failed_closed));
    }
}

/// The counters of one rule.
pub(crate) struct RuleCounts {
    shards: Box<[Shard]>,
}

impl Default for RuleCounts {
    fn default() -> Self {
        RuleCounts {
            shards: (0..=SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

/// Shard indices never leased yet start here.
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

/// Indices returned by threads that ended. The lock orders an ended thread's last counts
/// before the next owner's first.
static FREE_SHARDS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// A thread's shard index; returned to [`FREE_SHARDS`] when the thread ends.
struct Lease(Cell<usize>);

/// Not yet leased.
const NONE: usize = usize::MAX;

impl Drop for Lease {
    fn drop(&mut self) {
        let i = self.0.get();
        if i < SHARDS {
            FREE_SHARDS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(i);
        }
    }
}

thread_local! {
    /// This thread's shard.
    static THIS_SHARD: Lease = const { Lease(Cell::new(NONE)) };
}

/// The calling thread's shard index (leased on its first count).
#[inline]
fn this_shard() -> usize {
    THIS_SHARD
        .try_with(|lease| {
            let i = lease.0.get();
            if i != NONE {
                return i;
            }
            let i = lease_shard();
            lease.0.set(i);
            i
        })
        // Counting from another thread-local's destructor, after this one's: shared.
        .unwrap_or(SHARED)
}

/// A free shard index, or [`SHARED`] when all are leased.
#[cold]
fn lease_shard() -> usize {
    if let Some(i) = FREE_SHARDS.lock().unwrap_or_else(|e| e.into_inner()).pop() {
        return i;
    }
    let i = NEXT_SHARD.fetch_add(1, Relaxed);
    if i < SHARDS {
        i
    } else {
        NEXT_SHARD.store(SHARDS, Relaxed);
        SHARED
    }
}

impl RuleCounts {
    /// Counts one value: seen, and changed and failed closed as given.
    #[inline]
    pub(crate) fn count(&self, changed: bool, failed_closed: bool) {
        let i = this_shard();
        if let Some(shard) = self.shards.get(i) {
            shard.add(changed, failed_closed, i != SHARED);
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

    #[test]
    fn threads_one_after_another_reuse_owned_shards_exactly() {
        let counts = RuleCounts::default();
        for t in 0..(3 * SHARDS) {
            std::thread::scope(|s| {
                s.spawn(|| {
                    for i in 0..100 {
                        counts.count(i % 4 == 0, t == 1);
                    }
                });
            });
            counts.count(true, false);
        }
        let n = 3 * SHARDS as u64;
        assert_eq!(
            counts.totals(),
            Totals {
                seen: n * 101,
                changed: n * 26,
                failed_closed: 100
            }
        );
    }
}
