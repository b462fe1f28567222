//! The real Sakila (mariadb-dump) and pagila (pg_dump) dumps in `$SYRF_TESTDATA_DIR/sql`.

use std::io::Read;

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use sql_dump::{rewrite_sql, Dialect, SqlOptions, SqlSummary};

const DUMPS: &[&str] = &[
    "sakila.sql.gz",
    "sakila-rowinsert.sql.gz",
    "pagila.sql.gz",
    "pagila-inserts.sql.gz",
];

/// A real dump, decompressed; `None` (after a loud skip line) without the test data.
fn dump(name: &str) -> Option<Vec<u8>> {
    let path = syrf_testdata::conformance_dir!("sql")?.join(name);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut out)
        .unwrap();
    Some(out)
}

fn anon(yaml: &str, key: &[u8]) -> Anonymizer {
    let rules = RuleSet::from_yaml(yaml, "test.yaml").unwrap();
    Anonymizer::new(rules, KeyMode::Keyed(Key::from_bytes(key).unwrap())).unwrap()
}

fn run(input: &[u8], anon: &Anonymizer) -> (Vec<u8>, SqlSummary) {
    let mut out = Vec::new();
    let summary = rewrite_sql(input, &mut out, anon, &SqlOptions::default()).unwrap();
    (out, summary)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn no_rules_is_byte_identical() {
    let empty = Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed).unwrap();
    for name in DUMPS {
        let Some(input) = dump(name) else { return };
        let (out, summary) = run(&input, &empty);
        assert!(out == input, "{name}: output differs from input");
        assert_eq!(summary.bytes_in, input.len() as u64);
        let expected = if name.starts_with("sakila") {
            Dialect::MySql
        } else {
            Dialect::Postgres
        };
        assert_eq!(summary.dialect, expected, "{name}");
        let customer = summary
            .tables
            .iter()
            .find(|t| t.table.ends_with("customer"))
            .unwrap_or_else(|| panic!("{name}: no customer table in {:?}", summary.tables));
        assert_eq!((customer.rows_in, customer.rows_out), (599, 599), "{name}");
    }
}

const PEOPLE: &str = "
rules:
  customer:
    fields:
      email: hash_email
      first_name: {transform: fake, kind: first_name}
      last_name: {transform: hash, length: 8}
  staff:
    fields:
      email: hash_email
      password: hash
      picture: hash
";

/// Lines of `a` and `b` that differ (same line count required).
fn differing_lines<'x>(a: &'x [u8], b: &'x [u8]) -> Vec<(usize, &'x [u8], &'x [u8])> {
    let la: Vec<&[u8]> = a.split(|&c| c == b'\n').collect();
    let lb: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
    assert_eq!(la.len(), lb.len(), "line counts differ");
    la.iter()
        .zip(&lb)
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, (x, y))| (i, *x, *y))
        .collect()
}

/// Which table's data a line index belongs to (the last INSERT/COPY header before it).
fn data_table_of(lines: &[&[u8]], i: usize) -> String {
    for j in (0..=i).rev() {
        let l = text(lines[j]);
        for prefix in ["INSERT INTO `", "INSERT INTO public.", "COPY public."] {
            if let Some(rest) = l.strip_prefix(prefix) {
                return rest.split(['`', ' ']).next().unwrap().to_string();
            }
        }
        if j + 1 < i && (l.starts_with("CREATE ") || l == "\\.") {
            break;
        }
    }
    String::new()
}

