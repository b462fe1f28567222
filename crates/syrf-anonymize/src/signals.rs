//! SIGTERM, SIGINT and SIGHUP while a file output is being written: the temporary
//! `.NAME.XXXX.partial` file is removed and the process exits with the conventional status
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
    // Only async-signal-safe calls here: unlink(2) and _exit(2).
    let path = PARTIAL.swap(std::ptr::null_mut(), SeqCst);
    if !path.is_null() {
        // SAFETY: `path` is a leaked, NUL-terminated CString that is never freed.
        unsafe { libc::unlink(path) };
    }
    // SAFETY: _exit ends the process without running anything else.
    unsafe { libc::_exit(128 + signal) };
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
