//! Output holding: the comments and blank lines before a statement (trivia), statements held
//! back until what they belong to is known (PostgreSQL pre-data DDL, name-only `DROP`s of a
//! `--clean` preamble), and the one rule for the line a dropped statement ends: the trivia
//! before a statement starts with the rest of the previous statement's last line, which goes
//! with that statement (kept or dropped), never with the next one.

use std::io::{BufWriter, Write};

use crate::catalog::Catalog;
use crate::error::SqlError;
use crate::stmt::LateKind;
use crate::tokens::QName;

/// Bytes of pre-data DDL held back (PostgreSQL) before it is flushed regardless.
const PENDING_LIMIT: usize = 256 << 20;
/// Bytes of name-only `DROP`s held back (PostgreSQL `--clean`) until their owner is known.
const DEFERRED_LIMIT: usize = 16 << 20;
/// The output's buffer. A write at least this long (the rewritten rows of a batch from the
/// worker threads: up to about 300 KiB) goes to the output without a copy into it.
const OUT_BUFFER: usize = 64 << 10;
/// Leading comments longer than this are written out instead of held.
pub(crate) const TRIVIA_LIMIT: usize = 1 << 20;

/// What writes rows elsewhere and in input order (the worker threads of
/// [`crate::SqlOptions::threads`], in the threads layer): while it holds rows, the output's
/// own bytes queue behind them. The output layer knows no more of threads or rows than this.
pub(crate) trait Held<W: Write> {
    /// Rows are out: bytes written now must wait behind them.
    fn holding(&self) -> bool;
    /// Queues `b` behind the rows held (writing to `w` whatever is ready).
    fn literal(&mut self, b: &[u8], w: &mut W) -> Result<(), SqlError>;
    /// Writes everything held to `w`.
    fn drain(&mut self, w: &mut W) -> Result<(), SqlError>;
    /// Bytes of the rows written, in all and per table summary index.
    fn row_bytes(&self) -> (u64, Vec<u64>);
}

/// Nothing held: every byte is written as it comes (for callers that write nothing).
pub(crate) struct Direct;

impl<W: Write> Held<W> for Direct {
    fn holding(&self) -> bool {
        false
    }

    fn literal(&mut self, b: &[u8], w: &mut W) -> Result<(), SqlError> {
        w.write_all(b).map_err(SqlError::write)
    }

    fn drain(&mut self, _: &mut W) -> Result<(), SqlError> {
        Ok(())
    }

    fn row_bytes(&self) -> (u64, Vec<u64>) {
        (0, Vec::new())
    }
}

/// The output, counting bytes.
pub(crate) struct Out<W: Write, P: Held<BufWriter<W>>> {
    pub(crate) w: BufWriter<W>,
    /// Bytes written through [`Out::put`] (rows written by [`Out::held`] are counted by it:
    /// [`Held::row_bytes`]).
    pub(crate) bytes: u64,
    /// Rows are written elsewhere, in order with these bytes.
    pub(crate) held: Option<P>,
}

impl<W: Write, P: Held<BufWriter<W>>> Out<W, P> {
    /// Writes `b`.
    #[inline]
    pub(crate) fn put(&mut self, b: &[u8]) -> Result<(), SqlError> {
        self.bytes += b.len() as u64;
        match &mut self.held {
            Some(held) if held.holding() => held.literal(b, &mut self.w),
            _ => self.w.write_all(b).map_err(SqlError::write),
        }
    }

    /// Rows are written by [`Out::held`] rather than here.
    #[inline]
    pub(crate) fn pipelined(&self) -> bool {
        self.held.is_some()
    }
}

impl<W: Write, P: Held<BufWriter<W>>> Drop for Out<W, P> {
    fn drop(&mut self) {
        // Ended by an error: the rows read before it are written, as one thread writes them.
        if let Some(held) = self.held.as_mut().filter(|_| !std::thread::panicking()) {
            let _ = held.drain(&mut self.w);
        }
    }
}

/// A `DROP` that names an object but not its table (`DROP INDEX IF EXISTS public.i;` in the
/// `--clean` preamble); the table is only known from a `CREATE` after the data.
#[derive(Debug, Clone)]
pub(crate) struct LateOwner {
    /// Index or statistics.
    pub(crate) kind: LateKind,
    /// The object.
    pub(crate) name: QName,
    /// `IF EXISTS` was given.
    pub(crate) if_exists: bool,
}

/// A statement held back or about to be written.
pub(crate) struct Item {
    /// The trivia before it.
    pub(crate) trivia: Vec<u8>,
    /// Length of the part of `trivia` that ends the previous statement's line.
    pub(crate) tail: usize,
    /// The statement.
    pub(crate) body: Vec<u8>,
    /// The relation it belongs to.
    pub(crate) owner: Option<QName>,
    /// The owner is a table (for `collections` selection), not a sequence or view.
    pub(crate) owner_is_table: bool,
    /// A name-only `DROP` whose owner was not known when it was read.
    pub(crate) late: Option<LateOwner>,
    /// Dropped whatever its owner (credentials).
    pub(crate) dropped: bool,
    /// Relations it cannot restore without (dropped with any of them that is excluded).
    pub(crate) refs: Vec<QName>,
}