fn emails(b: &[u8], domain: &str) -> Vec<String> {
    let t = text(b);
    let mut v: Vec<String> = t
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '@' || c == '-'))
        .filter(|w| w.ends_with(domain) && w.contains('@'))
        .map(str::to_string)
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn rules_change_exactly_the_covered_values() {
    let anon = anon(PEOPLE, b"a test key for sakila and pagila");
    let mut pseudonyms = Vec::new();
    for name in DUMPS {
        let Some(input) = dump(name) else { return };
        let (out, summary) = run(&input, &anon);
        let diffs = differing_lines(&input, &out);
        assert!(!diffs.is_empty(), "{name}: nothing changed");
        let lines: Vec<&[u8]> = input.split(|&c| c == b'\n').collect();
        for (i, _, _) in &diffs {
            let table = data_table_of(&lines, *i);
            assert!(
                table == "customer" || table == "staff",
                "{name}: line {} of table {table:?} changed",
                i + 1
            );
        }
        // No original address survives; every customer and staff row got a pseudonym.
        assert!(emails(&out, "@sakilacustomer.org").is_empty(), "{name}");
        assert!(emails(&out, "@sakilastaff.com").is_empty(), "{name}");
        let mine = emails(&out, "@anonymized.syrf.local");
        assert_eq!(mine.len(), 601, "{name}");
        pseudonyms.push(mine);
        let customer = summary
            .tables
            .iter()
            .find(|t| t.table.ends_with("customer"))
            .unwrap();
        assert_eq!((customer.rows_in, customer.rows_out), (599, 599));
        // The PNG in staff.picture is gone (raw bytes in sakila, bytea hex in pagila).
        assert!(memchr::memmem::find(&out, b"IHDR").is_none(), "{name}");
        assert!(
            memchr::memmem::find(&out, b"89504e470d0a5a0a").is_none(),
            "{name}"
        );
        assert!(
            memchr::memmem::find(&out, b"8cb2237d0679ca88db6464eac60da96345513964").is_none(),
            "{name}"
        );
    }
    // Same key, same person: the same pseudonym in the MySQL and the PostgreSQL dumps.
    for p in &pseudonyms[1..] {
        assert_eq!(p, &pseudonyms[0]);
    }
}

#[test]
fn a_different_key_gives_different_pseudonyms() {
    let Some(input) = dump("pagila.sql.gz") else {
        return;
    };
    let (a, _) = run(&input, &anon(PEOPLE, b"a test key for sakila and pagila"));
    let (b, _) = run(&input, &anon(PEOPLE, b"another key entirely, same rules"));
    let (a2, _) = run(&input, &anon(PEOPLE, b"a test key for sakila and pagila"));
    assert_eq!(a, a2, "deterministic");
    let ea = emails(&a, "@anonymized.syrf.local");
    let eb = emails(&b, "@anonymized.syrf.local");
    assert!(ea.iter().all(|e| !eb.contains(e)));
}

