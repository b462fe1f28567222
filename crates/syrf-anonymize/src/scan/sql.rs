//! `scan` for MySQL/MariaDB and PostgreSQL dumps: every cell of every `INSERT` tuple and `COPY`
//! row, read in one streaming pass by sql-dump's reader ([`sql_dump::SqlReader`], the
//! rewriter's own reading: same lexer, session settings and catalog), decoded, with its
//! table, column, row ordinal and line. Memory holds one row's values and the counts.
//!
//! Tables resolve as in a run (the reader asks the rules as the rewriter does: qualified or
//! bare keys, a MySQL header's database, a PostgreSQL `search_path`, partitions and
//! `INHERITS` children under their parents' rules, exclusions, the `collections` selection);
//! excluded, unselected and `schema_only` tables are skipped. A column with a rule is covered;
//! a column with rules on JSON paths below it is walked by sql-dump's own shape rules
//! ([`sql_dump::walk_json`]: double-encoded documents decoded), its uncovered paths counted
//! as `column.path` (the rules' notation), and so are values of another shape on a covered
//! path (`{"contact":"bob@…"}` under `doc.contact.email`) and values that are not JSON
//! there: a run nulls them, so an output that holds them leaks. Any other value that parses
//! as a JSON object or array is walked too, so findings name the path inside it.

use std::collections::HashMap;
use std::io::Read;

use anonymize_core::{PlanNode, RuleSet};
use sql_dump::{Dialect, Event, JsonCoverage, SqlOptions, SqlReader};

use super::report::{
    anonymizer, join_path, shown_path, sort, ScanOptions, ScanReport, Tallies, UNKNOWN_COLUMN,
};
use crate::inspect::InspectError;

/// Distinct paths counted per table; beyond, findings are counted at their column.
const MAX_PATHS: usize = 10_000;

struct Table<'a> {
    /// The name as a rules file keys it.
    name: String,
    /// Excluded, not selected or schema-only: not scanned.
    skipped: bool,
    /// The rules' tree that applies to the rows (the table's own or a parent's).
    root: Option<&'a PlanNode>,
    rows: u64,
    tallies: Tallies,
}

