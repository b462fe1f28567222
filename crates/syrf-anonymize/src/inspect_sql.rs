//! The SQL part of `inspect`: one pass of sql-dump's reader ([`sql_dump::SqlReader`], the
//! rewriter's own reading of the dump) gives the databases and schemas, each table's columns
//! and types from its `CREATE TABLE` (or a `COPY` column list), its rows and data bytes,
//! and with `--sample N` the first rows' decoded values.

use std::io::Read;

use anonymize_core::{Anonymizer, KeyMode, RuleSet};
use serde_json::{json, Map, Value};
use sql_dump::{Event, Namespace, SessionChange, SqlOptions, SqlReader};

use crate::formats::Format;

/// Characters kept of one sampled value.
const MAX_CHARS: usize = 200;

/// One table met in the dump.
#[derive(Debug, Default)]
struct Table {
    /// Qualified as the rules name it: `schema.table`, `db.table` after `USE`, or `table`.
    name: String,
    /// `(column, declared type)`; the type is `None` when only a `COPY` list named it;
    /// `None` when neither a definition nor a list was seen.
    columns: Option<Vec<(String, Option<String>)>>,
    rows: u64,
    data_bytes: u64,
    /// Sampled values by column name, or whole rows when the columns are unknown.
    samples: Vec<(String, Vec<Value>)>,
    sample_rows: Vec<Vec<Value>>,
}

impl Table {
    fn sample_of(&mut self, column: &str) -> &mut Vec<Value> {
        let at = match self.samples.iter().position(|(c, _)| c == column) {
            Some(i) => i,
            None => {
                self.samples.push((column.to_owned(), Vec::new()));
                self.samples.len() - 1
            }
        };
        &mut self.samples[at].1
    }
}

fn push_unique(list: &mut Vec<String>, s: String) {
    if !s.is_empty() && !list.contains(&s) {
        list.push(s);
    }
}

/// A sampled value: its text cut at [`MAX_CHARS`] characters, or null.
fn sampled(value: Option<&[u8]>) -> Value {
    let Some(v) = value else { return Value::Null };
    let s = String::from_utf8_lossy(v);
    if s.chars().count() > MAX_CHARS {
        Value::String(s.chars().take(MAX_CHARS).collect::<String>() + "…")
    } else {
        Value::String(s.into_owned())
    }
}

/// What one pass over the dump found.
#[derive(Debug, Default)]
struct Found {
    tables: Vec<Table>,
    databases: Vec<String>,
    schemas: Vec<String>,
    server_version: Option<String>,
}

impl Found {
    fn table(&mut self, name: &str) -> &mut Table {
        let at = match self.tables.iter().position(|t| t.name == name) {
            Some(i) => i,
            None => {
                self.tables.push(Table {
                    name: name.to_owned(),
                    ..Table::default()
                });
                self.tables.len() - 1
            }
        };
        &mut self.tables[at]
    }

    /// A header comment: the server version, the database of a single-database dump.
    fn comment(&mut self, c: &[u8]) {
        let text = String::from_utf8_lossy(c);
        let line = text.trim_end();
        if let Some(v) = line
            .strip_prefix("-- Server version")
            .or_else(|| line.strip_prefix("-- Dumped from database version"))
        {
            if self.server_version.is_none() {
                self.server_version = Some(v.trim().to_owned());
            }
        }
    }

    fn schema_of(&mut self, q: &sql_dump::QName, postgres: bool) {
        if let (true, Some(s)) = (postgres, &q.schema) {
            push_unique(&mut self.schemas, s.clone());
        }
    }
}

