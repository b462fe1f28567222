//! Subsets that keep foreign keys valid, on the real Sakila (mariadb-dump) and pagila (pg_dump)
//! dumps of `$SYRF_TESTDATA_DIR/sql`: with `size_limits: {customer: {max_rows: 50}}` the output
//! restores into the real servers with every foreign key valid (PostgreSQL: `psql -v
//! ON_ERROR_STOP=1`, which fails on any violated `ADD CONSTRAINT ... FOREIGN KEY`; MariaDB, which
//! loads with `FOREIGN_KEY_CHECKS=0`: one query per foreign key counting dangling rows).
//!
//! Run with `./scripts/test` (these tests are `#[ignore]`d for plain `cargo test`).

use crate::support;

use std::path::PathBuf;

use sql_dump::{plan_subset, rewrite_sql, SqlOptions, SqlSummary};
use support::{anonymizer, gunzip_file, MySql, Pg};

const LIMIT: &str = "size_limits:\n  customer: {max_rows: 50}\n";

/// A conformance dump; `None` (with a loud skip line) without the third-party test data.
fn shared(name: &str) -> Option<PathBuf> {
    Some(syrf_testdata::conformance_dir!("sql")?.join(name))
}

/// Plans the subset over `dump` (read twice) and rewrites it.
fn subset(dump: &[u8], yaml: &str, threads: usize) -> (Vec<u8>, SqlSummary) {
    let anon = anonymizer(yaml, "subset.yaml");
    let options = SqlOptions {
        threads,
        ..SqlOptions::default()
    };
    assert!(sql_dump::subset_needed(&anon, &options));
    let plan = plan_subset(|| Ok(dump), &anon, &options).expect("subset planned");
    let options = SqlOptions {
        subset: Some(std::sync::Arc::new(plan)),
        ..options
    };
    let mut out = Vec::new();
    let summary = rewrite_sql(dump, &mut out, &anon, &options).expect("rewritten");
    (out, summary)
}

fn rows_out(summary: &SqlSummary, table: &str) -> u64 {
    summary
        .tables
        .iter()
        .filter(|t| t.table == table || t.table.starts_with(&format!("{table}_p")))
        .map(|t| t.rows_out)
        .sum()
}

/// A foreign key: (table, columns, referenced table, referenced columns).
type Fk = (String, Vec<String>, String, Vec<String>);

/// Every foreign key of `db`.
fn mysql_foreign_keys(my: &MySql, db: &str) -> Vec<Fk> {
    let rows = my.query(
        None,
        &format!(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME \
             FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = '{db}' \
             AND REFERENCED_TABLE_NAME IS NOT NULL ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION"
        ),
    );
    let mut fks: Vec<(String, Fk)> = Vec::new();
    for r in rows {
        match fks.last_mut() {
            Some((name, fk)) if fk.0 == r[0] && *name == r[1] => {
                fk.1.push(r[2].clone());
                fk.3.push(r[4].clone());
            }
            _ => fks.push((
                r[1].clone(),
                (
                    r[0].clone(),
                    vec![r[2].clone()],
                    r[3].clone(),
                    vec![r[4].clone()],
                ),
            )),
        }
    }
    fks.into_iter().map(|(_, fk)| fk).collect()
}

