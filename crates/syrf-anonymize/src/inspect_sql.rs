//! The SQL part of `inspect`: row counts from sql-dump's own pass (no rules, output discarded),
//! and databases, schemas, columns and types from a line-oriented read of the DDL as
//! `mysqldump`/`mariadb-dump`/`pg_dump` format it (one column per line), fed the same bytes.

use std::collections::HashMap;
use std::io::{BufReader, Read};

use anonymize_core::{Anonymizer, KeyMode, RuleSet};
use serde_json::{json, Map, Value};

use crate::formats::Format;
use crate::inspect::InspectError;

/// Bytes of a line kept for the DDL scan (longer lines are data; their start is enough).
const MAX_LINE: usize = 16 * 1024;

/// One `CREATE TABLE` (or `COPY` column list) seen.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TableDdl {
    /// Qualified as sql-dump names it: `schema.table`, `db.table` after `USE`, or `table`.
    pub name: String,
    /// `(column, declared type)`; the type is `None` when only a `COPY` list named it.
    pub columns: Vec<(String, Option<String>)>,
}

/// The line scanner.
#[derive(Debug, Default)]
pub struct DdlScanner {
    postgres: bool,
    line: Vec<u8>,
    long_line: bool,
    in_copy: bool,
    current_db: Option<String>,
    table: Option<TableDdl>,
    /// Tables in order of their `CREATE TABLE`.
    pub tables: Vec<TableDdl>,
    /// Databases (`USE`, `CREATE DATABASE`, `\connect`, mysqldump's `Database:` header).
    pub databases: Vec<String>,
    /// Schemas (`CREATE SCHEMA`, qualified table names; PostgreSQL).
    pub schemas: Vec<String>,
    /// The server version from the dump's header comment.
    pub server_version: Option<String>,
    /// Rows sampled per table (`--sample`).
    sample: usize,
    copy_target: Option<String>,
    body_depth: i32,
    pending_insert: Option<String>,
    /// Sampled rows per qualified table name.
    pub samples: HashMap<String, Sampled>,
}

/// The first rows of one table (`--sample`).
#[derive(Debug, Default)]
pub struct Sampled {
    /// The `INSERT`'s or `COPY`'s column list, when it had one.
    pub columns: Option<Vec<String>>,
    /// The rows, values in column order.
    pub rows: Vec<Vec<Value>>,
}

fn push_unique(list: &mut Vec<String>, s: String) {
    if !s.is_empty() && !list.contains(&s) {
        list.push(s);
    }
}

/// Splits `s` into whitespace-separated tokens, keeping quoted and parenthesised parts whole.
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' | '`' => {
                    quote = Some(c);
                    cur.push(c);
                }
                '(' => {
                    depth += 1;
                    cur.push(c);
                }
                ')' => {
                    depth = depth.saturating_sub(1);
                    cur.push(c);
                }
                c if c.is_whitespace() && depth == 0 => {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                }
                c => cur.push(c),
            },
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Removes the quotes of one identifier part.
fn unquote(s: &str) -> String {
    let s = s.trim();
    for q in ['`', '"'] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            let d = format!("{q}{q}");
            return s[1..s.len() - 1].replace(&d, &q.to_string());
        }
    }
    s.to_owned()
}

/// Splits a possibly qualified name at dots outside quotes.
fn name_parts(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                cur.push(c);
            }
            Some(_) => cur.push(c),
            None if c == '`' || c == '"' => {
                quote = Some(c);
                cur.push(c);
            }
            None if c == '.' => parts.push(unquote(&std::mem::take(&mut cur))),
            None => cur.push(c),
        }
    }
    parts.push(unquote(&cur));
    parts
}

/// Keywords that start a table-level clause rather than a column.
const CLAUSES: &[&str] = &[
    "PRIMARY",
    "KEY",
    "UNIQUE",
    "INDEX",
    "CONSTRAINT",
    "FULLTEXT",
    "SPATIAL",
    "CHECK",
    "FOREIGN",
    "EXCLUDE",
    "LIKE",
    "PERIOD",
];

