//! Rows rewritten on a pool of worker threads, written in input order.
//!
//! With [`crate::SqlOptions::threads`] above one, the output ([`crate::emit::Out`]) holds a
//! [`Pipe`]: the reading thread decides everything about a row (its table, ordinal, the
//! `max_rows` cut-off, its column plans, its value spans) and hands the row's bytes to the
//! pipe instead of rewriting it. Rows of one table and plan are collected with the bytes
//! written around them (separators, statement heads and ends, the statements between) into a
//! batch of about [`BATCH_BYTES`]; a sealed batch goes to the workers ([`worker_count`]: one
//! fewer than `threads`, the reading thread taking a queued batch whenever it would wait),
//! which run the same [`RowJob::rewrite`] a single-threaded run does, and batches are written
//! strictly in the order they were sealed (then kept, bounded, to be filled again). The
//! output is therefore byte-identical to one thread, the anonymizer's counters add up the
//! same (the same rows are rewritten), and an error stops reading where one thread stops:
//! the rows before it are written (on drop) as one thread writes them. At most
//! [`max_in_flight`] batches are out (16, or four per thread above four threads), and the
//! bytes written between rows while batches are out are held up to a limit, so memory does
//! not grow with the input.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};

use anonymize_core::Anonymizer;

use crate::dialect::Syntax;
use crate::emit::{Held, Out};
use crate::error::SqlError;
use crate::lex::copy::split_fields;
use crate::literal::Ctx;
use crate::rows::job::RowJob;
use crate::rows::plan::{ColPlan, RowShape};

/// Bytes of a batch (rows, the bytes between them, and their spans) before it is sealed; a
/// longer row makes a batch of its own.
pub(crate) const BATCH_BYTES: usize = 256 << 10;

/// Bytes written while rows are out to the workers (a long statement between two tables'
/// rows) held at most, beyond the batches.
const HELD_LIMIT: usize = 4 << 20;

/// Bytes of written batches' buffers kept for reuse at most (with many threads and long rows,
/// keeping one batch per batch in flight held more than the peak did).
const KEEP_BYTES: usize = 16 << 20;

/// Batches out to the workers at most, whatever the thread count: the reading thread must stay
/// ahead of the workers through the time it spends rewriting (with fewer, and `threads`
/// workers beside the reading thread, two workers on two cores waited for it a third of the
/// time).
const MIN_IN_FLIGHT: usize = 16;

/// Worker threads started for `threads`: one fewer, since the reading thread rewrites
/// batches too whenever it would wait. With `threads` workers beside it, three threads
/// shared two cores: each lost time slices to the others and met its memo tables cold
/// after running on the other core.
pub(crate) fn worker_count(threads: usize) -> usize {
    threads.saturating_sub(1).max(1)
}

/// Batches out to the workers at most with `threads` workers.
pub(crate) fn max_in_flight(threads: usize) -> usize {
    (4 * threads).max(MIN_IN_FLIGHT)
}

/// A thread's buffers reused from batch to batch.
#[derive(Default)]
pub(crate) struct WorkBufs {
    /// A value's decoded text.
    scratch: Vec<u8>,
    /// A transform's output.
    value: Vec<u8>,
    /// The spans of the COPY row being rewritten, and of the next one.
    spans: Vec<(usize, usize)>,
    next: Vec<(usize, usize)>,
}

/// What every row of a batch shares.
struct Kind<'a> {
    plans: Arc<[ColPlan<'a>]>,
    /// What `plans` decide for every row.
    shape: RowShape,
    ctx: Ctx,
    syntax: Syntax,
    /// The table's summary, which the rewritten rows' bytes are added to.
    sidx: usize,
}

/// A row of a batch: its bytes `data[start..end]`, its value spans
/// `spans[previous row's spans_end..spans_end]`. The bytes between two rows
/// (`data[previous row's end..start]`) are written as they are, and so are those after the
/// last row.
struct RowRef {
    start: usize,
    end: usize,
    spans_end: usize,
    ordinal: u64,
}