/// Scans a plain (not gzip) SQL dump; `mysql` picks the dialect.
pub(crate) fn scan_sql(
    input: impl Read,
    mysql: bool,
    rules: Option<&RuleSet>,
    options: &ScanOptions,
) -> Result<ScanReport, InspectError> {
    let anon = match rules {
        Some(r) => anonymizer(r)?,
        None => anonymizer(&RuleSet::empty())?,
    };
    let sql_options = SqlOptions {
        dialect: Some(if mysql {
            Dialect::MySql
        } else {
            Dialect::Postgres
        }),
        ..SqlOptions::default()
    };
    let bad = |e: sql_dump::SqlError| InspectError::BadInput(format!("SQL dump: {e}"));
    let mut reader = SqlReader::new(input, &anon, &sql_options).map_err(bad)?;
    let mut tables: Vec<Table<'_>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut current: Option<usize> = None;
    let mut folded = false;
    let show = options.show_values;
    let mut scratch = Vec::new();
    while let Some(event) = reader.next_event().map_err(bad)? {
        let row = match event {
            Event::Rows(r) => {
                let name = r.table().display();
                let i = *index.entry(name.clone()).or_insert_with(|| {
                    tables.push(Table {
                        name,
                        skipped: r.excluded() || r.schema_only(),
                        root: r.rules(),
                        rows: 0,
                        tallies: Tallies::default(),
                    });
                    tables.len() - 1
                });
                current = Some(i);
                continue;
            }
            Event::Row(row) => row,
            _ => continue,
        };
        let Some(i) = current else { continue };
        let t = &mut tables[i];
        t.rows = t.rows.max(row.ordinal());
        if t.skipped {
            continue;
        }
        let (ordinal, line) = (row.ordinal(), row.line());
        for cell in row.cells() {
            let column = cell.column();
            let Some(bytes) = cell.decode(&mut scratch) else {
                continue;
            };
            let node = column.and_then(|c| {
                sql_dump::column_node(
                    t.root,
                    c,
                    if mysql {
                        sql_dump::Dialect::MySql
                    } else {
                        sql_dump::Dialect::Postgres
                    },
                )
            });
            if node.is_some_and(|n| n.rule().is_some()) {
                continue;
            }
            let col = column.unwrap_or(UNKNOWN_COLUMN);
            let text = String::from_utf8_lossy(bytes);
            // JSON walked by sql-dump's own shape rules: documents of a column that rules
            // reach into (whatever their shape), and any other object or array.
            let json = column.is_some()
                && (node.is_some() || text.trim_start().starts_with(['{', '[']))
                && sql_dump::walk_json(bytes, node, &anon, &mut |v| {
                    let reported = match v.coverage {
                        JsonCoverage::Uncovered => !v.number,
                        // A run nulls it: an output holding it leaks.
                        JsonCoverage::OtherShape => true,
                        JsonCoverage::Covered | JsonCoverage::Kept => false,
                    };
                    if reported {
                        json_string(&mut t.tallies, col, &v, (ordinal, line, show), &mut folded);
                    }
                });
            if json {
                continue;
            }
            if col.contains(['.', '\\']) {
                t.tallies
                    .string(&join_path(&[col]), &text, ordinal, Some(line), show);
            } else {
                t.tallies.string(col, &text, ordinal, Some(line), show);
            }
        }
    }
    let mut report = ScanReport {
        sql: true,
        folded,
        ..ScanReport::default()
    };
    for t in tables {
        report.documents += t.rows;
        if t.skipped {
            report.excluded.push(t.name);
        } else {
            t.tallies.findings(&t.name, &mut report.findings);
        }
    }
    report.excluded.sort();
    report.excluded.dedup();
    sort(&mut report.findings);
    Ok(report)
}

/// One string of a column's JSON document: counted at `column.path` (the rules' notation; keys
/// from the data are not printed), at the column once a table has [`MAX_PATHS`] paths.
fn json_string(
    tallies: &mut Tallies,
    col: &str,
    v: &sql_dump::JsonValue<'_>,
    (row, line, show): (u64, u64, bool),
    folded: &mut bool,
) {
    let mut full = Vec::with_capacity(v.path.len() + 1);
    full.push(col.to_owned());
    full.extend(v.path.iter().cloned());
    let mut path = shown_path(&full, 1);
    if tallies.paths() >= MAX_PATHS && !tallies.has_path(&path) {
        *folded = true;
        path = join_path(&full[..1]);
    }
    tallies.string(&path, v.text, row, Some(line), show);
}

#[cfg(test)]
mod tests {
    use super::super::report::Kind;
    use super::*;

    fn scan(dump: &str, mysql: bool, rules: Option<&str>) -> ScanReport {
        let rules = rules.map(|r| RuleSet::from_yaml(r, "t.yaml").unwrap());
        scan_sql(
            dump.as_bytes(),
            mysql,
            rules.as_ref(),
            &ScanOptions::default(),
        )
        .unwrap()
    }

