//! mongodump directories as inputs and outputs of a run: a directory is read as the archive
//! stream mongodump would have written for it (on a thread, through a pipe), so every check,
//! policy and rule of archives applies unchanged; an output directory is written from the
//! rewritten archive stream by mongo-archive's reader, into a temporary directory beside the
//! target that is renamed into place only when the whole run succeeded.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use mongo_archive::dir::{self, DirError, DumpDir};

pub use mongo_archive::dir::looks_like_dump_dir;

/// A mongodump directory being read as an archive stream.
pub struct DirInput {
    pipe: io::PipeReader,
    writer: Option<JoinHandle<Result<(), DirError>>>,
    /// Whether the directory's files are gzip (`mongodump --gzip`).
    pub gzip: bool,
    /// Total bytes of the directory's files (compressed sizes for gzip files).
    pub size: u64,
}

impl DirInput {
    /// Lists `path` as a mongodump directory and starts streaming it as an archive.
    pub fn open(path: &Path) -> Result<DirInput, DirError> {
        let listed = DumpDir::open(path)?;
        let size = files_size(&listed);
        let gzip = listed.gzip;
        let (pipe, mut writer) = io::pipe().map_err(|source| DirError::Io {
            path: path.to_owned(),
            source,
        })?;
        let thread = std::thread::Builder::new()
            .name("dump-dir-reader".into())
            .spawn(move || {
                let mut out = io::BufWriter::with_capacity(256 << 10, &mut writer);
                let result = dir::write_archive(&listed, &mut out);
                match result {
                    // A reader that stopped early (an error downstream) is not this side's error.
                    Err(DirError::Io { ref source, .. })
                        if source.kind() == io::ErrorKind::BrokenPipe =>
                    {
                        Ok(())
                    }
                    Err(e) => Err(e),
                    Ok(()) => out.flush().or(Ok(())),
                }
            })
            .map_err(|source| DirError::Io {
                path: path.to_owned(),
                source,
            })?;
        Ok(DirInput {
            pipe,
            writer: Some(thread),
            gzip,
            size,
        })
    }
}

impl Read for DirInput {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.pipe.read(buf)?;
        if n == 0 && !buf.is_empty() {
            // The stream ended: report why when the directory could not be read to its end
            // (the `DirError` itself, which `io::Error::get_ref` gives back to an embedder).
            if let Some(thread) = self.writer.take() {
                match thread.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(io::Error::other(e)),
                    Err(_) => return Err(io::Error::other("the directory reader panicked")),
                }
            }
        }
        Ok(n)
    }
}

fn files_size(listed: &DumpDir) -> u64 {
    let len = |p: &Path| fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    listed
        .collections
        .iter()
        .map(|c| len(&c.metadata) + c.documents.as_deref().map_or(0, len))
        .sum::<u64>()
        + listed.oplog.as_deref().map_or(0, len)
}

/// An output directory being written from an archive stream.
pub struct DirOutput {
    pipe: Option<io::PipeWriter>,
    reader: Option<JoinHandle<Result<dir::DirSummary, DirError>>>,
    temp: PathBuf,
    target: PathBuf,
}

impl DirOutput {
    /// Prepares to write `target` (which must not exist, or be an empty directory), in
    /// mongodump's layout, gzip-compressing every file when `gzip`.
    pub fn create(target: &Path, gzip: bool) -> io::Result<DirOutput> {
        match fs::read_dir(target) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(io::Error::other(
                        "the output directory exists and is not empty",
                    ));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) if fs::metadata(target).is_ok_and(|m| !m.is_dir()) => {
                let _ = e;
                return Err(io::Error::other(
                    "it exists and is not a directory (an archive output needs --output-layout archive)",
                ));
            }
            Err(e) => return Err(e),
        }
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempdir_in(&parent)?
            .keep();
        let (reader_pipe, writer_pipe) = io::pipe()?;
        let root = temp.clone();
        let reader = std::thread::Builder::new()
            .name("dump-dir-writer".into())
            .spawn(move || {
                let input = io::BufReader::with_capacity(256 << 10, reader_pipe);
                dir::write_dump_dir(input, &root, gzip)
            })?;
        Ok(DirOutput {
            pipe: Some(writer_pipe),
            reader: Some(reader),
            temp,
            target: target.to_owned(),
        })
    }

    /// The directory writer's result; its `DirError` is kept inside the `io::Error`.
    fn finish_reader(&mut self) -> io::Result<dir::DirSummary> {
        self.pipe.take();
        match self.reader.take().map(JoinHandle::join) {
            Some(Ok(Ok(summary))) => Ok(summary),
            Some(Ok(Err(e))) => Err(io::Error::other(e)),
            Some(Err(_)) => Err(io::Error::other("the directory writer panicked")),
            None => Err(io::Error::other(
                "the output directory was already finished",
            )),
        }
    }

    /// Ends the stream, waits for the files, and renames the directory into place.
    pub fn commit(mut self) -> io::Result<()> {
        match self.finish_reader() {
            Ok(_) => {
                if fs::metadata(&self.target).is_ok() {
                    fs::remove_dir(&self.target)?;
                }
                fs::rename(&self.temp, &self.target)
            }
            Err(e) => {
                let _ = fs::remove_dir_all(&self.temp);
                Err(e)
            }
        }
    }

    /// Removes everything written so far.
    pub fn abandon(mut self) {
        let _ = self.finish_reader();
        let _ = fs::remove_dir_all(&self.temp);
    }

    /// The temporary directory being written (removed on failure).
    pub fn partial_path(&self) -> &Path {
        &self.temp
    }
}

impl Write for DirOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = match self.pipe.as_mut() {
            Some(p) => p.write(buf),
            None => return Err(io::Error::other("the output directory was finished")),
        };
        match written {
            // The writer thread stopped reading: its error is the one to report.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => match self.finish_reader() {
                Err(why) => Err(why),
                Ok(_) => Err(e),
            },
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.pipe.as_mut() {
            Some(p) => p.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for DirOutput {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.finish_reader();
            let _ = fs::remove_dir_all(&self.temp);
        }
    }
}