/// Rows and the bytes around them, in output order; a worker writes `out` from them.
pub(crate) struct Batch<'a> {
    seq: u64,
    kind: Option<Kind<'a>>,
    /// The bytes of the rows and of everything written between them, in output order.
    data: Vec<u8>,
    spans: Vec<(usize, usize)>,
    rows: Vec<RowRef>,
    /// Bytes of `data` outside the rows (already counted as written by [`crate::emit::Out`]).
    literal: usize,
    out: Vec<u8>,
}

impl Batch<'_> {
    fn new() -> Self {
        Batch {
            seq: 0,
            kind: None,
            data: Vec::new(),
            spans: Vec::new(),
            rows: Vec::new(),
            literal: 0,
            out: Vec::new(),
        }
    }

    fn clear(&mut self) {
        self.kind = None;
        self.data.clear();
        self.spans.clear();
        self.rows.clear();
        self.literal = 0;
        self.out.clear();
    }

    fn has_rows(&self) -> bool {
        self.kind.is_some()
    }

    /// Holds nothing (no row, no byte).
    fn is_empty(&self) -> bool {
        self.data.is_empty() && self.rows.is_empty()
    }

    /// Worth keeping for the next batch: its buffers are no larger than a batch needs (a
    /// long row or a long statement between rows made one of its own, whose buffers are
    /// let go rather than held for the rest of the run).
    fn reusable(&self) -> bool {
        self.data.capacity() <= 2 * BATCH_BYTES && self.out.capacity() <= 4 * BATCH_BYTES
    }

    /// Bytes its buffers hold allocated, whatever they hold now.
    fn capacity(&self) -> usize {
        self.data.capacity()
            + self.out.capacity()
            + self.spans.capacity() * std::mem::size_of::<(usize, usize)>()
            + self.rows.capacity() * std::mem::size_of::<RowRef>()
    }

    /// Bytes held for the batch: its data and what indexes it (narrow rows hold about as
    /// much in spans as in data).
    fn footprint(&self) -> usize {
        self.data.len()
            + self.spans.len() * std::mem::size_of::<(usize, usize)>()
            + self.rows.len() * std::mem::size_of::<RowRef>()
    }

    /// Rewrites the rows into `out` (`bufs`: the thread's reused buffers).
    fn work(&mut self, anon: &Anonymizer, bufs: &mut WorkBufs) {
        self.out.clear();
        self.out.reserve(self.data.len() + self.data.len() / 4);
        let Some(kind) = &self.kind else {
            self.out.extend_from_slice(&self.data);
            return;
        };
        let mut job = RowJob {
            anon,
            plans: &kind.plans,
            shape: kind.shape,
            ctx: kind.ctx,
            syntax: kind.syntax,
            ordinal: 0,
        };
        let prefetched = job.prefetch_columns();
        // COPY rows come without spans ([`Pipe::row`]): each is split here, a row ahead
        // (the next row's spans serve its prefetch, then its rewrite).
        let split = kind.ctx == Ctx::Copy;
        let line = |r: &RowRef| &self.data[r.start..r.end];
        if let (true, Some(first)) = (split, self.rows.first()) {
            split_fields(line(first), &mut bufs.next);
        }
        let (mut at, mut span_at) = (0, 0);
        for (k, row) in self.rows.iter().enumerate() {
            let next = self.rows.get(k + 1);
            if split {
                std::mem::swap(&mut bufs.spans, &mut bufs.next);
                if let Some(next) = next {
                    split_fields(line(next), &mut bufs.next);
                }
            }
            if let Some(next) = next.filter(|_| !prefetched.is_empty()) {
                // The next row's memo entries, loaded while this row is rewritten.
                let spans = match split {
                    true => &bufs.next[..],
                    false => &self.spans[row.spans_end..next.spans_end],
                };
                job.prefetch(&prefetched, line(next), spans);
            }
            self.out.extend_from_slice(&self.data[at..row.start]);
            job.ordinal = row.ordinal;
            let spans = match split {
                true => &bufs.spans[..],
                false => &self.spans[span_at..row.spans_end],
            };
            job.rewrite(
                line(row),
                spans,
                &mut bufs.scratch,
                &mut bufs.value,
                &mut self.out,
            );
            (at, span_at) = (row.end, row.spans_end);
        }
        self.out.extend_from_slice(&self.data[at..]);
    }
}

