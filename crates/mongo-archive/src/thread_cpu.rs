//! The CPU time the calling thread has used, for sharing the patching between the threads of
//! a parallel rewrite by the work each has done ([`crate::parallel`]).

/// CPU nanoseconds the calling thread has run so far (`CLOCK_THREAD_CPUTIME_ID`); `None` where
/// the platform has no such clock or the call fails.
#[cfg(unix)]
pub(crate) fn now_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` only writes the `timespec` it is given, which is a valid,
    // exclusively borrowed local; CLOCK_THREAD_CPUTIME_ID needs no other argument.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u64::try_from(ts.tv_nsec).ok()?;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// No per-thread CPU clock here: the caller falls back to its plain policy.
#[cfg(not(unix))]
pub(crate) fn now_ns() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::now_ns;

    #[cfg(unix)]
    #[test]
    fn grows_with_work_done_on_this_thread_only() {
        let start = now_ns().expect("a thread CPU clock on unix");
        // Busy work on this thread: the clock must advance by at least part of it.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
        }
        std::hint::black_box(x);
        let busy = now_ns().unwrap() - start;
        assert!(busy > 1_000_000, "{busy} ns after 20 M multiplications");
        // Sleeping costs no CPU: the clock stays nearly still.
        let before = now_ns().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let slept = now_ns().unwrap() - before;
        assert!(slept < 20_000_000, "{slept} ns of CPU while sleeping 50 ms");
    }
}