/// The output side of a rewrite.
pub(crate) struct Emitter<W: Write, P: Held<BufWriter<W>>> {
    /// The output.
    pub(crate) out: Out<W, P>,
    trivia: Vec<u8>,
    trivia_tail: Option<usize>,
    /// The last statement was dropped: the next trivia's first line went with it.
    prev_dropped: bool,
    pending: Option<Vec<Item>>,
    pending_bytes: usize,
    /// Name-only `DROP`s held back until a later `CREATE` tells their table.
    deferred: Vec<Item>,
    deferred_bytes: usize,
    /// Held-back `DROP`s of kept tables, written before the next statement.
    released: Vec<Item>,
}

impl<W: Write, P: Held<BufWriter<W>>> Emitter<W, P> {
    /// An emitter; `hold`: hold pre-data DDL until the first data statement; `held`: rows
    /// are written elsewhere, in order ([`Held`]).
    pub(crate) fn new(output: W, hold: bool, held: Option<P>) -> Self {
        Emitter {
            out: Out {
                w: BufWriter::with_capacity(OUT_BUFFER, output),
                bytes: 0,
                held,
            },
            trivia: Vec::new(),
            trivia_tail: None,
            prev_dropped: false,
            pending: hold.then(Vec::new),
            pending_bytes: 0,
            deferred: Vec::new(),
            deferred_bytes: 0,
            released: Vec::new(),
        }
    }

    // ----- the trailing-line rule -------------------------------------------------

    /// Writes a kept statement's trivia (without its first line when the previous statement
    /// was dropped).
    pub(crate) fn keep(&mut self, trivia: &[u8], tail: usize) -> Result<(), SqlError> {
        let from = if self.prev_dropped {
            tail.min(trivia.len())
        } else {
            0
        };
        self.out.put(&trivia[from..])?;
        self.prev_dropped = false;
        Ok(())
    }

    /// Drops a statement with its trivia, writing only the end of the previous statement's
    /// line (unless that statement was dropped too).
    pub(crate) fn drop(&mut self, trivia: &[u8], tail: usize) -> Result<(), SqlError> {
        if !self.prev_dropped {
            self.out.put(&trivia[..tail.min(trivia.len())])?;
        }
        self.prev_dropped = true;
        Ok(())
    }

    // ----- trivia ------------------------------------------------------------------

    /// Adds bytes read between statements.
    pub(crate) fn add_trivia(&mut self, bytes: &[u8]) {
        let start = self.trivia.len();
        self.trivia.extend_from_slice(bytes);
        if self.trivia_tail.is_none() {
            if let Some(k) = memchr::memchr(b'\n', &self.trivia[start..]) {
                self.trivia_tail = Some(start + k + 1);
            }
        }
    }

    /// Bytes of trivia held.
    pub(crate) fn trivia_len(&self) -> usize {
        self.trivia.len()
    }

    /// Takes the held trivia for a statement: `(trivia, tail)`.
    pub(crate) fn statement_trivia(&mut self) -> (Vec<u8>, usize) {
        let trivia = std::mem::take(&mut self.trivia);
        let tail = self.trivia_tail.take().unwrap_or(trivia.len());
        (trivia, tail)
    }

    /// Gives a statement's trivia buffer back once written, so that the next statement's
    /// trivia does not allocate.
    pub(crate) fn recycle_trivia(&mut self, mut trivia: Vec<u8>) {
        if self.trivia.is_empty() {
            trivia.clear();
            self.trivia = trivia;
        }
    }

    /// Writes the held trivia now (it can no longer be dropped with the next statement).
    pub(crate) fn flush_trivia(&mut self, cat: &mut Catalog<'_>) -> Result<(), SqlError> {
        let (trivia, tail) = self.statement_trivia();
        if self.pending.is_some() {
            let item = Item {
                tail,
                trivia,
                body: Vec::new(),
                owner: None,
                owner_is_table: false,
                late: None,
                dropped: false,
                refs: Vec::new(),
            };
            return self.emit(item, cat);
        }
        self.keep(&trivia, tail)
    }

    // ----- statements --------------------------------------------------------------

    /// Emits a statement: held while pre-data DDL is held, else written or dropped.
    pub(crate) fn emit(&mut self, item: Item, cat: &mut Catalog<'_>) -> Result<(), SqlError> {
        if let Some(pending) = &mut self.pending {
            self.pending_bytes += item.trivia.len() + item.body.len();
            pending.push(item);
            if self.pending_bytes > PENDING_LIMIT {
                self.flush_pending(cat)?;
            }
            return Ok(());
        }
        cat.apply_derivations();
        self.write_item(item, cat)
    }

