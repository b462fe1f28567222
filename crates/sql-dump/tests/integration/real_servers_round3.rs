//! Issue 19 (SQL dumps, round 3) with the real servers: each case is built in a small database,
//! dumped by the real `pg_dump`/`mariadb-dump`, anonymized, and where the output should load,
//! restored with the real client (`psql -v ON_ERROR_STOP=1`, `mariadb`) and checked by SQL.
//!
//! Run with `./scripts/test` (these tests are `#[ignore]`d for plain `cargo test`). Databases
//! are named `d19_*`.

use crate::support;

use anonymize_core::Anonymizer;
use support::{anonymize_with, anonymizer, assert_absent, MySql, Pg};

/// Runs sql-dump and returns its error message (the run must fail).
fn rejected(dump: &[u8], rules: &str) -> String {
    let anon = anonymizer(rules, "round3.yaml");
    let mut out = Vec::new();
    match sql_dump::rewrite_sql(dump, &mut out, &anon, &sql_dump::SqlOptions::default()) {
        Ok(_) => panic!("sql-dump accepted a dump it must refuse"),
        Err(e) => e.to_string(),
    }
}

/// Failed-closed counts of the rules, in rules-file order.
fn failed_closed(anon: &Anonymizer) -> Vec<u64> {
    anon.report()
        .rules
        .iter()
        .map(|r| r.failed_closed)
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

const PG_JSON: &str = r#"
CREATE TABLE docs (id int PRIMARY KEY, j jsonb, js json, t text);
INSERT INTO docs VALUES
 (1, '{"contact":{"email":"ann.j@corp.example"}}', '{"contact":{"email":"ann.js@corp.example"},"big":123456789012345678901234567890.123456789,"e":1E+2}', '{"contact":{"email":"ann.t@corp.example"}}'),
 (2, '{"contact":"bob.j@corp.example"}', '{"contact":"bob.js@corp.example"}', '{"contact":"bob.t@corp.example"}'),
 (3, '{"contact":["cy.j@corp.example"]}', '{"contact":["cy.js@corp.example"]}', '{"contact":["cy.t@corp.example"]}'),
 (4, '"dee.j@corp.example"', '"dee.js@corp.example"', '"dee.t@corp.example"'),
 (5, to_jsonb('{"contact":{"email":"eve.j@corp.example"}}'::text), to_json('{"contact":{"email":"eve.js@corp.example"}}'::text), to_json('{"contact":{"email":"eve.t@corp.example"}}'::text)::text),
 (6, NULL, '{"other":1}', '{}');
"#;

const JSON_RULES: &str = "
rules:
  docs:
    fields:
      j.contact.email: hash_email
      js.contact.email: hash_email
      t.contact.email: hash_email
";

fn json_secrets() -> Vec<String> {
    let mut v = Vec::new();
    for who in ["ann", "bob", "cy", "dee", "eve"] {
        for col in ["j", "js", "t"] {
            v.push(format!("{who}.{col}@corp"));
        }
    }
    v
}

/// 19.1: jsonb, json and text columns holding documents of another shape (a string or an
/// array where the rule expects an object, a whole document that is a string) are nulled
/// there and counted as failed closed; double-encoded documents are rewritten inside their
/// string; untouched numbers keep their digits; the output restores.
#[test]
#[ignore = "needs the real servers (./scripts/test)"]
fn postgres_json_of_another_shape_fails_closed() {
    let pg = Pg::from_env();
    pg.fresh_db("d19_json_src");
    pg.exec("d19_json_src", PG_JSON);
    for args in [&[][..], &["--inserts"][..]] {
        let dump = pg.dump("d19_json_src", args);
        let anon = anonymizer(JSON_RULES, "json.yaml");
        let out = anonymize_with(&dump, &anon);
        assert_absent(&out, &json_secrets(), &format!("{args:?}"));
        // Rows 2, 3 and 4 of each column are of another shape.
        assert_eq!(failed_closed(&anon), [3, 3, 3], "{args:?}");
        pg.fresh_db("d19_json_dst");
        pg.restore("d19_json_dst", &out);
        let q = |sql: &str| pg.scalar("d19_json_dst", sql);
        assert_eq!(
            q("SELECT js->>'big' FROM docs WHERE id = 1"),
            "123456789012345678901234567890.123456789"
        );
        assert!(q("SELECT js::text FROM docs WHERE id = 1").contains("\"e\":1E+2"));
        assert_eq!(
            q("SELECT j->>'contact' IS NULL AND j ? 'contact' FROM docs WHERE id = 2"),
            "t"
        );
        assert_eq!(
            q("SELECT j::text FROM docs WHERE id = 3"),
            r#"{"contact": [null]}"#
        );
        assert_eq!(
            q("SELECT j::text || js::text || t FROM docs WHERE id = 4"),
            "nullnullnull"
        );
        // Double-encoded: still a JSON string holding a document, with the address rewritten.
        for col in ["j", "js"] {
            let inner = q(&format!(
                "SELECT ({col} #>> '{{}}')::jsonb #>> '{{contact,email}}' FROM docs WHERE id = 5"
            ));
            assert!(inner.ends_with("@anonymized.syrf.local"), "{col}: {inner}");
        }
        let inner =
            q("SELECT (t::jsonb #>> '{}')::jsonb #>> '{contact,email}' FROM docs WHERE id = 5");
        assert!(inner.ends_with("@anonymized.syrf.local"), "t: {inner}");
        assert_eq!(
            q("SELECT js::text || t FROM docs WHERE id = 6"),
            r#"{"other":1}{}"#
        );
    }
}

/// 19.1: rules that reach into a composite column as into a JSON document are refused at the
/// start (they would null the whole column while the summary says "never matched").
#[test]
#[ignore = "needs the real servers (./scripts/test)"]
fn postgres_json_path_rules_on_a_composite_column_are_refused() {
    let pg = Pg::from_env();
    pg.fresh_db("d19_comp_src");
    pg.exec(
        "d19_comp_src",
        "CREATE TYPE addr AS (email text, city text);
         CREATE TABLE people (id int PRIMARY KEY, a addr);
         INSERT INTO people VALUES (1, ROW('ann.c@corp.example', 'Oslo'));",
    );
    let dump = pg.dump("d19_comp_src", &[]);
    let err = rejected(
        &dump,
        "rules:\n  people:\n    fields:\n      a.email: hash_email\n",
    );
    assert!(err.contains("`a`") && err.contains("not JSON"), "{err}");
    assert!(!err.contains("ann.c@"), "{err}");
}

const MY_JSON: &str = r#"
CREATE TABLE docs (id INT PRIMARY KEY, j JSON, name VARCHAR(40));
INSERT INTO docs VALUES
 (1, '{"contact":{"email":"ann.j@corp.example"},"big":123456789012345678901234567890.123456789,"who":"Zoë Café"}', 'Zoë'),
 (2, '{"contact":"bob.j@corp.example","who":"Zoë"}', 'a'),
 (3, '{"contact":["cy.j@corp.example"]}', 'b'),
 (4, '"dee.j@corp.example"', 'c'),
 (5, JSON_QUOTE('{"contact":{"email":"eve.j@corp.example"},"who":"Zoë"}'), 'd'),
 (6, NULL, 'e');
"#;

/// 19.1 and 19.12 on MariaDB: the same shapes in a JSON column, with the default dump and
/// with `--compatible=...` dumps (Latin-1 without `SET NAMES`): documents with non-ASCII
/// text are read, rewritten and written back in Latin-1, none is nulled unexplained.
#[test]
#[ignore = "needs the real servers (./scripts/test)"]
fn mysql_json_of_another_shape_fails_closed() {
    let my = MySql::from_env();
    my.fresh_db("d19_json_src");
    my.exec(Some("d19_json_src"), MY_JSON);
    let rules = "rules:\n  docs:\n    fields:\n      j.contact.email: hash_email\n";
    let secrets: Vec<String> = ["ann", "bob", "cy", "dee", "eve"]
        .iter()
        .map(|w| format!("{w}.j@corp"))
        .collect();
    for args in [
        &[][..],
        &["--compatible=postgresql"][..],
        &["--compatible=ansi"][..],
    ] {
        let mut all = args.to_vec();
        all.push("d19_json_src");
        let dump = my.dump(&all);
        let anon = anonymizer(rules, "json.yaml");
        let out = anonymize_with(&dump, &anon);
        assert_absent(&out, &secrets, &format!("{args:?}"));
        assert_eq!(failed_closed(&anon), [3], "{args:?}");
        if args.is_empty() {
            my.fresh_db("d19_json_dst");
            my.restore(Some("d19_json_dst"), &out);
            let q = |sql: &str| my.scalar(Some("d19_json_dst"), sql);
            assert_eq!(
                q("SELECT JSON_EXTRACT(j, '$.big') FROM docs WHERE id = 1"),
                "123456789012345678901234567890.123456789"
            );
            assert_eq!(
                q("SELECT JSON_EXTRACT(j, '$.contact') FROM docs WHERE id = 2"),
                "null"
            );
            assert_eq!(q("SELECT j FROM docs WHERE id = 4"), "null");
            let inner =
                q("SELECT JSON_VALUE(JSON_UNQUOTE(j), '$.contact.email') FROM docs WHERE id = 5");
            assert!(inner.ends_with("@anonymized.syrf.local"), "{inner}");
        } else {
            // Latin-1 text came through as Latin-1: `Zoë` is the byte 0xEB.
            assert!(
                memchr::memmem::find(&out, b"Zo\xeb Caf\xe9").is_some(),
                "{args:?}"
            );
        }
    }
}

/// 19.9 and 19.11: transforms the column type cannot take are refused at the start, also
/// under `pg_dump --quote-all-identifiers` (quoted type names) and for MariaDB VARBINARY.
#[test]
#[ignore = "needs the real servers (./scripts/test)"]
fn transforms_the_column_cannot_take_are_refused() {
    let pg = Pg::from_env();
    pg.fresh_db("d19_types_src");
    pg.exec(
        "d19_types_src",
        "CREATE TABLE t (id int PRIMARY KEY, pic bytea NOT NULL, tags text[], born date, nums int[]);
         INSERT INTO t VALUES (1, 'ann.b@corp.example'::bytea, '{ann.tag@corp.example}', '1980-01-02', '{1,2}');",
    );
    for args in [
        &[][..],
        &["--quote-all-identifiers"][..],
        &["--inserts", "--quote-all-identifiers"][..],
    ] {
        let dump = pg.dump("d19_types_src", args);
        for (field, transform) in [
            ("pic", "hash_email"),
            ("pic", "mask"),
            ("pic", "sequential"),
            ("tags", "{transform: constant, value: x}"),
            ("nums", "hash_email"),
            ("born", "hash"),
        ] {
            let rules = format!("rules:\n  t:\n    fields:\n      {field}: {transform}\n");
            let err = rejected(&dump, &rules);
            assert!(
                err.contains(&format!("`{field}`")),
                "{args:?} {rules}: {err}"
            );
            assert!(!err.contains("ann."), "{err}");
        }
        // What the columns can take still passes and restores.
        let rules = "rules:\n  t:\n    fields:\n      tags: {transform: constant, value: '{x}'}\n      pic: hash\n      born: date_shift\n";
        let anon = anonymizer(rules, "types.yaml");
        let out = anonymize_with(&dump, &anon);
        assert_absent(
            &out,
            &strings(&["ann.tag@", "1980-01-02"]),
            &format!("{args:?}"),
        );
        pg.fresh_db("d19_types_dst");
        pg.restore("d19_types_dst", &out);
        assert_eq!(
            pg.scalar("d19_types_dst", "SELECT tags::text FROM t"),
            "{x}"
        );
    }
    let my = MySql::from_env();
    my.fresh_db("d19_types_src");
    my.exec(
        Some("d19_types_src"),
        "CREATE TABLE t (id INT PRIMARY KEY, e VARBINARY(80) NOT NULL);
         INSERT INTO t VALUES (1, 'ann.vb@corp.example');",
    );
    let dump = my.dump(&["d19_types_src"]);
    for transform in ["hash_email", "mask", "sequential"] {
        let err = rejected(
            &dump,
            &format!("rules:\n  t:\n    fields:\n      e: {transform}\n"),
        );
        assert!(err.contains("`e`"), "{transform}: {err}");
    }
}

/// Drops a PostgreSQL database that may hold subscription `sub` (a database with a
/// subscription cannot be dropped).
fn pg_drop_with_subscription(pg: &Pg, db: &str) {
    let exists = pg.count(
        "postgres",
        &format!("SELECT COUNT(*) FROM pg_database WHERE datname = '{db}'"),
    );
    if exists == 1 {
        pg.exec(db, "DROP SUBSCRIPTION IF EXISTS sub;");
        pg.exec("postgres", &format!("DROP DATABASE \"{db}\" WITH (FORCE);"));
    }
}

/// 19.5 and 19.4: `pg_dump` of a user mapping with a password and a subscription whose
/// connection string holds one: both passwords are removed, the output restores.
#[test]
#[ignore = "needs the real servers (./scripts/test)"]
fn postgres_user_mapping_and_subscription_passwords_are_removed() {
    let pg = Pg::from_env();
    pg_drop_with_subscription(&pg, "d19_cred_src");
    pg_drop_with_subscription(&pg, "d19_cred_dst");
    pg.fresh_db("d19_cred_src");
    pg.exec(
        "d19_cred_src",
        "CREATE EXTENSION postgres_fdw;
         CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'db.example', dbname 'app');
         CREATE USER MAPPING FOR postgres SERVER s OPTIONS (password 'Secr3t!', \"user\" 'remote');
         CREATE TABLE t (id int PRIMARY KEY, email text);
         CREATE PUBLICATION pub FOR TABLE t;
         SET client_min_messages = error;
         CREATE SUBSCRIPTION sub CONNECTION 'host=db.example port=5432 password=Secr3t! dbname=app'
           PUBLICATION pub WITH (connect = false, slot_name = NONE);",
    );
    let dump = pg.dump("d19_cred_src", &[]);
    assert!(String::from_utf8_lossy(&dump).contains("Secr3t!"));
    let out = anonymize_with(&dump, &anonymizer("rules: {}\n", "none.yaml"));
    assert_absent(&out, &strings(&["Secr3t!"]), "passwords");
    pg.fresh_db("d19_cred_dst");
    pg.restore("d19_cred_dst", &out);
    assert_eq!(
        pg.scalar(
            "d19_cred_dst",
            "SELECT array_to_string(umoptions, ',') FROM pg_user_mappings WHERE srvname = 's'"
        ),
        "user=remote"
    );
    assert_eq!(
        pg.scalar("d19_cred_dst", "SELECT subconninfo FROM pg_subscription WHERE subname = 'sub' AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())"),
        "host=db.example port=5432 dbname=app"
    );
    pg_drop_with_subscription(&pg, "d19_cred_src");
    pg_drop_with_subscription(&pg, "d19_cred_dst");
}

/// 19.4 and 19.13: MariaDB's `mysql.column_stats` (filled by `ANALYZE TABLE ... PERSISTENT
/// FOR ALL`) holds the smallest and largest e-mail address: its rows are dropped by
/// default, as are `mysql.servers` passwords; the `SET DEFAULT ROLE ... FOR` of a dropped
/// user goes with the user.
#[test]
#[ignore = "needs the real servers (./scripts/test)"]
fn mysql_statistics_servers_and_default_roles_are_dropped() {
    let my = MySql::from_env();
    my.fresh_db("d19_stats_src");
    my.exec(
        Some("d19_stats_src"),
        "CREATE TABLE customer (id INT PRIMARY KEY, email VARCHAR(80));
         INSERT INTO customer VALUES (1, 'aaron.min@corp.example'), (2, 'zed.max@corp.example');
         ANALYZE TABLE customer PERSISTENT FOR ALL;
         DELETE FROM mysql.servers WHERE Server_name = 'd19_remote';
         INSERT INTO mysql.servers VALUES ('d19_remote','db.example','app','remote','Secr3t!',3306,'','mysql','');",
    );
    let rules = "rules:\n  customer:\n    fields:\n      email: hash_email\n";
    let dump = my.dump(&["mysql", "column_stats", "servers"]);
    assert!(String::from_utf8_lossy(&dump).contains("aaron.min@corp.example"));
    let anon = anonymizer(rules, "stats.yaml");
    let mut out = Vec::new();
    let summary =
        sql_dump::rewrite_sql(&dump[..], &mut out, &anon, &sql_dump::SqlOptions::default())
            .expect("rewritten");
    assert_absent(
        &out,
        &strings(&["aaron.min@", "zed.max@", "Secr3t!"]),
        "mysql tables",
    );
    assert!(
        summary
            .credentials
            .iter()
            .any(|c| c.starts_with("mysql.column_stats: statistics table dropped")),
        "{:?}",
        summary.credentials
    );
    // The rest of the output still loads.
    my.fresh_db("d19_stats_dst");
    my.restore(Some("d19_stats_dst"), &out);
    my.exec(
        None,
        "DELETE FROM mysql.servers WHERE Server_name = 'd19_remote';",
    );

    my.exec(
        None,
        "DROP USER IF EXISTS 'd19_app'@'%'; DROP ROLE IF EXISTS d19_role; CREATE ROLE d19_role;
         CREATE USER 'd19_app'@'%' IDENTIFIED BY 'Secr3t!'; GRANT d19_role TO 'd19_app'@'%';
         SET DEFAULT ROLE d19_role FOR 'd19_app'@'%';",
    );
    let dump = my.dump(&["--system=users", "--no-data", "d19_stats_src"]);
    let text = String::from_utf8_lossy(&dump).into_owned();
    assert!(text.contains("/*M!100005 SET DEFAULT ROLE") && text.contains("d19_app"));
    let out = anonymize_with(&dump, &anonymizer(rules, "users.yaml"));
    let out = String::from_utf8_lossy(&out);
    assert!(!out.contains("DEFAULT ROLE"), "{out}");
    assert!(
        !out.contains("d19_app") && !out.contains("IDENTIFIED"),
        "{out}"
    );
    my.exec(
        None,
        "DROP USER IF EXISTS 'd19_app'@'%'; DROP ROLE IF EXISTS d19_role;",
    );
}

/// 19.3 with the real clients: upsert trailers and single-table UPDATEs appended to real
/// dumps (phpMyAdmin's UPDATE-mode export, hand-made upserts) have their covered columns
/// rewritten, and the output restores with the rewritten values.
#[test]
#[ignore = "needs the real servers (./scripts/test)"]
fn upserts_and_updates_are_rewritten_and_restore() {
    let rules = "rules:\n  customer:\n    fields:\n      email: hash_email\n";
    let secrets = strings(&["ann.up@", "bob.up@", "cy.up@"]);
    let my = MySql::from_env();
    my.fresh_db("d19_up_src");
    my.exec(
        Some("d19_up_src"),
        "CREATE TABLE customer (id INT PRIMARY KEY, email VARCHAR(80), n INT);
         INSERT INTO customer VALUES (1, 'ann.up@corp.example', 0);",
    );
    let mut dump = my.dump(&["d19_up_src"]);
    dump.extend_from_slice(
        b"INSERT INTO `customer` VALUES (1,'ann.up@corp.example',1) ON DUPLICATE KEY UPDATE `email` = 'bob.up@corp.example', `n` = `n` + 1;\n\
          UPDATE `customer` SET `id` = 2, `email` = 'cy.up@corp.example' WHERE `customer`.`email` = 'bob.up@corp.example';\n",
    );
    let out = anonymize_with(&dump, &anonymizer(rules, "up.yaml"));
    assert_absent(&out, &secrets, "mysql upserts");
    my.fresh_db("d19_up_dst");
    my.restore(Some("d19_up_dst"), &out);
    // The WHERE matched the rewritten value: the row moved to id 2, with a pseudonym.
    let rows = my.query(Some("d19_up_dst"), "SELECT id, email, n FROM customer");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0][0].as_str(), rows[0][2].as_str()),
        ("2", "1"),
        "{rows:?}"
    );
    assert!(rows[0][1].ends_with("@anonymized.syrf.local"), "{rows:?}");

    let pg = Pg::from_env();
    pg.fresh_db("d19_up_src");
    pg.exec(
        "d19_up_src",
        "CREATE TABLE customer (id int PRIMARY KEY, email text, n int);
         INSERT INTO customer VALUES (1, 'ann.up@corp.example', 0);",
    );
    for args in [&[][..], &["--inserts"][..]] {
        let mut dump = pg.dump("d19_up_src", args);
        dump.extend_from_slice(
            b"INSERT INTO public.customer VALUES (1, 'ann.up@corp.example', 1) ON CONFLICT (id) DO UPDATE SET email = 'bob.up@corp.example', n = customer.n + 1;\n\
              UPDATE public.customer SET email = 'cy.up@corp.example' WHERE email = 'bob.up@corp.example';\n",
        );
        let out = anonymize_with(&dump, &anonymizer(rules, "up.yaml"));
        assert_absent(&out, &secrets, "postgres upserts");
        pg.fresh_db("d19_up_dst");
        pg.restore("d19_up_dst", &out);
        let rows = pg.query("d19_up_dst", "SELECT id, email, n FROM customer");
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(
            (rows[0][0].as_str(), rows[0][2].as_str()),
            ("1", "1"),
            "{rows:?}"
        );
        assert!(rows[0][1].ends_with("@anonymized.syrf.local"), "{rows:?}");
        // The UPDATE's WHERE found the upsert's pseudonym: the address is cy's.
        let cy = pg.scalar("d19_up_dst", "SELECT email FROM customer");
        let ann_only = anonymize_with(
            b"--\n-- PostgreSQL database dump\n--\nCREATE TABLE public.customer (id integer, email text, n integer);\nINSERT INTO public.customer VALUES (1, 'cy.up@corp.example', 0);\n",
            &anonymizer(rules, "up.yaml"),
        );
        assert!(String::from_utf8_lossy(&ann_only).contains(&cy), "{cy}");
    }
}

