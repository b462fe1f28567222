//! The output: stdout or a file written under a temporary name and renamed into place only
//! on success; optionally gzip-compressed on all cores.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use tempfile::NamedTempFile;

use crate::input::CHUNK;
use crate::pgzip::ParallelGzip;

/// Where the output goes.
pub struct Output {
    destination: Destination,
    writer: Option<Stage>,
    count: Arc<AtomicU64>,
}

enum Destination {
    Stdout,
    File { temp: NamedTempFile, path: PathBuf },
}

enum Stage {
    Plain(BufWriter<Box<dyn Write + Send>>),
    Gzip(ParallelGzip),
}

/// Standard output as a plain file: `io::stdout()` is line-buffered and scans every write for
/// a newline, which costs a dump-sized stream real time.
#[cfg(unix)]
fn raw_stdout() -> io::Result<Box<dyn Write + Send>> {
    use std::os::fd::AsFd;
    Ok(Box::new(File::from(
        io::stdout().as_fd().try_clone_to_owned()?,
    )))
}

#[cfg(not(unix))]
fn raw_stdout() -> io::Result<Box<dyn Write + Send>> {
    Ok(Box::new(io::stdout()))
}

impl Output {
    /// Opens the destination (`-` is stdout) and, with `gzip_level`, a parallel gzip stage.
    pub fn create(path: &Path, gzip_level: Option<u32>) -> io::Result<Output> {
        let (destination, raw): (Destination, Box<dyn Write + Send>) = if path == Path::new("-") {
            (Destination::Stdout, raw_stdout()?)
        } else {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let temp = tempfile::Builder::new()
                .prefix(&format!(".{name}."))
                .suffix(".partial")
                .tempfile_in(dir)?;
            let file: File = temp.as_file().try_clone()?;
            (
                Destination::File {
                    temp,
                    path: path.to_path_buf(),
                },
                Box::new(file),
            )
        };
        let writer = match gzip_level {
            None => Stage::Plain(BufWriter::with_capacity(CHUNK, raw)),
            Some(level) => {
                let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
                Stage::Gzip(ParallelGzip::new(
                    BufWriter::with_capacity(CHUNK, raw),
                    level,
                    threads,
                ))
            }
        };
        Ok(Output {
            destination,
            writer: Some(writer),
            count: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Uncompressed bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// Flushes everything and, for a file, renames it into place.
    pub fn commit(mut self) -> io::Result<()> {
        self.finish_stage()?;
        match std::mem::replace(&mut self.destination, Destination::Stdout) {
            Destination::Stdout => Ok(()),
            Destination::File { temp, path } => {
                temp.as_file().sync_all()?;
                temp.persist(&path).map_err(|e| e.error)?;
                Ok(())
            }
        }
    }

    /// Ends the run without success: a file output is deleted, never renamed into place; on
    /// stdout whatever was written stays incomplete (no gzip trailer is written).
    pub fn abandon(mut self) {
        if let Some(Stage::Plain(mut w)) = self.writer.take() {
            // Flush what a plain stream already holds so the consumer sees where it stopped;
            // the dump itself is incomplete by construction.
            let _ = w.flush();
        }
        // A gzip stage is dropped without `finish`: its last partial member is never written.
    }

    fn finish_stage(&mut self) -> io::Result<()> {
        match self.writer.take() {
            Some(Stage::Plain(mut w)) => w.flush(),
            Some(Stage::Gzip(z)) => z.finish(),
            None => Ok(()),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match self.writer.as_mut() {
            Some(Stage::Plain(w)) => w.write(buf)?,
            Some(Stage::Gzip(z)) => z.write(buf)?,
            None => return Err(io::Error::other("output already finished")),
        };
        self.count.fetch_add(n as u64, Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.writer.as_mut() {
            Some(Stage::Plain(w)) => w.flush(),
            Some(Stage::Gzip(z)) => z.flush(),
            None => Ok(()),
        }
    }
}