/// Reads the dump.
fn read(format: Format, input: impl Read, sample: usize) -> Result<Found, sql_dump::SqlError> {
    let postgres = format == Format::Postgres;
    let anon = Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed)
        .expect("an empty rule set always builds");
    let options = SqlOptions {
        dialect: Some(if postgres {
            sql_dump::Dialect::Postgres
        } else {
            sql_dump::Dialect::MySql
        }),
        // The manifest inventories the dump as it is, credentials tables included.
        keep_users: true,
        ..SqlOptions::default()
    };
    let mut reader = SqlReader::new(input, &anon, &options)?;
    let mut found = Found::default();
    let mut scratch = Vec::new();
    // The table whose data statement is being read, and where the statement started.
    let mut data: Option<(usize, u64)> = None;
    while let Some(event) = reader.next_event()? {
        match event {
            Event::Comment(c) => found.comment(c),
            Event::Session(SessionChange::Schema(Some(db))) if !postgres => {
                push_unique(&mut found.databases, db.to_owned())
            }
            Event::Statement(s) => match s.namespace() {
                Some((Namespace::Schema, name)) => push_unique(&mut found.schemas, name),
                Some((Namespace::Database, name)) => push_unique(&mut found.databases, name),
                None => {}
            },
            Event::Table(t) => {
                found.schema_of(t.name(), postgres);
                let columns = t
                    .columns()
                    .map(|c| (c.name.to_owned(), Some(c.type_name.to_owned())))
                    .collect();
                found.table(&t.name().display()).columns = Some(columns);
            }
            Event::Rows(r) => {
                found.schema_of(r.table(), postgres);
                let name = r.table().display();
                let table = found.table(&name);
                if let (None, Some(list)) = (&table.columns, r.columns()) {
                    table.columns = Some(list.iter().map(|c| (c.clone(), None)).collect());
                }
                let at = found.tables.iter().position(|t| t.name == name);
                data = at.map(|t| (t, r.offset()));
            }
            Event::Row(r) => {
                let Some((t, start)) = data else { continue };
                let table = &mut found.tables[t];
                table.rows += 1;
                // Bytes of the statement so far: the previous rows were counted up to theirs.
                let end = r.offset() + r.raw().len() as u64;
                table.data_bytes += end - start;
                data = Some((t, end));
                if table.rows > sample as u64 {
                    continue;
                }
                if r.cells().all(|c| c.column().is_some()) && table.columns.is_some() {
                    for c in r.cells() {
                        let v = sampled(c.decode(&mut scratch));
                        table.sample_of(c.column().unwrap_or_default()).push(v);
                    }
                } else {
                    let row = r.cells().map(|c| sampled(c.decode(&mut scratch))).collect();
                    table.sample_rows.push(row);
                }
            }
            Event::Session(_) => {}
        }
    }
    Ok(found)
}

