//! What the rewriter needs from `CREATE TABLE`: column names, kinds, lengths, generated columns.

use crate::dialect::Syntax;
use crate::tokens::{dotted, qname, tokenize, QName, Tok};
use crate::Dialect;

/// The broad type of a column, enough to read and write its literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColKind {
    /// Integer types: literals are bare integers.
    Integer,
    /// Other numeric types (decimal, float): bare numeric literals.
    Decimal,
    /// Binary strings and blobs (`bytea` in PostgreSQL).
    Binary,
    /// PostgreSQL boolean.
    Bool,
    /// Character types.
    Text,
    /// Anything else (dates, enums, arrays, user types).
    Other,
}

/// What values a column accepts, finer than [`ColKind`], to tell whether a rule's output fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// Character types (and types not known here: user types, domains).
    Text,
    /// Integers.
    Integer,
    /// Other numbers.
    Decimal,
    /// Binary strings.
    Binary,
    /// Booleans.
    Bool,
    /// Dates, times, timestamps, intervals.
    Date,
    /// UUIDs.
    Uuid,
    /// Network addresses (`inet`, `cidr`, `macaddr`).
    Inet,
    /// Bit strings.
    Bit,
    /// Arrays.
    Array,
    /// JSON documents.
    Json,
    /// MySQL `enum(...)`/`set(...)`.
    Enum,
    /// Anything else (user types, domains): not checked.
    Unknown,
}

impl Family {
    /// The family of a column type (lowercase, whitespace collapsed).
    fn of(t: &str, kind: ColKind, json: bool, array: bool) -> Family {
        let first = t.split(['(', ' ']).next().unwrap_or("");
        if array {
            return Family::Array;
        }
        if json {
            return Family::Json;
        }
        match kind {
            ColKind::Integer => return Family::Integer,
            ColKind::Decimal => return Family::Decimal,
            ColKind::Binary => return Family::Binary,
            ColKind::Bool => return Family::Bool,
            ColKind::Text => return Family::Text,
            ColKind::Other => {}
        }
        match first {
            "date" | "time" | "timestamp" | "timestamptz" | "timetz" | "datetime" | "interval" => {
                Family::Date
            }
            "uuid" => Family::Uuid,
            "inet" | "cidr" | "macaddr" | "macaddr8" => Family::Inet,
            "bit" | "varbit" => Family::Bit,
            "enum" | "set" => Family::Enum,
            "money" => Family::Decimal,
            _ => Family::Unknown,
        }
    }
}

/// The family of an array type's elements (`text[]` -> text, `integer[]` -> integer).
pub(crate) fn element_family(type_name: &str, dialect: Dialect) -> Family {
    let element = type_name.replace("[]", "");
    let (kind, _, _, json) = classify(&element, dialect);
    Family::of(&element, kind, json, false)
}

/// One column of a table.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    /// Column name (unquoted).
    pub(crate) name: String,
    /// Its kind.
    pub(crate) kind: ColKind,
    /// `varchar(n)`/`char(n)`: the length limit in characters.
    pub(crate) max_chars: Option<usize>,
    /// A generated (computed) column.
    pub(crate) generated: bool,
    /// A JSON column (`json`, `jsonb`, MariaDB's `CHECK (json_valid(..))`). Informative:
    /// a rule path that goes below a column is read as JSON whatever its declared type.
    #[allow(dead_code)]
    pub(crate) json: bool,
    /// What values it accepts.
    pub(crate) family: Family,
    /// Its type as written (lowercase), for messages.
    pub(crate) type_name: String,
    /// Whether its comparisons tell letter case apart, when its collation says
    /// (MySQL `_bin`/`_cs`/`BINARY`, or the table's default collation): `None` when not told.
    pub(crate) case_sensitive: Option<bool>,
    /// In a unique key or the primary key declared in the `CREATE TABLE`.
    pub(crate) unique: bool,
}

