//! SIGTERM, SIGINT and SIGHUP while a file output is being written: the temporary
//! `.NAME.XXXX.partial` file (or directory, with what is in it: directory outputs) is
//! removed and the process exits with the conventional status
//! 128 + the signal's number (143 for SIGTERM, 130 for SIGINT), as a Kubernetes Job stopped on
//! eviction or deadline expects. Without a partial file the signals keep their default action.

use std::ffi::CString;
use std::path::Path;
use std::sync::atomic::{AtomicPtr, Ordering::SeqCst};
use std::sync::Once;

/// The partial file's path as a C string (leaked; null when there is none).
static PARTIAL: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());
static INSTALL: Once = Once::new();

/// The signals that remove the partial file.
const SIGNALS: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

extern "C" fn on_signal(signal: libc::c_int) {
    // Only async-signal-safe calls here: unlink(2), the directory calls of `remove_tree`
    // and _exit(2).
    let path = PARTIAL.swap(std::ptr::null_mut(), SeqCst);
    if !path.is_null() {
        // SAFETY: `path` is a leaked, NUL-terminated CString that is never freed.
        if unsafe { libc::unlink(path) } != 0 {
            // SAFETY: as above; `remove_tree` makes only async-signal-safe system calls.
            unsafe { remove_tree(path) };
        }
    }
    // SAFETY: _exit ends the process without running anything else.
    unsafe { libc::_exit(128 + signal) };
}

/// Removes the directory `path` and what is in it (files, and directories down to a few
/// levels: the outputs' layouts), with system calls only (no allocation, as a signal handler
/// needs). Other threads may still be writing files into it, so it goes over the directory
/// again until it can be removed (a bounded number of times).
#[cfg(target_os = "linux")]
unsafe fn remove_tree(path: *const libc::c_char) {
    for _ in 0..100 {
        // SAFETY: `path` is NUL-terminated; the descriptor is closed below.
        let fd = unsafe { libc::open(path, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) };
        if fd < 0 {
            return;
        }
        // SAFETY: `fd` is an open directory.
        unsafe {
            empty_at(fd, 4);
            libc::close(fd);
        }
        // SAFETY: `path` is NUL-terminated.
        if unsafe { libc::rmdir(path) } == 0 {
            return;
        }
    }
}

#[cfg(not(target_os = "linux"))]
unsafe fn remove_tree(_path: *const libc::c_char) {}

/// Removes what the open directory `dir` holds (`depth` levels of directories below it).
#[cfg(target_os = "linux")]
unsafe fn empty_at(dir: libc::c_int, depth: u32) {
    // `struct linux_dirent64`: d_ino (8 bytes), d_off (8), d_reclen (2), d_type (1), d_name.
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: getdents64 writes at most `buf.len()` bytes into `buf`.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir,
                buf.as_mut_ptr(),
                buf.len() as libc::c_uint,
            )
        };
        if n <= 0 {
            return;
        }
        let n = n as usize;
        let mut off = 0;
        while off + 19 < n {
            let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
            if reclen == 0 {
                return;
            }
            let name = &buf[off + 19..(off + reclen).min(n)];
            let dot = name.starts_with(b".\0") || name.starts_with(b"..\0");
            if !dot {
                let name = name.as_ptr().cast::<libc::c_char>();
                // SAFETY: `name` is a NUL-terminated entry name inside `buf`.
                unsafe {
                    if libc::unlinkat(dir, name, 0) != 0 && depth > 0 {
                        let sub = libc::openat(
                            dir,
                            name,
                            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                        );
                        if sub >= 0 {
                            empty_at(sub, depth - 1);
                            libc::close(sub);
                        }
                        libc::unlinkat(dir, name, libc::AT_REMOVEDIR);
                    }
                }
            }
            off += reclen;
        }
    }
}

/// Removes `path` if the process is stopped by SIGTERM, SIGINT or SIGHUP before
/// [`forget_partial`] is called.
pub fn remove_on_signal(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return;
    };
    let old = PARTIAL.swap(c.into_raw(), SeqCst);
    if !old.is_null() {
        // SAFETY: `old` came from `CString::into_raw` above and no handler holds it any more.
        drop(unsafe { CString::from_raw(old) });
    }
    INSTALL.call_once(|| {
        for signal in SIGNALS {
            // SAFETY: a plain sigaction with a handler that only calls async-signal-safe
            // functions; a signal set to be ignored (e.g. `nohup`) stays ignored.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, std::ptr::null(), &mut old) == 0
                    && old.sa_sigaction == libc::SIG_IGN
                {
                    continue;
                }
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
}

/// The partial file was renamed into place or deleted: a signal no longer removes anything
/// (it still ends the process with 128 + its number).
pub fn forget_partial() {
    // Leaked on purpose: a handler running on another thread may still read it.
    PARTIAL.store(std::ptr::null_mut(), SeqCst);
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_partial_directory_tree_is_removed_with_system_calls_only() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join(".out.x.partial");
        std::fs::create_dir_all(root.join("db/more")).unwrap();
        for i in 0..300 {
            std::fs::write(root.join(format!("file-{i}.dat")), b"x").unwrap();
        }
        std::fs::write(root.join("db/c.bson"), b"y").unwrap();
        std::fs::write(root.join("db/more/d"), b"z").unwrap();
        let c = std::ffi::CString::new(root.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        unsafe { remove_tree(c.as_ptr()) };
        assert!(!root.exists());
        assert!(tmp.path().exists());
    }
}
