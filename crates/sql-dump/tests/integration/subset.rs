//! Subsets on small dumps written as the dump tools write them: foreign keys inline (MySQL)
//! and after the data (pg_dump), composite keys, self-references in either order, partitions
//! sharing their parent's key, text keys, `schema_only` parents; a limit stays a maximum.

use std::sync::Arc;

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use sql_dump::{plan_subset, rewrite_sql, subset_needed, SqlOptions, SqlSummary};

fn run(dump: &str, yaml: &str) -> (String, SqlSummary) {
    let rules = RuleSet::from_yaml(yaml, "t.yaml").unwrap();
    let key = Key::from_bytes(b"subset test key, long enough").unwrap();
    let anon = Anonymizer::new(rules, KeyMode::Keyed(key)).unwrap();
    let options = SqlOptions::default();
    assert!(subset_needed(&anon, &options));
    let plan = plan_subset(|| Ok(dump.as_bytes()), &anon, &options).unwrap();
    let options = SqlOptions {
        subset: Some(Arc::new(plan)),
        ..options
    };
    let mut out = Vec::new();
    let summary = rewrite_sql(dump.as_bytes(), &mut out, &anon, &options).unwrap();
    (String::from_utf8(out).unwrap(), summary)
}

fn counts(s: &SqlSummary) -> Vec<(String, u64, u64)> {
    s.tables
        .iter()
        .map(|t| (t.table.clone(), t.rows_in, t.rows_out))
        .collect()
}

const MYSQL: &str = "-- MySQL dump 10.13\n\
CREATE TABLE `p` (`id` int NOT NULL, `name` varchar(10), PRIMARY KEY (`id`));\n\
CREATE TABLE `c` (`id` int NOT NULL, `pid` int, `up` int, PRIMARY KEY (`id`),\n  \
CONSTRAINT `fk_p` FOREIGN KEY (`pid`) REFERENCES `p` (`id`),\n  \
CONSTRAINT `fk_up` FOREIGN KEY (`up`) REFERENCES `c` (`id`)\n);\n\
CREATE TABLE `tag` (`code` varchar(10) NOT NULL, PRIMARY KEY (`code`));\n\
CREATE TABLE `tagged` (`id` int, `code` varchar(10), CONSTRAINT `fk_tag` FOREIGN KEY (`code`) REFERENCES `tag` (`code`));\n\
INSERT INTO `c` VALUES (4,1,3),(1,1,NULL),(2,3,NULL),(3,1,2),(5,NULL,NULL);\n\
INSERT INTO `p` VALUES (1,'a'),(2,'b'),(3,'c');\n\
INSERT INTO `tag` VALUES ('keep'),('GONE');\n\
INSERT INTO `tagged` VALUES (1,'keep'),(2,'gone '),(3,NULL);\n";

#[test]
fn mysql_limit_removes_referencing_rows_transitively_in_any_order() {
    let (out, s) = run(
        MYSQL,
        "size_limits:\n  p: {max_rows: 2}\n  tag: {max_rows: 1}\n",
    );
    // p3 goes by the limit; c2 references it; c3 references c2 (later in the dump), c4
    // references c3 (earlier in the dump); c1 and c5 (NULL keys) stay.
    assert!(
        out.contains("INSERT INTO `c` VALUES (1,1,NULL),(5,NULL,NULL);\n"),
        "{out}"
    );
    assert!(
        out.contains("INSERT INTO `p` VALUES (1,'a'),(2,'b');\n"),
        "{out}"
    );
    // Text keys compare as MySQL's default collations do (case, trailing spaces).
    assert!(
        out.contains("INSERT INTO `tagged` VALUES (1,'keep'),(3,NULL);\n"),
        "{out}"
    );
    assert_eq!(
        counts(&s),
        [
            ("c".into(), 5, 2),
            ("p".into(), 3, 2),
            ("tag".into(), 2, 1),
            ("tagged".into(), 3, 2)
        ]
    );
    assert_eq!(s.subset.len(), 3, "{:?}", s.subset);
    assert!(s.subset[0].starts_with("fk_p (c(pid) -> p(id)): 1 rows removed"));
    assert!(s.subset[2].starts_with("fk_up (c(up) -> c(id)): 2 rows removed"));
}

#[test]
fn schema_only_parent_removes_every_non_null_reference() {
    let (out, s) = run(MYSQL, "schema_only: [p]\n");
    assert!(out.contains("CREATE TABLE `p`"), "{out}");
    assert!(!out.contains("INSERT INTO `p`"), "{out}");
    assert!(
        out.contains("INSERT INTO `c` VALUES (5,NULL,NULL);\n"),
        "{out}"
    );
    assert_eq!(counts(&s)[0], ("c".into(), 5, 1));
}