fn mysql_case(file: &str, db: &str, yaml: &str, customers: i64) {
    let my = MySql::from_env();
    let Some(path) = shared(file) else {
        return;
    };
    let dump = gunzip_file(&path);
    let (out, summary) = subset(&dump, yaml, 1);
    assert_eq!(rows_out(&summary, "sakila.customer"), customers as u64);
    assert!(
        summary
            .subset
            .iter()
            .any(|l| l.starts_with("fk_rental_customer")),
        "{:?}",
        summary.subset
    );
    my.fresh_db(db);
    my.restore(Some(db), &out);
    assert_eq!(
        my.count(Some(db), "SELECT COUNT(*) FROM customer"),
        customers
    );
    let fks = mysql_foreign_keys(&my, db);
    assert!(
        fks.len() >= 20,
        "sakila declares 22 foreign keys, found {}",
        fks.len()
    );
    for (table, cols, parent, pcols) in &fks {
        let on: Vec<String> = cols
            .iter()
            .zip(pcols)
            .map(|(c, p)| format!("c.`{c}` = p.`{p}`"))
            .collect();
        let not_null: Vec<String> = cols
            .iter()
            .map(|c| format!("c.`{c}` IS NOT NULL"))
            .collect();
        let dangling = my.count(
            Some(db),
            &format!(
                "SELECT COUNT(*) FROM `{table}` c LEFT JOIN `{parent}` p ON {} WHERE {} AND p.`{}` IS NULL",
                on.join(" AND "),
                not_null.join(" AND "),
                pcols[0]
            ),
        );
        assert_eq!(
            dangling,
            0,
            "{table}({}) -> {parent}: dangling rows",
            cols.join(",")
        );
    }
    // Kept rows that reference kept customers stayed.
    let rentals = my.count(Some(db), "SELECT COUNT(*) FROM rental");
    assert!(
        if customers > 0 {
            rentals > 1000
        } else {
            rentals == 0
        },
        "{rentals}"
    );
    my.drop_db(db);
}

#[test]
#[ignore = "needs the private MariaDB (run ./scripts/test)"]
fn sakila_customer_limit_keeps_every_foreign_key() {
    mysql_case("sakila.sql.gz", "g20_subset_sakila", LIMIT, 50);
}

#[test]
#[ignore = "needs the private MariaDB (run ./scripts/test)"]
fn sakila_row_inserts_customer_limit_keeps_every_foreign_key() {
    mysql_case(
        "sakila-rowinsert.sql.gz",
        "g20_subset_sakila_rows",
        LIMIT,
        50,
    );
}

fn pg_case(file: &str, db: &str, yaml: &str, customers: i64, threads: usize) {
    let pg = Pg::from_env();
    let Some(path) = shared(file) else {
        return;
    };
    let dump = gunzip_file(&path);
    let (out, summary) = subset(&dump, yaml, threads);
    assert_eq!(rows_out(&summary, "public.customer"), customers as u64);
    assert!(
        summary
            .subset
            .iter()
            .any(|l| l.starts_with("rental_customer_id_fkey")),
        "{:?}",
        summary.subset
    );
    pg.fresh_db(db);
    // ON_ERROR_STOP: any foreign key added after the data that a row violates fails here.
    pg.restore(db, &out);
    assert_eq!(pg.count(db, "SELECT COUNT(*) FROM customer"), customers);
    let constraints = pg.count(db, "SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f'");
    assert!(
        constraints >= 30,
        "pagila's foreign keys were restored ({constraints})"
    );
    // The partitions that declare the key (not pagila's default and July ones) kept only
    // payments of kept customers.
    assert_eq!(
        pg.count(db, "SELECT COUNT(*) FROM payment_p2007_02 p WHERE NOT EXISTS (SELECT 1 FROM customer c WHERE c.customer_id = p.customer_id)"),
        0
    );
    let payments = pg.count(db, "SELECT COUNT(*) FROM payment_p2007_02");
    assert!(
        if customers > 0 {
            payments > 100
        } else {
            payments == 0
        },
        "{payments}"
    );
    let rentals = pg.count(db, "SELECT COUNT(*) FROM rental");
    assert!(
        if customers > 0 {
            rentals > 1000
        } else {
            rentals == 0
        },
        "{rentals}"
    );
    pg.exec(
        "postgres",
        &format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE);"),
    );
}

#[test]
#[ignore = "needs the private PostgreSQL (run ./scripts/test)"]
fn pagila_customer_limit_restores_with_on_error_stop() {
    pg_case("pagila.sql.gz", "g20_subset_pagila", LIMIT, 50, 1);
}

