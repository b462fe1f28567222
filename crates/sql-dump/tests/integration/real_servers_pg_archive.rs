//! pg_dump custom archives (`pg_dump -Fc`) made by the real `pg_dump` from awkward data on a
//! real PostgreSQL, rewritten by [`sql_dump::rewrite_pg_custom`] and restored with the real
//! `pg_restore` (also `-j 2`, and from a pipe) into fresh databases, where SQL checks that
//! every covered value was transformed, untouched columns are equal, and exclusions,
//! schema-only and size limits held.
//!
//! Run with `./scripts/test` (these tests are `#[ignore]`d for plain `cargo test`).

use crate::support;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use support::{anonymizer, assert_absent, Pg};

const AWKWARD: &str = include_str!("support/pg_awkward.sql");

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
exclusions:
  - audit_log
schema_only:
  - public.sessions
size_limits:
  events:
    max_rows: 3
"#;

/// Loads the awkward data into a fresh database named `src`.
fn source(pg: &Pg, src: &str) {
    pg.fresh_db(src);
    pg.exec(src, AWKWARD);
}

/// Dumps `db` with the real `pg_dump` in the custom format.
fn dump_custom(pg: &Pg, db: &str, args: &[&str]) -> Vec<u8> {
    let out = pg
        .command("pg_dump")
        .arg("--no-password")
        .arg("--format=custom")
        .args(args)
        .arg(format!("--dbname={db}"))
        .output()
        .expect("pg_dump runs");
    assert!(
        out.status.success(),
        "pg_dump -Fc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.starts_with(b"PGDMP"));
    out.stdout
}

/// Rewrites an archive, with or without data offsets.
fn rewrite(archive: &[u8], rules: &str, offsets: bool) -> (Vec<u8>, sql_dump::PgArchiveSummary) {
    let anon = anonymizer(rules, "test-rules.yaml");
    let mut out = Vec::new();
    let summary = sql_dump::rewrite_pg_custom(
        archive,
        &mut out,
        &anon,
        &sql_dump::SqlOptions::default(),
        &sql_dump::PgArchiveOptions {
            data_offsets: offsets,
        },
    )
    .unwrap_or_else(|e| panic!("the custom archive was refused: {e}"));
    (out, summary)
}

/// Restores with the real `pg_restore --exit-on-error` from a file (with `extra` options) or,
/// when `file` is `None`, from a pipe.
fn pg_restore(pg: &Pg, db: &str, archive: &[u8], file: Option<&Path>, extra: &[&str]) {
    pg.fresh_db(db);
    let mut c = pg.command("pg_restore");
    c.arg("--no-password")
        .arg("--exit-on-error")
        .arg(format!("--dbname={db}"))
        .args(extra);
    let out = match file {
        Some(path) => {
            std::fs::write(path, archive).expect("archive written");
            c.arg(path).output().expect("pg_restore runs")
        }
        None => {
            let mut child = c
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("pg_restore runs");
            let mut stdin = child.stdin.take().expect("stdin");
            let data = archive.to_vec();
            let writer = std::thread::spawn(move || stdin.write_all(&data));
            let out = child.wait_with_output().expect("pg_restore ends");
            writer.join().expect("writer").expect("archive piped");
            out
        }
    };
    assert!(
        out.status.success(),
        "pg_restore {extra:?} into {db} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn original_emails(pg: &Pg, db: &str) -> Vec<String> {
    let mut v: Vec<String> = pg
        .query(
            db,
            "SELECT email FROM public.users WHERE email IS NOT NULL UNION SELECT customer_email \
             FROM public.orders WHERE customer_email IS NOT NULL \
             UNION SELECT \"E-mail\" FROM crm.\"Contact Book\" WHERE \"E-mail\" IS NOT NULL",
        )
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    v.sort();
    v.dedup();
    assert!(v.len() >= 6, "{v:?}");
    v
}

/// The restored database against the source.
fn check_restored(pg: &Pg, src: &str, dst: &str) {
    let q = |db: &str, sql: &str| pg.query(db, sql);
    assert_eq!(pg.count(dst, "SELECT count(*) FROM public.users"), 6);
    assert_eq!(pg.count(dst, "SELECT count(*) FROM public.orders"), 6);
    assert_eq!(
        pg.count(dst, "SELECT count(*) FROM crm.\"Contact Book\""),
        3
    );
    assert_eq!(
        q(dst, "SELECT id, label FROM public.events ORDER BY id"),
        q(
            src,
            "SELECT id, label FROM public.events WHERE id <= 3 ORDER BY id"
        ),
        "size limit keeps the first rows"
    );
    assert_eq!(pg.count(dst, "SELECT count(*) FROM public.sessions"), 0);
    assert_eq!(
        pg.scalar(dst, "SELECT to_regclass('public.audit_log') IS NULL"),
        "t",
        "the excluded table is not restored"
    );
    assert_eq!(
        pg.scalar(dst, "SELECT to_regclass('public.user_emails') IS NOT NULL"),
        "t",
        "the view on a kept table is restored"
    );
    // Untouched columns are equal; covered ones are all transformed.
    let untouched = "SELECT id, username, nickname, employee_no, phone, bio, prefs::text, \
                     settings::text, tags::text, score, born FROM public.users ORDER BY id";
    assert_eq!(q(dst, untouched), q(src, untouched));
    let orders = "SELECT id, user_id, note, meta->'items', amount FROM public.orders ORDER BY id";
    assert_eq!(q(dst, orders), q(src, orders));
    assert_eq!(
        pg.count(
            dst,
            "SELECT count(*) FROM public.users WHERE api_secret IS NOT NULL"
        ),
        0
    );
    let restored: Vec<String> = q(
        dst,
        "SELECT coalesce(email, '') || ' ' || coalesce(name, '') FROM public.users \
         UNION ALL SELECT coalesce(customer_email, '') || ' ' || coalesce(meta::text, '') \
         FROM public.orders \
         UNION ALL SELECT coalesce(\"E-mail\", '') FROM crm.\"Contact Book\"",
    )
    .into_iter()
    .map(|r| r.join("\t"))
    .collect();
    let restored = restored.join("\n");
    assert_absent(
        restored.as_bytes(),
        &original_emails(pg, src),
        "restored values",
    );
    let names: Vec<String> = q(src, "SELECT name FROM public.users WHERE length(name) > 3")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_absent(restored.as_bytes(), &names, "restored names");
    // The triggers of kept tables are restored, the excluded table's are not.
    assert_eq!(
        pg.count(
            dst,
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'users_username'"
        ),
        1
    );
    assert_eq!(
        pg.count(
            dst,
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_log_stamp'"
        ),
        0
    );
}

#[test]
#[ignore = "needs PostgreSQL: run with ./scripts/test"]
fn custom_archive_gzip_restores_with_offsets_in_parallel_and_from_a_pipe() {
    let pg = Pg::from_env();
    let src = "h24_fc_src";
    source(&pg, src);
    let archive = dump_custom(&pg, src, &[]);
    let dir = tempfile::tempdir().expect("temp dir");

    let (out, summary) = rewrite(&archive, RULES, true);
    assert_eq!(summary.compression, sql_dump::PgCompression::Gzip);
    assert!(
        summary
            .entries_dropped
            .iter()
            .any(|e| e.starts_with("TABLE public.audit_log ")),
        "{:?}",
        summary.entries_dropped
    );
    let users = summary
        .sql
        .tables
        .iter()
        .find(|t| t.table == "public.users");
    assert_eq!(users.map(|t| (t.rows_in, t.rows_out)), Some((6, 6)));
    pg_restore(
        &pg,
        "h24_fc_dst_j2",
        &out,
        Some(&dir.path().join("a.dump")),
        &["-j", "2"],
    );
    check_restored(&pg, src, "h24_fc_dst_j2");

    let (piped, _) = rewrite(&archive, RULES, false);
    pg_restore(&pg, "h24_fc_dst_pipe", &piped, None, &[]);
    check_restored(&pg, src, "h24_fc_dst_pipe");
}

#[test]
#[ignore = "needs PostgreSQL: run with ./scripts/test"]
fn custom_archive_uncompressed_and_on_threads() {
    let pg = Pg::from_env();
    let src = "h24_fc0_src";
    source(&pg, src);
    let archive = dump_custom(&pg, src, &["--compress=0"]);
    let anon = anonymizer(RULES, "test-rules.yaml");
    let mut out = Vec::new();
    let summary = sql_dump::rewrite_pg_custom(
        &archive[..],
        &mut out,
        &anon,
        &sql_dump::SqlOptions {
            threads: 2,
            ..sql_dump::SqlOptions::default()
        },
        &sql_dump::PgArchiveOptions { data_offsets: true },
    )
    .expect("rewritten");
    assert_eq!(summary.compression, sql_dump::PgCompression::None);
    let emails = original_emails(&pg, src);
    assert_absent(&out, &emails, "uncompressed output archive");
    let dir = tempfile::tempdir().expect("temp dir");
    pg_restore(
        &pg,
        "h24_fc0_dst",
        &out,
        Some(&dir.path().join("a.dump")),
        &[],
    );
    check_restored(&pg, src, "h24_fc0_dst");
}

#[test]
#[ignore = "needs PostgreSQL: run with ./scripts/test"]
fn custom_archive_without_rules_restores_the_same_data() {
    let pg = Pg::from_env();
    let src = "h24_fcn_src";
    source(&pg, src);
    let archive = dump_custom(&pg, src, &[]);
    let (out, summary) = rewrite(&archive, "rules: {}\n", true);
    assert_eq!(summary.entries_in, summary.entries_out);
    assert!(summary.entries_dropped.is_empty());
    let dir = tempfile::tempdir().expect("temp dir");
    // The same TOC, entry for entry (pg_restore's listing without its dated header).
    let list = |bytes: &[u8], name: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("written");
        let out = std::process::Command::new("pg_restore")
            .arg("--list")
            .arg(&path)
            .output()
            .expect("pg_restore --list runs");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with(';'))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let listed = list(&archive, "in.dump");
    assert!(listed.len() > 20, "{listed:?}");
    assert_eq!(list(&out, "out.dump"), listed);
    pg_restore(
        &pg,
        "h24_fcn_dst",
        &out,
        Some(&dir.path().join("a.dump")),
        &["-j", "2"],
    );
    for sql in [
        "SELECT * FROM public.users ORDER BY id",
        "SELECT * FROM public.orders ORDER BY id",
        "SELECT * FROM public.audit_log ORDER BY id",
        "SELECT * FROM public.events ORDER BY id",
        "SELECT * FROM crm.\"Contact Book\" ORDER BY 1",
    ] {
        assert_eq!(pg.query("h24_fcn_dst", sql), pg.query(src, sql), "{sql}");
    }
}

#[test]
#[ignore = "needs PostgreSQL: run with ./scripts/test"]
fn damaged_archives_are_refused_naming_the_entry() {
    let pg = Pg::from_env();
    let src = "h24_fcd_src";
    source(&pg, src);
    let archive = dump_custom(&pg, src, &["--compress=0"]);
    let anon = anonymizer(RULES, "test-rules.yaml");
    let run = |bytes: &[u8]| {
        sql_dump::rewrite_pg_custom(
            bytes,
            std::io::sink(),
            &anon,
            &sql_dump::SqlOptions::default(),
            &sql_dump::PgArchiveOptions::default(),
        )
        .map(|_| ())
        .expect_err("a damaged archive is refused")
        .to_string()
    };
    // Cut inside the users' rows: the table's data block ends early.
    let row: &[u8] = b"1\talice@example.com\tAlice O'Brien";
    let at = memchr_find(&archive, row).expect("users' rows");
    let e = run(&archive[..at + 5]);
    assert!(e.contains("TABLE DATA public.users"), "{e}");
    assert!(!e.contains("alice"), "{e}");
    // Cut inside the TOC: the entry before the cut is named.
    let e = run(&archive[..600]);
    assert!(e.contains("TOC entry") && e.contains("byte"), "{e}");
    // A chunk length damaged inside the users' block.
    let mut bad = archive.clone();
    let line = memchr_find(&bad, row).expect("row");
    bad[line - 5] = 1; // the sign byte of the chunk's length: negative
    let e = run(&bad);
    assert!(e.contains("public.users"), "{e}");
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

const PAGILA_RULES: &str = r#"
rules:
  customer:
    fields:
      first_name: {transform: fake, kind: first_name}
      last_name: {transform: fake, kind: last_name}
      email: {transform: hash_email}
  staff:
    fields:
      email: {transform: hash_email}
      password: {transform: null}
      picture: {transform: null}
  address:
    fields:
      address: {transform: fake, kind: street_address}
      phone: {transform: digits}
"#;

fn pg_table_counts(pg: &Pg, db: &str) -> Vec<Vec<String>> {
    pg.query(
        db,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    )
    .into_iter()
    .map(|t| {
        let sql = format!("SELECT count(*) FROM ONLY public.\"{}\"", t[0]);
        vec![t[0].clone(), pg.scalar(db, &sql)]
    })
    .collect()
}

/// pagila (partitioned `payment`, domains, functions, triggers) restored from the real plain
/// dump, dumped again with `pg_dump -Fc`, anonymized and restored with `pg_restore -j 2`.
#[test]
#[ignore = "needs PostgreSQL and the shared test data: run with ./scripts/test"]
fn pagila_custom_archive_restores_in_parallel() {
    let Some(dir) = syrf_testdata::conformance_dir!("sql") else {
        return;
    };
    let pg = Pg::from_env();
    let src = "h24_pagila_src";
    pg.fresh_db(src);
    pg.restore(src, &support::gunzip_file(&dir.join("pagila.sql.gz")));
    let archive = dump_custom(&pg, src, &[]);
    let (out, summary) = rewrite(&archive, PAGILA_RULES, true);
    assert!(
        summary.entries_dropped.is_empty(),
        "{:?}",
        summary.entries_dropped
    );
    let emails: Vec<String> = pg
        .query(src, "SELECT email FROM customer WHERE email IS NOT NULL")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(emails.len() > 590);
    let tmp = tempfile::tempdir().expect("temp dir");
    let dst = "h24_pagila_dst";
    pg_restore(
        &pg,
        dst,
        &out,
        Some(&tmp.path().join("p.dump")),
        &["-j", "2"],
    );
    assert_eq!(pg_table_counts(&pg, dst), pg_table_counts(&pg, src));
    let restored: Vec<String> = pg
        .query(
            dst,
            "SELECT email || ' ' || first_name || ' ' || last_name FROM customer",
        )
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_absent(restored.join("\n").as_bytes(), &emails, "pagila customers");
    let untouched = "SELECT customer_id, store_id, address_id, activebool, create_date, active \
                     FROM customer ORDER BY customer_id";
    assert_eq!(pg.query(dst, untouched), pg.query(src, untouched));
    let payments = "SELECT count(*), sum(amount) FROM payment";
    assert_eq!(pg.query(dst, payments), pg.query(src, payments));
    assert_eq!(
        pg.count(
            dst,
            "SELECT count(*) FROM staff WHERE password IS NOT NULL OR picture IS NOT NULL"
        ),
        0
    );
}

/// Large objects (`BLOBS` data blocks) follow the rules' `large_objects` policy; a dump made
/// with `--inserts` (INSERT statements in the data blocks) is rewritten like a plain one.
#[test]
#[ignore = "needs PostgreSQL: run with ./scripts/test"]
fn large_objects_and_insert_style_data_blocks() {
    let pg = Pg::from_env();
    let src = "h24_fclo_src";
    pg.fresh_db(src);
    pg.exec(
        src,
        "CREATE TABLE public.users (id int PRIMARY KEY, email text, doc oid); \
         INSERT INTO public.users VALUES \
           (1, 'lo.owner@example.com', lo_from_bytea(0, '\\x0102030405'::bytea)), \
           (2, 'second@example.com', lo_from_bytea(0, convert_to(repeat('blob text ', 5000), 'UTF8')));",
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let lo = |db: &str| {
        pg.query(
            db,
            "SELECT md5(string_agg(encode(lo_get(oid), 'hex'), ',' ORDER BY oid)) FROM pg_largeobject_metadata",
        )
    };
    let rules = |policy: &str| {
        format!("rules:\n  users:\n    fields:\n      email: {{transform: hash_email}}\nlarge_objects: {policy}\n")
    };
    for (args, policy) in [(&[][..], "keep"), (&["--inserts"][..], "drop")] {
        let archive = dump_custom(&pg, src, args);
        let (out, summary) = rewrite(&archive, &rules(policy), true);
        assert_eq!(summary.sql.large_objects, 2, "{args:?}");
        let dst = format!("h24_fclo_dst_{policy}");
        pg_restore(
            &pg,
            &dst,
            &out,
            Some(&tmp.path().join("lo.dump")),
            &["-j", "2"],
        );
        assert_eq!(pg.count(&dst, "SELECT count(*) FROM public.users"), 2);
        assert_eq!(
            pg.count(
                &dst,
                "SELECT count(*) FROM public.users WHERE email LIKE '%example.com'"
            ),
            0,
            "{args:?}"
        );
        let objects = pg.count(&dst, "SELECT count(*) FROM pg_largeobject_metadata");
        if policy == "keep" {
            assert_eq!(objects, 2);
            assert_eq!(lo(&dst), lo(src), "large objects kept byte for byte");
        } else {
            assert_eq!(objects, 0, "large objects dropped");
        }
    }
}

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
        "pg_restore -j 2 of a directory into {db} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Directory archives (`pg_dump -Fd -j 2`, gzip and uncompressed) in, directory archives out,
/// restored with `pg_restore -j 2`; large objects' files copied as they are.
#[test]
#[ignore = "needs PostgreSQL: run with ./scripts/test"]
fn directory_archives_restore_with_pg_restore_j2() {
    let pg = Pg::from_env();
    let src = "h24_fd_src";
    source(&pg, src);
    pg.exec(
        src,
        "CREATE TABLE public.docs (id int PRIMARY KEY, body oid); \
         INSERT INTO public.docs VALUES (1, lo_from_bytea(0, '\\x00ff10'::bytea));",
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let anon = anonymizer(RULES, "test-rules.yaml");
    for (case, args) in [("gz", &["-j", "2"][..]), ("plain", &["--compress=0"][..])] {
        let input = tmp.path().join(format!("in-{case}"));
        let output = tmp.path().join(format!("out-{case}"));
        pg.dump_directory(src, &input, args);
        let summary = sql_dump::rewrite_pg_directory(
            &input,
            &output,
            &anon,
            &sql_dump::SqlOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{case}: the directory archive was refused: {e}"));
        assert_eq!(summary.sql.large_objects, 1);
        assert!(sql_dump::is_pg_directory(&output));
        // No original value in any output file (gzip ones decompressed).
        let mut all = Vec::new();
        for f in std::fs::read_dir(&output).expect("output listed") {
            let path = f.expect("entry").path();
            let bytes = std::fs::read(&path).expect("read");
            if path.extension().is_some_and(|e| e == "gz") {
                let mut d = flate2::read::MultiGzDecoder::new(&bytes[..]);
                std::io::Read::read_to_end(&mut d, &mut all).expect("gunzip");
            } else {
                all.extend(bytes);
            }
        }
        assert_absent(&all, &original_emails(&pg, src), case);
        let dst = format!("h24_fd_dst_{case}");
        restore_directory(&pg, &dst, &output);
        check_restored(&pg, src, &dst);
        assert_eq!(
            pg.query(&dst, "SELECT encode(lo_get(body), 'hex') FROM public.docs"),
            vec![vec!["00ff10".to_string()]]
        );
        // The output directory must not exist: a second run is refused.
        let again = sql_dump::rewrite_pg_directory(
            &input,
            &output,
            &anon,
            &sql_dump::SqlOptions::default(),
        );
        assert!(again.is_err());
    }
}

/// Tar archives (`pg_dump -Ft`) in and out as streams, restored with `pg_restore` from a file
/// and from a pipe; large objects kept.
#[test]
#[ignore = "needs PostgreSQL: run with ./scripts/test"]
fn tar_archives_restore_with_pg_restore() {
    let pg = Pg::from_env();
    let src = "h24_ft_src";
    source(&pg, src);
    pg.exec(
        src,
        "CREATE TABLE public.docs (id int PRIMARY KEY, body oid); \
         INSERT INTO public.docs VALUES (1, lo_from_bytea(0, '\\x00ff10'::bytea));",
    );
    let out = pg
        .command("pg_dump")
        .args(["--no-password", "--format=tar"])
        .arg(format!("--dbname={src}"))
        .output()
        .expect("pg_dump runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archive = out.stdout;
    let anon = anonymizer(RULES, "test-rules.yaml");
    let mut rewritten = Vec::new();
    let summary = sql_dump::rewrite_pg_tar(
        &archive[..],
        &mut rewritten,
        &anon,
        &sql_dump::SqlOptions::default(),
    )
    .unwrap_or_else(|e| panic!("the tar archive was refused: {e}"));
    assert_eq!(summary.sql.large_objects, 1);
    assert_absent(&rewritten, &original_emails(&pg, src), "tar output");
    let tmp = tempfile::tempdir().expect("temp dir");
    for (dst, file) in [
        ("h24_ft_dst_file", Some(tmp.path().join("a.tar"))),
        ("h24_ft_dst_pipe", None),
    ] {
        pg_restore(&pg, dst, &rewritten, file.as_deref(), &[]);
        check_restored(&pg, src, dst);
        assert_eq!(
            pg.query(dst, "SELECT encode(lo_get(body), 'hex') FROM public.docs"),
            vec![vec!["00ff10".to_string()]]
        );
    }
    // The system's tar reads the output too.
    let listed = std::process::Command::new("tar")
        .arg("tf")
        .arg(tmp.path().join("a.tar"))
        .output()
        .expect("tar runs");
    assert!(listed.status.success());
    assert!(String::from_utf8_lossy(&listed.stdout).starts_with("toc.dat\n"));
}
