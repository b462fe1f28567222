//! Directory archives (`pg_dump -Fd`) rewritten with one table data file per worker
//! (`SqlOptions::threads` above 1): made by the real `pg_dump`, the output compared byte for
//! byte (every file, `toc.dat` too) with one thread's, gzip and uncompressed, with a size
//! limit and a `sequential` ordinal counted over a partitioned table's partitions and an
//! inheritance parent's children (one unit of work), restored with the real `pg_restore -j
//! 2`; a damaged data file is refused naming its table, and nothing is left behind.
//!
//! Run with `./scripts/test` (these tests are `#[ignore]`d for plain `cargo test`).

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;

use support::{anonymizer, assert_absent, Pg};

const AWKWARD: &str = include_str!("support/pg_awkward.sql");

/// Partitions and children whose parent's limit and `sequential` ordinal count across them,
/// and a few independent tables of different sizes.
const MORE: &str = r#"
CREATE TABLE public.measures (id int, city text, who text) PARTITION BY RANGE (id);
CREATE TABLE public.measures_a PARTITION OF public.measures FOR VALUES FROM (0) TO (100);
CREATE TABLE public.measures_b PARTITION OF public.measures FOR VALUES FROM (100) TO (200);
CREATE TABLE public.measures_c PARTITION OF public.measures FOR VALUES FROM (200) TO (300);
INSERT INTO public.measures SELECT g, 'city' || g, 'who' || g || '@example.org' FROM generate_series(0, 299) g;
CREATE TABLE public.notes (id int, author text);
CREATE TABLE public.notes_2024 () INHERITS (public.notes);
CREATE TABLE public.notes_2025 () INHERITS (public.notes);
INSERT INTO public.notes_2024 SELECT g, 'author' || g FROM generate_series(1, 40) g;
INSERT INTO public.notes_2025 SELECT g, 'author' || g FROM generate_series(41, 90) g;
CREATE TABLE public.big (id int PRIMARY KEY, email text, payload text);
INSERT INTO public.big SELECT g, 'big' || g || '@example.org', repeat(md5(g::text), 20) FROM generate_series(1, 20000) g;
CREATE TABLE public.mid (id int PRIMARY KEY, email text);
INSERT INTO public.mid SELECT g, 'mid' || g || '@example.org' FROM generate_series(1, 3000) g;
CREATE TABLE public.small (id int PRIMARY KEY, email text);
INSERT INTO public.small SELECT g, 'small' || g || '@example.org' FROM generate_series(1, 10) g;
"#;

const RULES: &str = r#"
rules:
  users:
    fields:
      email: {transform: hash_email}
      name: {transform: fake, kind: name}
      api_secret: {transform: null}
  public.orders:
    fields:
      customer_email: {transform: hash_email}
      meta.customer.email: {transform: hash_email}
      meta.customer.name: {transform: mask, keep_start: 1}
  crm.Contact Book:
    columns:
      E-mail: {transform: hash_email}
  public.measures:
    columns:
      who: {transform: hash_email}
      city: {transform: sequential}
  public.notes:
    columns:
      author: {transform: sequential}
  public.big:
    columns:
      email: {transform: hash_email}
  public.mid:
    columns:
      email: {transform: hash_email}
  public.small:
    columns:
      email: {transform: hash_email}
exclusions:
  - audit_log
schema_only:
  - public.sessions
size_limits:
  events:
    max_rows: 3
  public.measures:
    max_rows: 150
  public.notes:
    max_rows: 60
"#;