/// 19.15: an Adminer-style PostgreSQL dump (unqualified names, no `search_path`) follows the
/// rules of `public` tables; concatenated mysqldumps follow each header's database.
#[test]
#[ignore = "needs the real servers (./scripts/test)"]
fn unqualified_names_and_concatenated_dumps_are_attributed() {
    let pg = Pg::from_env();
    pg.fresh_db("d19_attr_src");
    pg.exec(
        "d19_attr_src",
        "CREATE TABLE users (id int PRIMARY KEY, email text);
         INSERT INTO users VALUES (1, 'ann.attr@corp.example');",
    );
    // What Adminer writes: bare quoted names, no SET search_path.
    let mut dump = b"--\n-- PostgreSQL database dump\n--\n".to_vec();
    dump.extend_from_slice(
        b"CREATE TABLE \"users\" (\"id\" integer NOT NULL, \"email\" text);\nINSERT INTO \"users\" (\"id\", \"email\") VALUES (1, 'ann.attr@corp.example');\n",
    );
    let rules = "rules:\n  public.users:\n    fields:\n      email: hash_email\n";
    let out = anonymize_with(&dump, &anonymizer(rules, "attr.yaml"));
    assert_absent(&out, &strings(&["ann.attr@"]), "adminer");
    pg.fresh_db("d19_attr_dst");
    pg.restore("d19_attr_dst", &out);
    assert!(pg
        .scalar("d19_attr_dst", "SELECT email FROM users")
        .ends_with("@anonymized.syrf.local"));

    let my = MySql::from_env();
    for db in ["d19_cat_a", "d19_cat_b"] {
        my.fresh_db(db);
        my.exec(
            Some(db),
            &format!(
                "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(80));
                 INSERT INTO users VALUES (1, 'ann.{db}@corp.example');"
            ),
        );
    }
    let mut dump = my.dump(&["d19_cat_a"]);
    dump.extend(my.dump(&["d19_cat_b"]));
    let rules = "rules:\n  d19_cat_a.users:\n    fields:\n      email: {transform: constant, value: a@x.example}\n  \
                 d19_cat_b.users:\n    fields:\n      email: {transform: constant, value: b@x.example}\n";
    let out = String::from_utf8_lossy(&anonymize_with(&dump, &anonymizer(rules, "cat.yaml")))
        .into_owned();
    let a = out.find("'a@x.example'").expect("first dump's rule");
    let b = out.find("'b@x.example'").expect("second dump's rule");
    assert!(a < b && !out.contains("ann.d19_cat"), "{out}");
}

