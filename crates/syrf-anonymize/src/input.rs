//! The input side of a run: peeking at the first bytes, gzip detected by magic bytes and
//! decompressed on its own thread, byte counting.

use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;

use crossbeam_channel::{bounded, Receiver};
use flate2::read::MultiGzDecoder;

/// Size of the chunks passed between threads.
pub(crate) const CHUNK: usize = 1 << 20;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// How much of the start of a stream is looked at to detect its format.
pub(crate) const PEEK: usize = 64 * 1024;

/// A boxed input stream that may borrow from the caller (`'a`).
pub(crate) type Input<'a> = Box<dyn Read + Send + 'a>;

/// A readable stream whose first bytes have been looked at.
pub(crate) struct Peeked<'a> {
    /// The whole stream: its first bytes (held once, [`Peeked::head`]), then the rest.
    pub(crate) reader: Chain<Cursor<Vec<u8>>, Input<'a>>,
}

impl Peeked<'_> {
    /// The first up to [`PEEK`] bytes (still at the start of `reader`).
    pub(crate) fn head(&self) -> &[u8] {
        self.reader.get_ref().0.get_ref()
    }
}

/// Reads up to `PEEK` bytes (fewer only at end of stream) without losing them.
pub(crate) fn peek(mut reader: Input<'_>) -> io::Result<Peeked<'_>> {
    let mut head = Vec::with_capacity(PEEK);
    (&mut reader).take(PEEK as u64).read_to_end(&mut head)?;
    Ok(Peeked {
        reader: Cursor::new(head).chain(reader),
    })
}

/// Counts the bytes that pass through a reader.
pub(crate) struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> CountingReader<R> {
    /// Wraps `inner`; `count` grows as bytes are read.
    pub(crate) fn new(inner: R, count: Arc<AtomicU64>) -> Self {
        CountingReader { inner, count }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Relaxed);
        Ok(n)
    }
}

/// True when the stream starts with the gzip magic.
pub(crate) fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&GZIP_MAGIC)
}

/// The stream of `peeked` decompressed: gunzipped on a thread of `scope`
/// ([`gunzip_on_thread`]) when it starts with the gzip magic bytes, else as it is. The error
/// is the thread's failure to start.
pub(crate) fn decompressed<'scope>(
    scope: &'scope thread::Scope<'scope, '_>,
    peeked: Peeked<'scope>,
) -> io::Result<Input<'scope>> {
    if is_gzip(peeked.head()) {
        gunzip_on_thread(scope, peeked.reader)
    } else {
        Ok(Box::new(peeked.reader))
    }
}

/// Decompresses `compressed` (one or more gzip members) on a thread of `scope`; the returned
/// reader yields the decompressed bytes, or the decoder's error. The thread ends when the
/// input ends, fails, or the reader is dropped.
pub(crate) fn gunzip_on_thread<'scope>(
    scope: &'scope thread::Scope<'scope, '_>,
    compressed: impl Read + Send + 'scope,
) -> io::Result<Input<'scope>> {
    let (tx, rx) = bounded::<io::Result<Vec<u8>>>(4);
    thread::Builder::new()
        .name("gunzip".into())
        .spawn_scoped(scope, move || {
            let mut decoder = MultiGzDecoder::new(BufReader::with_capacity(CHUNK, compressed));
            loop {
                let mut chunk = vec![0u8; CHUNK];
                let mut filled = 0;
                let result = loop {
                    match decoder.read(&mut chunk[filled..]) {
                        Ok(0) => break Ok(()),
                        Ok(n) => {
                            filled += n;
                            if filled == chunk.len() {
                                break Ok(());
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                chunk.truncate(filled);
                let done = filled == 0;
                if filled > 0 && tx.send(Ok(chunk)).is_err() {
                    return;
                }
                if let Err(e) = result {
                    let _ = tx.send(Err(io::Error::new(e.kind(), format!("gzip input: {e}"))));
                    return;
                }
                if done {
                    return;
                }
            }
        })?;
    Ok(Box::new(ChannelReader {
        rx,
        current: Vec::new(),
        pos: 0,
    }))
}

/// Reads the chunks a producer thread sends.
struct ChannelReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ChannelReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.current.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.current[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos += amt;
    }
}
