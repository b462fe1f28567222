//! Issue 19.1 and 19.12 on hand-written dumps: JSON-path rules on columns that cannot hold
//! JSON are refused; a document that is not JSON is nulled and counted as failed closed.

use anonymize_core::{Anonymizer, KeyMode, RuleSet};
use sql_dump::{rewrite_sql, SqlOptions};

fn anon(yaml: &str) -> Anonymizer {
    Anonymizer::new(
        RuleSet::from_yaml(yaml, "j.yaml").unwrap(),
        KeyMode::Unkeyed,
    )
    .unwrap()
}

const PG: &str = "--\n-- PostgreSQL database dump\n--\nSET standard_conforming_strings = on;\n";

#[test]
fn json_path_rules_on_hstore_and_composite_columns_are_refused() {
    for ddl in [
        "CREATE TABLE public.t (id integer, h public.hstore);\n",
        "CREATE TYPE public.addr AS (email text);\nCREATE TABLE public.t (id integer, h public.addr);\n",
        "CREATE TABLE public.t (id integer, h integer);\n",
    ] {
        let dump = format!("{PG}{ddl}COPY public.t (id, h) FROM stdin;\n1\t\"email\"=>\"a@b.example\"\n\\.\n");
        let a = anon("rules:\n  t:\n    fields:\n      h.email: hash_email\n");
        let err = rewrite_sql(dump.as_bytes(), &mut Vec::new(), &a, &SqlOptions::default())
            .expect_err(ddl)
            .to_string();
        assert!(err.contains("`h`") && err.contains("not JSON"), "{err}");
        assert!(!err.contains("a@b.example"), "{err}");
    }
}

#[test]
fn documents_that_are_not_json_are_nulled_and_counted() {
    let dump = format!(
        "{PG}CREATE TABLE public.t (id integer, doc jsonb);\nCOPY public.t (id, doc) FROM stdin;\n1\t{{\"contact\":{{\"email\":\"a@b.example\"}}}}\n2\tnot json a@b.example\n3\t\\N\n\\.\n"
    );
    let a = anon(
        "rules:\n  t:\n    fields:\n      doc.contact.email: {transform: constant, value: x}\n",
    );
    let mut out = Vec::new();
    rewrite_sql(dump.as_bytes(), &mut out, &a, &SqlOptions::default()).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("1\t{\"contact\":{\"email\":\"x\"}}\n2\t\\N\n3\t\\N\n"),
        "{out}"
    );
    let r = &a.report().rules[0];
    assert_eq!((r.values_seen, r.failed_closed), (2, 1));
}

/// Each row's document is its own: a quoted document with nothing to unescape is read from
/// its literal, not from a buffer an earlier row's value left behind (a merge once wrote the
/// previous row's document into every later row whose document had no escape).
#[test]
fn quoted_documents_of_consecutive_rows_stay_their_own() {
    const MY: &str = "-- MySQL dump 10.13\n/*!40101 SET NAMES utf8mb4 */;\n";
    let cases = [
        (
            format!("{PG}CREATE TABLE public.t (id integer, doc jsonb);\n"),
            "INSERT INTO public.t VALUES",
        ),
        (
            format!("{MY}CREATE TABLE `t` (`id` int, `doc` json);\n"),
            "INSERT INTO `t` VALUES",
        ),
    ];
    for (head, insert) in cases {
        let dump = format!(
            "{head}{insert} (1, '{{\"contact\": {{\"email\": \"a@b.example\"}}, \"n\": 1}}');\n\
             {insert} (2, '{{\"items\": []}}');\n\
             {insert} (3, '{{\"gift\": true}}'), (4, '{{\"note\": \"back\\\\slash\"}}'), (5, '{{\"items\": [1, 2]}}');\n"
        );
        let a = anon(
            "rules:\n  t:\n    fields:\n      doc.contact.email: {transform: constant, value: x}\n",
        );
        let mut out = Vec::new();
        rewrite_sql(dump.as_bytes(), &mut out, &a, &SqlOptions::default()).unwrap();
        let out = String::from_utf8(out).unwrap();
        for kept in [
            "(2, '{\"items\": []}')",
            "(3, '{\"gift\": true}')",
            "(5, '{\"items\": [1, 2]}')",
        ] {
            assert!(out.contains(kept), "{kept} in\n{out}");
        }
        assert!(!out.contains("a@b.example"), "{out}");
    }
}

mod no_panic {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Random JSON-ish and array-ish values in JSON, array and UPDATE statements: the
        /// rewriter returns (an output or an error) and never panics.
        #[test]
        fn random_values_never_panic(v in "[\\[\\]{}\",:\\\\ a-z0-9@.\\-+eE]{0,40}") {
            let quoted = v.replace('\'', "''");
            let dump = format!(
                "{PG}CREATE TABLE public.t (id integer, doc jsonb, tags text[], e text);\n\
                 INSERT INTO public.t VALUES (1, '{quoted}', '{quoted}', '{quoted}');\n\
                 UPDATE public.t SET e = '{quoted}', doc = '{quoted}' WHERE e = '{quoted}';\n"
            );
            let a = anon(
                "rules:\n  t:\n    fields:\n      doc.a.b: hash_email\n      tags: hash_email\n      e: {transform: hash_email, distinct_variants: true}\n",
            );
            let _ = rewrite_sql(dump.as_bytes(), &mut Vec::new(), &a, &SqlOptions::default());
        }
    }
}
