//! SHA-256 and byte counts of the input and output, computed while they stream (no second
//! pass over either).

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};

/// The size and SHA-256 of a stream's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDigest {
    /// Bytes that went through.
    pub bytes: u64,
    /// Their SHA-256, lowercase hex; `None` when hashing was not asked for (metrics alone
    /// need only the size).
    pub sha256: Option<String>,
}

/// A running SHA-256 and count.
#[derive(Debug, Default, Clone)]
struct Running {
    hasher: Option<Sha256>,
    bytes: u64,
}

impl Running {
    fn new(hash: bool) -> Running {
        Running {
            hasher: hash.then(Sha256::new),
            bytes: 0,
        }
    }

    fn update(&mut self, buf: &[u8]) {
        if let Some(h) = &mut self.hasher {
            h.update(buf);
        }
        self.bytes += buf.len() as u64;
    }

    fn digest(&self) -> StreamDigest {
        StreamDigest {
            bytes: self.bytes,
            sha256: self.hasher.as_ref().map(|h| hex(&h.clone().finalize())),
        }
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 (hex) of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A reader that hashes and counts what is read through it. It moves into the run (and to the
/// gunzip thread); [`DigestReader::handle`] keeps a way to the figures.
pub struct DigestReader<R> {
    inner: R,
    state: Arc<Mutex<Running>>,
}

/// The figures of a [`DigestReader`] that was moved away.
#[derive(Clone)]
pub struct DigestHandle(Arc<Mutex<Running>>);

impl DigestHandle {
    /// The bytes read so far and their SHA-256.
    pub fn digest(&self) -> StreamDigest {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .digest()
    }
}

impl<R: Read> DigestReader<R> {
    /// Wraps `inner`; counts, and hashes when `hash`.
    pub fn new(inner: R, hash: bool) -> Self {
        DigestReader {
            inner,
            state: Arc::new(Mutex::new(Running::new(hash))),
        }
    }

    /// A handle to the figures, readable after the reader was moved or dropped.
    pub fn handle(&self) -> DigestHandle {
        DigestHandle(self.state.clone())
    }
}

impl<R: Read> Read for DigestReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .update(&buf[..n]);
        Ok(n)
    }
}

/// A writer that hashes and counts what is written through it (only what the inner writer
/// accepted).
pub struct DigestWriter<W> {
    inner: W,
    running: Running,
}

impl<W: Write> DigestWriter<W> {
    /// Wraps `inner`; counts, and hashes when `hash`.
    pub fn new(inner: W, hash: bool) -> Self {
        DigestWriter {
            inner,
            running: Running::new(hash),
        }
    }

    /// The bytes written so far and their SHA-256.
    pub fn digest(&self) -> StreamDigest {
        self.running.digest()
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.running.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_and_writer_hash_what_went_through() {
        // `printf 'hello world' | sha256sum`
        let want = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
        let reader = DigestReader::new(&b"hello world"[..], true);
        let handle = reader.handle();
        let mut back = Vec::new();
        let mut writer = DigestWriter::new(&mut back, true);
        std::io::copy(&mut { reader }, &mut writer).unwrap();
        assert_eq!(writer.digest().sha256.as_deref(), Some(want));
        assert_eq!(writer.digest().bytes, 11);
        assert_eq!(handle.digest(), writer.digest());
        assert_eq!(sha256_hex(b"hello world"), want);
        let mut counted = DigestWriter::new(Vec::new(), false);
        counted.write_all(b"hello").unwrap();
        assert_eq!(
            counted.digest(),
            StreamDigest {
                bytes: 5,
                sha256: None
            }
        );
    }
}