/// 19.6: an excluded table's publication membership goes with it; its sequence, used by
/// another table's default, stays (without its OWNED BY); the output restores.
#[test]
#[ignore = "needs the real servers (./scripts/test)"]
fn exclusions_leave_nothing_that_needs_the_excluded_table() {
    let pg = Pg::from_env();
    pg.fresh_db("d19_ex_src");
    pg.exec(
        "d19_ex_src",
        "SET client_min_messages = error;
         CREATE TABLE audit (id serial PRIMARY KEY, note text);
         CREATE TABLE other (id int PRIMARY KEY DEFAULT nextval('audit_id_seq'), x text);
         INSERT INTO audit (note) VALUES ('secret.audit@corp.example');
         INSERT INTO other (x) VALUES ('o');
         CREATE PUBLICATION pub FOR TABLE other;
         ALTER PUBLICATION pub ADD TABLE audit;
         CREATE PUBLICATION pub2 FOR TABLE audit, other;",
    );
    for args in [&[][..], &["--inserts"][..]] {
        let dump = pg.dump("d19_ex_src", args);
        let out = anonymize_with(&dump, &anonymizer("exclusions: [audit]\n", "ex.yaml"));
        assert_absent(&out, &strings(&["secret.audit@"]), "excluded");
        pg.fresh_db("d19_ex_dst");
        pg.restore("d19_ex_dst", &out);
        let q = |sql: &str| pg.scalar("d19_ex_dst", sql);
        assert_eq!(
            q("SELECT COUNT(*) FROM pg_class WHERE relname = 'audit'"),
            "0"
        );
        assert_eq!(
            q("SELECT string_agg(tablename, ',') FROM pg_publication_tables"),
            "other,other"
        );
        // The sequence still feeds `other`, at the value it had.
        pg.exec("d19_ex_dst", "INSERT INTO other (x) VALUES ('p');");
        assert_eq!(q("SELECT max(id) FROM other"), "3");
    }
    // A column of the excluded table's row type: refused with advice.
    pg.exec(
        "d19_ex_src",
        "CREATE TABLE holder (id int PRIMARY KEY, a audit);
         INSERT INTO holder VALUES (1, ROW(5, 'row.secret@corp.example'));",
    );
    let dump = pg.dump("d19_ex_src", &[]);
    let err = rejected(&dump, "exclusions: [audit]\n");
    assert!(
        err.contains("public.holder") && err.contains("row type"),
        "{err}"
    );
    assert!(!err.contains("row.secret"), "{err}");
}

