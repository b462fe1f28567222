//! The real Sakila (mariadb-dump) and pagila (pg_dump) dumps of `$SYRF_TESTDATA_DIR/sql`
//! (gzip), anonymized with rules on customer/staff/address, restored into the private servers and
//! checked by SQL against the same dumps restored as they are; and the same person getting the
//! same pseudonym in MariaDB and PostgreSQL with the same key.
//!
//! Run with `./scripts/test` (these tests are `#[ignore]`d for plain `cargo test`).

use crate::support;

use std::collections::HashMap;
use std::path::PathBuf;

use support::{anonymize, anonymize_gz_file, anonymizer, assert_absent, gunzip_file, MySql, Pg};

const RULES: &str = r#"
rules:
  customer:
    fields:
      first_name: {transform: fake, kind: first_name}
      last_name: {transform: fake, kind: last_name}
      email: {transform: hash_email}
  staff:
    fields:
      first_name: {transform: fake, kind: first_name}
      last_name: {transform: fake, kind: last_name}
      email: {transform: hash_email}
      username: {transform: sequential, prefix: staff}
      password: {transform: null}
      picture: {transform: null}
  address:
    fields:
      address: {transform: fake, kind: street_address}
      phone: {transform: digits}
"#;

/// A real sample dump from `$SYRF_TESTDATA_DIR/sql` (each test first checks [`have_dumps`]).
fn shared(name: &str) -> PathBuf {
    syrf_testdata::conformance_dir!("sql")
        .expect("the conformance data")
        .join(name)
}

/// False (after a loud skip line) without the third-party dumps.
fn have_dumps() -> bool {
    syrf_testdata::conformance_dir!("sql").is_some()
}

type Rows = Vec<Vec<String>>;

fn my_table_counts(my: &MySql, db: &str) -> Rows {
    let tables = my.query(
        None,
        &format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{db}' \
             AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME"
        ),
    );
    tables
        .into_iter()
        .map(|t| {
            let n = my.scalar(Some(db), &format!("SELECT COUNT(*) FROM `{}`", t[0]));
            vec![t[0].clone(), n]
        })
        .collect()
}

fn pg_table_counts(pg: &Pg, db: &str) -> Rows {
    let tables = pg.query(
        db,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    );
    tables
        .into_iter()
        .map(|t| {
            let n = pg.scalar(
                db,
                &format!("SELECT count(*) FROM ONLY public.\"{}\"", t[0]),
            );
            vec![t[0].clone(), n]
        })
        .collect()
}