/// Keywords that end a column's type.
const TYPE_END: &[&str] = &[
    "NOT",
    "NULL",
    "DEFAULT",
    "COLLATE",
    "CHARSET",
    "AUTO_INCREMENT",
    "COMMENT",
    "PRIMARY",
    "UNIQUE",
    "REFERENCES",
    "CHECK",
    "GENERATED",
    "AS",
    "ON",
    "CONSTRAINT",
    "INVISIBLE",
    "STORED",
    "VIRTUAL",
    "COMPRESSED",
    "COLUMN_FORMAT",
    "STORAGE",
    "SRID",
];

/// `(name, type)` of a column definition line, `None` for a clause or not a column.
pub fn column_line(line: &str) -> Option<(String, String)> {
    let line = line.trim().trim_end_matches(',').trim();
    let toks = tokens(line);
    let first = toks.first()?;
    let quoted = first.starts_with('`') || first.starts_with('"');
    if !quoted && CLAUSES.contains(&first.to_ascii_uppercase().as_str()) {
        return None;
    }
    if first.starts_with(')') || first.starts_with("--") || first.starts_with("/*") {
        return None;
    }
    let mut ty: Vec<&str> = Vec::new();
    for (i, t) in toks.iter().enumerate().skip(1) {
        let up = t.to_ascii_uppercase();
        let stop = TYPE_END.contains(&up.as_str())
            || (up == "CHARACTER"
                && toks
                    .get(i + 1)
                    .is_some_and(|n| n.eq_ignore_ascii_case("SET")));
        if stop && !ty.is_empty() {
            break;
        }
        ty.push(t);
    }
    if ty.is_empty() {
        return None;
    }
    Some((unquote(first), ty.join(" ")))
}

impl DdlScanner {
    /// A scanner for one dialect.
    pub fn new(postgres: bool) -> DdlScanner {
        DdlScanner {
            postgres,
            ..DdlScanner::default()
        }
    }

    /// Also keeps the first `n` rows of every table.
    pub fn with_sample(mut self, n: usize) -> DdlScanner {
        self.sample = n;
        self
    }

    fn sample_insert(&mut self, line: &str) {
        let Some(insert) = crate::sql_sample::parse_insert(line, !self.postgres, self.sample)
        else {
            return;
        };
        let name = self.qualify(&insert.name);
        if insert.open {
            self.pending_insert = Some(name.clone());
        }
        let entry = self.samples.entry(name).or_default();
        if entry.columns.is_none() {
            entry.columns = insert.columns;
        }
        let room = self.sample.saturating_sub(entry.rows.len());
        entry.rows.extend(insert.rows.into_iter().take(room));
    }