#[cfg(test)]
impl Column {
    /// A column `c` of type `t` for unit tests, of `kind` and `family`, limited to `max_chars`.
    pub(crate) fn for_tests(kind: ColKind, family: Family, max_chars: Option<usize>) -> Column {
        Column {
            name: "c".into(),
            kind,
            max_chars,
            generated: false,
            json: false,
            family,
            type_name: "t".into(),
            case_sensitive: None,
            unique: false,
        }
    }
}

impl Column {
    /// Which variants of a text its comparisons (and so a unique index) tell apart.
    pub(crate) fn exactness(col: Option<&Column>, dialect: Dialect) -> Exactness {
        match dialect {
            // Deterministic collations compare bytes; `citext` ignores case.
            Dialect::Postgres => match col {
                Some(c) if c.type_name.starts_with("citext") => Exactness::LeadingSpace,
                _ => Exactness::Exact,
            },
            Dialect::MySql => match col.and_then(|c| c.case_sensitive) {
                Some(true) => Exactness::Exact,
                // `_ci` collations ignore case, and trailing spaces (PAD SPACE).
                _ => Exactness::LeadingSpace,
            },
        }
    }
}

/// Which variants of a text a column's comparisons tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exactness {
    /// Every difference (case, spaces).
    Exact,
    /// Leading spaces only (case-insensitive, trailing spaces ignored).
    LeadingSpace,
}

/// What a collation or type text says about letter case: `Some(true)` for binary and
/// case-sensitive collations.
fn collation_case(t: &str) -> Option<bool> {
    let at = t.find("collate")?;
    let name = t[at + 7..]
        .trim_start_matches([' ', '='])
        .split([' ', ',', ')', ';'])
        .next()
        .unwrap_or("");
    Some(name.ends_with("_bin") || name.ends_with("_cs") || name == "binary")
}

/// The columns of one table, in DDL order.
#[derive(Debug, Clone, Default)]
pub(crate) struct TableDef {
    /// All columns, generated ones included.
    pub(crate) columns: Vec<Column>,
}

/// What a `CREATE TABLE` statement says.
#[derive(Debug, Clone)]
pub(crate) struct CreateTable {
    /// The table.
    pub(crate) name: QName,
    /// Its columns.
    pub(crate) def: TableDef,
    /// PostgreSQL `PARTITION OF parent`.
    pub(crate) partition_of: Option<QName>,
    /// PostgreSQL `INHERITS (parent, ...)`.
    pub(crate) inherits: Vec<QName>,
    /// The names inside `PARTITION BY ... (...)` (the partition key's columns, and any
    /// function names of its expressions).
    pub(crate) partition_key: Vec<String>,
    /// A typed table's type (`CREATE TABLE t OF type`).
    pub(crate) of_type: Option<QName>,
    /// Sequences named in `nextval('...')` defaults.
    pub(crate) sequences: Vec<QName>,
}

const CONSTRAINT_WORDS: &[&str] = &[
    "primary",
    "key",
    "unique",
    "index",
    "constraint",
    "fulltext",
    "spatial",
    "foreign",
    "check",
    "exclude",
    "period",
    "like",
];

/// A `FOREIGN KEY (columns) REFERENCES parent (columns)` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ForeignKey {
    /// The referencing columns.
    pub(crate) columns: Vec<String>,
    /// The referenced table.
    pub(crate) parent: QName,
    /// The referenced columns.
    pub(crate) parent_columns: Vec<String>,
}

