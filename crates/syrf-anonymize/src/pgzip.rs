//! gzip compression on all cores: the stream is cut into chunks, each compressed on a worker
//! thread into a gzip member of its own, and the members are written in order. Concatenated
//! members are one valid gzip stream for gunzip, zcat, Go's `gzip.Reader` (mongorestore) and
//! flate2's `MultiGzDecoder`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{bounded, Receiver, Sender};
use flate2::write::GzEncoder;
use flate2::Compression;

/// Uncompressed bytes per gzip member.
const MEMBER: usize = 1 << 20;

/// A `Write` that gzips on `threads` worker threads. The compressed members are written to the
/// sink from the caller's thread, in order, so the sink needs neither `Send` nor `'static`.
pub(crate) struct ParallelGzip<W: Write> {
    sink: Option<W>,
    chunk: Vec<u8>,
    next_seq: u64,
    next_write: u64,
    pending: BTreeMap<u64, Vec<u8>>,
    jobs: Option<Sender<(u64, Vec<u8>)>>,
    done: Receiver<(u64, io::Result<Vec<u8>>)>,
    workers: Vec<JoinHandle<()>>,
    threads: usize,
}

impl<W: Write> ParallelGzip<W> {
    /// Starts the workers over `sink`.
    pub(crate) fn new(sink: W, level: u32, threads: usize) -> ParallelGzip<W> {
        let threads = threads.max(1);
        let (jobs_tx, jobs_rx) = bounded::<(u64, Vec<u8>)>(threads * 2);
        let (done_tx, done_rx) = bounded::<(u64, io::Result<Vec<u8>>)>(threads * 4);
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
        ParallelGzip {
            sink: Some(sink),
            chunk: Vec::with_capacity(MEMBER),
            next_seq: 0,
            next_write: 0,
            pending: BTreeMap::new(),
            jobs: Some(jobs_tx),
            done: done_rx,
            workers,
            threads,
        }
    }

    /// Takes one finished member (waiting for it when `block`), and writes every member that
    /// is next in order. Returns false when nothing was available.
    fn collect(&mut self, block: bool) -> io::Result<bool> {
        let got = if block {
            self.done.recv().ok()
        } else {
            self.done.try_recv().ok()
        };
        let Some((seq, member)) = got else {
            return Ok(false);
        };
        self.pending.insert(seq, member?);
        let sink = self
            .sink
            .as_mut()
            .ok_or_else(|| io::Error::other("the gzip output is finished"))?;
        while let Some(member) = self.pending.remove(&self.next_write) {
            sink.write_all(&member)?;
            self.next_write += 1;
        }
        Ok(true)
    }

    fn send_chunk(&mut self) -> io::Result<()> {
        let data = std::mem::replace(&mut self.chunk, Vec::with_capacity(MEMBER));
        let seq = self.next_seq;
        self.next_seq += 1;
        // Bound the memory: at most a few members per thread in flight.
        while self.next_seq - self.next_write > (self.threads * 3) as u64 {
            self.collect(true)?;
        }
        while self.collect(false)? {}
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send((seq, data)).is_ok());
        if !sent {
            return Err(io::Error::other("the gzip workers stopped"));
        }
        Ok(())
    }

    /// Compresses what is left and writes every member; returns the sink.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        if !self.chunk.is_empty() || self.next_seq == 0 {
            self.send_chunk()?;
        }
        self.drain()?;
        Ok(self.into_sink())
    }

    fn drain(&mut self) -> io::Result<()> {
        self.jobs = None;
        while self.next_write < self.next_seq {
            if !self.collect(true)? {
                return Err(io::Error::other("a gzip worker stopped"));
            }
        }
        Ok(())
    }

    fn into_sink(mut self) -> W {
        self.stop_workers();
        self.sink.take().expect("the sink is only taken here")
    }

    fn stop_workers(&mut self) {
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl<W: Write> Drop for ParallelGzip<W> {
    fn drop(&mut self) {
        self.stop_workers();
    }
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
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
    use std::sync::{Arc, Mutex};

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
