//! One table data file per worker for directory archives (`pg_dump -Fd`, and tar archives
//! unpacked into a directory) when [`crate::SqlOptions::threads`] is above 1.
//!
//! A directory archive's table data files are independent, so they are rewritten on N
//! worker threads, largest first. Each worker runs the very statement loop of a sequential
//! run ([`super::run`]) over the archive's SQL cut short: the pre-data definitions (so its
//! catalog knows the tables, columns, exclusions, partitions and search path exactly as the
//! sequential run does when the data starts), then the data files it takes from a shared
//! queue, in the order it takes them, then an end marker. Its output is cut at the markers by
//! the same [`super::split`], which writes each table's data file into the output
//! directory. Meanwhile the calling thread runs the whole archive without those data files
//! (definitions, large objects, post-data), which decides the TOC; the workers' per-entry
//! results are then put in place of the entries they rewrote, so [`super::decide`] sees what a
//! sequential run would have left.
//!
//! Tables that share row counters (a limit or a `sequential` ordinal counted over a
//! partitioned or inheritance parent) form one unit of work, rewritten by one worker in TOC
//! order, so their counts run as in a sequential run: a TOC entry `TABLE ATTACH`, or a
//! `TABLE` whose definition says `PARTITION OF` or `INHERITS`, joins the tables it depends
//! on. Output is therefore byte-identical to one thread's; tests compare them.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use anonymize_core::Anonymizer;

use super::toc::{Entry, Header, Rd};
use super::{split::Out, PgArchiveError, Run};
use crate::{SqlOptions, SqlSummary};

/// Which data files a feed reads.
pub(crate) enum Share {
    /// Every one (a sequential run).
    All,
    /// Every one but those marked (the workers').
    AllBut(Arc<[bool]>),
    /// A worker's: what it takes from the queue.
    Worker(WorkerQueue),
}

/// The units of work (lists of data entries) shared by the workers.
struct Units {
    list: Vec<Vec<usize>>,
    next: AtomicUsize,
    stop: AtomicBool,
}

/// A worker's end of the queue.
pub(crate) struct WorkerQueue {
    units: Arc<Units>,
    pending: VecDeque<usize>,
}

impl WorkerQueue {
    /// The next data entry this worker rewrites, `None` when the queue is empty or the run
    /// failed elsewhere.
    pub(crate) fn next(&mut self) -> Option<usize> {
        loop {
            if let Some(i) = self.pending.pop_front() {
                return Some(i);
            }
            if self.units.stop.load(Ordering::Relaxed) {
                return None;
            }
            let u = self.units.next.fetch_add(1, Ordering::Relaxed);
            self.pending.extend(self.units.list.get(u)?.iter().copied());
        }
    }
}

/// Disjoint sets over entry indices.
struct Sets(Vec<usize>);

impl Sets {
    fn find(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0[a.max(b)] = a.min(b);
        }
    }
}