/// Inspects an uncompressed SQL dump; `manifest` already holds the common fields. Errors
/// (a dump that does not read) name the line, byte offset and table, never a value.
pub(crate) fn inspect_sql(
    format: Format,
    input: impl Read,
    sample: usize,
    manifest: &mut Map<String, Value>,
) -> Result<(), sql_dump::SqlError> {
    let found = read(format, input, sample)?;
    let mut total_rows = 0u64;
    let mut tables: Vec<Value> = Vec::new();
    for t in &found.tables {
        total_rows += t.rows;
        let columns = t.columns.as_ref().map(|cols| {
            let cols: Vec<Value> = cols
                .iter()
                .map(|(n, ty)| {
                    let mut c = json!({"name": n, "type": ty});
                    if sample > 0 {
                        let values = t.samples.iter().find(|(c, _)| c == n);
                        c["samples"] = json!(values.map(|(_, v)| v.clone()).unwrap_or_default());
                    }
                    c
                })
                .collect();
            Value::Array(cols)
        });
        let mut table = json!({
            "name": t.name,
            "rows": t.rows,
            "data_bytes": t.data_bytes,
            "columns": columns,
        });
        if sample > 0 && (t.columns.is_none() || !t.sample_rows.is_empty()) {
            table["sample_rows"] = json!(t.sample_rows);
        }
        tables.push(table);
    }
    manifest.insert("dialect".into(), json!(format.name()));
    manifest.insert("server_version".into(), json!(found.server_version));
    manifest.insert("databases".into(), json!(found.databases));
    manifest.insert("schemas".into(), json!(found.schemas));
    manifest.insert("table_count".into(), json!(tables.len()));
    manifest.insert("rows".into(), json!(total_rows));
    manifest.insert("tables".into(), Value::Array(tables));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(format: Format, dump: &str, sample: usize) -> Map<String, Value> {
        let mut m = Map::new();
        inspect_sql(format, dump.as_bytes(), sample, &mut m).unwrap();
        m
    }

    fn columns(table: &Value) -> Vec<(String, Value)> {
        table["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap().to_owned(), c["type"].clone()))
            .collect()
    }

    #[test]
    fn mysql_columns_and_types() {
        let m = manifest(
            Format::MySql,
            "-- MySQL dump 10.13\n-- Host: localhost    Database: app\n-- Server version\t8.0.36\n\
             USE `app`;\nCREATE TABLE `users` (\n  `id` int unsigned NOT NULL AUTO_INCREMENT,\n  \
             `email` varchar(80) CHARACTER SET utf8mb4 DEFAULT NULL,\n  `price` decimal(10,2) NOT NULL,\n  \
             `kind` enum('a b','c') DEFAULT 'a b',\n  `doc` json,\n  PRIMARY KEY (`id`),\n  \
             UNIQUE KEY `e` (`email`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n\
             INSERT INTO `users` VALUES (1,'CREATE TABLE x (',1.00,'c',NULL);\n",
            0,
        );
        assert_eq!(m["server_version"], "8.0.36");
        assert_eq!(m["databases"], json!(["app"]));
        assert_eq!(m["table_count"], 1);
        assert_eq!(m["tables"][0]["name"], "app.users");
        let types: Vec<(String, Value)> = [
            ("id", "int unsigned"),
            ("email", "varchar(80)"),
            ("price", "decimal(10,2)"),
            ("kind", "enum('a b','c')"),
            ("doc", "json"),
        ]
        .iter()
        .map(|(n, t)| (n.to_string(), json!(t)))
        .collect();
        assert_eq!(columns(&m["tables"][0]), types);
    }

    #[test]
    fn postgres_columns_schemas_and_copy() {
        let m = manifest(
            Format::Postgres,
            "--\n-- PostgreSQL database dump\n--\n-- Dumped from database version 16.2 (Debian 16.2-1)\n\
             CREATE SCHEMA app;\nCREATE TABLE public.actor (\n    actor_id integer DEFAULT nextval('s'::regclass) NOT NULL,\n    \
             first_name character varying(45) NOT NULL,\n    last_update timestamp with time zone DEFAULT now() NOT NULL,\n    \
             tags text[],\n    \"Odd Name\" double precision\n);\n\
             COPY public.actor (actor_id, first_name, last_update, tags, \"Odd Name\") FROM stdin;\n\
             1\tCREATE TABLE public.evil (\t2020\t\\N\t1\n\\.\n\
             COPY app.other (a, b) FROM stdin;\n\\.\n",
            0,
        );
        assert_eq!(m["server_version"], "16.2 (Debian 16.2-1)");
        assert_eq!(m["schemas"], json!(["app", "public"]));
        assert_eq!(m["table_count"], 2);
        let actor = &m["tables"][0];
        assert_eq!(
            (actor["name"].as_str(), actor["rows"].as_u64()),
            (Some("public.actor"), Some(1))
        );
        let types: Vec<Value> = columns(actor).into_iter().map(|(_, t)| t).collect();
        assert_eq!(
            types,
            [
                "integer",
                "character varying(45)",
                "timestamp with time zone",
                "text[]",
                "double precision"
            ]
            .map(|t| json!(t))
        );
        assert_eq!(columns(actor)[4].0, "Odd Name");
        assert_eq!(m["tables"][1]["name"], "app.other");
        assert_eq!(
            columns(&m["tables"][1]),
            [("a".to_owned(), Value::Null), ("b".to_owned(), Value::Null)]
        );
    }

    #[test]
    fn full_sql_manifest() {
        let dump = "-- MySQL dump 10.13\nCREATE TABLE `users` (\n  `id` int NOT NULL,\n  `email` varchar(80)\n);\n\
                    CREATE TABLE `empty` (\n  `x` int\n);\n\
                    INSERT INTO `users` VALUES (1,'a@b.c'),(2,NULL);\nINSERT INTO `users` VALUES (3,'d');\n";
        let m = manifest(Format::MySql, dump, 0);
        assert_eq!(m["rows"], 3);
        assert_eq!(m["table_count"], 2);
        let users = &m["tables"][0];
        assert_eq!(users["name"], "users");
        assert_eq!(users["rows"], 3);
        // Both INSERTs, from `INSERT` to the last row's `)`.
        assert_eq!(users["data_bytes"], 47 + 34);
        assert_eq!(users["columns"][1]["type"], "varchar(80)");
        assert_eq!(m["tables"][1]["rows"], 0);
        assert!(!Value::Object(m).to_string().contains("a@b.c"));
    }

    #[test]
    fn samples_by_position_and_by_column_list() {
        let dump = "-- MySQL dump 10.13\nCREATE TABLE `users` (\n  `id` int NOT NULL,\n  `email` varchar(80)\n);\n\
                    INSERT INTO `users` VALUES (1,'a@b.c'),(2,NULL);\nINSERT INTO `users` VALUES (3,'d');\n\
                    CREATE TABLE `t` (\n  `a` int,\n  `b` text\n);\nINSERT INTO `t` (`b`, `a`) VALUES ('x',1);\n";
        let m = manifest(Format::MySql, dump, 2);
        let users = &m["tables"][0]["columns"];
        assert_eq!(users[0]["samples"], json!(["1", "2"]));
        assert_eq!(users[1]["samples"], json!(["a@b.c", null]));
        let t = &m["tables"][1]["columns"];
        assert_eq!(t[0]["samples"], json!(["1"]));
        assert_eq!(t[1]["samples"], json!(["x"]));

        let pg = "--\n-- PostgreSQL database dump\n--\nCREATE TABLE public.p (\n    id integer,\n    note text\n);\n\
                  COPY public.p (note, id) FROM stdin;\nhello\t1\n\\N\t2\nthird\t3\n\\.\n";
        let m = manifest(Format::Postgres, pg, 2);
        let p = &m["tables"][0];
        assert_eq!(p["rows"], 3);
        assert_eq!(p["columns"][0]["samples"], json!(["1", "2"]));
        assert_eq!(p["columns"][1]["samples"], json!(["hello", null]));
    }

    #[test]
    fn generated_columns_one_tuple_per_line_and_tables_without_ddl() {
        let pg = "-- PostgreSQL database dump\nCREATE TABLE public.customer (\n    activebool boolean DEFAULT true NOT NULL,\n    \
                  active smallint GENERATED ALWAYS AS (\nCASE\n    WHEN (activebool IS TRUE) THEN 1\n    ELSE 0\nEND) STORED,\n    \
                  note text CHECK (note <> ')')\n);\n";
        let m = manifest(Format::Postgres, pg, 0);
        let cols = columns(&m["tables"][0]);
        let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["activebool", "active", "note"]);
        assert_eq!(cols[1].1, "smallint");

        let my = "-- MySQL dump\nINSERT INTO `actor` VALUES\n(1,'PENELOPE'),\n(2,'NICK'),\n(3,'ED'),\n(4,'JENNIFER');\nINSERT INTO `other` VALUES (9);\n";
        let m = manifest(Format::MySql, my, 3);
        let actor = &m["tables"][0];
        assert_eq!(
            (actor["rows"].as_u64(), &actor["columns"]),
            (Some(4), &Value::Null)
        );
        assert_eq!(actor["sample_rows"].as_array().unwrap().len(), 3);
        assert_eq!(actor["sample_rows"][1], json!(["2", "NICK"]));
        assert_eq!(m["tables"][1]["sample_rows"], json!([["9"]]));
    }

    /// The issue-17 cases: DDL with an escaped quote before an INSERT, a `$$` body and a
    /// text value holding DDL, a nested comment, `standard_conforming_strings = off`, and
    /// escaped values in samples: no value in the manifest, no phantom table, rows sampled.
    #[test]
    fn reads_the_dump_as_the_rewriter_does() {
        let my = "-- MySQL dump 10.13\nCREATE TABLE `t` (\n  `id` int,\n  `note` varchar(9) DEFAULT 'x\\'(',\n  `email` text\n);\n\
                  INSERT INTO `t` VALUES (1,'n','leak@example.org');\n";
        let m = manifest(Format::MySql, my, 0);
        assert!(
            !Value::Object(m.clone()).to_string().contains("leak@"),
            "{m:?}"
        );
        assert_eq!(columns(&m["tables"][0]).len(), 3);
        let pg = "-- PostgreSQL database dump\n/* a /* b */ c */\nSET standard_conforming_strings = off;\n\
                  CREATE FUNCTION f() RETURNS void AS $$ CREATE TABLE fake (\n x int); $$ LANGUAGE sql;\n\
                  CREATE TABLE public.u (\n    id integer,\n    email text\n);\n\
                  INSERT INTO public.u VALUES (1, 'it\\'s'), (2, E'hank\\x40example.com');\n\
                  COPY public.u (id, email) FROM stdin;\n3\tkim\\100example.com\n4\tCREATE TABLE ghost (\n\\.\n";
        let m = manifest(Format::Postgres, pg, 4);
        assert_eq!(m["table_count"], 1, "{m:?}");
        let u = &m["tables"][0];
        assert_eq!(u["rows"], 4);
        assert_eq!(
            u["columns"][1]["samples"],
            json!([
                "it's",
                "hank@example.com",
                "kim@example.com",
                "CREATE TABLE ghost ("
            ])
        );
    }

    #[test]
    fn broken_sql_is_an_error() {
        let dump = "-- MySQL dump 10.13\nINSERT INTO `users` VALUES (1,'unterminated";
        let mut m = Map::new();
        assert!(inspect_sql(Format::MySql, dump.as_bytes(), 0, &mut m).is_err());
    }
}
