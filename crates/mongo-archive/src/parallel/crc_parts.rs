//! The CRC-64 parts a worker computes for a segment ([`crc_parts`]): per namespace whose CRCs
//! are computed in parts, of its documents' input bytes and of the bytes the driver writes
//! for them, joined in order by the driver.

use std::ops::Range;

use super::{doc_in, Op, Segment};
use crate::crc::{crc64_shift, Crc64};
use crate::driver::CrcPart;

/// Computes the segment's CRC parts: one per namespace whose CRCs are computed in parts, over
/// all of its documents in the segment (after they were patched), given to the driver after
/// the last of them. One part a namespace and segment, not one a run of consecutive
/// documents: a part costs two [`crc64_shift`]s here and a combine on the calling thread, and
/// runs end at every block (about 14 KB in a generated archive), so that per-run parts spent
/// more on shifts than on hashing (docs/performance.md, branch mongo25).
pub(super) fn crc_parts(seg: &mut Segment<'_>) {
    let mut parts: Vec<NsPart> = Vec::new();
    for (index, (_, op)) in seg.ops.iter().enumerate() {
        let Op::Document {
            ns,
            len,
            offset,
            crc_part: true,
            ..
        } = op
        else {
            continue;
        };
        let at = match parts.iter().position(|p| p.ns == *ns) {
            Some(at) => at,
            None => {
                parts.push(NsPart::new(*ns));
                parts.len() - 1
            }
        };
        let part = &mut parts[at];
        let input = *offset..*offset + *len as u64;
        match patched_range(seg, op) {
            Some(range) => part.add_patched(seg, input, range),
            None => part.add_unchanged(seg, input),
        }
        part.last = index;
    }
    let mut done: Vec<(usize, usize, CrcPart)> = parts
        .into_iter()
        .map(|p| (p.last, p.ns, p.finish(seg)))
        .collect();
    // The driver takes them in the order of their last documents.
    done.sort_unstable_by_key(|(last, _, _)| *last);
    seg.crc_parts = done;
}

