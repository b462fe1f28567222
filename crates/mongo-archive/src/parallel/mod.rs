//! Patching documents on a pool of worker threads, results applied in input order.
//!
//! The calling thread reads the archive into buffers it hands on whole (the reader's
//! [`ArchiveReader::hand_off_buffers`]: no document is copied), one segment per buffer of
//! about 256 KiB, marking the documents a rule plan applies to with their ordinal; workers
//! validate and patch those documents; the calling thread then feeds each segment's items, in
//! input order, to the same sequential [`Driver`] a single-threaded run uses, with the patches
//! computed ahead. Limits, counters, CRCs, oplog entries and output therefore follow exactly
//! the single-threaded path, and at most [`in_flight`]`(threads)` segments are in flight.
//! The calling thread patches too (see [`Feeder::send`] and [`Feeder::drain`]), so `threads`
//! means `threads - 1` workers beside it: `threads` busy threads in all, not one more than
//! the cores asked for.
//!
//! The CRC-64s of the namespaces whose documents are all written as the rules make them (see
//! [`crc_in_parts`]) are computed on the workers too: each segment's worker hashes every run
//! of consecutive documents of such a namespace, in and out, and the driver joins the parts
//! in order ([`crate::crc::crc64_combine`]) and checks the input CRC at the EOF header, as
//! the reader does on one thread. Other namespaces (the oplog, limits, subsets) keep the
//! reader's CRC and the driver's per document.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;

use anonymize_core::{Anonymizer, PlanNode, RowContext, RuleId};

use crate::crc::Crc64;
use crate::driver::{crc_in_parts, CrcPart, Driver, Precomputed};
use crate::error::ns_name;
use crate::error::ArchiveError;
use crate::policy::{decide, Decision, RewriteOptions};
use crate::raw::RawError;
use crate::reader::{
    invalid_document, validate_framed_document, ArchiveReader, BodyNamespace, Item, PreludeEntry,
};
use crate::thread_cpu;
use crate::walk::{PatchError, Patcher};

mod crc_parts;
mod share;

use crc_parts::crc_parts;
use share::Share;

/// An item of a segment: documents by their input offset (in the segment's buffers), the
/// small items' bytes copied (ranges index the segment's `data`).
enum Op<'a> {
    Header {
        raw: Range<usize>,
    },
    Prelude {
        index: usize,
        raw: Range<usize>,
        entry: Box<PreludeEntry>,
    },
    PreludeEnd,
    BlockHeader {
        ns: usize,
        eof: bool,
        raw: Range<usize>,
        namespace: Box<BodyNamespace>,
        first: bool,
        /// On a namespace's first header: its CRCs are computed in parts.
        crc_parts: bool,
    },
    Document {
        ns: usize,
        len: usize,
        offset: u64,
        crc_before: Crc64,
        /// The plan and ordinal when a worker patches it; the index of its result.
        job: Option<(&'a PlanNode, u64, usize)>,
        /// The worker includes it in its namespace's CRC parts.
        crc_part: bool,
    },
    BlockEnd {
        ns: usize,
    },
    End,
}

/// A worker's result for one document: the patched bytes' range in `patched` (`None`:
/// unchanged), the shadowing keys seen and the rules they shadowed.
type DocResult = Result<(Option<Range<usize>>, u64, Vec<RuleId>), PatchError>;

struct Segment<'a> {
    seq: u64,
    ops: Vec<(u64, Op<'a>)>,
    /// The reader's buffers holding the segment's documents, with the input offset of their
    /// first byte, in input order.
    bufs: Vec<(u64, Vec<u8>)>,
    /// The small items' bytes (headers, prelude entries).
    data: Vec<u8>,
    results: Vec<Option<DocResult>>,
    patched: Vec<u8>,
    /// The first document of the segment that is not valid BSON: its index in `ops` and the
    /// error (the reader only frames body documents; workers validate them).
    invalid: Option<(usize, RawError)>,
    /// CRC parts of runs of documents, in order: the index in `ops` of a run's last
    /// document, its namespace and the part.
    crc_parts: Vec<(usize, usize, CrcPart)>,
}