    /// Writes (or drops) the held pre-data DDL, and stops holding.
    pub(crate) fn flush_pending(&mut self, cat: &mut Catalog<'_>) -> Result<(), SqlError> {
        let Some(items) = self.pending.take() else {
            return Ok(());
        };
        cat.apply_derivations();
        for item in items {
            self.write_item(item, cat)?;
        }
        Ok(())
    }

    /// Writes or drops one statement, by its owner.
    pub(crate) fn write_item(
        &mut self,
        mut item: Item,
        cat: &mut Catalog<'_>,
    ) -> Result<(), SqlError> {
        self.write_released(&item.trivia, item.tail)?;
        if item.owner.is_none() {
            if let Some(late) = &item.late {
                match cat.owner_of(late.kind, &late.name) {
                    Some(table) => {
                        item.owner = Some(table.clone());
                        item.owner_is_table = true;
                    }
                    None => {
                        if self.deferred_bytes + item.body.len() <= DEFERRED_LIMIT
                            && cat.any_excluded_table()
                        {
                            // Its table is told after the data: hold it back until then.
                            self.drop(&item.trivia, item.tail)?;
                            self.deferred_bytes += item.body.len();
                            item.trivia = Vec::new();
                            item.tail = 0;
                            self.deferred.push(item);
                            return Ok(());
                        }
                    }
                }
            }
        }
        let mut drop = item.dropped
            || match &item.owner {
                Some(q) => cat.is_excluded(q, item.owner_is_table),
                None => false,
            };
        if !drop {
            if let Some(r) = item.refs.iter().find(|r| cat.is_excluded(r, true)) {
                let owner = item.owner.as_ref().map_or_else(String::new, QName::display);
                cat.dependents_dropped.push(format!(
                    "{owner}: a constraint, rule, trigger or policy referencing excluded {}",
                    r.display()
                ));
                drop = true;
            }
        }
        if drop {
            self.drop(&item.trivia, item.tail)
        } else {
            self.keep(&item.trivia, item.tail)?;
            self.out.put(&item.body)
        }
    }

    /// A `CREATE` told the table of `name`: a `DROP` held back for it is discarded when the
    /// table is excluded, else released to be written before the next statement (a plain
    /// `DROP INDEX` is discarded too when the table's own `DROP TABLE` already removed the
    /// index: written this late it would fail on the missing index).
    pub(crate) fn resolve_deferred(
        &mut self,
        kind: LateKind,
        name: &QName,
        table: &QName,
        cat: &mut Catalog<'_>,
    ) {
        let Some(k) = self.deferred.iter().position(|d| {
            d.late
                .as_ref()
                .is_some_and(|l| l.kind == kind && l.name == *name)
        }) else {
            return;
        };
        let item = self.deferred.remove(k);
        self.deferred_bytes -= item.body.len();
        let if_exists = item.late.as_ref().is_some_and(|l| l.if_exists);
        if cat.is_excluded(table, true) || (!if_exists && cat.was_dropped(table)) {
            return;
        }
        self.released.push(item);
    }

    /// Writes the released `DROP`s before a statement whose trivia is `trivia`.
    fn write_released(&mut self, trivia: &[u8], tail: usize) -> Result<(), SqlError> {
        if self.released.is_empty() {
            return Ok(());
        }
        if !self.prev_dropped {
            let end = &trivia[..tail.min(trivia.len())];
            self.out.put(end)?;
            if !end.ends_with(b"\n") {
                self.out.put(b"\n")?;
            }
        }
        for item in std::mem::take(&mut self.released) {
            self.out.put(&item.body)?;
            self.out.put(b"\n")?;
        }
        self.prev_dropped = true;
        Ok(())
    }

    /// Ends the output: held statements, the last trivia, the flush. Returns bytes written
    /// and, per table summary index, the bytes of rows rewritten on worker threads (not
    /// counted by [`Out::bytes`]).
    pub(crate) fn finish(mut self, cat: &mut Catalog<'_>) -> Result<(u64, Vec<u64>), SqlError> {
        self.flush_pending(cat)?;
        let (trivia, tail) = self.statement_trivia();
        // Held-back DROPs whose object the dump never created: written where they are known
        // to be no one's, at the end.
        self.released.append(&mut self.deferred);
        self.write_released(&trivia, tail)?;
        self.keep(&trivia, tail)?;
        let (mut bytes, mut per_table) = (self.out.bytes, Vec::new());
        if let Some(held) = &mut self.out.held {
            held.drain(&mut self.out.w)?;
            let (rows, tables) = held.row_bytes();
            bytes += rows;
            per_table = tables;
        }
        self.out.w.flush().map_err(SqlError::write)?;
        Ok((bytes, per_table))
    }
}
