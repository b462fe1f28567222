//! Real PostgreSQL round trips: awkward data is loaded into a private PostgreSQL, dumped with the
//! real `pg_dump` (plain COPY, `--inserts`, `--column-inserts`, `--rows-per-insert`, `--clean`),
//! anonymized by sql-dump, restored with `psql -v ON_ERROR_STOP=1` into a fresh database and
//! checked there with SQL against the source database.
//!
//! Run with `./scripts/test` (these tests are `#[ignore]`d for plain `cargo test`).

use crate::support;

use std::collections::HashMap;

use support::{anonymize, anonymize_threads, assert_absent, Pg};

/// The source data: see `support/pg_awkward.sql`.
const AWKWARD: &str = include_str!("support/pg_awkward.sql");

const RULES: &str = r#"
rules:
  users:
    fields:
      email: {transform: hash_email}
      name: {transform: fake, kind: name}
      username: {transform: sequential}
      nickname: {transform: hash}
      employee_no: {transform: sequential_suffix}
      phone: {transform: digits}
      api_secret: {transform: null}
      born: {transform: date_shift}
      last_ip: {transform: fake, kind: ipv4}
  public.orders:
    fields:
      customer_email: {transform: hash_email}
      meta.customer.email: {transform: hash_email}
      meta.customer.name: {transform: mask, keep_start: 1}
  crm.Contact Book:
    columns:
      E-mail: {transform: hash_email}
      Company: {transform: constant, value: "ACME 'Test' \\ Co"}
exclusions:
  - audit_log
schema_only:
  - public.sessions
size_limits:
  events:
    max_rows: 3
"#;

/// The target's own `audit_log` (another shape, a primary key and an index whose names collide
/// with the dumped table's), which the excluded table's statements must not touch.
const TARGET_OWN_AUDIT_LOG: &str = "
CREATE TABLE public.audit_log (id integer PRIMARY KEY, target_note text NOT NULL);
CREATE INDEX audit_log_actor ON public.audit_log (target_note);
INSERT INTO public.audit_log VALUES (100, 'target row one'), (101, 'target row two');
";

type Rows = Vec<Vec<String>>;

fn by_id(rows: Rows) -> HashMap<String, Vec<String>> {
    rows.into_iter().map(|r| (r[0].clone(), r)).collect()
}

fn original_emails(pg: &Pg, db: &str) -> Vec<String> {
    let mut v: Vec<String> = pg
        .query(
            db,
            "SELECT lower(email) FROM public.users UNION SELECT lower(customer_email) \
             FROM public.orders WHERE customer_email IS NOT NULL \
             UNION SELECT lower(\"E-mail\") FROM crm.\"Contact Book\"",
        )
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    v.sort();
    v.dedup();
    assert!(v.len() >= 6, "{v:?}");
    v
}

const NULL: &str = "\\N";

