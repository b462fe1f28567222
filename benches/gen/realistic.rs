//! Shape `realistic`: one table `people` (id, first_name, last_name, email, phone, org_id,
//! created_by, created_on), about 100 bytes a row, with the statistics of real data rather than
//! of a short list: first names drawn from 2,000 and last names from 10,000 distinct names with
//! Zipf-distributed frequencies (a few names are common, most are rare, as in a population),
//! unique e-mail addresses, random phone numbers. MySQL output has mysqldump 8.0's real layout
//! (header and trailer comments, session `SET`s, `DROP TABLE IF EXISTS`, `CREATE TABLE ...
//! ENGINE=InnoDB`, `LOCK TABLES`, `DISABLE KEYS`, extended INSERTs cut at mysqldump's default
//! `net_buffer_length` of 1 MiB); PostgreSQL output is pg_dump's, with the rows as one COPY block.

use super::{copy_escape, mysql_quote, Rng};
use std::io::{self, Write};

/// Syllables the synthetic names are built from (deterministic, pronounceable, ASCII and a few
/// accented letters so that UTF-8 is exercised as in real data).
const ONSETS: &[&str] = &[
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br",
    "ch", "cl", "dr", "gr", "kr", "sh", "st", "th", "tr",
];
const VOWELS: &[&str] = &[
    "a", "e", "i", "o", "u", "y", "ai", "ea", "ie", "ou", "é", "ö",
];
const CODAS: &[&str] = &[
    "", "", "n", "r", "l", "s", "th", "rd", "nn", "tz", "son", "ley",
];

/// `count` distinct capitalised names of 2-3 syllables, the same on every run.
fn names(count: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    let mut seen = std::collections::HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let syllables = 2 + (rng.next_u64() % 2) as usize;
        let mut name = String::new();
        for _ in 0..syllables {
            name.push_str(rng.pick(ONSETS));
            name.push_str(rng.pick(VOWELS));
        }
        name.push_str(rng.pick(CODAS));
        let mut chars = name.chars();
        let first = chars
            .next()
            .expect("non-empty")
            .to_uppercase()
            .collect::<String>();
        let name = first + chars.as_str();
        if seen.insert(name.clone()) {
            out.push(name);
        }
    }
    out
}

/// The name lower-cased with its accents dropped, as people write it in an address.
fn ascii_lower(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'é' | 'É' => 'e',
            'ö' | 'Ö' => 'o',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Samples ranks 0..n with probability proportional to 1 / (rank + 1) (Zipf, s = 1).
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Self {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|k| {
                total += 1.0 / (k as f64 + 1.0);
                total
            })
            .collect::<Vec<_>>();
        let cumulative = cumulative.into_iter().map(|c| c / total).collect();
        Zipf { cumulative }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        self.cumulative
            .partition_point(|&c| c < u)
            .min(self.cumulative.len() - 1)
    }
}

const DOMAINS: &[&str] = &[
    "gmail.example",
    "outlook.example",
    "yahoo.example",
    "ed.ac.example",
    "ucl.example",
    "company.example",
];