    /// Feeds the next bytes of the dump.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while let Some(nl) = memchr_nl(bytes) {
            self.take(&bytes[..nl]);
            let line = std::mem::take(&mut self.line);
            self.line_done(&line);
            self.line = line;
            self.line.clear();
            self.long_line = false;
            bytes = &bytes[nl + 1..];
        }
        self.take(bytes);
    }

    /// Ends the input (a last line without newline).
    pub fn finish(&mut self) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_done(&line);
        }
        if let Some(t) = self.table.take() {
            self.tables.push(t);
        }
    }

    fn take(&mut self, part: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.line.len());
        if part.len() > room {
            self.long_line = true;
        }
        self.line.extend_from_slice(&part[..part.len().min(room)]);
    }

    fn qualify(&mut self, raw: &str) -> String {
        let parts = name_parts(raw);
        if self.postgres {
            if parts.len() >= 2 {
                push_unique(&mut self.schemas, parts[parts.len() - 2].clone());
            }
            parts.join(".")
        } else {
            match (&self.current_db, parts.len()) {
                (Some(db), 1) => format!("{db}.{}", parts[0]),
                _ => parts.join("."),
            }
        }
    }

    fn line_done(&mut self, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw);
        let line = text.trim_end_matches('\r');
        if self.in_copy {
            if line == "\\." {
                self.in_copy = false;
            } else if let Some(target) = &self.copy_target {
                let entry = self.samples.entry(target.clone()).or_default();
                if entry.rows.len() < self.sample {
                    entry.rows.push(crate::sql_sample::copy_row(line));
                }
            }
            return;
        }
        if let Some(table) = &mut self.table {
            let t = line.trim_start();
            // Lines inside a column's parentheses (a multi-line GENERATED expression, CHECK)
            // are not columns.
            let at_top = self.body_depth == 0;
            self.body_depth = (self.body_depth + paren_delta(t)).max(0);
            if !at_top {
                return;
            }
            if t.starts_with(')') || (t.ends_with(';') && column_line(t).is_none()) {
                let done = self.table.take().unwrap_or_default();
                self.tables.push(done);
                self.body_depth = 0;
            } else if let Some((name, ty)) = column_line(line) {
                table.columns.push((name, Some(ty)));
            }
            return;
        }
        if let Some(name) = &self.pending_insert {
            // A MariaDB-style INSERT with one tuple per line.
            let t = line.trim_start();
            if t.starts_with('(') {
                let name = name.clone();
                let rows = crate::sql_sample::parse_tuples(t, !self.postgres, self.sample);
                let entry = self.samples.entry(name).or_default();
                let room = self.sample.saturating_sub(entry.rows.len());
                entry.rows.extend(rows.into_iter().take(room));
                if t.trim_end().ends_with(';') {
                    self.pending_insert = None;
                }
                return;
            }
            self.pending_insert = None;
        }
        if self.sample > 0
            && line.get(..7).is_some_and(|p| {
                p.eq_ignore_ascii_case("INSERT ") || p.eq_ignore_ascii_case("REPLACE")
            })
        {
            // Long INSERT lines are sampled from their kept start.
            self.sample_insert(line);
            return;
        }
        if self.long_line {
            return;
        }
        let trimmed = line.trim_start();
        let upper: String = trimmed
            .chars()
            .take(40)
            .collect::<String>()
            .to_ascii_uppercase();
        if let Some(v) = line
            .strip_prefix("-- Server version")
            .or_else(|| line.strip_prefix("-- Dumped from database version"))
        {
            if self.server_version.is_none() {
                self.server_version = Some(v.trim().to_owned());
            }
        } else if let Some(rest) = line.strip_prefix("-- Host:") {
            if let Some(db) = rest.split("Database:").nth(1) {
                push_unique(&mut self.databases, db.trim().to_owned());
            }
        } else if upper.starts_with("USE ") && !self.postgres {
            let db = unquote(trimmed[4..].trim().trim_end_matches(';'));
            push_unique(&mut self.databases, db.clone());
            self.current_db = Some(db);
        } else if let Some(rest) = trimmed
            .strip_prefix("\\connect ")
            .or_else(|| trimmed.strip_prefix("\\c "))
        {
            let toks = tokens(rest);
            let db = toks
                .iter()
                .find(|t| !t.starts_with('-'))
                .map(|t| unquote(t.trim_matches('\'')));
            if let Some(db) = db {
                push_unique(&mut self.databases, db);
            }
        } else if upper.starts_with("CREATE DATABASE ") {
            let toks = tokens(trimmed.trim_end_matches(';'));
            if let Some(name) = toks.iter().skip(2).find(|t| {
                !["IF", "NOT", "EXISTS"].contains(&t.to_ascii_uppercase().as_str())
                    && !t.starts_with("/*")
            }) {
                push_unique(&mut self.databases, unquote(name));
            }
        } else if upper.starts_with("CREATE SCHEMA ") {
            let toks = tokens(trimmed.trim_end_matches(';'));
            if let Some(name) = toks
                .iter()
                .skip(2)
                .find(|t| !["IF", "NOT", "EXISTS"].contains(&t.to_ascii_uppercase().as_str()))
            {
                push_unique(&mut self.schemas, unquote(name));
            }
        } else if upper.starts_with("COPY ") && line.ends_with("FROM stdin;") {
            self.in_copy = true;
            self.copy_target = self.copy_columns(&trimmed[5..]);
        } else if upper.starts_with("CREATE ")
            && trimmed.len() == line.len()
            && line.trim_end().ends_with('(')
        {
            // Dump tools write a table's DDL unindented, its columns on the following lines;
            // an indented or single-line CREATE TABLE is inside a routine's body or has no
            // column list (`AS SELECT`, `PARTITION OF`).
            let toks = tokens(trimmed);
            let Some(at) = toks.iter().position(|t| t.eq_ignore_ascii_case("TABLE")) else {
                return;
            };
            let before_ok = toks[1..at].iter().all(|t| {
                [
                    "TEMPORARY",
                    "TEMP",
                    "UNLOGGED",
                    "GLOBAL",
                    "LOCAL",
                    "OR",
                    "REPLACE",
                ]
                .contains(&t.to_ascii_uppercase().as_str())
            });
            if !before_ok {
                return;
            }
            let name = toks[at + 1..].iter().find(|t| {
                !["IF", "NOT", "EXISTS", "ONLY"].contains(&t.to_ascii_uppercase().as_str())
            });
            if let Some(name) = name {
                let name = name.trim_end_matches('(').trim();
                let name = self.qualify(name);
                self.table = Some(TableDdl {
                    name,
                    columns: Vec::new(),
                });
            }
        }
    }

    /// `COPY name (a, b) FROM stdin;`: the columns, for a table whose DDL was not seen.
    /// Returns the table's name.
    fn copy_columns(&mut self, rest: &str) -> Option<String> {
        let open = rest.find('(')?;
        let name = self.qualify(rest[..open].trim());
        let close = rest.rfind(')')?;
        let columns: Vec<String> = rest[open + 1..close].split(',').map(unquote).collect();
        if self.sample > 0 {
            self.samples.entry(name.clone()).or_default().columns = Some(columns.clone());
        }
        if !self.tables.iter().any(|t| t.name == name) {
            self.tables.push(TableDdl {
                name: name.clone(),
                columns: columns.into_iter().map(|c| (c, None)).collect(),
            });
        }
        Some(name)
    }
}