const PG: &str = "--\n-- PostgreSQL database dump\n--\n\
CREATE TABLE public.a (x integer NOT NULL, y text NOT NULL);\n\
CREATE TABLE public.b (id integer, ax integer, ay text);\n\
CREATE TABLE public.cust (id integer NOT NULL);\n\
CREATE TABLE public.pay (id integer, cust integer) PARTITION BY RANGE (id);\n\
CREATE TABLE public.pay_1 (id integer, cust integer);\n\
CREATE TABLE public.pay_2 (id integer, cust integer);\n\
ALTER TABLE ONLY public.pay ATTACH PARTITION public.pay_1 FOR VALUES FROM (0) TO (10);\n\
ALTER TABLE ONLY public.pay ATTACH PARTITION public.pay_2 FOR VALUES FROM (10) TO (20);\n\
COPY public.a (x, y) FROM stdin;\n1\tk\n1\tl\n2\tk\n\\.\n\
COPY public.b (id, ax, ay) FROM stdin;\n1\t1\tk\n2\t1\tl\n3\t2\tk\n4\t2\t\\N\n\\.\n\
COPY public.cust (id) FROM stdin;\n1\n2\n3\n\\.\n\
COPY public.pay_1 (id, cust) FROM stdin;\n1\t1\n2\t3\n\\.\n\
COPY public.pay_2 (id, cust) FROM stdin;\n11\t3\n12\t2\n\\.\n\
ALTER TABLE ONLY public.a ADD CONSTRAINT a_pkey PRIMARY KEY (x, y);\n\
ALTER TABLE ONLY public.b\n    ADD CONSTRAINT b_fk FOREIGN KEY (ax, ay) REFERENCES public.a(x, y);\n\
ALTER TABLE public.pay\n    ADD CONSTRAINT pay_fk FOREIGN KEY (cust) REFERENCES public.cust(id);\n";

#[test]
fn pg_keys_after_the_data_composite_and_partitions() {
    let (out, s) = run(
        PG,
        "size_limits:\n  a: {max_rows: 1}\n  cust: {max_rows: 2}\n",
    );
    assert!(
        out.contains("COPY public.b (id, ax, ay) FROM stdin;\n1\t1\tk\n4\t2\t\\N\n\\.\n"),
        "{out}"
    );
    // The key declared on the partitioned table holds for its partitions' rows.
    assert!(
        out.contains("COPY public.pay_1 (id, cust) FROM stdin;\n1\t1\n\\.\n"),
        "{out}"
    );
    assert!(
        out.contains("COPY public.pay_2 (id, cust) FROM stdin;\n12\t2\n\\.\n"),
        "{out}"
    );
    assert!(out.ends_with("REFERENCES public.cust(id);\n"), "{out}");
    let c = counts(&s);
    assert_eq!(c[1], ("public.b".into(), 4, 2));
    assert_eq!(c[3], ("public.pay_1".into(), 2, 1));
}

#[test]
fn a_dump_read_in_two_passes_needs_the_key_columns() {
    // A COPY into a tracked table without the referencing column cannot be subset.
    let dump = PG.replace(
        "COPY public.b (id, ax, ay) FROM stdin;\n1\t1\tk\n2\t1\tl\n3\t2\tk\n4\t2\t\\N\n",
        "COPY public.b (id, ax) FROM stdin;\n1\t1\n2\t1\n3\t2\n4\t2\n",
    );
    let rules = RuleSet::from_yaml("size_limits:\n  a: {max_rows: 1}\n", "t.yaml").unwrap();
    let anon = Anonymizer::new(rules, KeyMode::Unkeyed).unwrap();
    let err = plan_subset(|| Ok(dump.as_bytes()), &anon, &SqlOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("public.b") && msg.contains("`ay`"), "{msg}");
}