fn check_restored(pg: &Pg, src: &str, dst: &str) {
    let count = |db: &str, sql: &str| pg.count(db, sql);

    // Row counts, size limit, schema-only.
    assert_eq!(count(dst, "SELECT count(*) FROM public.users"), 6);
    assert_eq!(count(dst, "SELECT count(*) FROM public.orders"), 6);
    assert_eq!(count(dst, "SELECT count(*) FROM crm.\"Contact Book\""), 3);
    assert_eq!(
        pg.query(dst, "SELECT id, label FROM public.events ORDER BY id"),
        pg.query(
            src,
            "SELECT id, label FROM public.events WHERE id <= 3 ORDER BY id"
        ),
        "size limit keeps the first rows"
    );
    assert_eq!(
        count(dst, "SELECT count(*) FROM public.sessions"),
        0,
        "schema-only"
    );
    assert_eq!(
        pg.scalar(dst, "SELECT to_regclass('public.sessions') IS NOT NULL"),
        "t"
    );

    // The excluded table: the target's own copy, its key and index untouched; nothing of the
    // dumped table (sequence, trigger, comments, grant) restored.
    assert_eq!(
        pg.query(
            dst,
            "SELECT id, target_note FROM public.audit_log ORDER BY id"
        ),
        vec![
            vec!["100".to_string(), "target row one".to_string()],
            vec!["101".to_string(), "target row two".to_string()]
        ]
    );
    assert_eq!(
        count(
            dst,
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname = 'audit_log_actor'"
        ),
        1,
        "the target's own index audit_log_actor was dropped by a statement of the excluded table"
    );
    assert_eq!(
        pg.scalar(
            dst,
            "SELECT pg_get_indexdef('public.audit_log_actor'::regclass)"
        ),
        "CREATE INDEX audit_log_actor ON public.audit_log USING btree (target_note)"
    );
    assert_eq!(
        pg.scalar(
            dst,
            "SELECT count(*) FROM pg_constraint WHERE conname = 'audit_log_pkey'"
        ),
        "1"
    );
    assert_eq!(
        pg.scalar(dst, "SELECT to_regclass('public.audit_log_id_seq') IS NULL"),
        "t",
        "the excluded table's sequence"
    );
    assert_eq!(
        count(
            dst,
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_log_stamp'"
        ),
        0,
        "the excluded table's trigger"
    );
    assert_eq!(
        pg.scalar(
            dst,
            "SELECT coalesce(obj_description('public.audit_log'::regclass, 'pg_class'), 'none')"
        ),
        "none",
        "the excluded table's comment"
    );
    assert_eq!(
        pg.scalar(
            dst,
            "SELECT relacl IS NULL FROM pg_class WHERE oid = 'public.audit_log'::regclass"
        ),
        "t",
        "the excluded table's grant"
    );
    assert_eq!(
        count(
            dst,
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'users_username'"
        ),
        1
    );
    assert_eq!(
        count(dst, "SELECT count(*) FROM public.user_emails"),
        6,
        "view"
    );

    // Untouched columns equal (text forms of every value, bytea as md5).
    let untouched = "SELECT id, md5(bio), md5(avatar), prefs::text, settings::text, tags::text, \
                     score::text, created_at::text, email_domain IS NOT NULL \
                     FROM public.users ORDER BY id";
    assert_eq!(pg.query(dst, untouched), pg.query(src, untouched));
    let untouched_orders = "SELECT id, user_id, note, amount::text, (meta - 'customer')::text \
                            FROM public.orders ORDER BY id";
    assert_eq!(
        pg.query(dst, untouched_orders),
        pg.query(src, untouched_orders)
    );
    assert_eq!(
        count(
            dst,
            "SELECT count(*) FROM public.users WHERE email_domain = split_part(email, '@', 2)"
        ),
        6,
        "generated column recomputed"
    );

    // Covered columns.
    let covered = "SELECT id, email, name, username, nickname, employee_no::text, phone, \
                   born::text, api_secret::text, host(last_ip) FROM public.users ORDER BY id";
    let s = by_id(pg.query(src, covered));
    let d = by_id(pg.query(dst, covered));
    assert_eq!(d.len(), 6);
    let mut pseudonyms: HashMap<String, String> = HashMap::new(); // lower(original) -> pseudonym
    for (id, sr) in &s {
        let dr = &d[id];
        assert_ne!(sr[1].to_lowercase(), dr[1].to_lowercase(), "email of {id}");
        assert!(dr[1].ends_with("@anonymized.syrf.local"), "{}", dr[1]);
        pseudonyms.insert(sr[1].to_lowercase(), dr[1].clone());
        for col in [2, 3, 4, 5, 6, 7, 9] {
            assert_eq!(
                sr[col] == NULL,
                dr[col] == NULL,
                "NULL kept: id {id} col {col}"
            );
        }
        if sr[2] != NULL {
            assert_ne!(sr[2], dr[2], "name");
        }
        assert_eq!(dr[3], format!("User{id}"), "sequential");
        if sr[4] != NULL {
            assert_ne!(sr[4], dr[4]);
            assert!(dr[4].chars().count() <= 8, "varchar(8): {:?}", dr[4]);
        }
        if sr[5] != NULL {
            assert_eq!(dr[5], *id, "sequential_suffix stays an integer ordinal");
        }
        if sr[6] != NULL {
            assert_ne!(sr[6], dr[6], "digits");
            let shape = |p: &str| p.replace(|c: char| c.is_ascii_digit(), "0");
            assert_eq!(shape(&sr[6]), shape(&dr[6]), "digits keep the format");
        }
        if sr[7] != NULL {
            let days = pg.count(
                dst,
                &format!("SELECT abs(DATE '{}' - DATE '{}')", dr[7], sr[7]),
            );
            assert!(days <= 30, "date_shift by {days} days");
        }
        assert_eq!(dr[8], NULL, "null transform");
        if sr[9] != NULL {
            assert_ne!(sr[9], dr[9], "ip changed");
        }
    }
    assert_eq!(
        count(dst, "SELECT count(DISTINCT email) FROM public.users"),
        6,
        "unique emails"
    );
    for idx in [
        "users_email_key",
        "users_username_key",
        "users_employee_no_key",
    ] {
        assert_eq!(
            count(
                dst,
                &format!("SELECT count(*) FROM pg_indexes WHERE indexname = '{idx}'")
            ),
            1,
            "{idx}"
        );
    }

    // Consistency of pseudonyms across tables, columns, JSON paths and schemas.
    let orders_src = by_id(pg.query(
        src,
        "SELECT id, lower(customer_email), lower(meta->'customer'->>'email'), meta->'customer'->>'name', \
         jsonb_typeof(meta->'customer'->'name') FROM public.orders ORDER BY id",
    ));
    let orders_dst = by_id(pg.query(
        dst,
        "SELECT id, customer_email, meta->'customer'->>'email', meta->'customer'->>'name', \
         jsonb_typeof(meta->'customer'->'name') FROM public.orders ORDER BY id",
    ));
    let (mut by_column, mut by_json, mut masked) = (0, 0, 0);
    for (id, so) in &orders_src {
        let dor = &orders_dst[id];
        if so[1] != NULL {
            assert_eq!(dor[1], pseudonyms[&so[1]], "orders.customer_email of {id}");
            by_column += 1;
        } else {
            assert_eq!(dor[1], NULL);
        }
        if so[2] != NULL {
            assert_eq!(
                dor[2], pseudonyms[&so[2]],
                "orders.meta.customer.email of {id}"
            );
            by_json += 1;
        }
        assert_eq!(so[4], dor[4], "JSON types kept");
        if so[4] == "string" {
            assert_ne!(so[3], dor[3]);
            assert_eq!(
                so[3].chars().count(),
                dor[3].chars().count(),
                "mask keeps length"
            );
            assert_eq!(so[3].chars().next(), dor[3].chars().next(), "keep_start 1");
            masked += 1;
        }
    }
    assert_eq!((by_column, by_json, masked), (5, 4, 4));

    let contacts_src = by_id(pg.query(
        src,
        "SELECT id, lower(\"E-mail\") FROM crm.\"Contact Book\"",
    ));
    let contacts_dst = by_id(pg.query(
        dst,
        "SELECT id, \"E-mail\", \"Company\" FROM crm.\"Contact Book\"",
    ));
    for (id, sc) in &contacts_src {
        let dc = &contacts_dst[id];
        assert_eq!(dc[2], "ACME 'Test' \\ Co", "constant, also over NULL");
        if let Some(p) = pseudonyms.get(&sc[1]) {
            assert_eq!(&dc[1], p, "same pseudonym across schemas");
        } else {
            assert!(dc[1].ends_with("@anonymized.syrf.local"));
        }
    }
}

