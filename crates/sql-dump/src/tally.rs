//! Row and byte accounting per table: the summaries a run reports and the 1-based ordinal of
//! each table's last row (for `sequential` and `size_limits`). INSERT and COPY count through
//! the same methods.

use crate::TableSummary;

/// The summaries of the tables seen so far, with their row ordinals.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    summaries: Vec<TableSummary>,
    /// Rows seen per table (ordinal of the last row), indexed like `summaries`.
    ordinals: Vec<u64>,
}

impl Tally {
    /// Adds a table's summary; returns its index.
    pub(crate) fn add(&mut self, summary: TableSummary) -> usize {
        self.summaries.push(summary);
        self.ordinals.push(0);
        self.summaries.len() - 1
    }

    /// Rows passed (`kept`) or dropped as a whole, without looking at them. Dropped rows do
    /// not advance the ordinal.
    pub(crate) fn rows(&mut self, sidx: usize, rows: u64, kept: bool) {
        let s = &mut self.summaries[sidx];
        s.rows_in += rows;
        if kept {
            s.rows_out += rows;
            self.ordinals[sidx] += rows;
        }
    }

    /// One row read for the row-by-row path: its ordinal, and whether `max_rows` keeps it
    /// (then it is counted as written).
    pub(crate) fn next_row(&mut self, sidx: usize, max_rows: Option<u64>) -> (u64, bool) {
        self.ordinals[sidx] += 1;
        let ordinal = self.ordinals[sidx];
        let s = &mut self.summaries[sidx];
        s.rows_in += 1;
        let keep = max_rows.is_none_or(|m| ordinal <= m);
        if keep {
            s.rows_out += 1;
        }
        (ordinal, keep)
    }

    /// Bytes of one data statement read and written.
    pub(crate) fn bytes(&mut self, sidx: usize, read: u64, written: u64) {
        let s = &mut self.summaries[sidx];
        s.bytes_in += read;
        s.bytes_out += written;
    }

    /// The summaries, in order of first appearance.
    pub(crate) fn into_summaries(self) -> Vec<TableSummary> {
        self.summaries
    }
}
