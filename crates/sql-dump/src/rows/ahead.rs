//! One thread's look-ahead over the rows of a data statement: while a row is rewritten, the
//! next one (when it is whole in the input buffer) is split and its memo entries are
//! prefetched, as the pipe's batches do with `--threads 2` and more; its spans then serve
//! it. Only a hint for the memo and a split done early: a row is taken from here only when
//! it starts at the input offset recorded with it, so the bytes are the ones split, and
//! outputs do not depend on it (docs/performance.md, branch row26).

use anonymize_core::MemoSlots;

use super::job::RowJob;

/// Rows between two asks of where the memo tables of the prefetched columns are (they move
/// as they grow, and switch off and on).
const REFRESH: u32 = 1024;

/// No row held.
const NONE: u64 = u64::MAX;

/// The next row, split ahead.
pub(super) struct Ahead {
    /// Absolute input offset of the row held ([`NONE`]: none).
    at: u64,
    /// The row's length (its line end included for COPY, its `)` for a tuple).
    len: usize,
    spans: Vec<(usize, usize)>,
    /// The columns prefetched and where their memo tables are
    /// ([`RowJob::prefetch_columns`]), asked every [`REFRESH`] rows.
    columns: Vec<(usize, MemoSlots)>,
    rows: u32,
}

impl Default for Ahead {
    fn default() -> Self {
        Ahead {
            at: NONE,
            len: 0,
            spans: Vec::new(),
            columns: Vec::new(),
            rows: 0,
        }
    }
}

impl Ahead {
    /// The length of the row starting at input offset `at` when it was split ahead, its
    /// spans swapped into `spans`; `None` (and `spans` untouched) otherwise. Either way
    /// nothing is held afterwards.
    pub(super) fn take(&mut self, at: u64, spans: &mut Vec<(usize, usize)>) -> Option<usize> {
        let held = std::mem::replace(&mut self.at, NONE);
        (held == at && held != NONE).then(|| {
            std::mem::swap(spans, &mut self.spans);
            self.len
        })
    }

    /// Before `job` rewrites the current row: when a column's memo table is on, `split`
    /// finds the next row's length and spans (`None`: not whole in the buffer, or not
    /// plain), the row is held as starting at input offset `at`, and its entries are
    /// prefetched (`row` gives its bytes from its length).
    pub(super) fn look<'r>(
        &mut self,
        job: &RowJob<'_, '_>,
        at: u64,
        split: impl FnOnce(&mut Vec<(usize, usize)>) -> Option<usize>,
        row: impl FnOnce(usize) -> &'r [u8],
    ) {
        if self.rows.is_multiple_of(REFRESH) {
            self.columns = job.prefetch_columns();
        }
        self.rows = self.rows.wrapping_add(1);
        if self.columns.is_empty() {
            return;
        }
        let Some(len) = split(&mut self.spans) else {
            return;
        };
        (self.at, self.len) = (at, len);
        job.prefetch(&self.columns, row(len), &self.spans);
    }
}