impl Segment<'_> {
    fn new(seq: u64) -> Self {
        Segment {
            seq,
            ops: Vec::new(),
            bufs: Vec::new(),
            data: Vec::new(),
            results: Vec::new(),
            patched: Vec::new(),
            invalid: None,
            crc_parts: Vec::new(),
        }
    }

    /// Empties the segment for reuse as number `seq`, keeping its buffers' memory (the
    /// reader's buffers go back to `rd`).
    fn recycle<R: Read>(&mut self, seq: u64, rd: &mut ArchiveReader<R>) {
        self.seq = seq;
        self.ops.clear();
        for (_, buf) in self.bufs.drain(..) {
            rd.give_spare(buf);
        }
        self.data.clear();
        self.results.clear();
        self.patched.clear();
        self.invalid = None;
        self.crc_parts.clear();
    }

    fn copy(&mut self, bytes: &[u8]) -> Range<usize> {
        let start = self.data.len();
        self.data.extend_from_slice(bytes);
        start..self.data.len()
    }
}

/// The `len` bytes at input offset `offset`, in the last of `bufs` starting at or before it
/// (a buffer retired before any of its bytes was read starts where the next one does).
fn doc_in(bufs: &[(u64, Vec<u8>)], offset: u64, len: usize) -> &[u8] {
    bufs.iter()
        .rev()
        .find(|(base, _)| *base <= offset)
        .and_then(|(base, buf)| {
            let start = usize::try_from(offset - base).ok()?;
            buf.get(start..start.checked_add(len)?)
        })
        .unwrap_or(&[])
}

/// What the reading side knows of a body namespace, to mark the documents workers patch.
struct NsPlan<'a> {
    root: Option<&'a PlanNode>,
    max_rows: Option<u64>,
    docs_in: u64,
    /// The ordinals a subset removes.
    removed: Option<&'a roaring::RoaringTreemap>,
    /// Its CRCs are computed in parts by the workers.
    crc_parts: bool,
}

/// Runs a rewrite with `threads` workers; the items go through `driver` in input order.
pub(crate) fn run<R: Read, W: Write>(
    rd: &mut ArchiveReader<R>,
    driver: &mut Driver<'_, W>,
    threads: usize,
) -> Result<(), ArchiveError> {
    let depth = Depth {
        workers: worker_count(threads),
        in_flight: in_flight(threads),
        queued: queued(threads),
        policy: Policy::ByCpu,
    };
    run_with(rd, driver, depth).map(|_| ())
}

/// The pool: its workers, and how far reading runs ahead of applying (segments in flight,
/// and waiting for a worker).
#[derive(Debug, Clone, Copy)]
struct Depth {
    workers: usize,
    in_flight: usize,
    queued: usize,
    /// Who patches a segment when the workers' queue is full.
    policy: Policy,
}

/// Who patches a segment that finds the workers' queue full ([`Feeder::send`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// The calling thread while its CPU time is no more than a worker's ([`Share`]).
    ByCpu,
    /// Tests: always the calling thread.
    #[cfg_attr(not(all(test, feature = "testkit")), allow(dead_code))]
    Patch,
    /// Tests: a worker, whenever one will hand a segment back to wait for.
    #[cfg_attr(not(all(test, feature = "testkit")), allow(dead_code))]
    Wait,
}

