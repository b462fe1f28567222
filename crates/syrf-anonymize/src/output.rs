//! Where the command's output goes: stdout, a device or FIFO written directly, or a regular file
//! written under a temporary name beside it and renamed into place only on success.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use tempfile::NamedTempFile;

/// The command's output.
pub struct Destination {
    kind: Kind,
    /// Set for a terminal: binary output is refused at its first byte.
    terminal: bool,
    /// Set when binary output to a terminal was refused.
    refused: Arc<AtomicBool>,
    checked: bool,
}

enum Kind {
    /// Standard output, or an existing device or FIFO: written in place.
    Direct(File),
    /// A regular file, new or replaced: a temporary file renamed onto `target` on success.
    Replace {
        temp: NamedTempFile,
        target: PathBuf,
        existing: Option<Box<fs::Metadata>>,
    },
}

/// Standard output as a plain file: `io::stdout()` is line-buffered and scans every write for
/// a newline, which costs a dump-sized stream real time.
fn raw_stdout() -> io::Result<File> {
    use std::os::fd::AsFd;
    let stdout = File::from(io::stdout().as_fd().try_clone_to_owned()?);
    crate::pipes::grow_pipe(&stdout);
    Ok(stdout)
}

/// Follows `path` through symlinks (also dangling ones) to the path that is really written.
fn resolve_symlinks(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&current)?;
                current = if target.is_absolute() {
                    target
                } else {
                    current
                        .parent()
                        .unwrap_or_else(|| Path::new("."))
                        .join(target)
                };
            }
            _ => return Ok(current),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

impl Destination {
    /// Opens `path` (`-` is stdout).
    pub fn open(path: &Path) -> io::Result<Destination> {
        let (kind, terminal) = if path == Path::new("-") {
            let terminal = io::stdout().is_terminal();
            (Kind::Direct(raw_stdout()?), terminal)
        } else {
            let target = resolve_symlinks(path)?;
            match fs::metadata(&target) {
                Ok(m) if m.is_dir() => {
                    return Err(io::Error::other("it is a directory"));
                }
                Ok(m) if !m.is_file() => {
                    // A device (/dev/null, /dev/full, a tape) or a FIFO: write to it, never
                    // replace it.
                    let file = OpenOptions::new().write(true).open(&target)?;
                    let terminal = file.is_terminal();
                    (Kind::Direct(file), terminal)
                }
                found => {
                    let existing = found.ok().map(Box::new);
                    let dir = match target.parent() {
                        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                        _ => PathBuf::from("."),
                    };
                    let name = target
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let prefix = format!(".{name}.");
                    let mut builder = tempfile::Builder::new();
                    builder.prefix(&prefix).suffix(".partial");
                    #[cfg(unix)]
                    if existing.is_none() {
                        // A new file gets the mode any program would give it: 0666 less the
                        // umask (the kernel applies the umask to the mode given to open(2)).
                        use std::os::unix::fs::PermissionsExt;
                        builder.permissions(fs::Permissions::from_mode(0o666));
                    }
                    let temp = builder.tempfile_in(dir)?;
                    crate::signals::remove_on_signal(temp.path());
                    (
                        Kind::Replace {
                            temp,
                            target,
                            existing,
                        },
                        false,
                    )
                }
            }
        };
        Ok(Destination {
            kind,
            terminal,
            refused: Arc::new(AtomicBool::new(false)),
            checked: false,
        })
    }

    /// True when output went to a terminal and binary output was refused.
    pub fn refused_binary(&self) -> bool {
        self.refused.load(Relaxed)
    }

    /// Flushes and, for a file, puts it into place (keeping an existing file's mode and owner).
    pub fn commit(self) -> io::Result<()> {
        match self.kind {
            Kind::Direct(mut f) => f.flush(),
            Kind::Replace {
                temp,
                target,
                existing,
            } => {
                if let Some(meta) = existing {
                    temp.as_file().set_permissions(meta.permissions())?;
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::MetadataExt;
                        // Best effort: only root may give a file away.
                        let _ = std::os::unix::fs::fchown(
                            temp.as_file(),
                            Some(meta.uid()),
                            Some(meta.gid()),
                        );
                    }
                }
                temp.as_file().sync_all()?;
                let persisted = temp.persist(&target).map_err(|e| e.error);
                crate::signals::forget_partial();
                persisted.map(drop)
            }
        }
    }

    /// Ends a failed run: a temporary file is deleted, never renamed into place.
    pub fn abandon(self) {
        match self.kind {
            Kind::Direct(mut f) => {
                let _ = f.flush();
            }
            Kind::Replace { temp, .. } => {
                crate::signals::forget_partial();
                drop(temp);
            }
        }
    }

    fn file(&mut self) -> &mut File {
        match &mut self.kind {
            Kind::Direct(f) => f,
            Kind::Replace { temp, .. } => temp.as_file_mut(),
        }
    }
}

/// True for bytes that would garble a terminal: gzip, a mongodump archive, or any NUL.
fn is_binary(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(&mongo_archive::reader::MAGIC)
        || head.contains(&0)
}

impl Write for Destination {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.terminal && !self.checked && !buf.is_empty() {
            self.checked = true;
            if is_binary(&buf[..buf.len().min(4096)]) {
                self.refused.store(true, Relaxed);
            }
        }
        if self.refused.load(Relaxed) {
            // Every later write too (a buffer flushed on drop, say) is refused.
            return Err(io::Error::other(
                "refusing to write binary output to a terminal",
            ));
        }
        self.file().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file().flush()
    }
}
