//! Larger pipe buffers on standard input and output.
//!
//! A pipe holds 64 KiB by default, so a reader keeping up with `cat dump | syrf-anonymize` or
//! `mongodump --archive | syrf-anonymize` empties it every 64 KiB and sleeps until the writer
//! refills it (and a 1 MiB write into `| mongorestore --archive` waits for 16 reads): about
//! 1,600 sleeps and wake-ups on each side per 100 MB. At 1 MiB (the limit an
//! unprivileged process may set, `/proc/sys/fs/pipe-max-size`) there are far fewer, which
//! matters when the rest of the run is fast (an archive with few rules: docs/performance.md,
//! "Archive thread scaling and archive speed").

use std::fs::File;

/// The pipe capacity asked for.
const PIPE_BYTES: libc::c_int = 1 << 20;

/// Grows the pipe `file` reads from or writes to to [`PIPE_BYTES`]; does nothing for other
/// files or a pipe already as large, and ignores a refusal (a lower system limit: the pipe
/// keeps its size).
#[cfg(target_os = "linux")]
pub(crate) fn grow_pipe(file: &File) {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::FileTypeExt;
    if !file.metadata().is_ok_and(|m| m.file_type().is_fifo()) {
        return;
    }
    let fd = file.as_raw_fd();
    // SAFETY: `fcntl(F_GETPIPE_SZ)` and `fcntl(F_SETPIPE_SZ)` take the open descriptor
    // `file` owns (valid for the calls) and, for the latter, an int; they read or change
    // the pipe's capacity only, never memory of this process.
    unsafe {
        if libc::fcntl(fd, libc::F_GETPIPE_SZ) < PIPE_BYTES {
            libc::fcntl(fd, libc::F_SETPIPE_SZ, PIPE_BYTES);
        }
    }
}

/// Elsewhere pipes keep their size.
#[cfg(not(target_os = "linux"))]
pub(crate) fn grow_pipe(_file: &File) {}