/// A worker's answer: the batch rewritten, or the number of one whose rewrite panicked.
type Done<'a> = Result<Batch<'a>, u64>;

/// A sealed batch waiting for its turn to be written.
enum Slot<'a> {
    /// Nothing to rewrite: written as it is.
    Ready(Batch<'a>),
    /// Out to the workers.
    Sent(u64),
}

/// The job queue the workers (and the reading thread, rather than wait) take batches from.
pub(crate) type Jobs<'a> = Arc<Mutex<Receiver<Batch<'a>>>>;

/// The reading side of the pool: the batch being filled and the sealed ones, in order.
pub(crate) struct Pipe<'a> {
    anon: &'a Anonymizer,
    jobs: Option<SyncSender<Batch<'a>>>,
    queue_rx: Jobs<'a>,
    done: Receiver<Done<'a>>,
    open: Batch<'a>,
    queue: VecDeque<Slot<'a>>,
    arrived: BTreeMap<u64, Batch<'a>>,
    /// Batches out to the workers.
    sent: usize,
    /// At most this many batches out, and twice this many sealed.
    max_sent: usize,
    /// Bytes of the sealed batches with no rows (statements between the rows), at most
    /// [`HELD_LIMIT`] once the batch before them is written.
    held: usize,
    /// A worker's rewrite panicked: what is held can no longer be written in order.
    broken: bool,
    next_seq: u64,
    /// Written batches kept for reuse (at most `max_sent + 2` and [`KEEP_BYTES`], each of a
    /// batch's size). Allocating a batch's buffers afresh made the allocator hand large
    /// blocks back to the kernel and fault them in again, with a TLB shootdown on the other
    /// core each time.
    free: Vec<Batch<'a>>,
    /// Bytes allocated by the buffers of `free`.
    free_bytes: usize,
    /// Bytes of rewritten rows written, per table summary.
    row_bytes: Vec<u64>,
    rows_total: u64,
    /// Buffers for the batches this thread rewrites rather than wait.
    bufs: WorkBufs,
}

/// Runs `f` with a [`Pipe`] feeding [`worker_count`]`(threads)` worker threads, which stop
/// when `f` returns (the pipe dropped, its batches written or given up).
pub(crate) fn with_pool<'a, T>(
    anon: &'a Anonymizer,
    threads: usize,
    f: impl FnOnce(Pipe<'a>) -> T,
) -> T {
    let (job_tx, job_rx) = mpsc::sync_channel(max_in_flight(threads));
    let jobs = Arc::new(Mutex::new(job_rx));
    std::thread::scope(|scope| {
        let (done_tx, done_rx) = mpsc::channel();
        for _ in 0..worker_count(threads) {
            let (jobs, done_tx) = (&jobs, done_tx.clone());
            scope.spawn(move || worker(jobs, done_tx, anon));
        }
        drop(done_tx);
        f(Pipe::new(anon, job_tx, jobs.clone(), done_rx, threads))
    })
}

/// A worker: rewrites batches from `jobs` until the pipe is dropped.
pub(crate) fn worker<'a>(
    jobs: &Mutex<Receiver<Batch<'a>>>,
    done: Sender<Done<'a>>,
    anon: &Anonymizer,
) {
    let mut bufs = WorkBufs::default();
    loop {
        let next = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(mut batch) = next else { return };
        let seq = batch.seq;
        let worked =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| batch.work(anon, &mut bufs)));
        let answer = match worked {
            Ok(()) => Ok(batch),
            Err(_) => {
                bufs = WorkBufs::default();
                Err(seq)
            }
        };
        if done.send(answer).is_err() {
            return;
        }
    }
}

fn pool_gone() -> SqlError {
    SqlError::write(std::io::Error::other(
        "a worker thread rewriting rows stopped",
    ))
}