/// 19.10: an `INHERITS` child whose parent gained a column after the child was created:
/// COPY and `--column-inserts` name the columns and are rewritten right; `--inserts` rows
/// (in the child's physical order, which the dump does not tell) are refused.
#[test]
#[ignore = "needs the real servers (./scripts/test)"]
fn inherits_children_rows_go_to_the_right_columns_or_are_refused() {
    let pg = Pg::from_env();
    pg.fresh_db("d19_inh_src");
    pg.exec(
        "d19_inh_src",
        "CREATE TABLE person (id int, name text);
         CREATE TABLE customer (email text) INHERITS (person);
         ALTER TABLE person ADD COLUMN phone text;
         INSERT INTO customer (id, name, email, phone) VALUES (1, 'Ann', 'ann.inh@corp.example', '+44 20 7946 0001');",
    );
    let rules = "rules:\n  customer:\n    fields:\n      phone: digits\n      email: hash_email\n";
    for args in [&[][..], &["--column-inserts"][..]] {
        let dump = pg.dump("d19_inh_src", args);
        let out = anonymize_with(&dump, &anonymizer(rules, "inh.yaml"));
        assert_absent(
            &out,
            &strings(&["ann.inh@", "7946 0001"]),
            &format!("{args:?}"),
        );
        pg.fresh_db("d19_inh_dst");
        pg.restore("d19_inh_dst", &out);
        let row = &pg.query("d19_inh_dst", "SELECT email, phone FROM customer")[0];
        assert!(
            row[0].ends_with("@anonymized.syrf.local"),
            "{args:?}: {row:?}"
        );
        // `digits` keeps the layout: the phone column got a phone number.
        assert!(
            row[1].len() == 16 && row[1].starts_with('+') && row[1] != "+44 20 7946 0001",
            "{args:?}: {row:?}"
        );
    }
    let dump = pg.dump("d19_inh_src", &["--inserts"]);
    let err = rejected(&dump, rules);
    assert!(
        err.contains("public.customer") && err.contains("--column-inserts"),
        "{err}"
    );
}