/// [`run`] with the given depth; returns how many segments the calling thread patched
/// because the workers' queue was full ([`Feeder::send`]).
fn run_with<R: Read, W: Write>(
    rd: &mut ArchiveReader<R>,
    driver: &mut Driver<'_, W>,
    depth: Depth,
) -> Result<u64, ArchiveError> {
    // Workers validate body documents (the reader only frames them); `apply` reports the
    // first invalid one where the reader would have.
    rd.defer_document_validation();
    rd.hand_off_buffers();
    let anon = driver.anon();
    let options = driver.options();
    driver.set_reader_shows_names();
    let in_flight_max = depth.in_flight.max(1) as u64;
    let (job_tx, job_rx) = mpsc::sync_channel::<Segment<'_>>(depth.queued);
    let job_rx = Mutex::new(job_rx);
    let share = Share::new(depth.workers, depth.policy);
    std::thread::scope(|scope| {
        let (done_tx, done_rx) = mpsc::channel::<Segment<'_>>();
        for cpu in &share.workers {
            let job_rx = &job_rx;
            let done_tx = done_tx.clone();
            scope.spawn(move || worker(job_rx, done_tx, anon, cpu));
        }
        drop(done_tx);
        let mut feeder = Feeder {
            job_tx: Some(job_tx),
            job_rx: &job_rx,
            patcher: Patcher::new(),
            anon,
            done_rx,
            share: &share,
            at_workers: 0,
            pending: BTreeMap::new(),
            spare: Vec::new(),
            names: Vec::new(),
            sent: 0,
            next: 0,
            patched_at_send: 0,
        };
        let result = read_all(rd, driver, &mut feeder, anon, options, in_flight_max);
        // Stop the workers whatever happened; results not yet applied are dropped.
        feeder.job_tx = None;
        result.map(|()| feeder.patched_at_send)
    })
}

/// Segments in flight (read, not yet applied) with `threads` threads: reading runs this far
/// ahead of the segment being applied, so that a worker still patching the oldest one does
/// not stop the calling thread from reading and patching later ones. Each holds a 256 KiB
/// input buffer and its patched documents: 8 segments, about 4 MiB, with two threads; two
/// more per further thread. The segments the calling thread patches when the queue is full
/// are newer than the queued ones and wait for them: without room for them, reading stops.
/// Not deeper: every segment in flight is memory the next read, patch and copy find cold
/// (16 segments, about 8 MiB, with two threads outgrew the 2 MiB second-level cache a
/// core has here: 45% more page faults and more kernel and copy time than 8;
/// docs/performance.md, branch mongo26).
fn in_flight(threads: usize) -> usize {
    2 * threads + 4
}

/// Segments waiting in the workers' queue with `threads` threads; past that, the calling
/// thread patches the segment it read itself ([`Feeder::send`]). Deep enough that a worker
/// does not run dry while the calling thread patches one (a segment of fully-touched
/// documents takes about 0.6 ms to patch): 3 with two threads.
fn queued(threads: usize) -> usize {
    threads + 1
}

/// Worker threads for `--threads threads`: the calling thread reads, applies and patches
/// too (see [`Feeder::drain`]), so one fewer (at least one). With one more busy thread than
/// cores, a worker descheduled while holding the next segment in order stalls the writer:
/// on 2 cores, 2 workers beside the calling thread scaled 1.38x, 1 worker beside it 1.65x
/// (docs/performance.md).
fn worker_count(threads: usize) -> usize {
    threads.saturating_sub(1).max(1)
}

struct Feeder<'a, 'q> {
    job_tx: Option<SyncSender<Segment<'a>>>,
    /// The job queue, to take a batch and patch it here rather than wait for a worker.
    job_rx: &'q Mutex<Receiver<Segment<'a>>>,
    patcher: Patcher,
    anon: &'a Anonymizer,
    done_rx: Receiver<Segment<'a>>,
    /// The CPU time each thread has spent, to decide who patches a segment.
    share: &'q Share,
    /// Segments handed to the workers (queued or being patched) not yet received back.
    at_workers: u64,
    pending: BTreeMap<u64, Segment<'a>>,
    /// Applied segments, kept to be filled again (their buffers are large: reusing them
    /// saves mapping and faulting in fresh memory for every segment).
    spare: Vec<Segment<'a>>,
    /// Body namespaces' names, by index (for errors of invalid documents).
    names: Vec<String>,
    sent: u64,
    next: u64,
    /// Segments patched here because the workers' queue was full.
    patched_at_send: u64,
}

