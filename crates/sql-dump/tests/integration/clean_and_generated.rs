//! `pg_dump --clean` preambles whose name-only `DROP INDEX`/`DROP STATISTICS` belong to an
//! excluded table (only a `CREATE` after the data tells), and generated columns' dumped values
//! in tables with rules (MariaDB writes them; they would spell the original values).

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use sql_dump::{rewrite_sql, SqlOptions};

fn anon(yaml: &str) -> Anonymizer {
    let rules = RuleSet::from_yaml(yaml, "clean.yaml").unwrap();
    Anonymizer::new(
        rules,
        KeyMode::Keyed(Key::from_bytes(b"clean and generated key, long enough").unwrap()),
    )
    .unwrap()
}

fn run(input: &str, yaml: &str) -> String {
    let mut out = Vec::new();
    rewrite_sql(
        input.as_bytes(),
        &mut out,
        &anon(yaml),
        &SqlOptions::default(),
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

/// The shape of `pg_dump --clean --if-exists`: DROPs first, the indexes after the data.
const CLEAN: &str =
    "--\n-- PostgreSQL database dump\n--\n\nSET standard_conforming_strings = on;\n\
DROP TRIGGER IF EXISTS audit_log_stamp ON public.audit_log;\n\
DROP STATISTICS IF EXISTS public.audit_log_stats;\n\
DROP INDEX IF EXISTS public.orders_user;\n\
DROP INDEX IF EXISTS public.audit_log_actor;\n\
ALTER TABLE IF EXISTS ONLY public.audit_log DROP CONSTRAINT IF EXISTS audit_log_pkey;\n\
DROP INDEX IF EXISTS public.never_created;\n\
DROP TABLE IF EXISTS public.orders;\n\
DROP TABLE IF EXISTS public.audit_log;\n\
\n--\n-- Name: orders; Type: TABLE\n--\n\n\
CREATE TABLE public.orders (\n    id integer NOT NULL,\n    user_id integer\n);\n\n\
CREATE TABLE public.audit_log (\n    id integer NOT NULL,\n    actor_email text\n);\n\n\
COPY public.orders (id, user_id) FROM stdin;\n1\t2\n\\.\n\n\
COPY public.audit_log (id, actor_email) FROM stdin;\n1\tjohn@example.com\n\\.\n\n\
--\n-- Name: audit_log_actor; Type: INDEX\n--\n\n\
CREATE INDEX audit_log_actor ON public.audit_log USING btree (actor_email);\n\n\
CREATE STATISTICS public.audit_log_stats ON id, actor_email FROM public.audit_log;\n\n\
--\n-- Name: orders_user; Type: INDEX\n--\n\n\
CREATE INDEX orders_user ON public.orders USING btree (user_id);\n\n\
--\n-- PostgreSQL database dump complete\n--\n\n";

#[test]
fn clean_preamble_drops_an_excluded_tables_index_and_keeps_the_others() {
    let out = run(CLEAN, "exclusions:\n  - audit_log\n");
    assert!(!out.contains("audit_log"), "{out}");
    assert!(!out.contains("john@example.com"), "{out}");
    // The kept table's DROP INDEX is written before its CREATE INDEX, still before it.
    let drop = out
        .find("DROP INDEX IF EXISTS public.orders_user;\n")
        .expect(&out);
    let create = out.find("CREATE INDEX orders_user ON").expect(&out);
    assert!(drop < create, "{out}");
    assert!(drop > out.find("\\.\n").unwrap(), "{out}");
    assert_eq!(
        out.matches("DROP INDEX IF EXISTS public.orders_user;")
            .count(),
        1
    );
    // A DROP whose object the dump never creates is written at the end.
    let never = out.find("DROP INDEX IF EXISTS public.never_created;\n");
    assert!(never.is_some_and(|k| k > create), "{out}");
    assert!(
        out.contains("DROP TABLE IF EXISTS public.orders;\n"),
        "{out}"
    );
    assert!(out.contains("COPY public.orders (id, user_id) FROM stdin;\n1\t2\n\\.\n"));
}

#[test]
fn clean_preamble_without_if_exists_drops_the_excluded_tables_index() {
    let dump = CLEAN.replace(" IF EXISTS", "");
    let out = run(&dump, "exclusions:\n  - audit_log\n");
    assert!(!out.contains("audit_log"), "{out}");
    // The kept table's plain DROP INDEX is not written after the data, where its index (gone
    // with its DROP TABLE) would be missing and the restore fail.
    assert!(!out.contains("DROP INDEX public.orders_user;"), "{out}");
    assert!(out.contains("DROP TABLE public.orders;\n"), "{out}");
    assert!(
        out.contains("CREATE INDEX orders_user ON public.orders"),
        "{out}"
    );
}

#[test]
fn clean_preamble_is_unchanged_when_no_table_of_the_dump_is_excluded() {
    // Exclusions that name no table of this dump, and no rules at all: byte-identical.
    for yaml in ["exclusions:\n  - not_here\n", "rules: {}\n"] {
        let dump = CLEAN.replace("audit_log", "history");
        assert_eq!(run(&dump, yaml), dump, "{yaml}");
    }
}

#[test]
fn clean_preamble_excludes_by_collections_selection() {
    let mut out = Vec::new();
    let options = SqlOptions {
        dialect: None,
        collections: Some(vec!["orders".to_string()]),
        ..SqlOptions::default()
    };
    rewrite_sql(CLEAN.as_bytes(), &mut out, &anon("rules: {}\n"), &options).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(!out.contains("audit_log"), "{out}");
    assert!(
        out.contains("DROP INDEX IF EXISTS public.orders_user;"),
        "{out}"
    );
}

#[test]
fn a_dump_without_data_resolves_drop_index_in_place() {
    // --clean --section=post-data: nothing flushes the held DDL before the CREATE INDEX.
    let dump = "--\n-- PostgreSQL database dump\n--\n\
DROP INDEX IF EXISTS public.orders_user;\nDROP INDEX IF EXISTS public.audit_log_actor;\n\
CREATE INDEX audit_log_actor ON public.audit_log USING btree (actor_email);\n\
CREATE INDEX orders_user ON public.orders USING btree (user_id);\n";
    let out = run(dump, "exclusions:\n  - audit_log\n");
    assert_eq!(
        out,
        "--\n-- PostgreSQL database dump\n--\n\
DROP INDEX IF EXISTS public.orders_user;\n\
CREATE INDEX orders_user ON public.orders USING btree (user_id);\n"
    );
}

const MARIADB: &str = "-- MariaDB dump 10.19\n\
CREATE TABLE `users` (\n  `id` int(11) NOT NULL,\n  `name` varchar(100) DEFAULT NULL,\n  \
`name_upper` varchar(100) GENERATED ALWAYS AS (ucase(`name`)) VIRTUAL,\n  \
`name_len` int(11) AS (char_length(`name`)) PERSISTENT,\n  \
`initial` char(1) AS (left(`name`,1)) STORED,\n  `note` text\n);\n\
INSERT INTO `users` VALUES (1,'Alice O\\'Brien','ALICE O\\'BRIEN',14,'A','keep'),\
(2,NULL,NULL,NULL,NULL,'n');\n\
INSERT INTO `users` (`id`, `name`, `name_upper`, `name_len`, `initial`, `note`) VALUES \
(3,'Dan O\\'Reilly','DAN O\\'REILLY',13, 'D' ,'keep');\n";

#[test]
fn generated_columns_are_written_as_default_in_tables_with_rules() {
    let out = run(
        MARIADB,
        "rules:\n  users:\n    fields:\n      name: {transform: fake, kind: name}\n",
    );
    for original in ["O\\'Brien", "BRIEN", "REILLY", "'A'", "'D'", ",14,", ",13,"] {
        assert!(!out.contains(original), "{original}: {out}");
    }
    assert!(out.contains(",DEFAULT,DEFAULT,DEFAULT,'keep'),(2,NULL,DEFAULT,DEFAULT,DEFAULT,'n');"));
    assert!(out.contains(",DEFAULT,DEFAULT, DEFAULT ,'keep');"), "{out}");
}

#[test]
fn generated_columns_keep_their_values_in_tables_without_field_rules() {
    let out = run(MARIADB, "rules:\n  other:\n    fields:\n      name: hash\n");
    assert_eq!(out, MARIADB);
    let out = run(MARIADB, "size_limits:\n  users:\n    max_rows: 5\n");
    assert_eq!(out, MARIADB);
}
