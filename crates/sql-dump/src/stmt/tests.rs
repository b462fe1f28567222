//! Table tests of `classify`, on statements as the real `pg_dump` and `mariadb-dump` write
//! them (from the fixture dumps in `tests/fixtures/sql/` and the pagila dump).

use super::*;
use crate::lex::{Lexer, Scan};
use crate::tokens::tokenize;

fn show(q: &QName) -> String {
    q.display()
}

/// `owner | fact; fact` in a compact text form.
fn describe(sql: &str, dialect: Dialect, ds: Option<&str>) -> String {
    let toks = tokenize(sql.as_bytes(), dialect, usize::MAX);
    let stmt = classify(&toks, sql.as_bytes(), dialect, ds);
    let owner = match &stmt.owner {
        Owner::None => "-".to_owned(),
        Owner::Rel(q, true) => format!("table {}", show(q)),
        Owner::Rel(q, false) => format!("rel {}", show(q)),
        Owner::IndexOf(list) => format!(
            "index-of {}",
            list.iter().map(show).collect::<Vec<_>>().join(" ")
        ),
        Owner::Locked => "locked".to_owned(),
        Owner::Account => "account".to_owned(),
        Owner::LargeObject(part) => format!("large object {part:?}"),
        Owner::Late {
            kind,
            name,
            if_exists,
            single,
        } => format!("late {kind:?} {} {if_exists} {single}", show(name)),
    };
    let facts: Vec<String> = stmt
        .facts
        .iter()
        .map(|f| match f {
            Fact::CreateTable(c) => {
                format!("create {} ({} columns)", show(&c.name), c.def.columns.len())
            }
            Fact::Use(db) => format!("use {db}"),
            Fact::Lock(q) => format!("lock {}", q.as_ref().map_or("?".into(), show)),
            Fact::StdStrings(on) => format!("std {on}"),
            Fact::Derive(Derive::PartitionOf { child, parent }) => {
                format!("partition {} of {}", show(child), show(parent))
            }
            Fact::Derive(Derive::Inherits { child, parent }) => {
                format!("inherits {} from {}", show(child), show(parent))
            }
            Fact::Derive(Derive::SeqOf { seq, table }) => {
                format!("seq {} of {}", show(seq), show(table))
            }
            Fact::Names { kind, name, table } => {
                format!("{kind:?} {} on {}", show(name), show(table))
            }
            Fact::DroppedTable(q) => format!("dropped {}", show(q)),
            Fact::SqlMode(m) => format!("mode {m:?}"),
            Fact::SearchPath(s) => format!("search_path {s:?}"),
            Fact::Charset(l) => format!("latin1 {l}"),
            Fact::View(q) => format!("view {}", show(q)),
            Fact::CompositeType(q, def) => {
                format!("type {} ({} columns)", show(q), def.columns.len())
            }
            Fact::Derive(Derive::DependsOn { dependent, on }) => {
                format!("{} depends on {}", show(dependent), show(on))
            }
            Fact::ForeignKey(t, fk) => format!(
                "fk {}({}) -> {}({})",
                show(t),
                fk.columns.join(","),
                show(&fk.parent),
                fk.parent_columns.join(",")
            ),
        })
        .collect();
    let secrets: Vec<String> = stmt
        .secrets
        .iter()
        .map(|r| format!("secret {:?}", &sql[r.clone()]))
        .collect();
    let refs: Vec<String> = stmt
        .refs
        .iter()
        .map(|q| format!("ref {}", show(q)))
        .collect();
    let facts: Vec<String> = facts.into_iter().chain(secrets).chain(refs).collect();
    if facts.is_empty() {
        owner
    } else {
        format!("{owner} | {}", facts.join("; "))
    }
}

