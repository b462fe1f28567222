//! sql-dump's public reader on arbitrary bytes (the first byte picks the dialect and the
//! read size): no panic with or without rules, every cell and literal decodes, and the
//! events do not depend on how the input is chunked.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use sql_dump::{Dialect, Event, SqlOptions, SqlReader};
use syrf_anonymize_fuzz::{empty_anonymizer, sql_anonymizer};

/// A reader that returns at most `n` bytes per read.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// A digest of every event (or the error's position): what must not depend on chunking.
fn events(input: impl Read, anon: &anonymize_core::Anonymizer, dialect: Dialect) -> Vec<String> {
    let options = SqlOptions {
        dialect: Some(dialect),
        ..SqlOptions::default()
    };
    let mut out = Vec::new();
    let mut reader = match SqlReader::new(input, anon, &options) {
        Ok(r) => r,
        Err(e) => return vec![format!("error {e}")],
    };
    let mut scratch = Vec::new();
    loop {
        let event = match reader.next_event() {
            Ok(Some(e)) => e,
            Ok(None) => return out,
            Err(e) => {
                out.push(format!("error {e}"));
                return out;
            }
        };
        out.push(match event {
            Event::Comment(c) => format!("comment {}", c.len()),
            Event::Session(s) => format!("session {s:?}"),
            Event::Table(t) => format!("table {:?} {}", t.name(), t.columns().len()),
            Event::Statement(s) => {
                let lits: Vec<usize> = s.strings().map(|l| l.decode(&mut scratch).len()).collect();
                format!("stmt {} {:?} {lits:?} {:?}", s.text().len(), s.relation(), s.namespace())
            }
            Event::Rows(r) => format!("rows {:?} {:?} {}", r.table(), r.columns(), r.offset()),
            Event::Row(r) => {
                let cells: Vec<Option<usize>> = r
                    .cells()
                    .map(|c| c.decode(&mut scratch).map(<[u8]>::len))
                    .collect();
                format!("row {} {} {} {cells:?}", r.ordinal(), r.line(), r.offset())
            }
        });
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, data)) = data.split_first() else {
        return;
    };
    let dialect = if first & 1 == 0 {
        Dialect::MySql
    } else {
        Dialect::Postgres
    };
    let size = usize::from(first >> 1) % 16 + 1;
    for anon in [empty_anonymizer(), sql_anonymizer()] {
        let whole = events(data, anon, dialect);
        let trickled = events(Trickle(data, size), anon, dialect);
        assert_eq!(whole, trickled, "events depend on the read size {size}");
    }
});
