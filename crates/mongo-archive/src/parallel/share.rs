//! How the patching is shared between the calling thread and the workers: by the CPU time
//! each has spent ([`Share`]).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::Policy;
use crate::thread_cpu;

/// The CPU time of the threads of a rewrite, to share the patching by the work each has done
/// rather than by who happens to be free: the calling thread reads, applies and writes too,
/// so it should patch only as much as keeps its CPU time level with a worker's.
pub(super) struct Share {
    /// Each worker's CPU nanoseconds after its last segment.
    pub(super) workers: Vec<AtomicU64>,
    /// The calling thread's CPU nanoseconds when the pool started (`None`: no thread CPU
    /// clock here).
    calling_start: Option<u64>,
    policy: Policy,
}

impl Share {
    pub(super) fn new(workers: usize, policy: Policy) -> Share {
        Share {
            workers: (0..workers).map(|_| AtomicU64::new(0)).collect(),
            calling_start: thread_cpu::now_ns(),
            policy,
        }
    }

    /// True when the calling thread (the caller) has spent no more CPU time since the pool
    /// started than the workers on average: it may patch a segment itself. True without a
    /// thread CPU clock or without workers (the plain policy: patch rather than wait).
    pub(super) fn calling_thread_may_patch(&self) -> bool {
        match self.policy {
            Policy::ByCpu => {}
            Policy::Patch => return true,
            Policy::Wait => return false,
        }
        let (Some(start), Some(now)) = (self.calling_start, thread_cpu::now_ns()) else {
            return true;
        };
        may_patch(
            now.saturating_sub(start),
            self.workers.iter().map(|w| w.load(Relaxed)),
        )
    }
}

/// The policy of [`Share::calling_thread_may_patch`]: `own` CPU nanoseconds against the
/// workers' (`workers`), on average; true without workers.
pub(super) fn may_patch(own: u64, workers: impl ExactSizeIterator<Item = u64>) -> bool {
    let n = workers.len() as u64;
    if n == 0 {
        return true;
    }
    let total: u64 = workers.fold(0u64, |a, w| a.saturating_add(w));
    own <= total / n
}
