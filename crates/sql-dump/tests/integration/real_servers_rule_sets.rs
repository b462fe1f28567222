//! The shipped rule sets (`rules/laravel.yaml`, `rules/directus.yaml`, `rules/rails.yaml`) against
//! fixture dumps made by the real tools from the applications' real table definitions
//! (`tests/fixtures/sql/*.source.sql`, dumped by `scripts/make-sql-fixtures`): each fixture is
//! restored as it is (the reference), anonymized with its rule set, restored into a fresh
//! database, and checked by SQL.
//!
//! Run with `./scripts/test` (these tests are `#[ignore]`d for plain `cargo test`).

use crate::support;

use support::{anonymize_with, anonymizer, assert_absent, repo_file, repo_text, MySql, Pg};

const DOMAIN: &str = "@anonymized.syrf.local";

fn column(rows: Vec<Vec<String>>) -> Vec<String> {
    rows.into_iter().map(|mut r| r.swap_remove(0)).collect()
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn laravel_rule_set_on_a_mariadb_dump() {
    let my = MySql::from_env();
    let (src, dst) = ("rs_laravel_src", "rs_laravel_dst");
    let dump = repo_file("tests/fixtures/sql/laravel.mariadb.sql");
    let anon = anonymizer(&repo_text("rules/laravel.yaml"), "rules/laravel.yaml");
    let out = anonymize_with(&dump, &anon);

    my.fresh_db(src);
    my.restore(Some(src), &dump);
    my.fresh_db(dst);
    my.restore_clean(Some(dst), &out, &[]);

    let mut secrets = column(my.query(Some(src), "SELECT email FROM users"));
    secrets.extend(column(my.query(Some(src), "SELECT name FROM users")));
    secrets.extend(column(my.query(
        Some(src),
        "SELECT remember_token FROM users WHERE remember_token IS NOT NULL",
    )));
    secrets.extend(column(
        my.query(Some(src), "SELECT token FROM personal_access_tokens"),
    ));
    secrets.extend(column(my.query(Some(src), "SELECT password FROM users")));
    assert!(secrets.len() >= 20);
    assert_absent(&out, &secrets, "laravel");

    let q = |sql: &str| my.count(None, &sql.replace("SRC", src).replace("DST", dst));
    // users
    assert_eq!(q("SELECT COUNT(*) FROM DST.users"), 6);
    assert_eq!(
        q(
            "SELECT COUNT(*) FROM SRC.users s JOIN DST.users d USING (id) WHERE \
           LOWER(s.email) <> LOWER(d.email) AND d.email LIKE '%@anonymized.syrf.local' AND \
           BINARY s.name <> BINARY d.name AND d.name <> '' AND \
           d.password = '$2y$10$92IXUNpkjO0rOQ5byMi.Ye4oKoEa3Ro9llC/.og/at2.uheWG/igi' AND \
           d.remember_token IS NULL AND s.email_verified_at <=> d.email_verified_at AND \
           s.created_at <=> d.created_at AND s.updated_at <=> d.updated_at"
        ),
        6
    );
    assert_eq!(q("SELECT COUNT(DISTINCT email) FROM DST.users"), 6);
    // schema-only tables exist and are empty; untouched tables equal
    for t in ["password_reset_tokens", "sessions", "cache"] {
        assert_eq!(q(&format!("SELECT COUNT(*) FROM DST.{t}")), 0, "{t}");
    }
    assert_eq!(
        q("SELECT COUNT(*) FROM SRC.cache_locks s JOIN DST.cache_locks d USING (`key`) WHERE s.owner = d.owner"),
        1
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM SRC.migrations s JOIN DST.migrations d USING (id) WHERE s.migration = d.migration AND s.batch = d.batch"),
        4
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM SRC.job_batches s JOIN DST.job_batches d USING (id) WHERE s.failed_job_ids = d.failed_job_ids"),
        1
    );
    // jobs and failed_jobs: the envelope is kept, the serialized command replaced, JSON valid
    for t in ["jobs", "failed_jobs"] {
        assert_eq!(
            q(&format!(
                "SELECT COUNT(*) FROM SRC.{t} s JOIN DST.{t} d USING (id) WHERE JSON_VALID(d.payload) AND \
                 JSON_VALUE(d.payload, '$.data.command') = 'removed by syrf-anonymize' AND \
                 JSON_VALUE(s.payload, '$.uuid') = JSON_VALUE(d.payload, '$.uuid') AND \
                 JSON_VALUE(s.payload, '$.displayName') = JSON_VALUE(d.payload, '$.displayName') AND \
                 JSON_VALUE(s.payload, '$.job') = JSON_VALUE(d.payload, '$.job') AND \
                 JSON_VALUE(s.payload, '$.data.commandName') = JSON_VALUE(d.payload, '$.data.commandName') AND \
                 JSON_EXTRACT(s.payload, '$.maxTries') <=> JSON_EXTRACT(d.payload, '$.maxTries')"
            )),
            if t == "jobs" { 2 } else { 1 },
            "{t}"
        );
    }
    assert_eq!(
        q("SELECT COUNT(*) FROM SRC.jobs s JOIN DST.jobs d USING (id) WHERE s.queue = d.queue AND \
           s.attempts = d.attempts AND s.reserved_at <=> d.reserved_at AND s.available_at = d.available_at"),
        2
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM SRC.failed_jobs s JOIN DST.failed_jobs d USING (id) WHERE s.uuid = d.uuid AND \
           d.exception = 'removed by syrf-anonymize' AND s.failed_at = d.failed_at"),
        1
    );
    // personal_access_tokens: 64 hex, changed, unique; the rest equal
    assert_eq!(
        q("SELECT COUNT(*) FROM SRC.personal_access_tokens s JOIN DST.personal_access_tokens d USING (id) WHERE \
           s.token <> d.token AND d.token REGEXP '^[0-9a-f]{64}$' AND s.tokenable_type = d.tokenable_type AND \
           s.tokenable_id = d.tokenable_id AND s.name = d.name AND s.abilities <=> d.abilities"),
        2
    );
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn directus_rule_set_on_a_mariadb_dump() {
    let my = MySql::from_env();
    let (src, dst) = ("rs_directus_src", "rs_directus_dst");
    let dump = repo_file("tests/fixtures/sql/directus.mariadb.sql");
    let anon = anonymizer(&repo_text("rules/directus.yaml"), "rules/directus.yaml");
    let out = anonymize_with(&dump, &anon);

    my.fresh_db(src);
    my.restore(Some(src), &dump);
    my.fresh_db(dst);
    my.restore_clean(Some(dst), &out, &[]);

    let mut secrets = column(my.query(Some(src), "SELECT email FROM directus_users"));
    for col in [
        "password",
        "token",
        "tfa_secret",
        "external_identifier",
        "location",
    ] {
        secrets.extend(column(my.query(
            Some(src),
            &format!("SELECT `{col}` FROM directus_users WHERE `{col}` IS NOT NULL"),
        )));
    }
    secrets.extend(column(my.query(
        Some(src),
        "SELECT password FROM directus_shares WHERE password IS NOT NULL",
    )));
    secrets.extend(column(
        my.query(Some(src), "SELECT token FROM directus_sessions"),
    ));
    secrets.push("1//0gK3x-Example-Refresh-Token-Value".into()); // inside auth_data
    secrets.push("81.2.69.142".into()); // activity and session IPs
    assert_absent(&out, &secrets, "directus");

    let q = |sql: &str| my.count(None, &sql.replace("SRC", src).replace("DST", dst));
    assert_eq!(q("SELECT COUNT(*) FROM DST.directus_users"), 5);
    assert_eq!(
        q("SELECT COUNT(*) FROM SRC.directus_users s JOIN DST.directus_users d USING (id) WHERE \
           LOWER(s.email) <> LOWER(d.email) AND d.email LIKE '%@anonymized.syrf.local' AND \
           BINARY s.first_name <> BINARY d.first_name AND BINARY s.last_name <> BINARY d.last_name AND \
           d.password IS NULL AND d.token IS NULL AND d.tfa_secret IS NULL AND d.auth_data IS NULL AND \
           d.location IS NULL AND d.description IS NULL AND \
           s.status = d.status AND s.role <=> d.role AND s.provider = d.provider AND s.language <=> d.language AND \
           s.title <=> d.title AND s.last_page <=> d.last_page AND CAST(s.tags AS BINARY) <=> CAST(d.tags AS BINARY) AND \
           (s.external_identifier IS NULL) = (d.external_identifier IS NULL) AND \
           (s.last_access IS NULL) = (d.last_access IS NULL) AND \
           (s.last_access IS NULL OR ABS(DATEDIFF(s.last_access, d.last_access)) <= 30)"),
        5
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM SRC.directus_users s JOIN DST.directus_users d USING (id) WHERE \
           s.external_identifier <> d.external_identifier AND CHAR_LENGTH(d.external_identifier) = 32"),
        2
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM DST.directus_sessions"),
        0,
        "schema-only"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM SRC.directus_activity s JOIN DST.directus_activity d USING (id) WHERE \
           s.action = d.action AND s.user <=> d.user AND s.timestamp <> d.timestamp AND \
           s.collection = d.collection AND s.item = d.item AND s.origin <=> d.origin AND \
           (s.ip IS NULL) = (d.ip IS NULL) AND (s.ip IS NULL OR (s.ip <> d.ip AND INET_ATON(d.ip) IS NOT NULL)) AND \
           (s.user_agent IS NULL) = (d.user_agent IS NULL) AND (s.user_agent IS NULL OR s.user_agent <> d.user_agent) AND \
           (s.comment IS NULL) = (d.comment IS NULL) AND (s.comment IS NULL OR s.comment <> d.comment)"),
        4
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM SRC.directus_revisions s JOIN DST.directus_revisions d USING (id) WHERE \
           d.data IS NULL AND d.delta IS NULL AND s.activity = d.activity AND s.collection = d.collection AND \
           s.item = d.item AND s.parent <=> d.parent"),
        2
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM SRC.directus_shares s JOIN DST.directus_shares d USING (id) WHERE \
           d.password IS NULL AND s.name <=> d.name AND s.times_used <=> d.times_used AND s.date_end <=> d.date_end"),
        2
    );
    assert_eq!(
        q(
            "SELECT COUNT(*) FROM SRC.articles s JOIN DST.articles d USING (id) WHERE \
           s.title <=> d.title AND s.body <=> d.body AND s.user_created <=> d.user_created"
        ),
        2
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM SRC.directus_roles s JOIN DST.directus_roles d USING (id) WHERE s.name = d.name"),
        2
    );
    // Foreign keys still resolve (ids are untouched join keys).
    assert_eq!(
        q("SELECT COUNT(*) FROM DST.directus_users u LEFT JOIN DST.directus_roles r ON r.id = u.role \
           WHERE u.role IS NOT NULL AND r.id IS NULL"),
        0
    );
}

#[test]
#[ignore = "needs the MariaDB and PostgreSQL started by ./scripts/test"]
fn rails_rule_set_on_a_pg_dump() {
    let pg = Pg::from_env();
    let (src, dst) = ("rs_rails_src", "rs_rails_dst");
    let dump = repo_file("tests/fixtures/sql/rails.pg.sql");
    let anon = anonymizer(&repo_text("rules/rails.yaml"), "rules/rails.yaml");
    let out = anonymize_with(&dump, &anon);

    pg.fresh_db(src);
    pg.restore(src, &dump);
    pg.fresh_db(dst);
    pg.restore(dst, &out);

    let mut secrets = column(pg.query(src, "SELECT email FROM users"));
    for col in [
        "encrypted_password",
        "reset_password_token",
        "confirmation_token",
        "unlock_token",
        "unconfirmed_email",
        "host(current_sign_in_ip)",
        "host(last_sign_in_ip)",
    ] {
        secrets.extend(column(pg.query(
            src,
            &format!("SELECT {col} FROM users WHERE {col} IS NOT NULL"),
        )));
    }
    assert!(secrets.len() >= 15);
    assert_absent(&out, &secrets, "rails");

    let q = |db: &str, sql: &str| pg.query(db, sql);
    let users = "SELECT id, email, encrypted_password, reset_password_token, reset_password_sent_at, \
                 remember_created_at, sign_in_count, current_sign_in_at::date, last_sign_in_at::date, \
                 host(current_sign_in_ip), host(last_sign_in_ip), confirmation_token, confirmed_at, \
                 unconfirmed_email, failed_attempts, unlock_token, locked_at, created_at, updated_at \
                 FROM users ORDER BY id";
    let (s, d) = (q(src, users), q(dst, users));
    assert_eq!(d.len(), 4);
    let null = "\\N";
    for (s, d) in s.iter().zip(&d) {
        assert_eq!(s[0], d[0]);
        assert_ne!(s[1].to_lowercase(), d[1].to_lowercase());
        assert!(d[1].ends_with(DOMAIN));
        assert_eq!(
            d[2],
            "$2a$10$92IXUNpkjO0rOQ5byMi.Ye4oKoEa3Ro9llC/.og/at2.uheWG/igi"
        );
        for i in [3, 4, 5, 11, 15] {
            assert_eq!(d[i], null, "column {i} nulled");
        }
        for i in [6, 14] {
            assert_eq!(s[i], d[i], "column {i} untouched");
        }
        // Devise's timestamps are all shifted (rules/rails.yaml: one left alone would hold
        // another's original time).
        for i in [12, 16, 17, 18] {
            assert_eq!(s[i] == null, d[i] == null, "column {i}");
            if s[i] != null {
                assert_ne!(s[i], d[i], "column {i} shifted");
            }
        }
        for i in [7, 8] {
            assert_eq!(s[i] == null, d[i] == null);
            if s[i] != null {
                let days = pg.count(
                    dst,
                    &format!("SELECT abs(DATE '{}' - DATE '{}')", s[i], d[i]),
                );
                assert!(days <= 30, "date_shift {days}");
            }
        }
        for i in [9, 10] {
            assert_eq!(s[i] == null, d[i] == null);
            if s[i] != null {
                assert_ne!(s[i], d[i], "ip changed");
            }
        }
        assert_eq!(s[13] == null, d[13] == null);
        if s[13] != null {
            assert!(d[13].ends_with(DOMAIN));
        }
    }
    assert_eq!(
        q(
            dst,
            "SELECT key, value FROM ar_internal_metadata ORDER BY key"
        ),
        vec![
            vec!["environment".to_string(), "development".to_string()],
            vec!["schema_sha1".to_string(), "development".to_string()]
        ]
    );
    for untouched in [
        "SELECT key, created_at, updated_at FROM ar_internal_metadata ORDER BY key",
        "SELECT version FROM schema_migrations ORDER BY version",
        "SELECT id, user_id, title, body, created_at FROM posts ORDER BY id",
        "SELECT last_value FROM users_id_seq",
        "SELECT indexname FROM pg_indexes WHERE tablename = 'users' ORDER BY indexname",
    ] {
        assert_eq!(q(dst, untouched), q(src, untouched), "{untouched}");
    }
}