/// Restores the original (`reference`: a dump of the same data, the fast extended-insert one) and
/// the anonymized Sakila dump `file` and checks; returns id -> (original email, pseudonym).
fn sakila_case(
    my: &MySql,
    file: &str,
    reference: &str,
    case: &str,
) -> HashMap<String, (String, String)> {
    let path = shared(file);
    let (src, dst) = (format!("sk_{case}_src"), format!("sk_{case}_dst"));
    let out = anonymize_gz_file(&path, &anonymizer(RULES, "samples.yaml"));
    my.fresh_db(&src);
    my.restore(Some(&src), &gunzip_file(&shared(reference)));
    let emails: Vec<String> = my
        .query(
            Some(&src),
            "SELECT email FROM customer UNION SELECT email FROM staff WHERE email IS NOT NULL",
        )
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(emails.len() > 590);
    assert_absent(&out, &emails, file);

    my.fresh_db(&dst);
    my.restore_clean(Some(&dst), &out, &[]);
    assert_eq!(
        my_table_counts(my, &dst),
        my_table_counts(my, &src),
        "row counts"
    );

    let q = |sql: &str| my.count(None, &sql.replace("SRC", &src).replace("DST", &dst));
    assert_eq!(q("SELECT COUNT(*) FROM DST.customer"), 599);
    assert_eq!(
        q("SELECT COUNT(*) FROM SRC.customer s JOIN DST.customer d USING (customer_id) WHERE \
           LOWER(s.email) <> LOWER(d.email) AND d.email LIKE '%@anonymized.syrf.local' AND \
           BINARY s.first_name <> BINARY d.first_name AND BINARY s.last_name <> BINARY d.last_name AND \
           s.store_id = d.store_id AND s.address_id = d.address_id AND s.active = d.active AND \
           s.create_date = d.create_date AND s.last_update <=> d.last_update"),
        599
    );
    assert_eq!(q("SELECT COUNT(DISTINCT email) FROM DST.customer"), 599);
    assert_eq!(
        q("SELECT COUNT(*) FROM SRC.staff s JOIN DST.staff d USING (staff_id) WHERE \
           d.picture IS NULL AND d.password IS NULL AND d.username = CONCAT('staff', d.staff_id) AND \
           LOWER(s.email) <> LOWER(d.email) AND s.store_id = d.store_id AND s.active = d.active"),
        2
    );
    assert_eq!(
        q(
            "SELECT COUNT(*) FROM SRC.address s JOIN DST.address d USING (address_id) WHERE \
           BINARY s.address <> BINARY d.address AND \
           REGEXP_REPLACE(s.phone, '[0-9]', '0') = REGEXP_REPLACE(d.phone, '[0-9]', '0') AND \
           s.district = d.district AND s.city_id = d.city_id AND s.postal_code <=> d.postal_code"
        ),
        603
    );
    for t in ["rental", "payment", "film", "inventory"] {
        assert_eq!(
            q(&format!(
                "SELECT COUNT(*) FROM (SELECT * FROM SRC.{t} EXCEPT SELECT * FROM DST.{t}) x"
            )),
            0,
            "{t} untouched"
        );
    }
    // Views, triggers and routines of the dump still work.
    assert_eq!(q("SELECT COUNT(*) FROM DST.customer_list"), 599);
    assert_eq!(
        q("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'DST'"),
        q("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'SRC'")
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'DST'"),
        q("SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'SRC'")
    );

    let orig = my.query(Some(&src), "SELECT customer_id, LOWER(email) FROM customer");
    let anon: HashMap<String, String> = my
        .query(Some(&dst), "SELECT customer_id, email FROM customer")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    orig.into_iter()
        .map(|r| {
            let p = anon[&r[0]].clone();
            (r[0].clone(), (r[1].clone(), p))
        })
        .collect()
}