impl<'a> Feeder<'a, '_> {
    /// An empty segment numbered `seq`, reusing an applied one's buffers when there is one.
    fn fresh<R: Read>(&mut self, seq: u64, rd: &mut ArchiveReader<R>) -> Segment<'a> {
        match self.spare.pop() {
            Some(mut seg) => {
                seg.recycle(seq, rd);
                seg
            }
            None => Segment::new(seq),
        }
    }

    /// Hands `seg` to the workers. When their queue is full (they are behind), patches it here
    /// if this thread has spent no more CPU time than a worker on average ([`Share`]); else
    /// waits for a worker to finish a segment (it has then taken another from the queue) and
    /// tries again. Always waiting left the calling thread idle while the one worker of
    /// `--threads 2` did three quarters of the patching (branch mongo23); always patching
    /// here, when reading is fast (a file), gave this thread half of the patching on top of
    /// reading, applying and writing, so that it bounded the run (branch mongo25;
    /// docs/performance.md).
    fn send(&mut self, seg: Segment<'a>) -> Result<(), ArchiveError> {
        self.sent += 1;
        let mut seg = seg;
        loop {
            let tried = match &self.job_tx {
                Some(tx) => tx.try_send(seg),
                None => return Err(pool_gone()),
            };
            match tried {
                Ok(()) => {
                    self.at_workers += 1;
                    return Ok(());
                }
                Err(TrySendError::Full(back)) => {
                    seg = back;
                    // Waiting needs a segment a worker will hand back (a queue of no room
                    // is full whenever no worker waits on it).
                    if self.at_workers == 0 || self.share.calling_thread_may_patch() {
                        self.patched_at_send += 1;
                        patch_segment(&mut seg, &mut self.patcher, self.anon);
                        self.pending.insert(seg.seq, seg);
                        return Ok(());
                    }
                    let done = self.done_rx.recv().map_err(|_| pool_gone())?;
                    self.received(done);
                }
                Err(TrySendError::Disconnected(_)) => return Err(pool_gone()),
            }
        }
    }

    /// Keeps a segment a worker finished until it is applied.
    fn received(&mut self, seg: Segment<'a>) {
        self.at_workers = self.at_workers.saturating_sub(1);
        self.pending.insert(seg.seq, seg);
    }

    /// Applies finished segments in order until at most `keep` are in flight; with `keep` 0
    /// (the end), patches queued ones here while the next one in order is not done.
    fn drain<W: Write>(
        &mut self,
        driver: &mut Driver<'_, W>,
        keep: u64,
    ) -> Result<bool, ArchiveError> {
        let mut ended = false;
        while self.sent - self.next > keep {
            let seg = match self.pending.remove(&self.next) {
                Some(seg) => seg,
                None => {
                    // The segments the workers finished first: the next one may be among
                    // them (taking queued work then would only delay it).
                    if let Ok(seg) = self.done_rx.try_recv() {
                        self.received(seg);
                        continue;
                    }
                    // At the end (`keep` 0), patch a queued batch here while the next one in
                    // order is not done. Not before: a batch taken from the queue is one the
                    // worker would have patched next, and while the calling thread patches it
                    // nothing is read, so the queue runs dry and the worker waits (the
                    // calling thread did two thirds of the patching on a 300 MB archive).
                    // A worker holding the lock is waiting on an empty queue: nothing to take.
                    let queued = match self.job_rx.try_lock() {
                        Ok(rx) if keep == 0 => rx.try_recv().ok(),
                        _ => None,
                    };
                    match queued {
                        Some(mut seg) => {
                            // Taken back from the queue: no worker will hand it back.
                            self.at_workers = self.at_workers.saturating_sub(1);
                            patch_segment(&mut seg, &mut self.patcher, self.anon);
                            self.pending.insert(seg.seq, seg);
                        }
                        None => {
                            let seg = self.done_rx.recv().map_err(|_| pool_gone())?;
                            self.received(seg);
                        }
                    }
                    continue;
                }
            };
            self.next += 1;
            let mut seg = seg;
            ended |= apply(driver, &mut seg, &self.names)?;
            self.spare.push(seg);
        }
        Ok(ended)
    }
}