#[test]
fn postgres_statements() {
    let pg = Dialect::Postgres;
    let cases: &[(&str, &str)] = &[
        ("SET standard_conforming_strings = on;", "- | std true"),
        ("SET standard_conforming_strings = 'off';", "- | std false"),
        (
            "SELECT pg_catalog.set_config('search_path', '', false);",
            "- | search_path None",
        ),
        (
            "SET search_path = public, pg_catalog;",
            "- | search_path Some(\"public\")",
        ),
        (
            "SET search_path = \"$user\", app;",
            "- | search_path Some(\"app\")",
        ),
        (
            "CREATE TABLE public.posts (\n    id bigint NOT NULL,\n    title character varying,\n    user_id bigint\n);",
            "table public.posts | create public.posts (3 columns)",
        ),
        ("CREATE SEQUENCE public.posts_id_seq\n    START WITH 1\n    CACHE 1;", "rel public.posts_id_seq"),
        (
            "ALTER SEQUENCE public.posts_id_seq OWNED BY public.posts.id;",
            "rel public.posts_id_seq | seq public.posts_id_seq of public.posts; ref public.posts",
        ),
        (
            "ALTER TABLE ONLY public.posts ALTER COLUMN id SET DEFAULT nextval('public.posts_id_seq'::regclass);",
            "rel public.posts",
        ),
        ("SELECT pg_catalog.setval('public.posts_id_seq', 3, true);", "rel public.posts_id_seq"),
        (
            "CREATE UNIQUE INDEX index_users_on_email ON public.users USING btree (email);",
            "table public.users | Index public.index_users_on_email on public.users",
        ),
        (
            "ALTER TABLE ONLY public.posts\n    ADD CONSTRAINT fk_rails_5b5ddfd518 FOREIGN KEY (user_id) REFERENCES public.users(id);",
            "rel public.posts | fk public.posts(user_id) -> public.users(id); ref public.users",
        ),
        (
            "CREATE TABLE public.payment_p2022_01 PARTITION OF public.payment FOR VALUES FROM ('2022-01-01') TO ('2022-02-01');",
            "table public.payment_p2022_01 | create public.payment_p2022_01 (0 columns)",
        ),
        (
            "ALTER TABLE ONLY public.payment ATTACH PARTITION public.payment_p2022_01 FOR VALUES FROM ('2022-01-01') TO ('2022-02-01');",
            "rel public.payment | partition public.payment_p2022_01 of public.payment",
        ),
        (
            "ALTER TABLE public.actor ALTER COLUMN actor_id ADD GENERATED ALWAYS AS IDENTITY (\n    SEQUENCE NAME public.actor_actor_id_seq\n);",
            "rel public.actor | seq public.actor_actor_id_seq of public.actor",
        ),
        (
            "ALTER INDEX public.payment_pkey ATTACH PARTITION public.payment_p2022_01_pkey;",
            "index-of public.payment_pkey public.payment_p2022_01_pkey",
        ),
        (
            "ALTER TABLE ONLY public.payment\n    ADD CONSTRAINT payment_pkey PRIMARY KEY (payment_date, payment_id);",
            "rel public.payment | Index public.payment_pkey on public.payment",
        ),
        (
            "ALTER TABLE ONLY public.posts\n    ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES public.users(id);",
            "rel public.posts | fk public.posts(user_id) -> public.users(id); ref public.users",
        ),
        ("COMMENT ON INDEX public.idx IS 'x';", "index-of public.idx"),
        ("COMMENT ON COLUMN public.users.email IS 'e';", "table public.users"),
        ("COMMENT ON TABLE public.users IS 'u';", "table public.users"),
        ("COMMENT ON CONSTRAINT c ON DOMAIN public.d IS 'x';", "-"),
        (
            "CREATE STATISTICS public.s (ndistinct) ON a, b FROM public.t;",
            "table public.t | Statistics public.s on public.t",
        ),
        ("CREATE TRIGGER last_updated BEFORE UPDATE ON public.actor FOR EACH ROW EXECUTE FUNCTION public.last_updated();", "table public.actor | ref public.last_updated"),
        ("CREATE RULE r AS ON INSERT TO public.t DO INSTEAD NOTHING;", "table public.t"),
        ("CREATE POLICY p ON public.t USING (true);", "table public.t"),
        (
            "CREATE VIEW public.customer_list AS\n SELECT cu.customer_id AS id FROM public.customer cu;",
            "rel public.customer_list | view public.customer_list; ref cu.customer_id; ref public.customer",
        ),
        ("REFRESH MATERIALIZED VIEW public.rental_by_category;", "rel public.rental_by_category"),
        ("GRANT SELECT ON TABLE public.users TO app;", "rel public.users"),
        ("GRANT ALL ON SCHEMA public TO app;", "-"),
        ("REVOKE ALL ON SEQUENCE public.s FROM app;", "rel public.s"),
        ("DROP TABLE IF EXISTS public.users;", "table public.users | dropped public.users"),
        ("DROP INDEX IF EXISTS public.idx;", "late Index public.idx true true"),
        ("DROP INDEX public.a, public.b;", "late Index public.a false false"),
        ("DROP STATISTICS public.s;", "late Statistics public.s false true"),
        ("DROP TRIGGER IF EXISTS tr ON public.t;", "table public.t"),
        ("SECURITY LABEL FOR p ON TABLE public.t IS 'x';", "table public.t"),
        ("CREATE FUNCTION public.f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;", "-"),
        (
            "ALTER ROLE app WITH NOSUPERUSER INHERIT LOGIN PASSWORD 'SCRAM-SHA-256$4096:abc';",
            "- | secret \"PASSWORD 'SCRAM-SHA-256$4096:abc'\"",
        ),
        (
            "CREATE ROLE old WITH LOGIN ENCRYPTED PASSWORD 'md5abc' VALID UNTIL 'infinity';",
            "- | secret \"ENCRYPTED PASSWORD 'md5abc'\"",
        ),
        ("CREATE ROLE app;", "-"),
        ("SELECT pg_catalog.lo_create('49005');", "large object Create"),
        ("SELECT pg_catalog.lo_open('49005', 131072);", "large object Data"),
        ("SELECT pg_catalog.lowrite(0, '\\x736563');", "large object Data"),
        ("SELECT pg_catalog.lo_close(0);", "large object Data"),
        ("ALTER LARGE OBJECT 49005 OWNER TO postgres;", "large object Meta"),
        ("GRANT SELECT ON LARGE OBJECT 49005 TO app;", "large object Meta"),
    ];
    for (sql, want) in cases {
        assert_eq!(describe(sql, pg, None), *want, "{sql}");
    }
}

