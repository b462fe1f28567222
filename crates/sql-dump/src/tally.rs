//! Row and byte accounting per table: the summaries a run reports and the 1-based ordinal of
//! each table's last row (for `sequential` and `size_limits`). INSERT and COPY count through
//! the same methods.

use crate::TableSummary;

/// The summaries of the tables seen so far, with their row ordinals.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    summaries: Vec<TableSummary>,
    /// Row counters (the ordinal of the last row counted): one per table, shared by the
    /// tables that share rules or a limit (the partitions of a partitioned table).
    counters: Vec<u64>,
}

impl Tally {
    /// Adds a table's summary; returns its index.
    pub(crate) fn add(&mut self, summary: TableSummary) -> usize {
        self.summaries.push(summary);
        self.summaries.len() - 1
    }

    /// Adds a row counter; returns its index.
    pub(crate) fn add_counter(&mut self) -> usize {
        self.counters.push(0);
        self.counters.len() - 1
    }

    /// Rows passed (`kept`, advancing `counter`) or dropped as a whole, without looking at
    /// them. Dropped rows do not advance any counter.
    pub(crate) fn rows(&mut self, sidx: usize, rows: u64, kept: bool, counter: usize) {
        let s = &mut self.summaries[sidx];
        s.rows_in += rows;
        if kept {
            s.rows_out += rows;
            self.counters[counter] += rows;
        }
    }

    /// One row read for the row-by-row path, advancing the rules' and the limit's counters:
    /// its ordinal for the rules, and whether the limit `max_rows` keeps it (then it is
    /// counted as written).
    pub(crate) fn next_row(
        &mut self,
        sidx: usize,
        (rule_counter, limit_counter): (usize, usize),
        max_rows: Option<u64>,
    ) -> (u64, bool) {
        self.counters[rule_counter] += 1;
        if limit_counter != rule_counter {
            self.counters[limit_counter] += 1;
        }
        let ordinal = self.counters[rule_counter];
        let limit_ordinal = self.counters[limit_counter];
        let s = &mut self.summaries[sidx];
        s.rows_in += 1;
        let keep = max_rows.is_none_or(|m| limit_ordinal <= m);
        if keep {
            s.rows_out += 1;
        }
        (ordinal, keep)
    }

    /// A row [`Tally::next_row`] counted as written is dropped after all (a subset removes it).
    pub(crate) fn unkeep(&mut self, sidx: usize) {
        self.summaries[sidx].rows_out -= 1;
    }

    /// A row [`Tally::next_row`]'s limit dropped is written after all (a subset's `where`
    /// filter counts its limit over matching rows only).
    pub(crate) fn rekeep(&mut self, sidx: usize) {
        self.summaries[sidx].rows_out += 1;
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