impl<'a> Pipe<'a> {
    /// A pipe feeding `jobs` (taken by `threads` workers that answer on `done`).
    pub(crate) fn new(
        anon: &'a Anonymizer,
        jobs: SyncSender<Batch<'a>>,
        queue_rx: Jobs<'a>,
        done: Receiver<Done<'a>>,
        threads: usize,
    ) -> Self {
        Pipe {
            anon,
            jobs: Some(jobs),
            queue_rx,
            done,
            open: Batch::new(),
            queue: VecDeque::new(),
            arrived: BTreeMap::new(),
            sent: 0,
            max_sent: max_in_flight(threads),
            held: 0,
            broken: false,
            next_seq: 0,
            free: Vec::new(),
            free_bytes: 0,
            row_bytes: Vec::new(),
            rows_total: 0,
            bufs: WorkBufs::default(),
        }
    }

    /// Bytes are held: written bytes must go after them, through [`Pipe::literal`].
    #[inline]
    pub(crate) fn holding(&self) -> bool {
        !self.open.is_empty() || !self.queue.is_empty()
    }

    /// Bytes written after the rows held.
    pub(crate) fn literal<W: Write>(&mut self, b: &[u8], w: &mut W) -> Result<(), SqlError> {
        let open = &mut self.open;
        open.data.extend_from_slice(b);
        open.literal += b.len();
        if open.footprint() >= BATCH_BYTES {
            self.seal(w)?;
        }
        Ok(())
    }

    /// A row to rewrite by `plans` (its values at `spans`, relative to `row`), as row
    /// `ordinal` of the table whose summary is `sidx`. A COPY row (`Ctx::Copy`) comes without
    /// spans (any given are ignored): the thread rewriting it splits the line, so the
    /// reading thread neither writes its spans into the batch nor has them read on another
    /// core (docs/performance.md, branch row26).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn row<W: Write>(
        &mut self,
        plans: &Arc<[ColPlan<'a>]>,
        (ctx, syntax, sidx): (Ctx, Syntax, usize),
        row: &[u8],
        spans: &[(usize, usize)],
        ordinal: u64,
        w: &mut W,
    ) -> Result<(), SqlError> {
        let same = self.open.kind.as_ref().is_none_or(|k| {
            Arc::ptr_eq(&k.plans, plans) && k.ctx == ctx && k.syntax == syntax && k.sidx == sidx
        });
        if !same {
            self.seal(w)?;
        }
        let open = &mut self.open;
        if open.kind.is_none() {
            open.kind = Some(Kind {
                shape: RowShape::of(plans, ctx == Ctx::Copy),
                plans: plans.clone(),
                ctx,
                syntax,
                sidx,
            });
        }
        let start = open.data.len();
        open.data.extend_from_slice(row);
        if ctx != Ctx::Copy {
            open.spans.extend_from_slice(spans);
        }
        open.rows.push(RowRef {
            start,
            end: open.data.len(),
            spans_end: open.spans.len(),
            ordinal,
        });
        if open.footprint() >= BATCH_BYTES {
            self.seal(w)?;
        }
        Ok(())
    }

    /// Ends the open batch: queued to be written, sent to the workers when it has rows.
    fn seal<W: Write>(&mut self, w: &mut W) -> Result<(), SqlError> {
        if self.open.is_empty() {
            return Ok(());
        }
        let fresh = match self.free.pop() {
            Some(b) => {
                self.free_bytes -= b.capacity();
                b
            }
            None => Batch::new(),
        };
        let mut batch = std::mem::replace(&mut self.open, fresh);
        if batch.has_rows() {
            while self.sent >= self.max_sent {
                self.write_front(w, true)?;
            }
            batch.seq = self.next_seq;
            self.next_seq += 1;
            let seq = batch.seq;
            match &self.jobs {
                Some(tx) if tx.send(batch).is_ok() => {}
                _ => return Err(pool_gone()),
            }
            self.sent += 1;
            self.queue.push_back(Slot::Sent(seq));
        } else {
            self.held += batch.data.len();
            self.queue.push_back(Slot::Ready(batch));
        }
        while !self.queue.is_empty()
            && (self.queue.len() > 2 * self.max_sent || self.held > HELD_LIMIT)
        {
            self.write_front(w, true)?;
        }
        while !self.queue.is_empty() && self.write_front(w, false)? {}
        Ok(())
    }