fn lines_with(out: &[u8], needle: &str) -> Vec<String> {
    text(out)
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

#[test]
fn excluding_payment_removes_its_partitions_and_everything_it_owns() {
    let anon = anon(
        "exclusions:\n  - payment\n",
        b"a test key for sakila and pagila",
    );
    for name in ["pagila.sql.gz", "pagila-inserts.sql.gz"] {
        let Some(input) = dump(name) else { return };
        let (out, summary) = run(&input, &anon);
        let t = text(&out);
        for l in t.lines() {
            let starts = [
                "CREATE TABLE public.payment",
                "ALTER TABLE public.payment",
                "ALTER TABLE ONLY public.payment",
                "COPY public.payment",
                "INSERT INTO public.payment",
                "CREATE SEQUENCE public.payment_payment_id_seq",
                "SELECT pg_catalog.setval('public.payment_payment_id_seq'",
                "-- Name: payment;",
                "-- Name: payment_p",
                "-- Data for Name: payment_p",
            ];
            for s in starts {
                assert!(!l.starts_with(s), "{name}: kept {l:?}");
            }
            if l.starts_with("CREATE INDEX")
                || l.starts_with("CREATE TRIGGER")
                || l.starts_with("CREATE RULE")
            {
                assert!(!l.contains(" public.payment"), "{name}: kept {l:?}");
            }
        }
        assert!(t.contains("COPY public.rental") || t.contains("INSERT INTO public.rental"));
        // Everything else is untouched: the customer block is byte-identical.
        let start = memchr::memmem::find(&input, b"-- Data for Name: customer;").unwrap();
        let end = start + memchr::memmem::find(&input[start..], b"\n\n\n--").unwrap();
        assert!(memchr::memmem::find(&out, &input[start..end]).is_some());
        let payment: Vec<_> = summary
            .tables
            .iter()
            .filter(|t| t.table.contains("payment"))
            .collect();
        assert!(payment.len() >= 8, "{payment:?}");
        assert!(payment.iter().all(|t| t.excluded && t.rows_out == 0));
    }
    let Some(input) = dump("sakila.sql.gz") else {
        return;
    };
    let (out, _) = run(&input, &anon);
    for needle in [
        "DROP TABLE IF EXISTS `payment`",
        "CREATE TABLE `payment`",
        "LOCK TABLES `payment`",
        "INSERT INTO `payment`",
        "ALTER TABLE `payment`",
        "Table structure for table `payment`",
        "Dumping data for table `payment`",
        "TRIGGER payment_date",
    ] {
        assert!(lines_with(&out, needle).is_empty(), "sakila kept {needle}");
    }
    assert!(!lines_with(&out, "INSERT INTO `rental`").is_empty());
    assert_eq!(
        lines_with(&out, "UNLOCK TABLES").len(),
        lines_with(&input, "UNLOCK TABLES").len() - 1
    );
}

#[test]
fn schema_only_and_size_limits() {
    let anon = anon(
        "schema_only:\n  - customer\nsize_limits:\n  rental:\n    max_rows: 10\n  film_actor:\n    max_documents: 0\n",
        b"a test key for sakila and pagila",
    );
    for name in DUMPS {
        let Some(input) = dump(name) else { return };
        let (out, summary) = run(&input, &anon);
        let get = |t: &str| {
            summary
                .tables
                .iter()
                .find(|s| s.table.ends_with(t))
                .unwrap()
                .clone()
        };
        let c = get("customer");
        assert_eq!(
            (c.rows_in, c.rows_out, c.schema_only),
            (599, 0, true),
            "{name}"
        );
        let r = get("rental");
        assert_eq!(r.rows_out, 10, "{name}");
        assert_eq!(get("film_actor").rows_out, 0, "{name}");
        let t = text(&out);
        assert!(
            t.contains("CREATE TABLE `customer`") || t.contains("CREATE TABLE public.customer (")
        );
        assert!(!t.contains("INSERT INTO `customer`") && !t.contains("COPY public.customer "));
        assert!(
            !t.contains("INSERT INTO public.customer ") && !t.contains("INSERT INTO `film_actor`")
        );
        if *name == "sakila.sql.gz" {
            // The cut extended INSERT still ends its statement.
            let l = lines_with(&out, "(10,'2005-05-25 00:02:21'");
            assert_eq!(l.len(), 1);
            assert!(l[0].ends_with(");"), "{}", l[0]);
        }
        if *name == "pagila.sql.gz" {
            let start = t.find("COPY public.rental ").unwrap();
            let block = &t[start..start + t[start..].find("\\.\n").unwrap()];
            assert_eq!(block.lines().count(), 11);
        }
    }
}

/// A reader that returns pieces of pseudo-random sizes (1 byte to 64 KiB).
struct Chunky<'a> {
    data: &'a [u8],
    state: u64,
    max: usize,
}

impl Read for Chunky<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        self.state = self
            .state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let want = 1 + (self.state >> 33) as usize % self.max;
        let n = want.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn output_does_not_depend_on_chunk_boundaries() {
    let anon = anon(
        &format!("{PEOPLE}size_limits:\n  rental:\n    max_rows: 10\nexclusions:\n  - payment\n"),
        b"a test key for sakila and pagila",
    );
    for name in DUMPS {
        let Some(input) = dump(name) else { return };
        let (reference, _) = run(&input, &anon);
        for (seed, max) in [(1u64, 7usize), (2, 300), (3, 65536)] {
            let reader = std::io::BufReader::with_capacity(
                max.min(8192),
                Chunky {
                    data: &input,
                    state: seed,
                    max,
                },
            );
            let mut out = Vec::new();
            rewrite_sql(reader, &mut out, &anon, &SqlOptions::default()).unwrap();
            assert!(
                out == reference,
                "{name}: chunks up to {max} changed the output"
            );
        }
    }
}
