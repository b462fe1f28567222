//! The integration tests of anonymize-core in one test binary: one module a topic (each module
//! says what it covers). Real-server tests are `#[ignore]`d (run them with
//! `-- --include-ignored`, as `./scripts/test` does); run one topic with
//! `cargo test -p anonymize-core --test integration TOPIC::`.

mod date_edges;
mod echo_settings;
mod fast_paths;
mod fuzz_rules;
mod integer_ids;
mod memo;
mod pinned_outputs;
mod properties;
mod rules_file;
mod transforms;
