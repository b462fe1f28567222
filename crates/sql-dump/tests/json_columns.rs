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