const MYSQL_HEAD: &str = "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Host: localhost    Database: app
-- ------------------------------------------------------
-- Server version\t8.0.36

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;
/*!50503 SET NAMES utf8mb4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;

--
-- Table structure for table `people`
--

DROP TABLE IF EXISTS `people`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!50503 SET character_set_client = utf8mb4 */;
CREATE TABLE `people` (
  `id` int NOT NULL AUTO_INCREMENT,
  `first_name` varchar(100) NOT NULL,
  `last_name` varchar(100) NOT NULL,
  `email` varchar(255) NOT NULL,
  `phone` varchar(40) DEFAULT NULL,
  `org_id` int DEFAULT NULL,
  `created_by` int DEFAULT NULL,
  `created_on` date DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `people_email_unique` (`email`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `people`
--

LOCK TABLES `people` WRITE;
/*!40000 ALTER TABLE `people` DISABLE KEYS */;
";

const MYSQL_TAIL: &str = "/*!40000 ALTER TABLE `people` ENABLE KEYS */;
UNLOCK TABLES;
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;

-- Dump completed on 2026-12-05 12:00:00
";

const PG_HEAD: &str = "--
-- PostgreSQL database dump
--

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: people; Type: TABLE; Schema: public; Owner: app
--

CREATE TABLE public.people (
    id integer NOT NULL,
    first_name character varying(100) NOT NULL,
    last_name character varying(100) NOT NULL,
    email character varying(255) NOT NULL,
    phone character varying(40),
    org_id integer,
    created_by integer,
    created_on date
);


ALTER TABLE public.people OWNER TO app;

--
-- Data for Name: people; Type: TABLE DATA; Schema: public; Owner: app
--

COPY public.people (id, first_name, last_name, email, phone, org_id, created_by, created_on) FROM stdin;
";

const PG_TAIL: &str = "\\.


--
-- Name: people people_pkey; Type: CONSTRAINT; Schema: public; Owner: app
--

ALTER TABLE ONLY public.people
    ADD CONSTRAINT people_pkey PRIMARY KEY (id);


--
-- PostgreSQL database dump complete
--

";

/// mysqldump's default `net_buffer_length`: an extended INSERT is cut before it grows past it.
const NET_BUFFER_LENGTH: usize = 1_046_528;

/// Writes about `target` bytes of the realistic shape; returns the number of rows.
pub fn write(out: &mut impl Write, mysql: bool, target: u64) -> io::Result<u64> {
    let first_names = names(2_000, 0x6669_7273_7400_0001);
    let last_names = names(10_000, 0x6c61_7374_0000_0001);
    let first_zipf = Zipf::new(first_names.len());
    let last_zipf = Zipf::new(last_names.len());
    let mut rng = Rng(0x7265_616c_6973_7469);
    let mut written = 0u64;
    let head = if mysql { MYSQL_HEAD } else { PG_HEAD };
    out.write_all(head.as_bytes())?;
    written += head.len() as u64;
    let mut statement = String::with_capacity(NET_BUFFER_LENGTH + 4096);
    let mut row = String::with_capacity(256);
    let mut id = 0u64;
    while written < target {
        id += 1;
        let first = &first_names[first_zipf.sample(&mut rng)];
        let last = &last_names[last_zipf.sample(&mut rng)];
        // Unique: the id makes every address distinct, as a unique index requires.
        let email = format!(
            "{}.{}{}@{}",
            ascii_lower(first),
            ascii_lower(last),
            id,
            rng.pick(DOMAINS)
        );
        let phone = format!(
            "+44 7{:03} {:06}",
            rng.next_u64() % 1_000,
            rng.next_u64() % 1_000_000
        );
        let org = 1 + rng.next_u64() % 5_000;
        let by = 1 + rng.next_u64() % id;
        let date = format!(
            "20{:02}-{:02}-{:02}",
            10 + rng.next_u64() % 15,
            1 + rng.next_u64() % 12,
            1 + rng.next_u64() % 28
        );
        row.clear();
        if mysql {
            row.push_str(&format!("({id},"));
            for v in [
                first.as_str(),
                last.as_str(),
                email.as_str(),
                phone.as_str(),
            ] {
                mysql_quote(v, &mut row);
                row.push(',');
            }
            row.push_str(&format!("{org},{by},'{date}')"));
            if !statement.is_empty() && statement.len() + row.len() + 2 > NET_BUFFER_LENGTH {
                statement.push_str(";\n");
                out.write_all(statement.as_bytes())?;
                written += statement.len() as u64;
                statement.clear();
            }
            if statement.is_empty() {
                statement.push_str("INSERT INTO `people` VALUES ");
            } else {
                statement.push(',');
            }
            statement.push_str(&row);
        } else {
            row.push_str(&format!("{id}"));
            for v in [
                first.as_str(),
                last.as_str(),
                email.as_str(),
                phone.as_str(),
            ] {
                row.push('\t');
                copy_escape(v, &mut row);
            }
            row.push_str(&format!("\t{org}\t{by}\t{date}\n"));
            statement.push_str(&row);
            if statement.len() >= NET_BUFFER_LENGTH {
                out.write_all(statement.as_bytes())?;
                written += statement.len() as u64;
                statement.clear();
            }
        }
    }
    if !statement.is_empty() {
        if mysql {
            statement.push_str(";\n");
        }
        out.write_all(statement.as_bytes())?;
    }
    out.write_all(if mysql { MYSQL_TAIL } else { PG_TAIL }.as_bytes())?;
    out.flush()?;
    Ok(id)
}
