//! Larger pipe buffers on standard input and output.
//!
//! A pipe holds 64 KiB by default, so a reader keeping up with `cat dump | syrf-anonymize` or
//! `mongodump --archive | syrf-anonymize` empties it every 64 KiB and sleeps until the writer
//! refills it (and a 1 MiB write into `| mongorestore --archive` waits for 16 reads): about
//! 1,600 sleeps and wake-ups on each side per 100 MB. At 1 MiB (the limit an
//! unprivileged process may set, `/proc/sys/fs/pipe-max-size`) there are far fewer, which
//! matters when the rest of the run is fast (an archive with few rules: docs/performance.md,
//! "Archive thread scaling (branch mongo23)").

use std::fs::File;

/// The pipe capacity asked for.
const PIPE_BYTES: libc::c_int = 1 << 20;

/// Grows the pipe `file` reads from to [`PIPE_BYTES`]; does nothing for other files, and
/// ignores a refusal (a lower system limit: the pipe keeps its size).
#[cfg(target_os = "linux")]
pub(crate) fn grow_pipe(file: &File) {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::FileTypeExt;
    if !file.metadata().is_ok_and(|m| m.file_type().is_fifo()) {
        return;
    }
    // SAFETY: `fcntl(F_SETPIPE_SZ)` takes the open descriptor `file` owns (valid for the
    // call) and an int; it only changes the pipe's capacity, never memory of this process.
    unsafe {
        libc::fcntl(file.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_BYTES);
    }
}

/// Elsewhere pipes keep their size.
#[cfg(not(target_os = "linux"))]
pub(crate) fn grow_pipe(_file: &File) {}