#[test]
#[ignore = "needs the private PostgreSQL (run ./scripts/test)"]
fn pagila_column_inserts_customer_limit_restores_on_threads() {
    pg_case(
        "pagila-inserts.sql.gz",
        "g20_subset_pagila_ins",
        LIMIT,
        50,
        2,
    );
}

#[test]
fn subset_output_is_the_same_on_threads() {
    let Some(path) = shared("pagila.sql.gz") else {
        return;
    };
    let dump = gunzip_file(&path);
    let rules = format!("{LIMIT}rules:\n  customer:\n    columns:\n      email: hash_email\n");
    let (one, s1) = subset(&dump, &rules, 1);
    let (four, s4) = subset(&dump, &rules, 4);
    assert!(one == four, "the output depends on the thread count");
    assert_eq!(s1.subset, s4.subset);
}

/// `schema_only` on a referenced table: it is restored empty, and every row that references
/// it (transitively) goes, so the foreign keys stay and hold.
const SCHEMA_ONLY: &str = "schema_only: [customer]\n";

#[test]
#[ignore = "needs the private MariaDB (run ./scripts/test)"]
fn sakila_schema_only_customer_removes_its_references() {
    mysql_case("sakila.sql.gz", "g20_subset_sakila_so", SCHEMA_ONLY, 0);
}

#[test]
#[ignore = "needs the private PostgreSQL (run ./scripts/test)"]
fn pagila_schema_only_customer_restores_with_on_error_stop() {
    pg_case("pagila.sql.gz", "g20_subset_pagila_so", SCHEMA_ONLY, 0, 1);
}

/// A row filter: the first 100 customers of store 1 (by `where`), and everything that
/// references the others goes.
const STORE_ONE: &str =
    "size_limits:\n  customer: {max_rows: 100, where: {store_id: 1, email: {ends_with: .org}}}\n";

#[test]
#[ignore = "needs the private MariaDB (run ./scripts/test)"]
fn sakila_where_filter_keeps_matching_customers_and_every_foreign_key() {
    mysql_case("sakila.sql.gz", "g20_subset_sakila_where", STORE_ONE, 100);
    // (mysql_case drops the database; check the filter on a fresh restore.)
    let my = MySql::from_env();
    let Some(path) = shared("sakila.sql.gz") else {
        return;
    };
    let (out, _) = subset(&gunzip_file(&path), STORE_ONE, 1);
    my.fresh_db("g20_subset_sakila_where");
    my.restore(Some("g20_subset_sakila_where"), &out);
    assert_eq!(
        my.count(
            Some("g20_subset_sakila_where"),
            "SELECT COUNT(*) FROM customer WHERE store_id <> 1 OR email NOT LIKE '%.org'"
        ),
        0
    );
    my.drop_db("g20_subset_sakila_where");
}

#[test]
#[ignore = "needs the private PostgreSQL (run ./scripts/test)"]
fn pagila_where_filter_restores_with_on_error_stop() {
    pg_case(
        "pagila.sql.gz",
        "g20_subset_pagila_where",
        STORE_ONE,
        100,
        1,
    );
    let pg = Pg::from_env();
    let Some(path) = shared("pagila.sql.gz") else {
        return;
    };
    let (out, _) = subset(&gunzip_file(&path), STORE_ONE, 1);
    pg.fresh_db("g20_subset_pagila_where");
    pg.restore("g20_subset_pagila_where", &out);
    assert_eq!(
        pg.count(
            "g20_subset_pagila_where",
            "SELECT COUNT(*) FROM customer WHERE store_id <> 1 OR email NOT LIKE '%.org'"
        ),
        0
    );
    pg.exec(
        "postgres",
        "DROP DATABASE IF EXISTS \"g20_subset_pagila_where\" WITH (FORCE);",
    );
}