fn pool_gone() -> ArchiveError {
    ArchiveError::new(
        0,
        None,
        crate::error::ErrorKind::Write(std::io::Error::other("a worker thread stopped")),
    )
}

fn read_all<'a, R: Read, W: Write>(
    rd: &mut ArchiveReader<R>,
    driver: &mut Driver<'_, W>,
    feeder: &mut Feeder<'a, '_>,
    anon: &'a Anonymizer,
    options: &'a RewriteOptions,
    in_flight_max: u64,
) -> Result<(), ArchiveError> {
    let mut decisions: Vec<Option<Decision<'a>>> = Vec::new();
    let mut plans: Vec<NsPlan<'a>> = Vec::new();
    let mut seg = Segment::new(0);
    // The small item's bytes, until its segment is known.
    let mut small = Vec::new();
    let mut shown_ns = None;
    loop {
        let at = rd.offset();
        let item = match rd.next_item() {
            Ok(item) => item,
            Err(e) => {
                // What came before the error is written first, as a single-threaded run does.
                rd.take_retired(true, &mut seg.bufs);
                feeder.send(seg)?;
                feeder.drain(driver, 0)?;
                return Err(e);
            }
        };
        let mut defer_crc = None;
        let mut op = match item {
            Item::Header { raw } => Op::Header {
                raw: stash(&mut small, raw),
            },
            Item::Prelude { index, raw, entry } => {
                let d = decide(&entry.db, &entry.collection, &entry.kind, anon, options).ok();
                decisions.push(d);
                Op::Prelude {
                    index,
                    raw: stash(&mut small, raw),
                    entry: Box::new(entry.clone()),
                }
            }
            Item::PreludeEnd => Op::PreludeEnd,
            Item::BlockHeader {
                ns,
                eof,
                raw,
                namespace,
                first,
            } => {
                // `--progress`: the collection being read, named here as it is read (the
                // driver applies segments later).
                if let Some(current) = &options.current_namespace {
                    if shown_ns != Some(ns) {
                        shown_ns = Some(ns);
                        if let Ok(mut name) = current.lock() {
                            *name = ns_name(&namespace.db, &namespace.collection);
                        }
                    }
                }
                let mut crc_parts = false;
                if first {
                    feeder
                        .names
                        .push(ns_name(&namespace.db, &namespace.collection));
                    let decision = decisions.get(namespace.prelude).and_then(Option::as_ref);
                    let (root, max_rows) = match decision {
                        Some(Decision::Keep {
                            root,
                            max_rows,
                            oplog: false,
                            ..
                        }) => (*root, *max_rows),
                        _ => (None, None),
                    };
                    let removed = options
                        .subset
                        .as_deref()
                        .and_then(|s| s.removed_in(&ns_name(&namespace.db, &namespace.collection)));
                    crc_parts = crc_in_parts(decision, removed.is_some());
                    if crc_parts {
                        defer_crc = Some(ns);
                    }
                    plans.push(NsPlan {
                        root,
                        max_rows,
                        docs_in: 0,
                        removed,
                        crc_parts,
                    });
                }
                Op::BlockHeader {
                    ns,
                    eof,
                    raw: stash(&mut small, raw),
                    namespace: Box::new(namespace.clone()),
                    first,
                    crc_parts,
                }
            }
            Item::Document {
                ns,
                raw,
                offset,
                crc_before,
            } => {
                let crc_part = plans.get(ns).is_some_and(|p| p.crc_parts);
                let job = plans.get_mut(ns).and_then(|p| {
                    p.docs_in += 1;
                    let cut = p.max_rows.is_some_and(|m| p.docs_in > m)
                        || p.removed.is_some_and(|r| r.contains(p.docs_in));
                    match p.root {
                        // The result's slot is set once the op's segment is known.
                        Some(root) if !cut => Some((root, p.docs_in, usize::MAX)),
                        _ => None,
                    }
                });
                Op::Document {
                    ns,
                    len: raw.len(),
                    offset,
                    crc_before: crc_before.clone(),
                    job,
                    crc_part,
                }
            }
            Item::BlockEnd { ns } => Op::BlockEnd { ns },
            Item::End => Op::End,
        };
        if let Some(ns) = defer_crc {
            rd.defer_crc(ns);
        }
        // A buffer retired while this item was read holds the items before it: they make a
        // segment; this item (in the reader's current buffer) starts the next one.
        if rd.has_retired() {
            rd.take_retired(false, &mut seg.bufs);
            let next = feeder.fresh(seg.seq + 1, rd);
            feeder.send(std::mem::replace(&mut seg, next))?;
            if feeder.drain(driver, in_flight_max - 1)? {
                return Ok(());
            }
        }
        match &mut op {
            Op::Header { raw } | Op::Prelude { raw, .. } | Op::BlockHeader { raw, .. } => {
                *raw = seg.copy(&small[raw.clone()]);
            }
            Op::Document { job: Some(job), .. } => {
                seg.results.push(None);
                job.2 = seg.results.len() - 1;
            }
            _ => {}
        }
        let end = matches!(op, Op::End);
        seg.ops.push((at, op));
        if end {
            rd.take_retired(true, &mut seg.bufs);
            feeder.send(seg)?;
            feeder.drain(driver, 0)?;
            return Ok(());
        }
    }
}

