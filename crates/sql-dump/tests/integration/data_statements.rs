//! Issue 19.3: statements that write data other than plain `INSERT ... VALUES` and `COPY`:
//! upsert trailers and single-table `UPDATE`s have their covered columns rewritten; any other
//! data-writing statement that touches a table with rules, exclusions or limits fails closed.

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use sql_dump::{rewrite_sql, SqlOptions};

fn anon(yaml: &str) -> Anonymizer {
    let rules = RuleSet::from_yaml(yaml, "data.yaml").unwrap();
    Anonymizer::new(
        rules,
        KeyMode::Keyed(Key::from_bytes(b"data statements key, long enough").unwrap()),
    )
    .unwrap()
}

fn rewrite(input: &str, yaml: &str) -> Result<String, String> {
    let mut out = Vec::new();
    match rewrite_sql(
        input.as_bytes(),
        &mut out,
        &anon(yaml),
        &SqlOptions::default(),
    ) {
        Ok(_) => Ok(String::from_utf8(out).unwrap()),
        Err(e) => Err(e.to_string()),
    }
}

const MY: &str =
    "-- MySQL dump 10.13\nCREATE TABLE `t` (`id` int, `email` varchar(80), `n` int);\n";
const PG: &str = "--\n-- PostgreSQL database dump\n--\nSET standard_conforming_strings = on;\nCREATE TABLE public.t (id integer, email text, n integer);\n";
const RULES: &str =
    "rules:\n  t:\n    fields:\n      email: {transform: constant, value: gone@x.example}\n";

const SECRET: &str = "bob@corp.example";

fn ok(head: &str, body: &str, yaml: &str) -> String {
    let out = rewrite(&format!("{head}{body}"), yaml).unwrap_or_else(|e| panic!("{body}: {e}"));
    assert!(!out.contains(SECRET), "{body} => {out}");
    out[head.len()..].to_owned()
}

fn refused(head: &str, body: &str, yaml: &str, table: &str) {
    let err = rewrite(&format!("{head}{body}"), yaml).expect_err(body);
    assert!(err.contains(&format!("(table {table})")), "{body}: {err}");
    assert!(err.contains("line "), "{body}: {err}");
    assert!(!err.contains(SECRET), "{err}");
}

#[test]
fn upsert_trailers_have_covered_columns_rewritten() {
    assert_eq!(
        ok(MY, "INSERT INTO `t` VALUES (1,'a@b',1) ON DUPLICATE KEY UPDATE `email` = 'bob@corp.example', n = n + 1;\n", RULES),
        "INSERT INTO `t` VALUES (1,'gone@x.example',1) ON DUPLICATE KEY UPDATE `email` = 'gone@x.example', n = n + 1;\n"
    );
    assert_eq!(
        ok(MY, "INSERT INTO `t` VALUES (1,'a@b',1) ON DUPLICATE KEY UPDATE email = VALUES(email);\n", RULES),
        "INSERT INTO `t` VALUES (1,'gone@x.example',1) ON DUPLICATE KEY UPDATE email = VALUES(email);\n"
    );
    assert_eq!(
        ok(PG, "INSERT INTO public.t VALUES (1,'a@b',1) ON CONFLICT (id) DO UPDATE SET email = E'bob@corp.example', n = EXCLUDED.n RETURNING id;\n", RULES),
        "INSERT INTO public.t VALUES (1,'gone@x.example',1) ON CONFLICT (id) DO UPDATE SET email = 'gone@x.example', n = EXCLUDED.n RETURNING id;\n"
    );
    refused(
        PG,
        "INSERT INTO public.t VALUES (1,'a@b',1) ON CONFLICT (id) DO UPDATE SET email = 'bob@' || 'corp.example';\n",
        RULES,
        "public.t",
    );
}

