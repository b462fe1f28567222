//! Real MariaDB round trips: awkward data is loaded into a private MariaDB, dumped with the real
//! `mariadb-dump`/`mysqldump` in every variant users run, anonymized by sql-dump, restored with the
//! real `mariadb` client into a fresh database and checked there with SQL.
//!
//! Run with `./scripts/test` (these tests are `#[ignore]`d for plain `cargo test`).

use crate::support;

use support::{anonymize, anonymize_threads, assert_absent, MySql};

/// The source data: see `support/mysql_awkward.sql`.
const AWKWARD: &str = include_str!("support/mysql_awkward.sql");
const AWKWARD_DB2: &str = include_str!("support/mysql_awkward_db2.sql");

/// MariaDB warning 1906: "The value specified for generated column ... has been ignored".
/// mariadb-dump writes the values of generated columns; the server recomputes them.
const GENERATED_COLUMN_IGNORED: u32 = 1906;

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
  orders:
    fields:
      customer_email: {transform: hash_email}
      meta.customer.email: {transform: hash_email}
      meta.customer.name: {transform: mask, keep_start: 1}
  # EXTRA RULES
exclusions:
  - audit_log
schema_only:
  - sessions
size_limits:
  events:
    max_rows: 3
"#;

/// What the target already holds before the dump is restored on top of it: its own `audit_log`
/// (another shape, other rows), which the excluded table's DDL and data must not touch.
const TARGET_OWN_AUDIT_LOG: &str = "
CREATE TABLE audit_log (
  id INT NOT NULL PRIMARY KEY,
  target_note VARCHAR(50) NOT NULL
) ENGINE=InnoDB;
INSERT INTO audit_log VALUES (100, 'target row one'), (101, 'target row two');
";

fn original_emails(my: &MySql, db: &str) -> Vec<String> {
    let mut v: Vec<String> = my
        .query(
            Some(db),
            "SELECT LOWER(email) FROM users UNION SELECT LOWER(customer_email) FROM orders \
             WHERE customer_email IS NOT NULL",
        )
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    v.sort();
    v.dedup();
    assert!(v.len() >= 5, "source emails: {v:?}");
    v
}