fn round_trip(case: &str, args: &[&str]) {
    let pg = Pg::from_env();
    let src = format!("pg_{case}_src");
    let dst = format!("pg_{case}_dst");
    pg.fresh_db(&src);
    pg.exec(&src, AWKWARD);
    let dump = pg.dump(&src, args);
    let one = anonymize(&dump, RULES);
    // What is restored is the output of 4 worker threads, byte-identical to one thread's.
    let out = anonymize_threads(&dump, RULES, 4);
    assert!(out == one, "{case}: 4 threads differ from one");
    assert_absent(&out, &original_emails(&pg, &src), case);
    pg.fresh_db(&dst);
    pg.exec(&dst, TARGET_OWN_AUDIT_LOG);
    pg.restore(&dst, &out);
    check_restored(&pg, &src, &dst);
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn pg_dump_plain_copy() {
    round_trip("copy", &[]);
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn pg_dump_inserts() {
    round_trip("inserts", &["--inserts"]);
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn pg_dump_column_inserts() {
    round_trip("colinserts", &["--column-inserts"]);
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn pg_dump_rows_per_insert() {
    round_trip("rowsper", &["--rows-per-insert=4"]);
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn pg_dump_clean_if_exists() {
    // DROP ... IF EXISTS statements of the excluded table must go too, or they would drop the
    // target's own table, key and index.
    round_trip("clean", &["--clean", "--if-exists"]);
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn pg_no_rules_output_is_byte_identical() {
    let pg = Pg::from_env();
    let src = "pg_norules_src";
    pg.fresh_db(src);
    pg.exec(src, AWKWARD);
    for args in [&[][..], &["--inserts"][..]] {
        let dump = pg.dump(src, args);
        let out = anonymize(&dump, "rules: {}\n");
        assert!(out == dump, "with no rules the output must equal the input");
    }
}