/// The pseudonyms in column 0 of `rows` are distinct and share their first 16 hex
/// characters (`hash_email`'s hash of the normalised address): `<hash>[+<tag>].<dh>@...`.
fn assert_distinct_and_linked(rows: &[Vec<String>], what: &str) {
    let emails: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let mut unique = emails.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), emails.len(), "{what}: {emails:?}");
    assert!(
        emails
            .iter()
            .all(|e| e[..16] == emails[0][..16] && e.ends_with("@anonymized.syrf.local")),
        "{what}: {emails:?}"
    );
}

/// 19.7: `Bob@x`, `bob@x` and ` bob@x` in a unique column that tells them apart
/// (PostgreSQL `text`, MariaDB `utf8mb4_bin`; leading spaces under `_ci`) get distinct
/// pseudonyms that share the hash of the normalised address; the output restores. MariaDB's
/// unique keys are in the `CREATE TABLE`, before the rows; pg_dump writes them after the data,
/// so PostgreSQL rules say `distinct_variants: true`. Without it a column with no unique key
/// keeps one pseudonym for the variants (joins on `lower(email)` still match).
#[test]
#[ignore = "needs the real servers (./scripts/test)"]
fn hash_email_keeps_variants_distinct_where_the_column_does() {
    let rules =
        "rules:\n  users:\n    fields:\n      email: {transform: hash_email, distinct_variants: true}\n";
    let pg = Pg::from_env();
    pg.fresh_db("d19_var_src");
    pg.exec(
        "d19_var_src",
        "CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE);
         INSERT INTO users VALUES (1, 'Bob.Var@corp.example'), (2, 'bob.var@corp.example'), (3, ' bob.var@corp.example');",
    );
    for args in [&[][..], &["--inserts"][..]] {
        let out = anonymize_with(
            &pg.dump("d19_var_src", args),
            &anonymizer(rules, "var.yaml"),
        );
        assert_absent(&out, &strings(&["bob.var@"]), "pg variants");
        pg.fresh_db("d19_var_dst");
        pg.restore("d19_var_dst", &out);
        let rows = pg.query("d19_var_dst", "SELECT email FROM users ORDER BY id");
        assert_distinct_and_linked(&rows, &format!("pg {args:?}"));
        // The normalised address itself keeps the plain pseudonym.
        assert!(!rows[1][0].contains('+'), "{rows:?}");
    }
    let plain = "rules:\n  users:\n    fields:\n      email: hash_email\n";
    pg.exec(
        "d19_var_src",
        "ALTER TABLE users DROP CONSTRAINT users_email_key;",
    );
    let out = anonymize_with(&pg.dump("d19_var_src", &[]), &anonymizer(plain, "var.yaml"));
    pg.fresh_db("d19_var_dst");
    pg.restore("d19_var_dst", &out);
    assert_eq!(
        pg.count("d19_var_dst", "SELECT COUNT(DISTINCT email) FROM users"),
        1
    );
    let my = MySql::from_env();
    my.fresh_db("d19_var_src");
    my.exec(
        Some("d19_var_src"),
        "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(80) UNIQUE) COLLATE utf8mb4_bin;
         INSERT INTO users VALUES (1, 'Bob.Var@corp.example'), (2, 'bob.var@corp.example'), (3, ' bob.var@corp.example');
         CREATE TABLE users_ci (id INT PRIMARY KEY, email VARCHAR(80) UNIQUE) COLLATE utf8mb4_general_ci;
         INSERT INTO users_ci VALUES (2, 'Bob.Var@corp.example'), (3, ' bob.var@corp.example');",
    );
    let rules = "rules:\n  users:\n    fields:\n      email: hash_email\n  users_ci:\n    fields:\n      email: hash_email\n";
    let out = anonymize_with(&my.dump(&["d19_var_src"]), &anonymizer(rules, "var.yaml"));
    assert_absent(&out, &strings(&["bob.var@"]), "mysql variants");
    my.fresh_db("d19_var_dst");
    my.restore(Some("d19_var_dst"), &out);
    let rows = my.query(Some("d19_var_dst"), "SELECT email FROM users ORDER BY id");
    assert_distinct_and_linked(&rows, "mysql _bin");
    let ci = my.query(
        Some("d19_var_dst"),
        "SELECT email FROM users_ci ORDER BY id",
    );
    assert_distinct_and_linked(&ci, "mysql _ci");
    // Under `_ci`, case is not a difference: `Bob.Var@` has the plain pseudonym of `bob.var@`.
    assert_eq!(ci[0][0], rows[1][0]);
}