/// Every check of one restored database `dst` against the untouched reference `src`.
fn check_restored(my: &MySql, src: &str, dst: &str) {
    let q = |sql: &str| my.count(None, &sql.replace("SRC", src).replace("DST", dst));

    // Row counts: all rows of covered tables, first 3 of the limited one, none of schema-only.
    assert_eq!(q("SELECT COUNT(*) FROM `DST`.users"), 6);
    assert_eq!(q("SELECT COUNT(*) FROM `DST`.orders"), 6);
    assert_eq!(q("SELECT COUNT(*) FROM `DST`.events"), 3, "size limit");
    assert_eq!(
        q("SELECT COUNT(*) FROM `SRC`.events s JOIN `DST`.events d USING (id) WHERE s.label = d.label AND d.id <= 3"),
        3,
        "the first rows are kept"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'DST' AND TABLE_NAME = 'sessions'"),
        1,
        "schema-only table exists"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM `DST`.sessions"),
        0,
        "schema-only table is empty"
    );

    // The excluded table: the target's own copy is intact (shape, rows), its trigger absent.
    assert_eq!(
        my.query(
            None,
            &format!("SELECT id, target_note FROM `{dst}`.audit_log ORDER BY id")
        ),
        vec![
            vec!["100".to_string(), "target row one".to_string()],
            vec!["101".to_string(), "target row two".to_string()]
        ],
        "target's own audit_log must be untouched"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'DST' AND EVENT_OBJECT_TABLE = 'audit_log'"),
        0,
        "the excluded table's trigger must not be restored"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'DST' AND TRIGGER_NAME = 'users_bi'"),
        1,
        "the kept table's trigger is restored"
    );

    // Routines came through DELIMITER blocks intact and work.
    assert_eq!(
        my.scalar(Some(dst), "CALL count_users(@n); SELECT @n;"),
        "6"
    );
    assert_eq!(
        my.scalar(Some(dst), "SELECT greet('Ann')"),
        "Hello, Ann; it's \"fine\""
    );

    // Untouched columns are byte-identical (compared as binary strings).
    assert_eq!(
        q(
            "SELECT COUNT(*) FROM `SRC`.users s JOIN `DST`.users d USING (id) WHERE \
           CAST(s.bio AS BINARY) <=> CAST(d.bio AS BINARY) AND s.avatar <=> d.avatar AND \
           CAST(s.prefs AS BINARY) <=> CAST(d.prefs AS BINARY) AND s.score <=> d.score AND \
           s.created_at <=> d.created_at"
        ),
        6,
        "untouched users columns must be equal"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM `SRC`.orders s JOIN `DST`.orders d USING (id) WHERE \
           s.user_id = d.user_id AND CAST(s.note AS BINARY) <=> CAST(d.note AS BINARY) AND \
           s.amount = d.amount AND \
           CAST(JSON_EXTRACT(s.meta, '$.items') AS BINARY) <=> CAST(JSON_EXTRACT(d.meta, '$.items') AS BINARY) AND \
           CAST(JSON_EXTRACT(s.meta, '$.gift') AS BINARY) <=> CAST(JSON_EXTRACT(d.meta, '$.gift') AS BINARY) AND \
           CAST(JSON_EXTRACT(s.meta, '$.note') AS BINARY) <=> CAST(JSON_EXTRACT(d.meta, '$.note') AS BINARY)"),
        6,
        "untouched orders columns and JSON members must be equal"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM `DST`.orders WHERE meta IS NOT NULL AND NOT JSON_VALID(meta)"),
        0,
        "rewritten JSON stays valid"
    );
    // Generated columns are recomputed by the server from the anonymized values.
    assert_eq!(
        q("SELECT COUNT(*) FROM `DST`.users WHERE email_domain <=> SUBSTRING_INDEX(email, '@', -1) AND name_upper <=> UPPER(name)"),
        6
    );

    // Covered columns changed; NULL stays NULL.
    assert_eq!(
        q("SELECT COUNT(*) FROM `SRC`.users s JOIN `DST`.users d USING (id) WHERE LOWER(s.email) = LOWER(d.email)"),
        0,
        "every email changed"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM `DST`.users WHERE email NOT LIKE '%@anonymized.syrf.local'"),
        0
    );
    assert_eq!(
        q(
            "SELECT COUNT(*) FROM `SRC`.users s JOIN `DST`.users d USING (id) WHERE \
           (s.name IS NULL) <> (d.name IS NULL) OR (s.nickname IS NULL) <> (d.nickname IS NULL) OR \
           (s.phone IS NULL) <> (d.phone IS NULL) OR (s.born IS NULL) <> (d.born IS NULL) OR \
           (s.employee_no IS NULL) <> (d.employee_no IS NULL)"
        ),
        0,
        "NULL stays NULL, non-NULL stays non-NULL"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM `SRC`.users s JOIN `DST`.users d USING (id) WHERE \
           BINARY s.name = BINARY d.name OR BINARY s.nickname = BINARY d.nickname OR s.phone = d.phone"),
        0,
        "names, nicknames and phones changed"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM `DST`.users WHERE api_secret IS NOT NULL"),
        0,
        "null transform"
    );
    // digits: same length and the same non-digit characters.
    assert_eq!(
        q("SELECT COUNT(*) FROM `SRC`.users s JOIN `DST`.users d USING (id) WHERE s.phone IS NOT NULL AND \
           REGEXP_REPLACE(s.phone, '[0-9]', '0') = REGEXP_REPLACE(d.phone, '[0-9]', '0')"),
        5
    );
    // date_shift: within the default ±30 days, still a date.
    assert_eq!(
        q("SELECT COUNT(*) FROM `SRC`.users s JOIN `DST`.users d USING (id) WHERE s.born IS NOT NULL AND \
           ABS(DATEDIFF(d.born, s.born)) <= 30"),
        5
    );
    // varchar(8) respected (the restore above had no truncation warnings either).
    assert_eq!(
        q("SELECT COUNT(*) FROM `DST`.users WHERE nickname IS NOT NULL AND CHAR_LENGTH(nickname) BETWEEN 1 AND 8"),
        5
    );
    // sequential / sequential_suffix follow the row ordinal (rows are dumped in id order 1..6).
    assert_eq!(
        q("SELECT COUNT(*) FROM `DST`.users WHERE username = CONCAT('User', id)"),
        6,
        "sequential"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM `DST`.users WHERE employee_no = id"),
        5,
        "sequential_suffix keeps an integer"
    );

    // Unique indexes hold and survive.
    for key in ["users_email", "users_username", "users_employee_no"] {
        assert_eq!(
            q(&format!("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'DST' AND TABLE_NAME = 'users' AND INDEX_NAME = '{key}' AND NON_UNIQUE = 0")),
            1,
            "{key}"
        );
    }
    assert_eq!(q("SELECT COUNT(DISTINCT email) FROM `DST`.users"), 6);

    // Consistency: the same person (case-insensitively) gets the same pseudonym in users,
    // orders.customer_email and orders.meta.customer.email.
    assert_eq!(
        q(
            "SELECT COUNT(*) FROM `SRC`.orders so JOIN `DST`.orders dor USING (id) \
           JOIN `SRC`.users su ON LOWER(su.email) = LOWER(so.customer_email) \
           JOIN `DST`.users du ON du.id = su.id WHERE dor.customer_email = du.email"
        ),
        5,
        "orders.customer_email pseudonyms equal users.email pseudonyms"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM `SRC`.orders so JOIN `DST`.orders dor USING (id) \
           JOIN `SRC`.users su ON LOWER(su.email) = LOWER(JSON_UNQUOTE(JSON_EXTRACT(so.meta, '$.customer.email'))) \
           JOIN `DST`.users du ON du.id = su.id \
           WHERE JSON_UNQUOTE(JSON_EXTRACT(dor.meta, '$.customer.email')) = du.email"),
        4,
        "JSON path pseudonyms equal users.email pseudonyms"
    );
    // mask keep_start 1 inside JSON: same length, first character kept; JSON null stays null.
    assert_eq!(
        q("SELECT COUNT(*) FROM `SRC`.orders so JOIN `DST`.orders dor USING (id) WHERE \
           JSON_TYPE(JSON_EXTRACT(so.meta, '$.customer.name')) = 'STRING' AND \
           CHAR_LENGTH(JSON_UNQUOTE(JSON_EXTRACT(dor.meta, '$.customer.name'))) = CHAR_LENGTH(JSON_UNQUOTE(JSON_EXTRACT(so.meta, '$.customer.name'))) AND \
           LEFT(JSON_UNQUOTE(JSON_EXTRACT(dor.meta, '$.customer.name')), 1) = LEFT(JSON_UNQUOTE(JSON_EXTRACT(so.meta, '$.customer.name')), 1) AND \
           JSON_UNQUOTE(JSON_EXTRACT(dor.meta, '$.customer.name')) <> JSON_UNQUOTE(JSON_EXTRACT(so.meta, '$.customer.name'))"),
        4,
        "masked JSON names"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM `DST`.orders WHERE id = 4 AND JSON_TYPE(JSON_EXTRACT(meta, '$.customer.name')) = 'NULL'"),
        1,
        "JSON null stays null"
    );
}