/// Keeps a copy of `raw` in `small` (emptied first); returns its range there.
fn stash(small: &mut Vec<u8>, raw: &[u8]) -> Range<usize> {
    small.clear();
    small.extend_from_slice(raw);
    0..raw.len()
}

/// Patches the marked documents of segments until the job channel closes; after each, notes
/// the worker's CPU time in `cpu` ([`Share`]).
fn worker<'a>(
    jobs: &Mutex<Receiver<Segment<'a>>>,
    done: mpsc::Sender<Segment<'a>>,
    anon: &'a Anonymizer,
    cpu: &AtomicU64,
) {
    let mut patcher = Patcher::new();
    loop {
        let next = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(mut seg) = next else { return };
        patch_segment(&mut seg, &mut patcher, anon);
        if let Some(ns) = thread_cpu::now_ns() {
            cpu.store(ns, Relaxed);
        }
        if done.send(seg).is_err() {
            return;
        }
    }
}

/// Patches the documents of `seg` marked for it.
fn patch_segment(seg: &mut Segment<'_>, patcher: &mut Patcher, anon: &Anonymizer) {
    let mut stack = Vec::new();
    for (index, (_, op)) in seg.ops.iter().enumerate() {
        let Op::Document {
            len, offset, job, ..
        } = op
        else {
            continue;
        };
        let doc = doc_in(&seg.bufs, *offset, *len);
        if seg.invalid.is_none() {
            if let Err(e) = validate_framed_document(doc, &mut stack) {
                seg.invalid = Some((index, e));
            }
        }
        let Some((root, ordinal, slot)) = *job else {
            continue;
        };
        let before = patcher.shadowing_keys();
        let r = patcher.patch_into(doc, root, anon, RowContext { ordinal }, &mut seg.patched);
        let shadowing = patcher.shadowing_keys() - before;
        let shadowed = if shadowing == 0 {
            Vec::new()
        } else {
            patcher.take_shadowed_rules()
        };
        seg.results[slot] = Some(r.map(|p| (p, shadowing, shadowed)));
    }
    crc_parts(seg);
}