/// 19.8: a foreign key between columns of different lengths whose pseudonyms would be cut
/// differently is refused (MariaDB: in the CREATE TABLE; PostgreSQL: the key comes after the
/// data, the run fails there); pseudonyms that fit both keep the key valid on restore.
#[test]
#[ignore = "needs the real servers (./scripts/test)"]
fn foreign_key_pseudonyms_stay_equal_or_are_refused() {
    let schema = "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100) UNIQUE);
         CREATE TABLE orders (id INT PRIMARY KEY, user_email VARCHAR(30),
           FOREIGN KEY (user_email) REFERENCES users (email));
         INSERT INTO users VALUES (1, 'ann.fk@corp.example');
         INSERT INTO orders VALUES (1, 'ann.fk@corp.example');";
    let too_long = "rules:\n  users:\n    fields:\n      email: hash_email\n  orders:\n    fields:\n      user_email: hash_email\n";
    let fits = "rules:\n  users:\n    fields:\n      email: {transform: hash_email, domain: x.io}\n  orders:\n    fields:\n      user_email: {transform: hash_email, domain: x.io}\n";
    let my = MySql::from_env();
    my.fresh_db("d19_fk_src");
    my.exec(Some("d19_fk_src"), schema);
    let dump = my.dump(&["d19_fk_src"]);
    let err = rejected(&dump, too_long);
    assert!(
        err.contains("user_email") && err.contains("different lengths"),
        "{err}"
    );
    let out = anonymize_with(&dump, &anonymizer(fits, "fk.yaml"));
    assert_absent(&out, &strings(&["ann.fk@"]), "mysql fk");
    my.fresh_db("d19_fk_dst");
    my.restore(Some("d19_fk_dst"), &out);
    assert_eq!(
        my.count(
            Some("d19_fk_dst"),
            "SELECT COUNT(*) FROM orders JOIN users ON users.email = orders.user_email"
        ),
        1
    );
    let pg = Pg::from_env();
    pg.fresh_db("d19_fk_src");
    pg.exec("d19_fk_src", schema);
    for args in [&[][..], &["--inserts"][..]] {
        let dump = pg.dump("d19_fk_src", args);
        let err = rejected(&dump, too_long);
        assert!(
            err.contains("user_email") && err.contains("different lengths"),
            "{err}"
        );
        let out = anonymize_with(&dump, &anonymizer(fits, "fk.yaml"));
        pg.fresh_db("d19_fk_dst");
        pg.restore("d19_fk_dst", &out);
    }
}