/// One full round trip of `mariadb-dump <args> <src>`.
fn round_trip(case: &str, program: &str, args: &[&str]) {
    let my = MySql::from_env();
    let src = format!("my_{case}_src");
    let dst = format!("my_{case}_dst");
    my.fresh_db(&src);
    my.exec(Some(&src), AWKWARD);

    let mut dump_args: Vec<&str> = vec!["--routines"];
    dump_args.extend_from_slice(args);
    dump_args.push(&src);
    let dump = my.dump_with(program, &dump_args);
    let one = anonymize(&dump, RULES);
    // What is restored is the output of 4 worker threads, byte-identical to one thread's.
    let out = anonymize_threads(&dump, RULES, 4);
    assert!(out == one, "{case}: 4 threads differ from one");
    assert_absent(&out, &original_emails(&my, &src), case);

    my.fresh_db(&dst);
    my.exec(Some(&dst), TARGET_OWN_AUDIT_LOG);
    my.restore_clean(Some(&dst), &out, &[GENERATED_COLUMN_IGNORED]);
    check_restored(&my, &src, &dst);
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn mariadb_dump_default_extended_inserts() {
    round_trip("default", "mariadb-dump", &[]);
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn mysqldump_skip_extended_insert() {
    round_trip("skipext", "mysqldump", &["--skip-extended-insert"]);
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn mariadb_dump_complete_insert() {
    round_trip("complete", "mariadb-dump", &["--complete-insert"]);
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn mariadb_dump_hex_blob() {
    round_trip("hexblob", "mariadb-dump", &["--hex-blob"]);
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn mariadb_dump_row_inserts_with_columns_and_hex_blob() {
    round_trip(
        "rowcols",
        "mariadb-dump",
        &["--skip-extended-insert", "--complete-insert", "--hex-blob"],
    );
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn mariadb_dump_many_statements_per_table() {
    // A small net buffer splits each table's rows over many extended INSERT statements.
    round_trip("netbuf", "mariadb-dump", &["--net-buffer-length=4096"]);
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn mariadb_dump_insert_ignore() {
    round_trip("ignore", "mariadb-dump", &["--insert-ignore"]);
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn mariadb_dump_replace() {
    round_trip("replace", "mariadb-dump", &["--replace"]);
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn mariadb_dump_two_databases_with_create_database_and_use() {
    let my = MySql::from_env();
    let (a, b) = ("my_multi_a", "my_multi_b");
    let (a_ref, b_ref) = ("my_multi_a_ref", "my_multi_b_ref");
    for (db, sql) in [
        (a, AWKWARD),
        (b, AWKWARD_DB2),
        (a_ref, AWKWARD),
        (b_ref, AWKWARD_DB2),
    ] {
        my.fresh_db(db);
        my.exec(Some(db), sql);
    }
    // A qualified key (`db.table`) for the second database's table.
    let rules = RULES.replace(
        "  # EXTRA RULES\n",
        &format!(
            "  {b}.customers:\n    fields:\n      email: {{transform: hash_email}}\n      \
             company: {{transform: constant, value: \"ACME 'Test' \\\\ Co\"}}\n"
        ),
    );
    assert!(rules.contains("my_multi_b.customers"));

    let dump = my.dump(&["--routines", "--databases", a, b]);
    assert!(
        String::from_utf8_lossy(&dump).contains(&format!("USE `{b}`;")),
        "the dump switches databases"
    );
    let out = anonymize(&dump, &rules);
    let mut emails = original_emails(&my, a_ref);
    emails.push("zed@example.com".into());
    assert_absent(&out, &emails, "two databases");

    // Restore into fresh databases of the same names (the dump creates and selects them);
    // the target already holds its own audit_log in the first one.
    my.drop_db(b);
    my.fresh_db(a);
    my.exec(Some(a), TARGET_OWN_AUDIT_LOG);
    my.restore_clean(None, &out, &[GENERATED_COLUMN_IGNORED]);
    check_restored(&my, a_ref, a);

    let q = |sql: &str| {
        my.count(
            None,
            &sql.replace("A_", a)
                .replace("B_REF", b_ref)
                .replace("B_", b),
        )
    };
    assert_eq!(q("SELECT COUNT(*) FROM `B_`.customers"), 3);
    assert_eq!(
        q("SELECT COUNT(*) FROM `B_`.customers WHERE company = 'ACME ''Test'' \\\\ Co'"),
        3,
        "constant (qualified rule) with quote and backslash"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM `B_REF`.customers r JOIN `B_`.customers d USING (id) WHERE LOWER(r.email) = LOWER(d.email)"),
        0
    );
    // The same person gets the same pseudonym across databases.
    assert_eq!(
        q(
            "SELECT COUNT(*) FROM `B_REF`.customers rc JOIN `B_`.customers dc USING (id) \
           JOIN `my_multi_a_ref`.users ru ON LOWER(ru.email) = LOWER(rc.email) \
           JOIN `A_`.users du ON du.id = ru.id WHERE du.email = dc.email"
        ),
        2
    );
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn no_rules_output_is_byte_identical_and_restores() {
    let my = MySql::from_env();
    let src = "my_norules_src";
    my.fresh_db(src);
    my.exec(Some(src), AWKWARD);
    let dump = my.dump(&["--routines", src]);
    let out = anonymize(&dump, "rules: {}\n");
    assert!(out == dump, "with no rules the output must equal the input");
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn generated_columns_do_not_carry_original_values() {
    // mariadb-dump writes the values of generated columns (the server ignores them on restore,
    // warning 1906). `users.name_upper` is UPPER(name): when `name` is anonymized, the dumped
    // value of `name_upper` still spells the real name unless sql-dump drops or replaces it.
    let my = MySql::from_env();
    let src = "my_generated_src";
    my.fresh_db(src);
    my.exec(Some(src), AWKWARD);
    for args in [&[][..], &["--complete-insert"][..]] {
        let mut dump_args = args.to_vec();
        dump_args.push(src);
        let out = anonymize(&my.dump(&dump_args), RULES);
        assert_absent(
            &out,
            &[
                "ALICE O\\'BRIEN".to_string(),
                "DAN O\\'REILLY".to_string(),
                "BOB \\\"BOBBY\\\" SMITH".to_string(),
            ],
            "values of a generated column derived from an anonymized column",
        );
    }
}
