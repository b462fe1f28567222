//! Criterion benchmarks live in `benches/`; the dump generators they share with the
//! `gen-sql-dump` binary live here.

pub mod gen;