#[test]
fn mysql_statements() {
    let my = Dialect::MySql;
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("USE `app`;", None, "- | use app"),
        ("DROP TABLE IF EXISTS `cache`;", None, "table cache"),
        ("DROP TABLE IF EXISTS `cache`;", Some("app"), "table app.cache"),
        (
            "CREATE TABLE `cache` (\n  `key` varchar(255) NOT NULL,\n  `value` mediumtext NOT NULL,\n  `expiration` int(11) NOT NULL,\n  PRIMARY KEY (`key`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;",
            None,
            "table cache | create cache (3 columns)",
        ),
        ("LOCK TABLES `cache` WRITE;", None, "table cache | lock cache"),
        ("/*!40000 ALTER TABLE `cache` DISABLE KEYS */;", None, "table cache"),
        ("UNLOCK TABLES;", None, "locked"),
        ("/*!40101 SET NAMES utf8mb4 */;", None, "- | latin1 false"),
        (
            "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER customer_create_date BEFORE INSERT ON customer FOR EACH ROW SET NEW.create_date = NOW() */;;",
            Some("sakila"),
            "table sakila.customer",
        ),
        (
            "/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n/*!50001 VIEW `actor_info` AS select 1 */;",
            None,
            "rel actor_info | view actor_info; ref AS; ref select; ref 1",
        ),
        ("SELECT 1--1;", None, "-"),
        (
            "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO,ANSI' */;",
            None,
            "- | mode SaveTo(\"old_sql_mode\"); mode Set(true)",
        ),
        (
            "/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;",
            None,
            "- | mode FromVar(\"old_sql_mode\")",
        ),
        (
            "/*!50003 SET sql_mode              = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION' */ ;;",
            None,
            "- | mode Set(false)",
        ),
        ("/*!40101 SET NAMES latin1 */;", None, "- | latin1 true"),
        ("SET @@SESSION.sql_mode = 'ORACLE';", None, "- | mode Set(true)"),
        (
            "CREATE USER `appuser`@`%` IDENTIFIED BY PASSWORD '*52A04EF78765E21ADCF174CC2A6E22A12FB7401A';",
            None,
            "account",
        ),
        ("GRANT SELECT ON `t10`.* TO `appuser`@`%`;", None, "account"),
        ("/*M!100005 SET DEFAULT ROLE NONE FOR 'root'@'localhost' */;", None, "account"),
        ("/*!80001 ALTER USER 'root'@'localhost' DEFAULT ROLE NONE */;", None, "account"),
        ("GRANT mariadb_dump_import_role TO CURRENT_USER();", None, "-"),
        ("CREATE ROLE IF NOT EXISTS mariadb_dump_import_role;", None, "-"),
    ];
    for (sql, ds, want) in cases {
        assert_eq!(describe(sql, my, *ds), *want, "{sql}");
    }
}

