//! gzip compression on all cores: the stream is cut into chunks, each compressed on a worker
//! thread into a gzip member of its own, and the members are written in order. Concatenated
//! members are one valid gzip stream for gunzip, zcat, Go's `gzip.Reader` (mongorestore) and
//! flate2's `MultiGzDecoder`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{bounded, Sender};
use flate2::write::GzEncoder;
use flate2::Compression;

/// Uncompressed bytes per gzip member.
const MEMBER: usize = 1 << 20;

/// A `Write` that gzips on `threads` worker threads.
pub struct ParallelGzip {
    chunk: Vec<u8>,
    next_seq: u64,
    jobs: Option<Sender<(u64, Vec<u8>)>>,
    workers: Vec<JoinHandle<()>>,
    writer: Option<JoinHandle<io::Result<()>>>,
    failed: Arc<AtomicBool>,
}

impl ParallelGzip {
    /// Starts the workers and the ordered writer over `sink`.
    pub fn new<W: Write + Send + 'static>(mut sink: W, level: u32, threads: usize) -> ParallelGzip {
        let threads = threads.max(1);
        let (jobs_tx, jobs_rx) = bounded::<(u64, Vec<u8>)>(threads * 2);
        let (done_tx, done_rx) = bounded::<(u64, io::Result<Vec<u8>>)>(threads * 2);
        let failed = Arc::new(AtomicBool::new(false));
        let workers = (0..threads)
            .map(|i| {
                let jobs_rx = jobs_rx.clone();
                let done_tx = done_tx.clone();
                thread::Builder::new()
                    .name(format!("gzip-{i}"))
                    .spawn(move || {
                        for (seq, data) in jobs_rx {
                            let mut enc = GzEncoder::new(
                                Vec::with_capacity(data.len() / 3 + 64),
                                Compression::new(level),
                            );
                            let member = enc.write_all(&data).and_then(|()| enc.finish());
                            if done_tx.send((seq, member)).is_err() {
                                return;
                            }
                        }
                    })
                    .expect("spawn a gzip worker")
            })
            .collect();
        drop(done_tx);
        let writer_failed = failed.clone();
        let writer = thread::Builder::new()
            .name("gzip-writer".into())
            .spawn(move || {
                let mut pending: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
                let mut next = 0u64;
                let result = (|| {
                    for (seq, member) in done_rx.iter() {
                        pending.insert(seq, member?);
                        while let Some(member) = pending.remove(&next) {
                            sink.write_all(&member)?;
                            next += 1;
                        }
                    }
                    sink.flush()
                })();
                if result.is_err() {
                    writer_failed.store(true, Relaxed);
                }
                result
            })
            .expect("spawn the gzip writer");
        ParallelGzip {
            chunk: Vec::with_capacity(MEMBER),
            next_seq: 0,
            jobs: Some(jobs_tx),
            workers,
            writer: Some(writer),
            failed,
        }
    }

    fn send_chunk(&mut self) -> io::Result<()> {
        let data = std::mem::replace(&mut self.chunk, Vec::with_capacity(MEMBER));
        let seq = self.next_seq;
        self.next_seq += 1;
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send((seq, data)).is_ok());
        if !sent || self.failed.load(Relaxed) {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the gzip output failed",
            ));
        }
        Ok(())
    }

    /// Compresses what is left, waits for every member to be written, and returns the first
    /// error, if any.
    pub fn finish(mut self) -> io::Result<()> {
        if !self.chunk.is_empty() || self.next_seq == 0 {
            self.send_chunk()?;
        }
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        match self.writer.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the gzip writer thread panicked")),
            None => Ok(()),
        }
    }
}

impl Write for ParallelGzip {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failed.load(Relaxed) {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the gzip output failed",
            ));
        }
        let room = MEMBER - self.chunk.len();
        let n = room.min(buf.len());
        self.chunk.extend_from_slice(&buf[..n]);
        if self.chunk.len() == MEMBER {
            self.send_chunk()?;
        }
        Ok(n)
    }

    /// Members are cut at fixed sizes; flushing does not force a short member.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn round_trip(data: &[u8], piece: usize) {
        let sink = Shared::default();
        let mut gz = ParallelGzip::new(sink.clone(), 1, 3);
        for part in data.chunks(piece.max(1)) {
            gz.write_all(part).unwrap();
        }
        gz.finish().unwrap();
        let compressed = sink.0.lock().unwrap().clone();
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&compressed[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn members_decompress_in_order() {
        let data: Vec<u8> = (0..5 * MEMBER + 12345)
            .map(|i| (i % 251) as u8 ^ (i / 7919) as u8)
            .collect();
        round_trip(&data, 100_003);
        round_trip(&data[..10], 3);
        round_trip(&[], 1);
    }
}
