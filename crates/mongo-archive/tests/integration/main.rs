//! The integration tests of mongo-archive in one test binary: one module a topic (each module
//! says what it covers). Real-server tests are `#[ignore]`d (run them with
//! `-- --include-ignored`, as `./scripts/test` does); run one topic with
//! `cargo test -p mongo-archive --test integration TOPIC::`.

mod common;

mod corruption;
mod deep_nesting;
mod dump_dir;
mod echo_guard;
mod fail_closed;
mod gen_archive_cli;
mod generated;
mod oplog;
mod oplog_hidden_copies;
mod patch;
mod patch_differential;
mod real_archives;
mod subset;
mod summary_fields;
mod threads;
mod threads_crc;
mod when_conditions;