/// Splits a dump into statements with the crate's own lexer.
fn statements(dump: &str, dialect: Dialect) -> Vec<String> {
    let mut lexer = Lexer::new(dialect);
    let mut out = Vec::new();
    let mut rest = dump.as_bytes();
    loop {
        lexer.reset(false);
        match lexer.scan(rest, true) {
            Scan::Found(e) => {
                out.push(String::from_utf8_lossy(&rest[..e]).into_owned());
                rest = &rest[e..];
            }
            Scan::More(_) => return out,
        }
    }
}

#[test]
fn every_table_of_the_fixture_dumps_owns_its_statements() {
    let pg = include_str!("../../../../tests/fixtures/sql/rails.pg.sql");
    // Without the COPY data blocks (not statements).
    let mut pg = pg.to_owned();
    while let Some(start) = pg.find("FROM stdin;\n") {
        let end = pg[start..]
            .find("\n\\.\n")
            .map_or(pg.len(), |k| start + k + 4);
        pg.replace_range(start..end, "");
    }
    let mut owners = std::collections::BTreeMap::<String, usize>::new();
    for sql in statements(&pg, Dialect::Postgres) {
        let toks = tokenize(sql.as_bytes(), Dialect::Postgres, usize::MAX);
        if let Owner::Rel(q, _) = classify(&toks, sql.as_bytes(), Dialect::Postgres, None).owner {
            *owners.entry(q.display()).or_default() += 1;
        }
    }
    // Each table: its CREATE TABLE, its ALTER TABLEs (default, primary key, foreign keys)
    // and indexes; each sequence: CREATE, ALTER ... OWNED BY, setval.
    assert!(owners["public.users"] >= 4, "{owners:?}");
    assert!(owners["public.posts"] >= 4, "{owners:?}");
    assert_eq!(owners["public.users_id_seq"], 3, "{owners:?}");

    let my = include_str!("../../../../tests/fixtures/sql/laravel.mariadb.sql");
    let mut creates = 0;
    for sql in statements(my, Dialect::MySql) {
        let toks = tokenize(sql.as_bytes(), Dialect::MySql, usize::MAX);
        let stmt = classify(&toks, sql.as_bytes(), Dialect::MySql, None);
        if let Some(Fact::CreateTable(c)) = stmt.facts.first() {
            creates += 1;
            assert!(!c.def.columns.is_empty(), "{}", c.name.display());
        }
    }
    assert!(creates >= 10, "{creates}");
}