#[test]
fn a_limit_shared_by_partitions_cuts_the_same_rows_in_every_pass() {
    // The limit is on the partitioned table: its partitions share one count. `pay_1` has no
    // key a removal reaches; `refs` references `pay_2`, whose second row is the shared
    // limit's fourth.
    let dump = format!(
        "{PG}CREATE TABLE public.refs (id integer);\nCOPY public.refs (id) FROM stdin;\n11\n12\n\\.\n\
         ALTER TABLE ONLY public.refs ADD CONSTRAINT refs_fk FOREIGN KEY (id) REFERENCES public.pay_2(id);\n"
    )
    .replace("ALTER TABLE public.pay\n    ADD CONSTRAINT pay_fk FOREIGN KEY (cust) REFERENCES public.cust(id);\n", "");
    let (out, s) = run(&dump, "size_limits:\n  pay: {max_rows: 3}\n");
    assert!(
        out.contains("COPY public.pay_1 (id, cust) FROM stdin;\n1\t1\n2\t3\n\\.\n"),
        "{out}"
    );
    assert!(
        out.contains("COPY public.pay_2 (id, cust) FROM stdin;\n11\t3\n\\.\n"),
        "{out}"
    );
    assert!(
        out.contains("COPY public.refs (id) FROM stdin;\n11\n\\.\n"),
        "{out}"
    );
    assert_eq!(
        s.subset,
        ["refs_fk (public.refs(id) -> public.pay_2(id)): 1 rows removed"]
    );
}

#[test]
fn without_foreign_keys_a_subset_is_the_plain_limit() {
    let dump =
        "-- MySQL dump 10.13\nCREATE TABLE `t` (`id` int);\nINSERT INTO `t` VALUES (1),(2),(3);\n";
    let yaml = "size_limits:\n  t: {max_rows: 2}\n";
    let (out, s) = run(dump, yaml);
    let anon = Anonymizer::new(
        RuleSet::from_yaml(yaml, "t.yaml").unwrap(),
        KeyMode::Unkeyed,
    )
    .unwrap();
    let mut plain = Vec::new();
    rewrite_sql(dump.as_bytes(), &mut plain, &anon, &SqlOptions::default()).unwrap();
    assert_eq!(out.as_bytes(), &plain[..]);
    assert!(out.contains("VALUES (1),(2);"));
    assert!(s.subset.is_empty());
}

#[test]
fn a_row_whose_values_do_not_match_its_columns_cannot_be_subset() {
    let dump = MYSQL.replace(
        "INSERT INTO `c` VALUES (4,1,3),",
        "INSERT INTO `c` VALUES (4,1),",
    );
    let rules = RuleSet::from_yaml("size_limits:\n  p: {max_rows: 2}\n", "t.yaml").unwrap();
    let anon = Anonymizer::new(rules, KeyMode::Unkeyed).unwrap();
    let err = plan_subset(|| Ok(dump.as_bytes()), &anon, &SqlOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("(table c)") && msg.starts_with("line 9, byte "),
        "{msg}"
    );
    assert!(
        msg.contains("a row has 2 values but its columns are 3"),
        "{msg}"
    );
}

#[test]
fn mysql_where_keeps_the_first_matching_rows_and_feeds_the_closure() {
    let (out, s) = run(
        MYSQL,
        "size_limits:\n  p: {max_rows: 1, where: {name: {in: [b, c]}}}\n",
    );
    // p1 does not match, p2 is the first match, p3 is over the limit: only p2 stays, and
    // every c row referencing p1 or p3 (and what references those) goes.
    assert!(out.contains("INSERT INTO `p` VALUES (2,'b');\n"), "{out}");
    assert!(
        out.contains("INSERT INTO `c` VALUES (5,NULL,NULL);\n"),
        "{out}"
    );
    assert_eq!(counts(&s)[1], ("p".into(), 3, 1));
}

#[test]
fn pg_where_on_copy_rows_with_ranges_and_no_maximum() {
    let (out, s) = run(PG, "size_limits:\n  a:\n    where: {y: k, x: {gte: 2}}\n");
    assert!(
        out.contains("COPY public.a (x, y) FROM stdin;\n2\tk\n\\.\n"),
        "{out}"
    );
    assert!(
        out.contains("COPY public.b (id, ax, ay) FROM stdin;\n3\t2\tk\n4\t2\t\\N\n\\.\n"),
        "{out}"
    );
    assert_eq!(counts(&s)[0], ("public.a".into(), 3, 1));
}

#[test]
fn a_where_on_a_column_the_rows_lack_is_an_error() {
    let rules = RuleSet::from_yaml(
        "size_limits:\n  a: {max_rows: 5, where: {z: 1}}\n",
        "t.yaml",
    )
    .unwrap();
    let anon = Anonymizer::new(rules, KeyMode::Unkeyed).unwrap();
    let err = plan_subset(|| Ok(PG.as_bytes()), &anon, &SqlOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("(table public.a)") && msg.contains("`z`"),
        "{msg}"
    );
}