    fn found(r: &ScanReport) -> Vec<String> {
        r.findings
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} {}#{}@{}",
                    f.collection,
                    f.path,
                    f.kind.name(),
                    f.count,
                    f.first_document,
                    f.line.unwrap_or(0)
                )
            })
            .collect()
    }

    #[test]
    fn json_paths_and_coverage() {
        let dump = "CREATE TABLE public.ev (id integer, payload jsonb, note text);\n\
                    COPY public.ev (id, payload, note) FROM stdin;\n\
                    1\t{\"user\": {\"email\": \"a@example.org\", \"ip\": \"10.0.0.1\"}, \"tags\": [\"x@example.org\"]}\tcall +44 20 7946 0958\n\
                    2\t[1, 2]\t\\N\n\\.\n";
        let r = scan(dump, false, None);
        assert_eq!(
            found(&r),
            [
                "public.ev note phone 1#1@3",
                "public.ev payload.tags email 1#1@3",
                "public.ev payload.user.email email 1#1@3",
                "public.ev payload.user.ip ipv4 1#1@3",
            ]
        );
        assert_eq!(r.documents, 2);
        let r = scan(
            dump,
            false,
            Some("rules:\n  public.ev:\n    columns:\n      payload.user.email: hash_email\n      note: digits\n"),
        );
        assert_eq!(
            found(&r),
            [
                "public.ev payload.tags email 1#1@3",
                "public.ev payload.user.ip ipv4 1#1@3",
            ]
        );
        let r = scan(dump, false, Some("exclusions: [ev]\n"));
        assert!(r.findings.is_empty());
        assert_eq!(r.excluded, ["public.ev"]);
        let r = scan(dump, false, Some("schema_only: [public.ev]\n"));
        assert!(r.findings.is_empty(), "{:?}", found(&r));
    }

    /// Values of another shape on a covered JSON path, and text that is not JSON there, are
    /// reported (a run nulls them); a double-encoded document is decoded and its covered
    /// path skipped; `%40` and `\u0040` spell an `@`.
    #[test]
    fn other_shapes_and_encoded_addresses() {
        let dump = "CREATE TABLE public.ev (id integer, doc jsonb, note text);\n\
                    COPY public.ev (id, doc, note) FROM stdin;\n\
                    1\t{\"contact\": \"a@example.org\"}\tmailto:x%40example.org\n\
                    2\t{\"contact\": [\"b@example.org\"]}\t\\\\u0040\n\
                    3\t\"c@example.org\"\ty\\\\u0040example.org\n\
                    4\t\"{\\\\\"contact\\\\\": {\\\\\"email\\\\\": \\\\\"d@example.org\\\\\"}}\"\t\\N\n\
                    5\tnot json e@example.org\t\\N\n\\.\n";
        let r = scan(
            dump,
            false,
            Some("rules:\n  public.ev:\n    columns:\n      doc.contact.email: hash_email\n"),
        );
        assert_eq!(
            found(&r),
            [
                "public.ev doc email 2#3@5",
                "public.ev doc.contact email 2#1@3",
                "public.ev note email 2#1@3",
            ]
        );
    }

    /// Cut and mutated dumps give a report or an error, never a panic.
    #[test]
    fn no_panic_on_garbage() {
        let seeds: [(&str, bool); 2] = [
            (
                "-- Host: h    Database: d\nCREATE TABLE `u` (`id` int, `j` json);\nINSERT INTO `u` VALUES (1,'{\\\"a\\\":[\\\"x@y.org\\\"]}'),(2,_binary 'Mary');\n",
                true,
            ),
            (
                "CREATE TABLE public.u (id int, j jsonb);\nCOPY public.u (id, j) FROM stdin;\n1\t{\"a\": {\"b\": \"+1 555 123 4567\"}}\n\\.\nINSERT INTO public.u VALUES (2, E'x\\ty', $$z$$);\n",
                false,
            ),
        ];
        let rules =
            RuleSet::from_yaml("rules:\n  u:\n    columns:\n      j.a: hash\n", "r.yaml").unwrap();
        let alphabet = b"`\"'(),;\\\t\n{}[]:$ Nx";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (seed, mysql) in seeds {
            let bytes = seed.as_bytes();
            let mut inputs: Vec<Vec<u8>> = (0..=bytes.len()).map(|c| bytes[..c].to_vec()).collect();
            for _ in 0..300 {
                let mut b = bytes.to_vec();
                for _ in 0..3 {
                    let i = (next() % b.len() as u64) as usize;
                    b[i] = alphabet[(next() % alphabet.len() as u64) as usize];
                }
                inputs.push(b);
            }
            for input in inputs {
                for r in [None, Some(&rules)] {
                    let _ = scan_sql(&input[..], mysql, r, &ScanOptions::default());
                }
            }
        }
    }

    #[test]
    fn search_path_qualifies_unqualified_postgres_names() {
        let dump = "SET search_path = public, pg_catalog;\nCREATE TABLE customer (id integer, email text);\n\
                    COPY customer (id, email) FROM stdin;\n1\ta@example.org\n\\.\n";
        assert_eq!(
            found(&scan(dump, false, None)),
            ["public.customer email email 1#1@4"]
        );
        let r = scan(
            dump,
            false,
            Some("rules:\n  public.customer:\n    columns:\n      email: hash_email\n"),
        );
        assert!(r.findings.is_empty(), "{:?}", found(&r));
    }

    #[test]
    fn partitions_take_their_parents_rules() {
        let dump = "CREATE TABLE public.ev (id integer, email text) PARTITION BY RANGE (id);\n\
                    CREATE TABLE public.ev_1 (id integer, email text);\n\
                    ALTER TABLE ONLY public.ev ATTACH PARTITION public.ev_1 FOR VALUES FROM (0) TO (9);\n\
                    CREATE TABLE public.ev_2 PARTITION OF public.ev FOR VALUES FROM (9) TO (99);\n\
                    COPY public.ev_1 (id, email) FROM stdin;\n1\ta@example.org\n\\.\n\
                    COPY public.ev_2 (id, email) FROM stdin;\n10\tb@example.org\n\\.\n";
        assert_eq!(
            found(&scan(dump, false, None)),
            [
                "public.ev_1 email email 1#1@6",
                "public.ev_2 email email 1#1@9"
            ]
        );
        let covered = scan(
            dump,
            false,
            Some("rules:\n  ev:\n    columns:\n      email: hash_email\n"),
        );
        assert!(covered.findings.is_empty(), "{:?}", found(&covered));
        let excluded = scan(dump, false, Some("exclusions: [public.ev]\n"));
        assert!(excluded.findings.is_empty(), "{:?}", found(&excluded));
        assert_eq!(excluded.excluded, ["public.ev_1", "public.ev_2"]);
        let selected = scan(dump, false, Some("collections: [ev]\n"));
        assert_eq!(selected.findings.len(), 2, "{:?}", found(&selected));
    }

    #[test]
    fn unknown_columns_are_reported_and_left_to_the_user() {
        let dump = "INSERT INTO t VALUES (1,'a@example.org');\n";
        let r = scan(dump, true, None);
        assert_eq!(found(&r), ["t ? email 1#1@1"]);
        let yaml = r.suggest();
        assert!(
            yaml.starts_with("# t: personal-looking values in columns"),
            "{yaml}"
        );
        let rules = RuleSet::from_yaml(&yaml, "s.yaml").unwrap();
        assert!(rules.tables.is_empty(), "{yaml}");
    }

    #[test]
    fn mysql_columns_case_insensitive_and_names() {
        let dump = "USE `app`;\nCREATE TABLE `u` (`id` int, `First` varchar(20), `mail` text);\n\
                    INSERT INTO `u` VALUES (1,'MARY','m@example.org'),(2,'Linda',''),\n(3,'John',NULL),(4,'the cat','x');\n";
        let r = scan(dump, true, None);
        assert_eq!(
            found(&r),
            ["app.u First name 3#1@3", "app.u mail email 1#1@3"]
        );
        assert_eq!(r.findings[0].kind, Kind::Name(crate::scan::NameKind::First));
        let r = scan(
            dump,
            true,
            Some("rules:\n  u:\n    columns:\n      first: {transform: fake, kind: first_name}\n"),
        );
        assert_eq!(found(&r), ["app.u mail email 1#1@3"]);
    }
}