/// Feeds a patched segment's items to the driver. Returns true at the archive's end.
fn apply<W: Write>(
    driver: &mut Driver<'_, W>,
    seg: &mut Segment<'_>,
    names: &[String],
) -> Result<bool, ArchiveError> {
    let data = &seg.data;
    let patched = &seg.patched;
    let mut parts = seg.crc_parts.iter().peekable();
    for (index, (at, op)) in seg.ops.iter().enumerate() {
        if let (Some((bad, e)), Op::Document { ns, offset, .. }) = (seg.invalid, op) {
            if bad == index {
                let name = names.get(*ns).cloned().unwrap_or_default();
                return Err(invalid_document(*offset, name, e));
            }
        }
        let (item, pre) = match op {
            Op::Header { raw } => (
                Item::Header {
                    raw: &data[raw.clone()],
                },
                None,
            ),
            Op::Prelude { index, raw, entry } => (
                Item::Prelude {
                    index: *index,
                    raw: &data[raw.clone()],
                    entry,
                },
                None,
            ),
            Op::PreludeEnd => (Item::PreludeEnd, None),
            Op::BlockHeader {
                ns,
                eof,
                raw,
                namespace,
                first,
                ..
            } => (
                Item::BlockHeader {
                    ns: *ns,
                    eof: *eof,
                    raw: &data[raw.clone()],
                    namespace,
                    first: *first,
                },
                None,
            ),
            Op::Document {
                ns,
                len,
                offset,
                crc_before,
                job,
                ..
            } => {
                let pre: Option<Precomputed<'_>> = job.and_then(|(_, _, slot)| {
                    seg.results[slot].take().map(|r| {
                        r.map(|(p, shadowing, rules)| {
                            (p.map(|range| &patched[range]), shadowing, rules)
                        })
                    })
                });
                (
                    Item::Document {
                        ns: *ns,
                        raw: doc_in(&seg.bufs, *offset, *len),
                        offset: *offset,
                        crc_before,
                    },
                    pre,
                )
            }
            Op::BlockEnd { ns } => (Item::BlockEnd { ns: *ns }, None),
            Op::End => (Item::End, None),
        };
        if driver.handle(*at, item, pre)? {
            return Ok(true);
        }
        match op {
            Op::BlockHeader {
                ns,
                first: true,
                crc_parts: true,
                ..
            } => driver.crc_by_parts(*ns, *at)?,
            Op::Document { .. } => {
                if let Some((_, ns, part)) = parts.next_if(|(last, _, _)| *last == index) {
                    driver.add_crc_part(*ns, part);
                }
            }
            _ => {}
        }
    }
    Ok(false)
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};

    use super::share::may_patch;
    use super::{in_flight, queued, run_with, Depth, Policy};
    use crate::driver::Driver;
    use crate::policy::RewriteOptions;
    use crate::reader::ArchiveReader;
    use crate::synth::{generate_vec, SynthConfig};

    /// Every document of the big collections touched (a few of `benches/rules/touched.yaml`'s
    /// rules: one or two a collection are enough to patch every document).
    const TOUCHED: &str = "
rules:
  pmInvestigator:
    fields:
      Email: hash_email
      FirstName: {transform: fake, kind: first_name}
  pmProject:
    fields:
      ContactEmail: hash_email
  pmStudy:
    fields:
      Authors.LastName: {transform: fake, kind: last_name}
  pmAuditLog:
    fields:
      UserEmail: hash_email
  asFileListing:
    fields:
      UploadedBy: hash_email