/// The range of a patched document's bytes in the segment's `patched` (`None`: not patched,
/// written as read).
fn patched_range(seg: &Segment<'_>, op: &Op<'_>) -> Option<Range<usize>> {
    match op {
        Op::Document {
            job: Some((_, _, slot)),
            ..
        } => match seg.results.get(*slot) {
            Some(Some(Ok((Some(range), _, _)))) => Some(range.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// One namespace's CRC part over a segment, being built: stretches of bytes lying end to end
/// are hashed in one update each.
struct NsPart {
    ns: usize,
    /// The index in the segment's ops of its last document so far.
    last: usize,
    crc_in: Crc64,
    len_in: u64,
    /// Input bytes not hashed yet (offsets).
    pending_in: Option<OutRun>,
    /// Once a document changed: the output's CRC and length so far, and its bytes not hashed
    /// yet. Until then the output is the input.
    out: Option<(Crc64, u64, Option<OutRun>)>,
}

impl NsPart {
    fn new(ns: usize) -> NsPart {
        NsPart {
            ns,
            last: 0,
            crc_in: Crc64::new(),
            len_in: 0,
            pending_in: None,
            out: None,
        }
    }

    /// A document written as read (input offsets `input`).
    fn add_unchanged(&mut self, seg: &Segment<'_>, input: Range<u64>) {
        push_run(
            seg,
            &mut self.pending_in,
            OutRun::Input(input.clone()),
            &mut self.crc_in,
            &mut self.len_in,
        );
        if let Some((crc, len, pending)) = &mut self.out {
            push_run(seg, pending, OutRun::Input(input), crc, len);
        }
    }

    /// A patched document (input offsets `input`, output `patched` in the segment's buffer).
    fn add_patched(&mut self, seg: &Segment<'_>, input: Range<u64>, patched: Range<usize>) {
        if self.out.is_none() {
            // The output so far is the input so far: start from its CRC.
            hash_run(
                seg,
                self.pending_in.take(),
                &mut self.crc_in,
                &mut self.len_in,
            );
            self.out = Some((self.crc_in.clone(), self.len_in, None));
        }
        push_run(
            seg,
            &mut self.pending_in,
            OutRun::Input(input),
            &mut self.crc_in,
            &mut self.len_in,
        );
        if let Some((crc, len, pending)) = &mut self.out {
            push_run(seg, pending, OutRun::Patched(patched), crc, len);
        }
    }

    /// The part: both CRCs with their shifts.
    fn finish(mut self, seg: &Segment<'_>) -> CrcPart {
        hash_run(
            seg,
            self.pending_in.take(),
            &mut self.crc_in,
            &mut self.len_in,
        );
        let (crc_in, shift_in) = (self.crc_in.value(), crc64_shift(self.len_in));
        match self.out {
            None => CrcPart {
                crc_in,
                shift_in,
                crc_out: crc_in,
                shift_out: shift_in,
                changed: false,
            },
            Some((mut crc, mut len, pending)) => {
                hash_run(seg, pending, &mut crc, &mut len);
                CrcPart {
                    crc_in,
                    shift_in,
                    crc_out: crc.value(),
                    shift_out: crc64_shift(len),
                    changed: true,
                }
            }
        }
    }
}

/// Appends `next` to the stretch `pending` when its bytes follow on in the same buffer;
/// otherwise hashes `pending` into `crc` (adding its length to `len`) and starts over with
/// `next`.
fn push_run(
    seg: &Segment<'_>,
    pending: &mut Option<OutRun>,
    next: OutRun,
    crc: &mut Crc64,
    len: &mut u64,
) {
    *pending = match pending.take() {
        None => Some(next),
        Some(run) => match run.join(next, seg) {
            Ok(joined) => Some(joined),
            Err((run, next)) => {
                hash_run(seg, Some(run), crc, len);
                Some(next)
            }
        },
    };
}

/// Hashes the bytes of `run` (if any) into `crc`, adding their length to `len`.
fn hash_run(seg: &Segment<'_>, run: Option<OutRun>, crc: &mut Crc64, len: &mut u64) {
    if let Some(run) = run {
        let bytes = run.bytes(seg);
        crc.update(bytes);
        *len += bytes.len() as u64;
    }
}

/// True when the input bytes at offsets `bytes` lie in one of `seg`'s buffers.
fn in_one_buffer(seg: &Segment<'_>, bytes: Range<u64>) -> bool {
    let len = bytes.end - bytes.start;
    doc_in(&seg.bufs, bytes.start, len as usize).len() as u64 == len
}

/// The bytes of consecutive documents that lie end to end: patched documents (a range of the
/// segment's `patched`), or documents as read (input offsets).
enum OutRun {
    Patched(Range<usize>),
    Input(Range<u64>),
}

impl OutRun {
    /// `self` followed by `next` as one run when `next`'s bytes start where `self`'s end in
    /// the same buffer of `seg`; else both back.
    fn join(self, next: OutRun, seg: &Segment<'_>) -> Result<OutRun, (OutRun, OutRun)> {
        match (self, next) {
            (OutRun::Patched(a), OutRun::Patched(b)) if a.end == b.start => {
                Ok(OutRun::Patched(a.start..b.end))
            }
            (OutRun::Input(a), OutRun::Input(b))
                if a.end == b.start && in_one_buffer(seg, a.start..b.end) =>
            {
                Ok(OutRun::Input(a.start..b.end))
            }
            (a, b) => Err((a, b)),
        }
    }

    /// The run's bytes in `seg`.
    fn bytes<'s>(&self, seg: &'s Segment<'_>) -> &'s [u8] {
        match self {
            OutRun::Patched(r) => &seg.patched[r.clone()],
            OutRun::Input(r) => doc_in(&seg.bufs, r.start, (r.end - r.start) as usize),
        }
    }
}