    /// Writes the first sealed batch if it is done (waiting for it when `wait`, working
    /// queued batches meanwhile); returns whether it was written.
    fn write_front<W: Write>(&mut self, w: &mut W, wait: bool) -> Result<bool, SqlError> {
        let seq = match self.queue.front() {
            None => return Ok(false),
            Some(Slot::Ready(_)) => None,
            Some(Slot::Sent(seq)) => Some(*seq),
        };
        let batch = match seq {
            None => match self.queue.pop_front() {
                Some(Slot::Ready(b)) => {
                    self.held -= b.data.len();
                    b
                }
                _ => return Ok(false),
            },
            Some(seq) => {
                let b = loop {
                    if let Some(b) = self.arrived.remove(&seq) {
                        break b;
                    }
                    match self.done.try_recv() {
                        Ok(answer) => {
                            self.arrive(answer)?;
                            continue;
                        }
                        Err(mpsc::TryRecvError::Disconnected) => return Err(pool_gone()),
                        Err(mpsc::TryRecvError::Empty) if !wait => return Ok(false),
                        Err(mpsc::TryRecvError::Empty) => {}
                    }
                    // Work a queued batch here rather than wait. A worker holding the lock is
                    // waiting on an empty queue: nothing to take then.
                    let queued = match self.queue_rx.try_lock() {
                        Ok(rx) => rx.try_recv().ok(),
                        Err(_) => None,
                    };
                    match queued {
                        Some(mut b) => {
                            b.work(self.anon, &mut self.bufs);
                            self.arrive(Ok(b))?;
                        }
                        None => {
                            let answer = self.done.recv().map_err(|_| pool_gone())?;
                            self.arrive(answer)?;
                        }
                    }
                };
                self.queue.pop_front();
                self.sent -= 1;
                b
            }
        };
        let bytes = if batch.has_rows() {
            &batch.out
        } else {
            &batch.data
        };
        w.write_all(bytes).map_err(SqlError::write)?;
        self.finish_batch(batch);
        Ok(true)
    }

    /// A batch back from a worker.
    fn arrive(&mut self, answer: Done<'a>) -> Result<(), SqlError> {
        match answer {
            Ok(b) => {
                self.arrived.insert(b.seq, b);
                Ok(())
            }
            Err(_) => {
                self.broken = true;
                Err(pool_gone())
            }
        }
    }

    /// Counts a written batch's rewritten bytes and keeps its buffers.
    fn finish_batch(&mut self, mut batch: Batch<'a>) {
        if let Some(kind) = &batch.kind {
            let rows = (batch.out.len() - batch.literal) as u64;
            if self.row_bytes.len() <= kind.sidx {
                self.row_bytes.resize(kind.sidx + 1, 0);
            }
            self.row_bytes[kind.sidx] += rows;
            self.rows_total += rows;
        }
        let bytes = batch.capacity();
        if self.free.len() < self.max_sent + 2
            && self.free_bytes + bytes <= KEEP_BYTES
            && batch.reusable()
        {
            batch.clear();
            self.free_bytes += bytes;
            self.free.push(batch);
        }
    }

    /// Writes everything held, waiting for the workers.
    pub(crate) fn drain<W: Write>(&mut self, w: &mut W) -> Result<(), SqlError> {
        if self.broken {
            return Err(pool_gone());
        }
        if !self.open.has_rows() && self.queue.is_empty() {
            let open = std::mem::replace(&mut self.open, Batch::new());
            w.write_all(&open.data).map_err(SqlError::write)?;
            return Ok(());
        }
        self.seal(w)?;
        while !self.queue.is_empty() {
            self.write_front(w, true)?;
        }
        Ok(())
    }

    /// Bytes of rewritten rows written, in all and per table summary index.
    pub(crate) fn row_bytes(&self) -> (u64, &[u64]) {
        (self.rows_total, &self.row_bytes)
    }
}

impl<W: Write> Held<W> for Pipe<'_> {
    fn holding(&self) -> bool {
        Pipe::holding(self)
    }

    // Kept out of line so that `Out::put`, which calls it only while rows are held, stays
    // small enough to be inlined where a single thread writes.
    #[inline(never)]
    fn literal(&mut self, b: &[u8], w: &mut W) -> Result<(), SqlError> {
        Pipe::literal(self, b, w)
    }

    fn drain(&mut self, w: &mut W) -> Result<(), SqlError> {
        Pipe::drain(self, w)
    }

    fn row_bytes(&self) -> (u64, Vec<u64>) {
        let (total, tables) = Pipe::row_bytes(self);
        (total, tables.to_vec())
    }
}