/// 19.14: array columns take transforms element by element where the element type allows
/// (`text[]`: hash_email, digits, mask), and the output restores.
#[test]
#[ignore = "needs the real servers (./scripts/test)"]
fn array_columns_are_transformed_element_by_element() {
    let pg = Pg::from_env();
    pg.fresh_db("d19_arr_src");
    pg.exec(
        "d19_arr_src",
        r#"CREATE TABLE people (id int PRIMARY KEY, emails text[], phones varchar(20)[], grid text[][]);
         INSERT INTO people VALUES
           (1, '{ann.arr@corp.example,"bob, arr@corp.example",NULL}', '{"+44 20 7946 0001","020 7946 0002"}', '{{ann.grid@corp.example,x},{y,z}}'),
           (2, '{}', NULL, NULL);"#,
    );
    let rules = "rules:\n  people:\n    fields:\n      emails: hash_email\n      phones: digits\n      grid: hash_email\n";
    for args in [&[][..], &["--inserts"][..]] {
        let out = anonymize_with(
            &pg.dump("d19_arr_src", args),
            &anonymizer(rules, "arr.yaml"),
        );
        assert_absent(
            &out,
            &strings(&["ann.arr@", "arr@corp", "7946 000", "ann.grid@"]),
            &format!("{args:?}"),
        );
        pg.fresh_db("d19_arr_dst");
        pg.restore("d19_arr_dst", &out);
        let q = |sql: &str| pg.scalar("d19_arr_dst", sql);
        assert_eq!(q("SELECT array_length(emails, 1) || ':' || (emails[3] IS NULL) FROM people WHERE id = 1"), "3:true");
        assert!(q("SELECT emails[2] FROM people WHERE id = 1").ends_with("@anonymized.syrf.local"));
        assert_eq!(q("SELECT length(phones[1]) FROM people WHERE id = 1"), "16");
        assert!(q("SELECT grid[1][1] FROM people WHERE id = 1").ends_with("@anonymized.syrf.local"));
        assert_eq!(
            q("SELECT array_dims(grid) FROM people WHERE id = 1"),
            "[1:2][1:2]"
        );
        assert_eq!(
            q("SELECT emails::text || coalesce(phones::text, 'null') FROM people WHERE id = 2"),
            "{}null"
        );
    }
}