fn restore_directory(pg: &Pg, db: &str, dir: &Path) {
    pg.fresh_db(db);
    let out = pg
        .command("pg_restore")
        .args(["--no-password", "--exit-on-error", "-j", "2"])
        .arg(format!("--dbname={db}"))
        .arg(dir)
        .output()
        .expect("pg_restore runs");
    assert!(
        out.status.success(),
        "pg_restore -j 2 into {db} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file of a directory, by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("listed")
        .map(|f| {
            let p = f.expect("entry").path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read"))
        })
        .collect()
}

fn rewrite(input: &Path, output: &Path, threads: usize) -> sql_dump::PgArchiveSummary {
    let anon = anonymizer(RULES, "test-rules.yaml");
    let options = sql_dump::SqlOptions {
        threads,
        ..Default::default()
    };
    sql_dump::rewrite_pg_directory(input, output, &anon, &options)
        .unwrap_or_else(|e| panic!("{threads} threads: the directory archive was refused: {e}"))
}

#[test]
#[ignore = "needs PostgreSQL: run with ./scripts/test"]
fn one_file_per_worker_equals_one_thread_byte_for_byte() {
    let pg = Pg::from_env();
    let src = "dir24par_src";
    pg.fresh_db(src);
    pg.exec(src, AWKWARD);
    pg.exec(src, MORE);
    let tmp = tempfile::tempdir().expect("temp dir");
    for (case, args) in [("gz", &["-j", "2"][..]), ("plain", &["--compress=0"][..])] {
        let input = tmp.path().join(format!("in-{case}"));
        pg.dump_directory(src, &input, args);
        let one_dir = tmp.path().join(format!("one-{case}"));
        let one = rewrite(&input, &one_dir, 1);
        let expected = files(&one_dir);
        assert!(
            expected.len() > 8,
            "{case}: the dump has several data files"
        );
        for threads in [2, 3, 16] {
            let out = tmp.path().join(format!("t{threads}-{case}"));
            let many = rewrite(&input, &out, threads);
            let got = files(&out);
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                expected.keys().collect::<Vec<_>>(),
                "{case}, {threads} threads: the same files"
            );
            for (name, bytes) in &expected {
                assert!(
                    got[name] == *bytes,
                    "{case}, {threads} threads: {name} differs from one thread's"
                );
            }
            // The same tables, in order, with the same rows (their byte counts may differ by
            // the line ends between entries, which are attributed to the table before them).
            let rows = |s: &sql_dump::PgArchiveSummary| {
                s.sql
                    .tables
                    .iter()
                    .map(|t| {
                        (
                            t.table.clone(),
                            t.rows_in,
                            t.rows_out,
                            t.excluded,
                            t.schema_only,
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(rows(&many), rows(&one), "{case}: the same tables");
            assert_eq!(many.sql.dependents, one.sql.dependents);
            assert_eq!(many.sql.credentials, one.sql.credentials);
            assert_eq!(many.entries_dropped, one.entries_dropped);
            assert_eq!(many.sql.large_objects, one.sql.large_objects);
        }
        // No original address in any output file.
        let out = tmp.path().join(format!("t2-{case}"));
        let mut all = Vec::new();
        for (name, bytes) in files(&out) {
            if name.ends_with(".gz") {
                let mut d = flate2::read::MultiGzDecoder::new(&bytes[..]);
                std::io::Read::read_to_end(&mut d, &mut all).expect("gunzip");
            } else {
                all.extend(bytes);
            }
        }
        let originals: Vec<String> = [
            "big7@example.org",
            "mid2999@example.org",
            "who150@example.org",
        ]
        .map(String::from)
        .to_vec();
        assert_absent(&all, &originals, case);
        // It restores, and the limits and ordinals counted over the partitions and children.
        let dst = format!("dir24par_dst_{case}");
        restore_directory(&pg, &dst, &out);
        let one_value = |sql: &str| pg.query(&dst, sql)[0][0].clone();
        assert_eq!(one_value("SELECT count(*) FROM public.measures"), "150");
        assert_eq!(
            one_value("SELECT count(DISTINCT city) FROM public.measures"),
            "150",
            "sequential ordinals run on across partitions"
        );
        assert_eq!(one_value("SELECT count(*) FROM public.notes"), "60");
        assert_eq!(
            one_value("SELECT count(DISTINCT author) FROM public.notes"),
            "60"
        );
        assert_eq!(one_value("SELECT count(*) FROM public.big"), "20000");
        assert_eq!(
            one_value("SELECT count(*) FROM public.big WHERE email LIKE 'big%'"),
            "0"
        );
        assert_eq!(one_value("SELECT count(*) FROM public.events"), "3");
    }
}

#[test]
#[ignore = "needs PostgreSQL: run with ./scripts/test"]
fn a_damaged_data_file_on_a_worker_names_its_table_and_leaves_nothing() {
    let pg = Pg::from_env();
    let src = "dir24par_bad";
    pg.fresh_db(src);
    pg.exec(src, MORE);
    let tmp = tempfile::tempdir().expect("temp dir");
    let input = tmp.path().join("in");
    pg.dump_directory(src, &input, &["--compress=0"]);
    // The largest data file (public.big's) loses its end.
    let (path, len) = std::fs::read_dir(&input)
        .unwrap()
        .map(|f| f.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dat"))
        .map(|p| {
            let len = std::fs::metadata(&p).unwrap().len();
            (p, len)
        })
        .max_by_key(|(_, l)| *l)
        .expect("a data file");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..len as usize / 2]).unwrap();
    let output = tmp.path().join("out");
    let anon = anonymizer(RULES, "test-rules.yaml");
    let options = sql_dump::SqlOptions {
        threads: 2,
        ..Default::default()
    };
    let err = sql_dump::rewrite_pg_directory(&input, &output, &anon, &options)
        .expect_err("a damaged data file is refused");
    let message = err.to_string();
    assert!(message.contains("public.big"), "names the table: {message}");
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(message.contains(&file), "names the file: {message}");
    assert!(!output.exists(), "no output directory");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(left.is_empty(), "no partial directory left: {left:?}");
}
