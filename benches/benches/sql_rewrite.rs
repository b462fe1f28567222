//! Throughput of sql-dump on generated multi-MB dumps: MySQL extended INSERTs, PostgreSQL
//! COPY blocks and one-INSERT-per-row dumps of both (`--skip-extended-insert --complete-insert`,
//! `pg_dump --column-inserts`), with no rules (pass-through) and with rules on some columns.
//!
//! The headline cases are `realistic_*`: people rows with the statistics of real data (see
//! `syrf_benches::gen::realistic`) and the rules people write (fake first and last names,
//! `hash_email`, `digits`).
//!
//! `cargo bench -p syrf-benches --bench sql_rewrite`

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sql_dump::{rewrite_sql, SqlOptions};

const ROWS: usize = 40_000;

/// A deterministic dump: `users` (covered by rules) and `events` (never touched), with
/// extended INSERTs (MySQL) or COPY blocks (PostgreSQL).
fn dump(mysql: bool) -> Vec<u8> {
    let mut s = String::new();
    if mysql {
        s.push_str("-- MySQL dump 10.13\n/*!40101 SET NAMES utf8mb4 */;\n");
        s.push_str("CREATE TABLE `users` (\n  `id` int NOT NULL,\n  `email` varchar(255),\n  `name` varchar(100),\n  `bio` text\n);\n");
        s.push_str("CREATE TABLE `events` (\n  `id` int NOT NULL,\n  `payload` text\n);\n");
    } else {
        s.push_str("--\n-- PostgreSQL database dump\n--\nSET standard_conforming_strings = on;\n");
        s.push_str("CREATE TABLE public.users (\n    id integer NOT NULL,\n    email character varying(255),\n    name character varying(100),\n    bio text\n);\n");
        s.push_str(
            "CREATE TABLE public.events (\n    id integer NOT NULL,\n    payload text\n);\n",
        );
    }
    for table in ["users", "events"] {
        let mut i = 0;
        while i < ROWS {
            if mysql {
                s.push_str(&format!("INSERT INTO `{table}` VALUES "));
            } else {
                s.push_str(&format!("COPY public.{table} (id, "));
                s.push_str(if table == "users" {
                    "email, name, bio) FROM stdin;\n"
                } else {
                    "payload) FROM stdin;\n"
                });
            }
            for k in 0..1000 {
                let id = i + k;
                let bio = format!("Researcher no. {id} writes about stroke models, it's \"quoted\" and has a back\\slash; ").repeat(3);
                if mysql {
                    if k > 0 {
                        s.push(',');
                    }
                    let bio = bio
                        .replace('\\', "\\\\")
                        .replace('\'', "\\'")
                        .replace('"', "\\\"");
                    if table == "users" {
                        s.push_str(&format!(
                            "({id},'User.{id}@Example.com','Name {id}','{bio}')"
                        ));
                    } else {
                        s.push_str(&format!("({id},'{bio}')"));
                    }
                } else {
                    let bio = bio.replace('\\', "\\\\");
                    if table == "users" {
                        s.push_str(&format!("{id}\tUser.{id}@Example.com\tName {id}\t{bio}\n"));
                    } else {
                        s.push_str(&format!("{id}\t{bio}\n"));
                    }
                }
            }
            s.push_str(if mysql { ";\n" } else { "\\.\n\n" });
            i += 1000;
        }
    }
    s.into_bytes()
}

/// The same rows as short single-row INSERTs with a column list, the per-statement worst case.
fn row_inserts(mysql: bool) -> Vec<u8> {
    let mut s = String::new();
    let (users, events, cols_u, cols_e) = if mysql {
        s.push_str("-- MySQL dump 10.13\n");
        (
            "`users`",
            "`events`",
            "(`id`, `email`, `name`)",
            "(`id`, `payload`)",
        )
    } else {
        s.push_str("--\n-- PostgreSQL database dump\n--\nSET standard_conforming_strings = on;\n");
        (
            "public.users",
            "public.events",
            "(id, email, name)",
            "(id, payload)",
        )
    };
    for id in 0..ROWS {
        s.push_str(&format!(
            "INSERT INTO {users} {cols_u} VALUES ({id}, 'User.{id}@Example.com', 'Name {id}');\n"
        ));
    }
    for id in 0..ROWS {
        s.push_str(&format!(
            "INSERT INTO {events} {cols_e} VALUES ({id}, 'event {id} it''s logged');\n"
        ));
    }
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    let key = || KeyMode::Keyed(Key::from_bytes(b"benchmark key, long enough").unwrap());
    let none = Anonymizer::new(RuleSet::empty(), key()).unwrap();
    let rules = RuleSet::from_yaml(
        "rules:\n  users:\n    fields:\n      email: hash_email\n      name: {transform: fake, kind: name}\n",
        "bench.yaml",
    )
    .unwrap();
    let ruled = Anonymizer::new(rules, key()).unwrap();
    // A rule whose transform costs next to nothing: what is left is the cost of splitting and
    // re-emitting the rows.
    let cheap = RuleSet::from_yaml(
        "rules:\n  users:\n    fields:\n      email: null\n",
        "bench.yaml",
    )
    .unwrap();
    let cheap = Anonymizer::new(cheap, key()).unwrap();
    let people = RuleSet::from_yaml(
        "rules:\n  people:\n    fields:\n      first_name: {transform: fake, kind: first_name}\n      last_name: {transform: fake, kind: last_name}\n      email: hash_email\n      phone: digits\n",
        "bench.yaml",
    )
    .unwrap();
    let people = Anonymizer::new(people, key()).unwrap();
    for (label, mysql) in [
        ("realistic_mysql", true),
        ("realistic_postgres_copy", false),
    ] {
        let mut input = Vec::new();
        syrf_benches::gen::realistic::write(&mut input, mysql, 8_000_000).unwrap();
        let mut group = c.benchmark_group(format!("sql_rewrite/{label}"));
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.sample_size(10);
        for threads in [1, 2] {
            let options = SqlOptions {
                threads,
                ..SqlOptions::default()
            };
            group.bench_function(format!("shipped_style_threads_{threads}"), |b| {
                let mut out = Vec::with_capacity(input.len() * 2);
                b.iter(|| {
                    out.clear();
                    rewrite_sql(&input[..], &mut out, &people, &options).unwrap();
                })
            });
        }
        group.finish();
    }
    let cases = [
        ("mysql_extended_insert", dump(true)),
        ("postgres_copy", dump(false)),
        ("mysql_row_inserts", row_inserts(true)),
        ("postgres_row_inserts", row_inserts(false)),
    ];
    for (label, input) in cases {
        let mut group = c.benchmark_group(format!("sql_rewrite/{label}"));
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.sample_size(10);
        for (name, anon) in [
            ("no_rules", &none),
            ("null_rule_on_users", &cheap),
            ("rules_on_users", &ruled),
        ] {
            group.bench_function(name, |b| {
                let mut out = Vec::with_capacity(input.len() * 2);
                b.iter(|| {
                    out.clear();
                    rewrite_sql(&input[..], &mut out, anon, &SqlOptions::default()).unwrap();
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