impl<'a, W: Write> Out<W, Pipe<'a>> {
    /// Writes `row` rewritten by `plans` on a worker thread; only when [`Out::pipelined`].
    pub(crate) fn put_row(
        &mut self,
        plans: &Arc<[ColPlan<'a>]>,
        kind: (Ctx, Syntax, usize),
        row: &[u8],
        spans: &[(usize, usize)],
        ordinal: u64,
    ) -> Result<(), SqlError> {
        match &mut self.held {
            Some(pipe) => pipe.row(plans, kind, row, spans, ordinal, &mut self.w),
            None => Err(SqlError::write(std::io::Error::other(
                "internal: a row handed to a pipe that does not exist",
            ))),
        }
    }
}

impl Drop for Pipe<'_> {
    fn drop(&mut self) {
        // Stop the workers: batches not yet written are dropped.
        self.jobs = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::Dialect;
    use anonymize_core::{Key, KeyMode, RuleSet};
    use proptest::prelude::*;

    /// A row (rewritten on a worker: with no column plans, copied as it is) or bytes written
    /// between rows.
    #[derive(Debug, Clone)]
    enum Op {
        Row(Vec<u8>),
        Bytes(Vec<u8>),
    }

    /// `ops` through a pipe of `threads` the way [`Out::put`] and [`Out::put_row`] hand them
    /// over (bytes go through the pipe only while it holds rows), then drained: what it wrote,
    /// and the bytes of rows it counted.
    fn through_pipe(ops: &[Op], threads: usize) -> (Vec<u8>, u64) {
        let key = Key::from_bytes(b"a key for the pipe's tests").unwrap();
        let anon = Anonymizer::new(RuleSet::empty(), KeyMode::Keyed(key)).unwrap();
        let plans: Arc<[ColPlan<'_>]> = Arc::from(Vec::new());
        let kind = (Ctx::Copy, Syntax::from(Dialect::Postgres), 0);
        let mut w = Vec::new();
        with_pool(&anon, threads, |mut pipe| {
            for (ordinal, op) in ops.iter().enumerate() {
                match op {
                    Op::Row(b) => pipe.row(&plans, kind, b, &[], ordinal as u64, &mut w),
                    Op::Bytes(b) if pipe.holding() => pipe.literal(b, &mut w),
                    Op::Bytes(b) => w.write_all(b).map_err(SqlError::write),
                }
                .unwrap();
            }
            pipe.drain(&mut w).unwrap();
            (w, pipe.row_bytes().0)
        })
    }

    /// 1 to `max - 1` bytes of a pattern that differs with `seed`, so that bytes out of
    /// order show.
    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        (1..max, any::<u8>()).prop_map(|(len, seed)| {
            (0..len)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
                .collect()
        })
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            12 => bytes(3_000).prop_map(Op::Row),
            1 => bytes(BATCH_BYTES + BATCH_BYTES / 4).prop_map(Op::Row),
            6 => bytes(200).prop_map(Op::Bytes),
            1 => bytes(BATCH_BYTES + BATCH_BYTES / 4).prop_map(Op::Bytes),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Batches sealed by size, long rows and long runs of bytes in batches of their own,
        /// batches kept and filled again: the output is every byte in input order, and the
        /// rows' bytes are counted once.
        #[test]
        fn writes_every_byte_in_order(
            ops in proptest::collection::vec(op(), 1..300),
            threads in 2usize..5,
        ) {
            let (out, row_bytes) = through_pipe(&ops, threads);
            let mut plain = Vec::new();
            let mut rows = 0;
            for op in &ops {
                match op {
                    Op::Row(b) => {
                        plain.extend_from_slice(b);
                        rows += b.len() as u64;
                    }
                    Op::Bytes(b) => plain.extend_from_slice(b),
                }
            }
            prop_assert!(out == plain, "{} bytes out, {} in", out.len(), plain.len());
            prop_assert_eq!(row_bytes, rows);
        }
    }
}