/// Net parentheses opened by a line, outside quotes.
fn paren_delta(line: &str) -> i32 {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            },
        }
    }
    depth
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// A reader that shows every byte it passes to a scanner.
struct Tee<'a, R> {
    inner: R,
    scanner: &'a mut DdlScanner,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scanner.feed(&buf[..n]);
        Ok(n)
    }
}

/// The sampled values of column `index` (named `name`): by name when the statements had a
/// column list, by position otherwise.
fn column_samples(sampled: Option<&Sampled>, index: usize, name: &str) -> Value {
    let Some(s) = sampled else {
        return json!([]);
    };
    let at = match &s.columns {
        Some(list) => list.iter().position(|c| c == name),
        None => Some(index),
    };
    Value::Array(
        s.rows
            .iter()
            .filter_map(|r| at.and_then(|i| r.get(i)).cloned())
            .collect(),
    )
}

/// Inspects an uncompressed SQL dump; `manifest` already holds the common fields.
pub fn inspect_sql(
    format: Format,
    input: impl Read,
    sample: usize,
    manifest: &mut Map<String, Value>,
) -> Result<(), InspectError> {
    let postgres = format == Format::Postgres;
    let mut scanner = DdlScanner::new(postgres).with_sample(sample);
    let anon = Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed)
        .map_err(|e| InspectError::BadInput(format!("internal: {e}")))?;
    let options = sql_dump::SqlOptions {
        dialect: Some(if postgres {
            sql_dump::Dialect::Postgres
        } else {
            sql_dump::Dialect::MySql
        }),
        collections: None,
        // The manifest inventories the dump as it is, credentials tables included.
        keep_users: true,
        current_table: None,
        threads: 1,
        subset: None,
    };
    let tee = Tee {
        inner: input,
        scanner: &mut scanner,
    };
    let summary = sql_dump::rewrite_sql(
        BufReader::with_capacity(crate::input::CHUNK, tee),
        std::io::sink(),
        &anon,
        &options,
    )
    .map_err(|e| InspectError::BadInput(format!("{} dump: {e}", format.name())))?;
    scanner.finish();

    let mut tables: Vec<Value> = Vec::new();
    let bare = |n: &str| n.rsplit('.').next().unwrap_or(n).to_owned();
    let mut used = vec![false; summary.tables.len()];
    let mut total_rows = 0u64;
    for ddl in &scanner.tables {
        let found = summary
            .tables
            .iter()
            .position(|t| t.table == ddl.name)
            .or_else(|| {
                let matches: Vec<usize> = (0..summary.tables.len())
                    .filter(|&i| !used[i] && bare(&summary.tables[i].table) == bare(&ddl.name))
                    .collect();
                (matches.len() == 1).then(|| matches[0])
            });
        let (rows, bytes) = match found {
            Some(i) => {
                used[i] = true;
                (summary.tables[i].rows_in, summary.tables[i].bytes_in)
            }
            None => (0, 0),
        };
        total_rows += rows;
        let sampled = scanner.samples.get(&ddl.name);
        let columns: Vec<Value> = ddl
            .columns
            .iter()
            .enumerate()
            .map(|(i, (n, t))| {
                let mut c = json!({"name": n, "type": t});
                if sample > 0 {
                    c["samples"] = column_samples(sampled, i, n);
                }
                c
            })
            .collect();
        tables.push(json!({
            "name": ddl.name,
            "rows": rows,
            "data_bytes": bytes,
            "columns": columns,
        }));
    }
    for (i, t) in summary.tables.iter().enumerate() {
        if !used[i] {
            total_rows += t.rows_in;
            let mut table = json!({
                "name": t.table,
                "rows": t.rows_in,
                "data_bytes": t.bytes_in,
                "columns": Value::Null,
            });
            if sample > 0 {
                let rows = scanner.samples.get(&t.table).map(|s| s.rows.clone());
                table["sample_rows"] = json!(rows.unwrap_or_default());
            }
            tables.push(table);
        }
    }
    manifest.insert("dialect".into(), json!(format.name()));
    manifest.insert("server_version".into(), json!(scanner.server_version));
    manifest.insert("databases".into(), json!(scanner.databases));
    manifest.insert("schemas".into(), json!(scanner.schemas));
    manifest.insert("table_count".into(), json!(tables.len()));
    manifest.insert("rows".into(), json!(total_rows));
    manifest.insert("tables".into(), Value::Array(tables));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(postgres: bool, text: &str) -> DdlScanner {
        let mut s = DdlScanner::new(postgres);
        // Feed in small pieces to cross line boundaries.
        for chunk in text.as_bytes().chunks(7) {
            s.feed(chunk);
        }
        s.finish();
        s
    }

    #[test]
    fn mysql_columns_and_types() {
        let s = scan(
            false,
            "-- MySQL dump 10.13\n-- Host: localhost    Database: app\n-- Server version\t8.0.36\n\
             USE `app`;\nCREATE TABLE `users` (\n  `id` int unsigned NOT NULL AUTO_INCREMENT,\n  \
             `email` varchar(80) CHARACTER SET utf8mb4 DEFAULT NULL,\n  `price` decimal(10,2) NOT NULL,\n  \
             `kind` enum('a b','c') DEFAULT 'a b',\n  `doc` json,\n  PRIMARY KEY (`id`),\n  \
             UNIQUE KEY `e` (`email`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n\
             INSERT INTO `users` VALUES (1,'CREATE TABLE x (',1.00,'c',NULL);\n",
        );
        assert_eq!(s.server_version.as_deref(), Some("8.0.36"));
        assert_eq!(s.databases, vec!["app"]);
        assert_eq!(s.tables.len(), 1);
        assert_eq!(s.tables[0].name, "app.users");
        let cols: Vec<(&str, &str)> = s.tables[0]
            .columns
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_deref().unwrap()))
            .collect();
        assert_eq!(
            cols,
            vec![
                ("id", "int unsigned"),
                ("email", "varchar(80)"),
                ("price", "decimal(10,2)"),
                ("kind", "enum('a b','c')"),
                ("doc", "json"),
            ]
        );
    }

    #[test]
    fn postgres_columns_schemas_and_copy() {
        let s = scan(
            true,
            "--\n-- PostgreSQL database dump\n--\n-- Dumped from database version 16.2 (Debian 16.2-1)\n\
             CREATE SCHEMA app;\nCREATE TABLE public.actor (\n    actor_id integer DEFAULT nextval('s'::regclass) NOT NULL,\n    \
             first_name character varying(45) NOT NULL,\n    last_update timestamp with time zone DEFAULT now() NOT NULL,\n    \
             tags text[],\n    \"Odd Name\" double precision\n);\n\
             COPY public.actor (actor_id, first_name, last_update, tags, \"Odd Name\") FROM stdin;\n\
             1\tCREATE TABLE public.evil (\t2020\t\\N\t1\n\\.\n\
             COPY app.other (a, b) FROM stdin;\n\\.\n",
        );
        assert_eq!(s.server_version.as_deref(), Some("16.2 (Debian 16.2-1)"));
        assert_eq!(s.schemas, vec!["app", "public"]);
        assert_eq!(s.tables.len(), 2);
        assert_eq!(s.tables[0].name, "public.actor");
        let types: Vec<&str> = s.tables[0]
            .columns
            .iter()
            .map(|(_, t)| t.as_deref().unwrap())
            .collect();
        assert_eq!(
            types,
            vec![
                "integer",
                "character varying(45)",
                "timestamp with time zone",
                "text[]",
                "double precision"
            ]
        );
        assert_eq!(s.tables[0].columns[4].0, "Odd Name");
        assert_eq!(s.tables[1].name, "app.other");
        assert_eq!(
            s.tables[1].columns,
            vec![("a".to_owned(), None), ("b".to_owned(), None)]
        );
    }

    #[test]
    fn full_sql_manifest() {
        let dump = "-- MySQL dump 10.13\nCREATE TABLE `users` (\n  `id` int NOT NULL,\n  `email` varchar(80)\n);\n\
                    CREATE TABLE `empty` (\n  `x` int\n);\n\
                    INSERT INTO `users` VALUES (1,'a@b.c'),(2,NULL);\nINSERT INTO `users` VALUES (3,'d');\n";
        let mut m = Map::new();
        inspect_sql(Format::MySql, dump.as_bytes(), 0, &mut m).unwrap();
        assert_eq!(m["rows"], 3);
        assert_eq!(m["table_count"], 2);
        let users = &m["tables"][0];
        assert_eq!(users["name"], "users");
        assert_eq!(users["rows"], 3);
        assert_eq!(users["columns"][1]["type"], "varchar(80)");
        assert_eq!(m["tables"][1]["rows"], 0);
        assert!(!Value::Object(m).to_string().contains("a@b.c"));
    }

    #[test]
    fn samples_by_position_and_by_column_list() {
        let dump = "-- MySQL dump 10.13\nCREATE TABLE `users` (\n  `id` int NOT NULL,\n  `email` varchar(80)\n);\n\
                    INSERT INTO `users` VALUES (1,'a@b.c'),(2,NULL);\nINSERT INTO `users` VALUES (3,'d');\n\
                    CREATE TABLE `t` (\n  `a` int,\n  `b` text\n);\nINSERT INTO `t` (`b`, `a`) VALUES ('x',1);\n";
        let mut m = Map::new();
        inspect_sql(Format::MySql, dump.as_bytes(), 2, &mut m).unwrap();
        let users = &m["tables"][0]["columns"];
        assert_eq!(users[0]["samples"], json!(["1", "2"]));
        assert_eq!(users[1]["samples"], json!(["a@b.c", null]));
        let t = &m["tables"][1]["columns"];
        assert_eq!(t[0]["samples"], json!(["1"]));
        assert_eq!(t[1]["samples"], json!(["x"]));

        let pg = "--\n-- PostgreSQL database dump\n--\nCREATE TABLE public.p (\n    id integer,\n    note text\n);\n\
                  COPY public.p (note, id) FROM stdin;\nhello\t1\n\\N\t2\nthird\t3\n\\.\n";
        let mut m = Map::new();
        inspect_sql(Format::Postgres, pg.as_bytes(), 2, &mut m).unwrap();
        let p = &m["tables"][0];
        assert_eq!(p["rows"], 3);
        assert_eq!(p["columns"][0]["samples"], json!(["1", "2"]));
        assert_eq!(p["columns"][1]["samples"], json!(["hello", null]));
    }

    #[test]
    fn multi_line_generated_columns_and_one_tuple_per_line() {
        let pg = scan(
            true,
            "CREATE TABLE public.customer (\n    activebool boolean DEFAULT true NOT NULL,\n    \
             active smallint GENERATED ALWAYS AS (\nCASE\n    WHEN (activebool IS TRUE) THEN 1\n    ELSE 0\nEND) STORED,\n    \
             note text CHECK (note <> ')')\n);\n",
        );
        let cols: Vec<&str> = pg.tables[0]
            .columns
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(cols, ["activebool", "active", "note"]);
        assert_eq!(pg.tables[0].columns[1].1.as_deref(), Some("smallint"));

        let mut s = DdlScanner::new(false).with_sample(3);
        s.feed(b"INSERT INTO `actor` VALUES\n(1,'PENELOPE'),\n(2,'NICK'),\n(3,'ED'),\n(4,'JENNIFER');\nINSERT INTO `other` VALUES (9);\n");
        s.finish();
        assert_eq!(s.samples["actor"].rows.len(), 3);
        assert_eq!(s.samples["actor"].rows[1], vec![json!("2"), json!("NICK")]);
        assert_eq!(s.samples["other"].rows, vec![vec![json!("9")]]);
    }

    /// Cut and mutated dumps never panic the scanner (whatever it makes of them).
    #[test]
    fn scanner_survives_garbage() {
        let seed = "-- Host: h    Database: é\nUSE `é`;\nCREATE TABLE `t` (\n  `a` int(11) DEFAULT 'x)',\n  `é` enum('(','\\'') NOT NULL,\n  KEY `k` (`a`)\n) ENGINE=InnoDB;\n\
                    INSERT INTO `t` VALUES\n(1,'a'),\n(2,'b');\nCOPY public.t (a, \"b c\") FROM stdin;\n1\t\\N\n\\.\n\\connect - é\nCREATE SCHEMA \"é\";\n";
        let alphabet = "`\"'(),;\n\\ Cé".as_bytes();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let bytes = seed.as_bytes();
        for postgres in [false, true] {
            for cut in 0..=bytes.len() {
                let mut s = DdlScanner::new(postgres).with_sample(2);
                s.feed(&bytes[..cut]);
                s.finish();
            }
            for _ in 0..400 {
                let mut b = bytes.to_vec();
                for _ in 0..4 {
                    let i = (next() % b.len() as u64) as usize;
                    b[i] = alphabet[(next() % alphabet.len() as u64) as usize];
                }
                let mut s = DdlScanner::new(postgres).with_sample(2);
                for chunk in b.chunks(5) {
                    s.feed(chunk);
                }
                s.finish();
            }
        }
    }

    #[test]
    fn broken_sql_is_an_error() {
        let dump = "-- MySQL dump 10.13\nINSERT INTO `users` VALUES (1,'unterminated";
        let mut m = Map::new();
        assert!(inspect_sql(Format::MySql, dump.as_bytes(), 0, &mut m).is_err());
    }
}