/// Restores the original (`reference`: a dump of the same data, the fast COPY one) and the
/// anonymized pagila dump `file` and checks; returns id -> (original email, pseudonym).
fn pagila_case(
    pg: &Pg,
    file: &str,
    reference: &str,
    case: &str,
) -> HashMap<String, (String, String)> {
    let path = shared(file);
    let (src, dst) = (format!("pa_{case}_src"), format!("pa_{case}_dst"));
    let out = anonymize_gz_file(&path, &anonymizer(RULES, "samples.yaml"));
    pg.fresh_db(&src);
    pg.restore(&src, &gunzip_file(&shared(reference)));
    let emails: Vec<String> = pg
        .query(
            &src,
            "SELECT email FROM customer WHERE email IS NOT NULL UNION SELECT email FROM staff WHERE email IS NOT NULL",
        )
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(emails.len() > 590);
    assert_absent(&out, &emails, file);

    pg.fresh_db(&dst);
    pg.restore(&dst, &out);
    assert_eq!(
        pg_table_counts(pg, &dst),
        pg_table_counts(pg, &src),
        "row counts"
    );

    let customers = "SELECT customer_id, email, first_name, last_name, store_id, address_id, \
                     activebool, create_date, last_update, active FROM customer ORDER BY customer_id";
    let (s, d) = (pg.query(&src, customers), pg.query(&dst, customers));
    assert_eq!(d.len(), 599);
    let mut map = HashMap::new();
    for (s, d) in s.iter().zip(&d) {
        assert_eq!(s[0], d[0]);
        assert_ne!(s[1].to_lowercase(), d[1].to_lowercase());
        assert!(d[1].ends_with("@anonymized.syrf.local"), "{}", d[1]);
        assert_ne!(s[2], d[2]);
        assert_ne!(s[3], d[3]);
        assert_eq!(s[4..], d[4..], "untouched customer columns");
        map.insert(s[0].clone(), (s[1].to_lowercase(), d[1].clone()));
    }
    assert_eq!(
        pg.count(&dst, "SELECT count(DISTINCT email) FROM customer"),
        599
    );
    let staff = "SELECT staff_id, picture IS NULL, password IS NULL, username, store_id, active \
                 FROM staff ORDER BY staff_id";
    let d = pg.query(&dst, staff);
    assert_eq!(d.len(), 2);
    for r in &d {
        assert_eq!(r[1..4], ["t", "t", &format!("staff{}", r[0])]);
    }
    let addresses =
        "SELECT address_id, address, regexp_replace(phone, '[0-9]', '0', 'g'), district, \
                     city_id, postal_code FROM address ORDER BY address_id";
    let (s, d) = (pg.query(&src, addresses), pg.query(&dst, addresses));
    assert_eq!(s.len(), d.len());
    for (s, d) in s.iter().zip(&d) {
        assert_ne!(s[1], d[1], "address changed");
        assert_eq!(s[2..], d[2..], "phone format and the rest kept");
    }
    // Partitions, JSONB, arrays, full text, views: untouched tables are equal.
    for t in [
        "rental",
        "payment",
        "payment_p2007_01",
        "film",
        "film_actor",
        "inventory",
    ] {
        let sql =
            format!("SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM public.{t} x");
        assert_eq!(
            pg.scalar(&dst, &sql),
            pg.scalar(&src, &sql),
            "{t} untouched"
        );
    }
    assert_eq!(pg.count(&dst, "SELECT count(*) FROM customer_list"), 599);
    map
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn sakila_and_pagila_restore_with_the_same_pseudonyms() {
    if !have_dumps() {
        return;
    }
    let my = MySql::from_env();
    let pg = Pg::from_env();
    let sakila = sakila_case(&my, "sakila.sql.gz", "sakila.sql.gz", "default");
    let pagila = pagila_case(&pg, "pagila.sql.gz", "pagila.sql.gz", "copy");
    // The same customers (id and email) are in both: same key -> same pseudonym.
    let mut same = 0;
    for (id, (orig, pseudonym)) in &sakila {
        if let Some((orig_pg, pseudonym_pg)) = pagila.get(id) {
            if orig == orig_pg {
                assert_eq!(pseudonym, pseudonym_pg, "customer {id}");
                same += 1;
            }
        }
    }
    assert!(same >= 590, "only {same} customers in common");
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn sakila_row_inserts_with_column_lists() {
    if !have_dumps() {
        return;
    }
    let my = MySql::from_env();
    sakila_case(&my, "sakila-rowinsert.sql.gz", "sakila.sql.gz", "rowinsert");
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn pagila_column_inserts() {
    if !have_dumps() {
        return;
    }
    let pg = Pg::from_env();
    pagila_case(&pg, "pagila-inserts.sql.gz", "pagila.sql.gz", "inserts");
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn pagila_excluded_partitioned_table_leaves_the_targets_own_copy() {
    if !have_dumps() {
        return;
    }
    // `payment` is partitioned (payment_p2007_* attached to it); excluding it must drop the
    // partitions, its sequence, keys and indexes too, so the target keeps its own `payment`.
    // `keep_dependents`: the views over payment are kept, for the target's own table.
    let pg = Pg::from_env();
    let rules = format!("{RULES}exclusions:\n  - payment\nkeep_dependents: true\n");
    let out = anonymize_gz_file(
        &shared("pagila.sql.gz"),
        &anonymizer(&rules, "samples-exclusion.yaml"),
    );
    let text = String::from_utf8_lossy(&out);
    assert!(!text.contains("CREATE TABLE public.payment"), "payment DDL");
    assert!(!text.contains("COPY public.payment"), "payment data");

    let dst = "pa_exclusion_dst";
    pg.fresh_db(dst);
    pg.exec(
        dst,
        "CREATE TABLE public.payment (payment_id integer PRIMARY KEY, customer_id smallint NOT NULL, \
         staff_id smallint NOT NULL, rental_id integer NOT NULL, amount numeric(5,2) NOT NULL, \
         payment_date timestamp NOT NULL);
         INSERT INTO public.payment VALUES (1, 1, 1, 1, 9.99, '2024-01-01 10:00'), \
         (2, 2, 1, 2, 0.99, '2024-01-02 10:00');",
    );
    pg.restore(dst, &out);
    assert_eq!(
        pg.query(
            dst,
            "SELECT payment_id, amount::text FROM public.payment ORDER BY 1"
        ),
        vec![
            vec!["1".to_string(), "9.99".to_string()],
            vec!["2".to_string(), "0.99".to_string()]
        ],
        "the target's own payment rows"
    );
    assert_eq!(
        pg.scalar(
            dst,
            "SELECT relkind FROM pg_class WHERE oid = 'public.payment'::regclass"
        ),
        "r",
        "still the target's plain table"
    );
    assert_eq!(
        pg.count(
            dst,
            "SELECT count(*) FROM pg_class WHERE relname ~ '^payment_p[0-9]'"
        ),
        0,
        "no partitions of the excluded table"
    );
    assert_eq!(
        pg.scalar(
            dst,
            "SELECT to_regclass('public.payment_payment_id_seq') IS NULL"
        ),
        "t",
        "the excluded table's sequence"
    );
    assert_eq!(
        pg.count(
            dst,
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'public.payment'::regclass AND contype = 'f'"
        ),
        0,
        "no foreign keys added to the target's table"
    );
    assert_eq!(pg.count(dst, "SELECT count(*) FROM customer"), 599);
    // Views over payment were restored against the target's own table.
    pg.count(dst, "SELECT count(*) FROM sales_by_store");
}

const AWKWARD_MY: &str = include_str!("support/mysql_awkward.sql");
const AWKWARD_PG: &str = include_str!("support/pg_awkward.sql");

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn awkward_people_get_the_same_pseudonyms_in_mariadb_and_postgres() {
    let rules = "rules:\n  users:\n    fields:\n      email: {transform: hash_email}\n      \
                 name: {transform: fake, kind: name}\n      phone: {transform: digits}\n";
    let my = MySql::from_env();
    let pg = Pg::from_env();
    my.fresh_db("x_my_src");
    my.exec(Some("x_my_src"), AWKWARD_MY);
    pg.fresh_db("x_pg_src");
    pg.exec("x_pg_src", AWKWARD_PG);

    let my_out = anonymize(&my.dump(&["x_my_src"]), rules);
    let pg_out = anonymize(&pg.dump("x_pg_src", &[]), rules);
    my.fresh_db("x_my_dst");
    my.restore(Some("x_my_dst"), &my_out);
    pg.fresh_db("x_pg_dst");
    pg.restore("x_pg_dst", &pg_out);

    let my_rows = my.query(
        Some("x_my_dst"),
        "SELECT id, email, COALESCE(name, '<null>'), COALESCE(phone, '<null>') FROM users ORDER BY id",
    );
    let pg_rows = pg.query(
        "x_pg_dst",
        "SELECT id, email, COALESCE(name, '<null>'), COALESCE(phone, '<null>') FROM users ORDER BY id",
    );
    assert_eq!(my_rows.len(), 6);
    let originals = my.query(
        Some("x_my_src"),
        "SELECT id, email, COALESCE(name, '<null>'), COALESCE(phone, '<null>') FROM users ORDER BY id",
    );
    for (orig, anon) in originals.iter().zip(&my_rows) {
        assert!(anon[1].ends_with("@anonymized.syrf.local"), "{}", anon[1]);
        assert_ne!(orig[1].to_lowercase(), anon[1].to_lowercase());
        assert_eq!(orig[2] == "<null>", anon[2] == "<null>");
        if orig[2] != "<null>" {
            assert_ne!(orig[2], anon[2]);
        }
        assert_eq!(orig[3] == "<null>", anon[3] == "<null>");
        if orig[3] != "<null>" {
            assert_ne!(orig[3], anon[3]);
        }
    }
    assert_eq!(my_rows, pg_rows, "same people, same key, same pseudonyms");
}

// The leak detector itself (no servers needed): it must find what it is asked to find.

#[test]
#[should_panic(expected = "survived anonymization at byte 7")]
fn leak_detector_finds_a_needle_in_any_letter_case() {
    let needles = ["Mary.Smith@Example.org".to_string(), "zed@x.io".to_string()];
    assert_absent(b"(1,'x',MARY.SMITH@example.ORG)", &needles, "probe");
}

#[test]
#[should_panic(expected = "survived anonymization at byte 2")]
fn leak_detector_finds_short_needles() {
    assert_absent(b"a,ab,c", &["ab".to_string()], "probe");
}

#[test]
fn leak_detector_passes_when_absent() {
    let needles = ["mary.smith@example.org".to_string(), "ab".to_string()];
    assert_absent(b"mary.smith@example.com a-b", &needles, "probe");
    assert_absent(b"", &needles, "probe");
}