/// The `FOREIGN KEY (...) REFERENCES t (...)` clauses among `toks`.
pub(crate) fn foreign_keys(
    toks: &[crate::tokens::Spanned<'_>],
    ds: Option<&str>,
) -> Vec<ForeignKey> {
    fn names(toks: &[crate::tokens::Spanned<'_>], open: usize) -> Option<(Vec<String>, usize)> {
        if toks.get(open)?.tok != Tok::Punct(b'(') {
            return None;
        }
        let mut out = Vec::new();
        let mut i = open + 1;
        loop {
            let id = toks.get(i)?.tok.ident()?;
            out.push(String::from_utf8_lossy(id).into_owned());
            match toks.get(i + 1)?.tok {
                Tok::Punct(b',') => i += 2,
                Tok::Punct(b')') => return Some((out, i + 2)),
                _ => return None,
            }
        }
    }
    let mut fks = Vec::new();
    for k in 0..toks.len() {
        if !(toks[k].tok.is("foreign") && toks.get(k + 1).is_some_and(|t| t.tok.is("key"))) {
            continue;
        }
        // MySQL may name the index: `FOREIGN KEY name (cols)`.
        let open = if toks.get(k + 2).is_some_and(|t| t.tok == Tok::Punct(b'(')) {
            k + 2
        } else {
            k + 3
        };
        let Some((columns, next)) = names(toks, open) else {
            continue;
        };
        if !toks.get(next).is_some_and(|t| t.tok.is("references")) {
            continue;
        }
        let Some((parent, after)) = qname(toks, next + 1, ds) else {
            continue;
        };
        let Some((parent_columns, _)) = names(toks, after) else {
            continue;
        };
        fks.push(ForeignKey {
            columns,
            parent,
            parent_columns,
        });
    }
    fks
}

/// Reads a sequence name out of a `nextval('schema.seq'::regclass)` argument.
pub(crate) fn name_in_string(s: &[u8], default_schema: Option<&str>) -> QName {
    let text = String::from_utf8_lossy(s);
    let parts: Vec<String> = text
        .split('.')
        .map(|p| p.trim_matches('"').to_owned())
        .collect();
    match parts.as_slice() {
        [schema, .., name] if parts.len() >= 2 => QName {
            schema: Some(schema.clone()),
            name: name.clone(),
        },
        _ => QName {
            schema: default_schema.map(str::to_owned),
            name: parts.last().cloned().unwrap_or_default(),
        },
    }
}

fn classify(type_text: &str, dialect: Dialect) -> (ColKind, Option<usize>, bool, bool) {
    let t: String = type_text.split_whitespace().collect::<Vec<_>>().join(" ");
    let first: String = t
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let generated = t.contains("generated always as (")
        || (dialect.mysql_types()
            && t.contains(" as (")
            && (t.contains("virtual") || t.contains("stored") || t.contains("persistent")));
    let json = first == "json" || first == "jsonb" || t.contains("json_valid(");
    let array = t.split(' ').next().is_some_and(|w| w.contains("[]"))
        || t.starts_with("character varying")
            && t.split(' ').nth(1).is_some_and(|w| w.contains("[]"));
    if array {
        return (ColKind::Other, None, generated, false);
    }
    let length = || -> Option<usize> {
        let open = t.find('(')?;
        let close = t[open..].find(')')? + open;
        t[open + 1..close].trim().parse().ok()
    };
    let kind = match first.as_str() {
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "int2" | "int4"
        | "int8" | "serial" | "bigserial" | "smallserial" | "serial4" | "serial8" => {
            ColKind::Integer
        }
        "year" if dialect.mysql_types() => ColKind::Integer,
        "decimal" | "numeric" | "float" | "double" | "real" | "float4" | "float8" | "dec"
        | "fixed" => ColKind::Decimal,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "bytea" => {
            ColKind::Binary
        }
        "boolean" | "bool" if dialect.bool_literals() => ColKind::Bool,
        "char" | "varchar" | "character" | "nchar" | "nvarchar" | "national" | "bpchar" => {
            ColKind::Text
        }
        "text" | "tinytext" | "mediumtext" | "longtext" | "citext" | "json" | "jsonb" => {
            ColKind::Text
        }
        _ => ColKind::Other,
    };
    let max_chars = match first.as_str() {
        "char" | "varchar" | "character" | "nchar" | "nvarchar" | "national" | "bpchar" => length(),
        _ => None,
    };
    (kind, max_chars, generated, json)
}

/// Parses a `CREATE TABLE` statement held in memory. `None` when it is not one or has no
/// readable name.
pub(crate) fn parse_create_table(
    sql: &[u8],
    syntax: impl Into<Syntax>,
    default_schema: Option<&str>,
) -> Option<CreateTable> {
    let syntax = syntax.into();
    let dialect = syntax.dialect;
    let toks = tokenize(sql, syntax, usize::MAX);
    let mut i = 0;
    if !toks.first()?.tok.is("create") {
        return None;
    }
    while i < toks.len() && !toks[i].tok.is("table") {
        i += 1;
        if i > 6 {
            return None;
        }
    }
    i += 1;
    if toks.get(i)?.tok.is("if") {
        i += 3;
    }
    let (name, mut i) = qname(&toks, i, default_schema)?;
    let mut create = CreateTable {
        name,
        def: TableDef::default(),
        partition_of: None,
        inherits: Vec::new(),
        partition_key: Vec::new(),
        of_type: None,
        sequences: Vec::new(),
    };
    if toks.get(i).is_some_and(|t| t.tok.is("partition"))
        && toks.get(i + 1).is_some_and(|t| t.tok.is("of"))
    {
        let (parent, next) = qname(&toks, i + 2, default_schema)?;
        create.partition_of = Some(parent);
        i = next;
    }
    for (k, t) in toks.iter().enumerate() {
        if t.tok.is("nextval") && toks.get(k + 1).map(|t| &t.tok) == Some(&Tok::Punct(b'(')) {
            if let Some(Tok::Str(s)) = toks.get(k + 2).map(|t| &t.tok) {
                create.sequences.push(name_in_string(s, default_schema));
            }
        }
    }
    if toks.get(i).is_some_and(|t| t.tok.is("of")) {
        // A typed table: `CREATE TABLE t OF type [(constraints)]`.
        let (of_type, next) = qname(&toks, i + 1, default_schema)?;
        create.of_type = Some(of_type);
        i = next;
    }
    if toks.get(i).map(|t| &t.tok) != Some(&Tok::Punct(b'(')) {
        return Some(create);
    }
    let (mut columns, close) = column_list(sql, &toks, i, dialect);
    if dialect.mysql_types() {
        // `) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`: the columns'
        // default collation.
        let options = toks
            .get(close..)
            .and_then(|t| Some((t.first()?.start, t.last()?.end)))
            .map(|(s, e)| String::from_utf8_lossy(&sql[s..e]).to_ascii_lowercase());
        let table_case = options.as_deref().and_then(collation_case);
        for c in columns.iter_mut().filter(|c| c.case_sensitive.is_none()) {
            c.case_sensitive = table_case;
        }
    }
    create.def.columns = columns;
    create.partition_key = partition_key(&toks, close);
    // `) INHERITS (a, b)`
    if toks.get(close + 1).is_some_and(|t| t.tok.is("inherits"))
        && toks.get(close + 2).map(|t| &t.tok) == Some(&Tok::Punct(b'('))
    {
        let mut k = close + 3;
        while let Some((parent, next)) = qname(&toks, k, default_schema) {
            create.inherits.push(parent);
            match toks.get(next).map(|t| &t.tok) {
                Some(Tok::Punct(b',')) => k = next + 1,
                _ => break,
            }
        }
    }
    Some(create)
}

/// The columns of the parenthesised list opening at `toks[open]` (constraints skipped), and
/// the index of its closing parenthesis.
fn column_list(
    sql: &[u8],
    toks: &[crate::tokens::Spanned<'_>],
    open: usize,
    dialect: Dialect,
) -> (Vec<Column>, usize) {
    let mut columns: Vec<Column> = Vec::new();
    let mut keyed: Vec<String> = Vec::new();
    let mut i = open + 1;
    let mut depth = 0usize;
    let mut elem_start = i;
    while i < toks.len() {
        match toks[i].tok {
            Tok::Punct(b'(') => depth += 1,
            Tok::Punct(b')') if depth > 0 => depth -= 1,
            Tok::Punct(b',') | Tok::Punct(b')') if depth == 0 => {
                let elem = &toks[elem_start..i];
                if let Some(col) = column(sql, elem, dialect) {
                    columns.push(col);
                } else {
                    keyed.extend(unique_key_columns(elem));
                }
                if toks[i].tok == Tok::Punct(b')') {
                    break;
                }
                elem_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    for c in columns.iter_mut() {
        c.unique |= keyed.iter().any(|k| k.eq_ignore_ascii_case(&c.name));
    }
    (columns, i)
}

/// The columns of a `PRIMARY KEY (...)`/`UNIQUE [KEY name] (...)` table constraint.
fn unique_key_columns(elem: &[crate::tokens::Spanned<'_>]) -> Vec<String> {
    let Some(k) = elem
        .iter()
        .position(|t| t.tok.is("unique") || t.tok.is("primary"))
    else {
        return Vec::new();
    };
    let Some(open) = (k..elem.len()).find(|&j| elem[j].tok == Tok::Punct(b'(')) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    let mut depth = 0usize;
    for t in &elem[open..] {
        match t.tok {
            Tok::Punct(b'(') => depth += 1,
            Tok::Punct(b')') => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ if depth == 1 => names.extend(
                t.tok
                    .ident()
                    .filter(|id| !id.first().is_some_and(u8::is_ascii_digit))
                    .map(|id| String::from_utf8_lossy(id).into_owned()),
            ),
            _ => {}
        }
    }
    names
}

/// The names inside `PARTITION BY RANGE (a, lower(b))` after `toks[from]` (PostgreSQL and
/// MySQL).
fn partition_key(toks: &[crate::tokens::Spanned<'_>], from: usize) -> Vec<String> {
    let mut names = Vec::new();
    let Some(k) = (from..toks.len().saturating_sub(1))
        .find(|&k| toks[k].tok.is("partition") && toks[k + 1].tok.is("by"))
    else {
        return names;
    };
    let Some(open) = (k + 2..toks.len()).find(|&j| toks[j].tok == Tok::Punct(b'(')) else {
        return names;
    };
    let mut depth = 0usize;
    for t in &toks[open..] {
        match t.tok {
            Tok::Punct(b'(') => depth += 1,
            Tok::Punct(b')') => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => names.extend(
                t.tok
                    .ident()
                    .map(|id| String::from_utf8_lossy(id).into_owned()),
            ),
        }
    }
    names
}

/// Parses PostgreSQL's `CREATE TYPE name AS (columns)` (a composite type, the columns of a
/// typed table). `None` for other statements and other kinds of types.
pub(crate) fn parse_create_type(
    sql: &[u8],
    syntax: impl Into<Syntax>,
    default_schema: Option<&str>,
) -> Option<(QName, TableDef)> {
    let syntax = syntax.into();
    let toks = tokenize(sql, syntax, usize::MAX);
    if !(toks.first()?.tok.is("create") && toks.get(1)?.tok.is("type")) {
        return None;
    }
    let (name, next) = qname(&toks, 2, default_schema)?;
    if !toks.get(next)?.tok.is("as") || toks.get(next + 1)?.tok != Tok::Punct(b'(') {
        return None;
    }
    let (columns, _) = column_list(sql, &toks, next + 1, syntax.dialect);
    Some((name, TableDef { columns }))
}

fn column(sql: &[u8], toks: &[crate::tokens::Spanned<'_>], dialect: Dialect) -> Option<Column> {
    let first = toks.first()?;
    if let Tok::Word(w) = &first.tok {
        let w = String::from_utf8_lossy(w).to_ascii_lowercase();
        if CONSTRAINT_WORDS.contains(&w.as_str()) {
            return None;
        }
    }
    let (parts, _) = dotted(toks, 0)?;
    let name = parts.last()?.clone();
    let rest_start = toks.get(1)?.start;
    let rest_end = toks.last()?.end;
    // `--quote-all-identifiers` quotes type names (`"date"`, `"public"."citext"`), and
    // built-in types may be qualified (`pg_catalog."timestamp"`): read them bare.
    let type_text = String::from_utf8_lossy(&sql[rest_start..rest_end])
        .to_ascii_lowercase()
        .replace('"', "");
    let type_text = type_text
        .strip_prefix("pg_catalog.")
        .map_or(type_text.clone(), str::to_owned);
    let (kind, max_chars, generated, json) = classify(&type_text, dialect);
    let t: String = type_text.split_whitespace().collect::<Vec<_>>().join(" ");
    let array = t.split(' ').next().is_some_and(|w| w.contains("[]"))
        || t.starts_with("character varying")
            && t.split(' ').nth(1).is_some_and(|w| w.contains("[]"));
    let family = Family::of(&t, kind, json, array);
    let type_name: String = t
        .split(" not ")
        .next()
        .unwrap_or("")
        .split(" default ")
        .next()
        .unwrap_or("")
        .chars()
        .take(40)
        .collect();
    let case_sensitive = collation_case(&t).or_else(|| {
        // `varchar(10) BINARY`, `varbinary`: bytes compared.
        (t.split(' ').any(|w| w == "binary") || kind == ColKind::Binary).then_some(true)
    });
    let unique = t.contains(" unique") || t.contains(" primary key");
    Some(Column {
        name,
        kind,
        max_chars,
        generated,
        json,
        family,
        type_name,
        case_sensitive,
        unique,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_columns() {
        let sql = b"CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `email` varchar(50) DEFAULT NULL,\n  `pic` blob,\n  `full` varchar(90) GENERATED ALWAYS AS (concat(`a`,`b`)) VIRTUAL,\n  `doc` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`doc`)),\n  `amount` decimal(5,2),\n  PRIMARY KEY (`id`),\n  KEY `k` (`email`)\n) ENGINE=InnoDB;";
        let c = parse_create_table(sql, Dialect::MySql, Some("db")).unwrap();
        assert_eq!(c.name.schema.as_deref(), Some("db"));
        let cols = &c.def.columns;
        assert_eq!(cols.len(), 6);
        assert_eq!(cols[0].kind, ColKind::Integer);
        assert_eq!(cols[1].max_chars, Some(50));
        assert_eq!(cols[2].kind, ColKind::Binary);
        assert!(cols[3].generated && !cols[2].generated);
        assert!(cols[4].json);
        assert_eq!(cols[5].kind, ColKind::Decimal);
    }

    #[test]
    fn postgres_columns() {
        let sql = b"CREATE TABLE public.customer (\n    customer_id integer DEFAULT nextval('public.customer_customer_id_seq'::regclass) NOT NULL,\n    first_name character varying(45) NOT NULL,\n    tags text[],\n    pic bytea,\n    ok boolean,\n    active smallint GENERATED ALWAYS AS (\nCASE WHEN (a IS TRUE) THEN 1 ELSE 0 END) STORED,\n    id2 integer GENERATED ALWAYS AS IDENTITY\n);";
        let c = parse_create_table(sql, Dialect::Postgres, None).unwrap();
        assert_eq!(c.name.schema.as_deref(), Some("public"));
        assert_eq!(c.sequences[0].name, "customer_customer_id_seq");
        let cols = &c.def.columns;
        assert_eq!(cols.len(), 7);
        assert_eq!(cols[1].max_chars, Some(45));
        assert_eq!(cols[2].kind, ColKind::Other);
        assert_eq!(cols[3].kind, ColKind::Binary);
        assert_eq!(cols[4].kind, ColKind::Bool);
        assert!(cols[5].generated);
        assert!(!cols[6].generated);
    }

    #[test]
    fn collations_tell_letter_case() {
        let sql = b"CREATE TABLE `t` (\n  `a` varchar(9),\n  `b` varchar(9) COLLATE utf8mb4_general_ci,\n  `c` varchar(9) BINARY,\n  `d` varbinary(9)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;";
        let c = parse_create_table(sql, Dialect::MySql, Some("db")).unwrap();
        let cs: Vec<Option<bool>> = c.def.columns.iter().map(|c| c.case_sensitive).collect();
        assert_eq!(cs, [Some(true), Some(false), Some(true), Some(true)]);
        let sql = b"CREATE TABLE `t` (`a` varchar(9)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;";
        let c = parse_create_table(sql, Dialect::MySql, Some("db")).unwrap();
        assert_eq!(c.def.columns[0].case_sensitive, Some(false));
        assert_eq!(
            Column::exactness(Some(&c.def.columns[0]), Dialect::MySql),
            Exactness::LeadingSpace
        );
        assert_eq!(Column::exactness(None, Dialect::Postgres), Exactness::Exact);
        let sql = b"CREATE TABLE `t` (\n  `id` int NOT NULL,\n  `a` varchar(9),\n  `b` varchar(9) UNIQUE,\n  `c` varchar(9),\n  `d` text,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `a_c` (`a`,`c`(5))\n);";
        let c = parse_create_table(sql, Dialect::MySql, Some("db")).unwrap();
        let unique: Vec<bool> = c.def.columns.iter().map(|c| c.unique).collect();
        assert_eq!(unique, [true, true, true, true, false]);
        let c = parse_create_table(b"CREATE TABLE t (a text, b text);", Dialect::Postgres, None)
            .unwrap();
        assert!(!c.def.columns[0].unique);
    }

    #[test]
    fn quoted_type_names_are_read_bare() {
        let sql = b"CREATE TABLE \"public\".\"t\" (\n    \"born\" \"date\" NOT NULL,\n    \"pic\" \"bytea\",\n    \"u\" \"uuid\",\n    \"at\" pg_catalog.\"timestamp\",\n    \"n\" \"varchar\"(20)\n);";
        let c = parse_create_table(sql, Dialect::Postgres, None).unwrap();
        let fam: Vec<Family> = c.def.columns.iter().map(|c| c.family).collect();
        assert_eq!(
            fam,
            [
                Family::Date,
                Family::Binary,
                Family::Uuid,
                Family::Date,
                Family::Text
            ]
        );
        assert_eq!(c.def.columns[4].max_chars, Some(20));
        assert_eq!(c.def.columns[0].type_name, "date");
    }

    #[test]
    fn partition_of() {
        let c = parse_create_table(
            b"CREATE TABLE public.p1 PARTITION OF public.payment FOR VALUES FROM (1) TO (2);",
            Dialect::Postgres,
            None,
        )
        .unwrap();
        assert_eq!(c.partition_of.unwrap().name, "payment");
        let c = parse_create_table(
            b"CREATE TABLE public.child (\n    extra text\n)\nINHERITS (public.parent, other);",
            Dialect::Postgres,
            None,
        )
        .unwrap();
        assert_eq!(c.def.columns.len(), 1);
        let parents: Vec<String> = c.inherits.iter().map(QName::display).collect();
        assert_eq!(parents, ["public.parent", "other"]);
        let c = parse_create_table(
            b"CREATE TABLE public.t (\n    id int,\n    at date\n)\nPARTITION BY RANGE (at, lower(x));",
            Dialect::Postgres,
            None,
        )
        .unwrap();
        assert_eq!(c.partition_key, ["at", "lower", "x"]);
        let c = parse_create_table(
            b"CREATE TABLE public.tt OF public.ty;",
            Dialect::Postgres,
            None,
        )
        .unwrap();
        assert_eq!(c.of_type.unwrap().name, "ty");
        let (name, def) = parse_create_type(
            b"CREATE TYPE public.ty AS (\n\tid integer,\n\temail text\n);",
            Dialect::Postgres,
            None,
        )
        .unwrap();
        assert_eq!((name.name.as_str(), def.columns.len()), ("ty", 2));
        assert!(parse_create_type(
            b"CREATE TYPE public.e AS ENUM ('a');",
            Dialect::Postgres,
            None
        )
        .is_none());
    }
}