#[test]
fn single_table_updates_have_covered_columns_rewritten() {
    assert_eq!(
        ok(MY, "UPDATE `t` SET `id` = 1, `email` = 'bob@corp.example', `n` = NULL WHERE `t`.`email` = 'bob@corp.example' AND `id` = 1;\n", RULES),
        "UPDATE `t` SET `id` = 1, `email` = 'gone@x.example', `n` = NULL WHERE `t`.`email` = 'gone@x.example' AND `id` = 1;\n"
    );
    assert_eq!(
        ok(
            PG,
            "UPDATE public.t SET email = 'bob@corp.example' WHERE id = 1;\n",
            RULES
        ),
        "UPDATE public.t SET email = 'gone@x.example' WHERE id = 1;\n"
    );
    // Nothing covered: kept as it is.
    let body = "UPDATE `t` SET n = n + 1 WHERE id IN (1, 2);\n";
    assert_eq!(ok(MY, body, RULES), body);
    refused(
        MY,
        "UPDATE `t` SET email = concat('bob@', 'corp.example');\n",
        RULES,
        "t",
    );
    refused(
        MY,
        "UPDATE `t` SET n = 1 WHERE email LIKE 'bob@corp.example';\n",
        RULES,
        "t",
    );
    // An excluded table's UPDATE goes with the table.
    let excluded = "exclusions: [t]\n";
    let out = rewrite(
        &format!("{MY}UPDATE `t` SET email = 'bob@corp.example';\n"),
        excluded,
    )
    .unwrap();
    assert_eq!(out, "-- MySQL dump 10.13\n");
}

#[test]
fn other_data_writing_statements_fail_closed() {
    refused(
        MY,
        "/*!40101 INSERT INTO `t` VALUES (1,'bob@corp.example',1) */;\n",
        RULES,
        "t",
    );
    refused(
        MY,
        "/*M!100000 INSERT INTO `t` VALUES (1,'bob@corp.example',1) */;\n",
        RULES,
        "t",
    );
    refused(
        PG,
        "WITH x AS (SELECT 1) INSERT INTO public.t VALUES (1,'bob@corp.example',1);\n",
        RULES,
        "public.t",
    );
    refused(
        PG,
        "WITH x AS (SELECT 1) INSERT INTO t VALUES (1,'bob@corp.example',1);\n",
        RULES,
        "public.t",
    );
    refused(
        PG,
        "DO $$ BEGIN INSERT INTO public.t VALUES (1,'bob@corp.example',1); END $$;\n",
        RULES,
        "public.t",
    );
    refused(PG, "MERGE INTO public.t USING (SELECT 1 AS id) s ON t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (1,'bob@corp.example',1);\n", RULES, "public.t");
    refused(
        PG,
        "WITH x AS (SELECT 1) INSERT INTO public.t VALUES (1,'bob@corp.example',1);\n",
        "exclusions: [t]\n",
        "public.t",
    );
    refused(
        PG,
        "WITH x AS (SELECT 1) INSERT INTO public.t VALUES (1,'bob@corp.example',1);\n",
        "size_limits:\n  t: {max_rows: 1}\n",
        "public.t",
    );
    let err = rewrite(
        &format!("{PG}DO $$ BEGIN EXECUTE format('INSERT INTO %I VALUES (1)', 'x'); END $$;\n"),
        RULES,
    )
    .unwrap_err();
    assert!(err.contains("dynamic SQL"), "{err}");
    // Tables without rules, exclusions or limits are not concerned.
    let body = "WITH x AS (SELECT 1) INSERT INTO public.other SELECT * FROM x;\n";
    assert_eq!(
        rewrite(&format!("{PG}{body}"), RULES).unwrap(),
        format!("{PG}{body}")
    );
}

/// The MySQL client's short delimiter command `\d` changes the delimiter like `DELIMITER`:
/// the INSERT it ends is read and rewritten.
#[test]
fn short_delimiter_command_is_followed() {
    assert_eq!(
        ok(MY, "\\d //\nINSERT INTO `t` VALUES (1,'bob@corp.example',1)//\n\\d ;\nINSERT INTO `t` VALUES (2,'bob@corp.example',2);\n", RULES),
        "\\d //\nINSERT INTO `t` VALUES (1,'gone@x.example',1)//\n\\d ;\nINSERT INTO `t` VALUES (2,'gone@x.example',2);\n"
    );
}