";

    fn anon() -> Anonymizer {
        let rules = RuleSet::from_yaml(TOUCHED, "touched.yaml").unwrap();
        let key = Key::from_bytes(b"parallel depth test key 0123456789").unwrap();
        Anonymizer::new(rules, KeyMode::Keyed(key)).unwrap()
    }

    /// Output bytes and the segments patched at send with `depth`.
    fn rewrite(input: &[u8], depth: Depth) -> (Vec<u8>, u64) {
        let anon = anon();
        let options = RewriteOptions::default();
        let mut out = Vec::new();
        let mut rd = ArchiveReader::new(input);
        let mut driver = Driver::new(&mut out, &anon, &options);
        let patched_here = run_with(&mut rd, &mut driver, depth).unwrap();
        driver.finish(Ok(()), rd.offset()).unwrap();
        (out, patched_here)
    }

    #[test]
    fn segments_patched_by_the_calling_thread_give_the_same_output() {
        let input = generate_vec(&SynthConfig {
            seed: 23,
            target_bytes: 4 << 20,
            ..SynthConfig::default()
        });
        let mut serial = Vec::new();
        let anon = anon();
        crate::rewrite_archive(&input[..], &mut serial, &anon, &RewriteOptions::default()).unwrap();
        let depth = |workers, in_flight, queued| Depth {
            workers,
            in_flight,
            queued,
            policy: Policy::Patch,
        };
        // No worker and no room in the queue: the calling thread patches every segment (a
        // 4 MB archive makes about 16). Then: no room in the queue (a segment goes to a
        // worker only when one is waiting for it); a single segment in flight; the default
        // depth of 2 and 4 threads.
        let (out, patched_here) = rewrite(&input, depth(0, 2, 0));
        assert!(out == serial, "no worker: output differs");
        assert!(
            patched_here >= 10,
            "{patched_here} segments patched at send"
        );
        for d in [
            depth(1, 2, 0),
            depth(2, 1, 0),
            depth(1, in_flight(2), queued(2)),
            depth(3, in_flight(4), queued(4)),
        ] {
            for policy in [Policy::Patch, Policy::Wait, Policy::ByCpu] {
                let d = Depth { policy, ..d };
                let (out, _) = rewrite(&input, d);
                assert!(out == serial, "{d:?}: output differs");
            }
        }
    }

    /// With `Policy::Wait` a full queue makes the calling thread wait for a worker, so it
    /// patches (almost) nothing at send; with `Policy::Patch` it patches whenever the queue is
    /// full: the same output either way.
    #[test]
    fn waiting_for_a_worker_instead_of_patching_gives_the_same_output() {
        let input = generate_vec(&SynthConfig {
            seed: 25,
            target_bytes: 4 << 20,
            ..SynthConfig::default()
        });
        let mut serial = Vec::new();
        let anon = anon();
        crate::rewrite_archive(&input[..], &mut serial, &anon, &RewriteOptions::default()).unwrap();
        let depth = |policy| Depth {
            workers: 1,
            in_flight: in_flight(2),
            queued: 1,
            policy,
        };
        let (waited, patched_waiting) = rewrite(&input, depth(Policy::Wait));
        let (patched, patched_patching) = rewrite(&input, depth(Policy::Patch));
        assert!(waited == serial, "waiting: output differs");
        assert!(patched == serial, "patching: output differs");
        // A 4 MB archive makes about 16 segments; waiting patches here only when no worker
        // holds one to wait for (a queue of one is full at most sends).
        assert!(
            patched_waiting < patched_patching,
            "patched at send: {patched_waiting} waiting, {patched_patching} patching"
        );
    }

    #[test]
    fn may_patch_compares_with_the_workers_average() {
        assert!(may_patch(5, [].into_iter()));
        assert!(may_patch(10, [10].into_iter()));
        assert!(!may_patch(11, [10].into_iter()));
        assert!(may_patch(15, [10, 20].into_iter()));
        assert!(!may_patch(16, [10, 20].into_iter()));
        assert!(may_patch(u64::MAX / 2, [u64::MAX, u64::MAX].into_iter()));
    }
}