/// The table data entries grouped into units of work (tables sharing row counters
/// together, in TOC order), largest unit first (by the data files' sizes in `dir`).
pub(crate) fn units(entries: &[Entry], dir: &Path) -> Vec<Vec<usize>> {
    let by_id: HashMap<Vec<u8>, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.dump_id.to_string().into_bytes(), i))
        .collect();
    let tables_of = |e: &Entry| -> Vec<usize> {
        e.deps
            .iter()
            .filter_map(|d| by_id.get(d).copied())
            .filter(|&i| entries[i].is("TABLE"))
            .collect()
    };
    let mut sets = Sets((0..entries.len()).collect());
    let has = |e: &Entry, word: &[u8]| {
        memchr::memmem::find(e.defn.as_deref().unwrap_or_default(), word).is_some()
    };
    for (i, e) in entries.iter().enumerate() {
        let linked = e.is("TABLE ATTACH")
            || (e.is("TABLE") && (has(e, b"PARTITION OF") || has(e, b"INHERITS")));
        if linked {
            for t in tables_of(e) {
                sets.union(i, t);
            }
        }
    }
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if !e.has_data() || e.is("BLOBS") {
            continue;
        }
        let root = match tables_of(e).first() {
            Some(&t) => sets.find(t),
            None => i,
        };
        let g = *group_of.entry(root).or_insert_with(|| {
            groups.push((root, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(i);
    }
    let size = |i: usize| -> u64 {
        let Ok(name) = entries[i].file_name() else {
            return 0;
        };
        [format!("{name}.gz"), name.to_owned()]
            .iter()
            .find_map(|n| std::fs::metadata(dir.join(n)).ok())
            .map_or(0, |m| m.len())
    };
    let mut sized: Vec<(u64, Vec<usize>)> = groups
        .into_iter()
        .map(|(_, g)| (g.iter().map(|&i| size(i)).sum(), g))
        .collect();
    // Largest first; equal sizes in TOC order (the sort is stable).
    sized.sort_by_key(|s| std::cmp::Reverse(s.0));
    sized.into_iter().map(|(_, g)| g).collect()
}

/// Whether a worker touched this entry's result.
fn touched(o: &Out) -> bool {
    o.seen || o.has_rows || o.block.is_some() || !o.text.is_empty() || o.terminators > 0
}

/// Runs a directory archive's statement loop with its table data files on
/// `options.threads` workers (see the module documentation); one thread, or a single unit of
/// work, runs sequentially.
pub(crate) fn run_directory<R: io::Read>(
    rd: Rd<R>,
    header: &Header,
    entries: &[Entry],
    anon: &Anonymizer,
    options: &SqlOptions,
    input: &Path,
    out: &Path,
) -> Result<Run, PgArchiveError> {
    let list = units(entries, input);
    let workers = options.threads.min(list.len());
    let dirs = Some((input, out));
    if workers <= 1 {
        return super::run(rd, header, entries, anon, options, dirs, Share::All);
    }
    let mut skip = vec![false; entries.len()];
    for &i in list.iter().flatten() {
        skip[i] = true;
    }
    let skip: Arc<[bool]> = skip.into();
    let units = Arc::new(Units {
        list,
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
    });
    let mut one = options.clone();
    one.threads = 1;
    let one = &one;
    let (main, done) = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for k in 0..workers {
            let queue = WorkerQueue {
                units: units.clone(),
                pending: VecDeque::new(),
            };
            let stop = units.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("pg-dir-file-{k}"))
                .spawn_scoped(s, move || {
                    let empty = Rd::new(io::empty());
                    let r = super::run(
                        empty,
                        header,
                        entries,
                        anon,
                        one,
                        dirs,
                        Share::Worker(queue),
                    );
                    if r.is_err() {
                        stop.stop.store(true, Ordering::Relaxed);
                    }
                    r
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(source) => {
                    units.stop.store(true, Ordering::Relaxed);
                    handles.clear();
                    return (Err(PgArchiveError::Write { source }), Vec::new());
                }
            }
        }
        let main = super::run(
            rd,
            header,
            entries,
            anon,
            one,
            dirs,
            Share::AllBut(skip.clone()),
        );
        if main.is_err() {
            units.stop.store(true, Ordering::Relaxed);
        }
        let done: Vec<Result<Run, PgArchiveError>> = handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(PgArchiveError::Format {
                        offset: 0,
                        message: "internal: a data file worker panicked".into(),
                    })
                })
            })
            .collect();
        (main, done)
    });
    let mut run = main?;
    let mut done = done.into_iter().collect::<Result<Vec<Run>, _>>()?;
    for (i, _) in skip.iter().enumerate().filter(|(_, &s)| s) {
        if let Some(w) = done.iter_mut().find(|w| touched(&w.outs[i])) {
            run.outs[i] = std::mem::take(&mut w.outs[i]);
        }
    }
    for w in done {
        merge(&mut run.sql, w.sql);
    }
    order_tables(&mut run.sql, entries);
    Ok(run)
}

/// Adds a worker's tables and findings (its replayed definitions' findings are the main
/// run's too, so lines already there are not repeated; large objects are the main run's).
fn merge(main: &mut SqlSummary, w: SqlSummary) {
    for t in &w.tables {
        main.bytes_in += t.bytes_in;
        main.bytes_out += t.bytes_out;
    }
    main.tables.extend(w.tables);
    let add = |to: &mut Vec<String>, from: Vec<String>| {
        for line in from {
            if !to.contains(&line) {
                to.push(line);
            }
        }
    };
    add(&mut main.credentials, w.credentials);
    add(&mut main.dependents, w.dependents);
    add(&mut main.undefined_tables, w.undefined_tables);
}

/// Puts the tables in the TOC order of their data entries, as a sequential run lists them.
fn order_tables(sql: &mut SqlSummary, entries: &[Entry]) {
    let at: HashMap<String, usize> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.has_data())
        .map(|(i, e)| (e.name(), i))
        .collect();
    sql.tables
        .sort_by_key(|t| at.get(&t.table).copied().unwrap_or(usize::MAX));
}
