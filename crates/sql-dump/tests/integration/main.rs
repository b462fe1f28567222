//! The integration tests of sql-dump in one test binary: one module a topic (each module
//! says what it covers). Real-server tests are `#[ignore]`d (run them with
//! `-- --include-ignored`, as `./scripts/test` does); run one topic with
//! `cargo test -p sql-dump --test integration TOPIC::`.

mod support;

mod clean_and_generated;
mod credentials;
mod data_statements;
mod echo_guard;
mod echo_precheck;
mod edge_cases;
mod hostile_inputs;
mod json_columns;
mod pg_archive_compression;
mod pg_archive_hostile;
mod pg_directory_threads;
mod reader;
mod real_dumps;
mod real_servers_inherits;
mod real_servers_mysql;
mod real_servers_pg_archive;
mod real_servers_postgres;
mod real_servers_round3;
mod real_servers_rule_sets;
mod real_servers_samples;
mod real_servers_subset;
mod real_servers_variants;
mod sql_differential;
mod subset;
mod threads;
mod when_conditions;
