//! The integration tests of syrf-anonymize, the library and the binary, in one test binary:
//! one module a topic (the modules say what each covers). The real-server tests are
//! `#[ignore]`d (run with `-- --include-ignored`, as `./scripts/test` does); run one topic with
//! `cargo test -p syrf-anonymize --test integration TOPIC::`.

mod common;

mod cli;
mod completion;
mod deploy_snapshot_report;
mod deploy_sql_refresh;
mod dump_dir;
mod example;
mod hostile;
mod image_minbase;
mod lookalikes;
mod mongo_checks;
mod mongo_pipeline;
mod ops_deploy;
mod ops_image;
mod ops_inspect;
mod ops_monitoring;
mod ops_observe;
mod ops_parallel;
mod ops_schema;
mod pg_archive_checks;
mod pg_custom;
mod pg_directory_threads;
mod pipe_sizes;
mod preview_and_when;
mod progress_threads;
mod real_clients;
mod rule_sets;
mod safe_defaults;
mod scan;
mod scan_sql;
mod sql_findings;
mod sql_matrix;
mod sql_threads;
mod subset_cli;
mod suggest;
mod summary_hints;
mod verify;
mod verify_json_leaks;
