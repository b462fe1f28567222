//! Issue 19.4 and 19.5: credentials and statistics removed by default, leaving statements
//! that still parse.

use anonymize_core::{Anonymizer, KeyMode, RuleSet};
use sql_dump::{rewrite_sql, SqlOptions, SqlSummary};

fn rewrite(input: &str) -> (String, SqlSummary) {
    let rules = RuleSet::from_yaml("rules: {}\n", "c.yaml").unwrap();
    let anon = Anonymizer::new(rules, KeyMode::Unkeyed).unwrap();
    let mut out = Vec::new();
    let summary = rewrite_sql(input.as_bytes(), &mut out, &anon, &SqlOptions::default()).unwrap();
    (String::from_utf8(out).unwrap(), summary)
}

const PG: &str = "--\n-- PostgreSQL database dump\n--\n";

#[test]
fn user_mapping_passwords_leave_a_valid_option_list() {
    for (stmt, want) in [
        (
            "CREATE USER MAPPING FOR app SERVER s OPTIONS (\n    password 'Secr3t!',\n    \"user\" 'remote'\n);\n",
            "CREATE USER MAPPING FOR app SERVER s OPTIONS (\n    \"user\" 'remote'\n);\n",
        ),
        (
            "CREATE USER MAPPING FOR app SERVER s OPTIONS (\n    \"user\" 'remote',\n    password 'Secr3t!'\n);\n",
            "CREATE USER MAPPING FOR app SERVER s OPTIONS (\n    \"user\" 'remote'\n);\n",
        ),
        (
            "CREATE USER MAPPING FOR app SERVER s OPTIONS (\n    password 'Secr3t!'\n);\n",
            "CREATE USER MAPPING FOR app SERVER s;\n",
        ),
    ] {
        let (out, summary) = rewrite(&format!("{PG}{stmt}"));
        assert_eq!(&out[PG.len()..], want);
        assert!(!out.contains("Secr3t"));
        assert!(summary.credentials.iter().any(|c| c.contains("1 role passwords removed")), "{:?}", summary.credentials);
    }
}

#[test]
fn subscription_passwords_are_removed() {
    let (out, _) = rewrite(&format!(
        "{PG}CREATE SUBSCRIPTION sub CONNECTION 'host=db.example port=5432 password=Secr3t! dbname=app' PUBLICATION pub WITH (connect = false, slot_name = 'sub');\n\
         CREATE SUBSCRIPTION sub2 CONNECTION 'password = ''Se cr3t!'' host=db.example' PUBLICATION pub WITH (connect = false);\n\
         ALTER SUBSCRIPTION sub3 CONNECTION 'host=db.example password=Secr3t!';\n"
    ));
    assert!(!out.contains("Secr3t") && !out.contains("cr3t"), "{out}");
    assert!(
        out.contains("CONNECTION 'host=db.example port=5432 dbname=app' PUBLICATION pub"),
        "{out}"
    );
    assert!(
        out.contains("ALTER SUBSCRIPTION sub3 CONNECTION 'host=db.example';"),
        "{out}"
    );
}

const MY: &str = "-- MariaDB dump 10.19\n";

#[test]
fn statistics_and_server_tables_are_dropped() {
    let (out, summary) = rewrite(&format!(
        "{MY}USE `mysql`;\n\
         INSERT INTO `column_stats` VALUES ('app','customer','email','ann@corp.example','zed@corp.example',0.0,30.0,1.0,NULL,NULL,NULL);\n\
         INSERT INTO `servers` VALUES ('remote','db.example','app','user','Secr3t!',3306,'','mysql','');\n\
         INSERT INTO `index_stats` VALUES ('app','customer','PRIMARY',1,1.0);\n\
         INSERT INTO `db` VALUES ('%','app','app','Y');\n"
    ));
    assert!(
        !out.contains("corp.example") && !out.contains("Secr3t"),
        "{out}"
    );
    assert!(out.contains("INSERT INTO `db`"), "{out}");
    assert!(
        summary
            .credentials
            .iter()
            .any(|c| c.starts_with("mysql.column_stats: statistics table dropped (1 rows")),
        "{:?}",
        summary.credentials
    );
    assert!(
        summary
            .credentials
            .iter()
            .any(|c| c.starts_with("mysql.servers: credential table dropped")),
        "{:?}",
        summary.credentials
    );
}

/// 19.13: MariaDB writes `SET DEFAULT ROLE` in an executable comment; it goes with the
/// account statements (the user it names is not created).
#[test]
fn default_roles_of_dropped_users_are_dropped() {
    let (out, summary) = rewrite(&format!(
        "{MY}CREATE USER `app`@`%` IDENTIFIED BY PASSWORD '*F7B98CA0B391551E03D44108DBE171BFADFDC7C2';\n\
         /*M!100005 SET DEFAULT ROLE NONE FOR 'app'@'%' */;\n\
         /*!80001 ALTER USER 'app'@'%' DEFAULT ROLE NONE */;\n\
         /*M!100616 SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY, NOTE_VERBOSITY=0 */;\n"
    ));
    assert_eq!(
        &out[MY.len()..],
        "/*M!100616 SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY, NOTE_VERBOSITY=0 */;\n"
    );
    assert!(
        summary
            .credentials
            .iter()
            .any(|c| c.starts_with("3 account statements")),
        "{:?}",
        summary.credentials
    );
}
