//! A deterministic generator of realistic SyRF mongodump archives, for tests, benchmarks and
//! the shipped sample.
//!
//! Database `syrftest` with the platform's collections: `pmInvestigator` (legacy UUID ids,
//! emails, names, Auth0 ids, nested `FullName`), `pmProject` (contact email, multi-KB
//! descriptions, `Registrations` of investigators with their emails in varied letter case),
//! `pmStudy` (multi-KB abstracts, author arrays, screening decisions), `pmAuditLog` and
//! `asFileListing` (personal data, excluded by `rules/syrf.yaml`), two uncovered collections
//! (`pmRiskOfBiasQuestion`, `pmSystemSetting`) and a view; plus `admin.system.version` and,
//! optionally, `admin.system.users`. Segments interleave like `mongodump -j 4`, the header says
//! `concurrent_collections: 4`, and the prelude carries metadata JSON with indexes and uuids.
//! The same seed and size give the same bytes.
//!
//! ```
//! use mongo_archive::synth::{generate_vec, SynthConfig};
//! let cfg = SynthConfig { target_bytes: 200_000, ..SynthConfig::default() };
//! let a = generate_vec(&cfg);
//! assert_eq!(a, generate_vec(&cfg));
//! assert!(mongo_archive::verify::verify(&a).is_ok());
//! ```

use std::io::{self, Write};

use bson::spec::BinarySubtype;
use bson::{doc, Binary, Bson, DateTime, Document};

use crate::crc::Crc64;
use crate::reader::{MAGIC, TERMINATOR};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Approximate archive size in bytes (within about 10%; at least ~100 KB).
    pub target_bytes: u64,
    /// Collections dumped at once (`-j`), also written as `concurrent_collections`.
    pub concurrency: usize,
    /// Include `admin.system.users` (SCRAM credentials of a full dump).
    pub with_users: bool,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 1,
            target_bytes: 1 << 20,
            concurrency: 4,
            with_users: true,
        }
    }
}

/// The configuration of the committed `samples/syrf-sample.archive`.
pub fn sample_config() -> SynthConfig {
    SynthConfig {
        seed: 42,
        target_bytes: 600_000,
        concurrency: 4,
        with_users: true,
    }
}

/// SplitMix64: small, fast, deterministic.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        out
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n);
        s
    }
}

// Investigators' names (never used for anything else, so tests can look for them).
const FIRST: &[&str] = &[
    "Alice",
    "Bartholomew",
    "Chiara",
    "Dmitri",
    "Eleanor",
    "Fumiko",
    "Gareth",
    "Hannelore",
    "Ignatius",
    "Jolanta",
    "Kwabena",
    "Leopoldine",
    "Magnus",
    "Nadezhda",
    "Oluwaseun",
    "Perpetua",
    "Quentin",
    "Rosalind",
    "Siobhan",
    "Thaddeus",
    "Ulrike",
    "Valentina",
    "Wilhelmina",
    "Xiomara",
    "Yevgenia",
    "Zebedee",
    "Anselm",
    "Brunhilde",
    "Cornelius",
    "Desdemona",
];
const LAST: &[&str] = &[
    "Abernethy",
    "Blackwood",
    "Castellanos",
    "Drummond",
    "Eberhardt",
    "Fitzgerald",
    "Galbraith",
    "Hollingsworth",
    "Iversen",
    "Jablonski",
    "Kowalczyk",
    "Lindqvist",
    "Macallister",
    "Nakashima",
    "Oyelaran",
    "Pemberton",
    "Quarshie",
    "Rasmussen",
    "Szymanska",
    "Thorvaldsen",
    "Urquhart",
    "Vasquez-Ortiz",
    "Whitcombe",
    "Xenakis",
    "Yarborough",
    "Zielinski",
    "Achterberg",
    "Bellweather",
];
const NICK: &[&str] = &[
    "Ali", "Bart", "Kiki", "Dima", "Nell", "Fumi", "Gaz", "Hanni", "Iggy", "Jola",
];
// Publication authors of studies (public data, not covered by rules), a separate pool.
const AUTHOR_FIRST: &[&str] = &["J.", "M.", "S.", "K.", "L.", "P.", "R.", "T.", "H.", "A."];
const AUTHOR_LAST: &[&str] = &[
    "Macleod",
    "Sena",
    "Howells",
    "Bath",
    "Currie",
    "Vesterinen",
    "Egan",
    "Wever",
    "Hirst",
    "Lees",
    "Antonic",
    "Bahor",
    "Liao",
    "Wang",
    "Tanriver-Ayder",
];
const DOMAINS: &[&str] = &[
    "ed.ac.uk",
    "ucl.ac.uk",
    "gmail.com",
    "charite.de",
    "unimelb.edu.au",
    "outlook.com",
    "karolinska.se",
    "mcgill.ca",
];
const WORDS: &[&str] = &[
    "stroke",
    "ischaemic",
    "infarct",
    "volume",
    "rodent",
    "model",
    "systematic",
    "review",
    "meta-analysis",
    "outcome",
    "neurological",
    "score",
    "treatment",
    "efficacy",
    "randomised",
    "blinded",
    "allocation",
    "concealment",
    "sample",
    "size",
    "calculation",
    "bias",
    "risk",
    "preclinical",
    "translation",
    "hypothermia",
    "neuroprotection",
    "reperfusion",
    "occlusion",
    "middle",
    "cerebral",
    "artery",
    "animals",
    "were",
    "assessed",
    "after",
    "the",
    "of",
    "and",
    "in",
    "with",
    "for",
    "data",
    "extraction",
    "quality",
    "reporting",
    "heterogeneity",
    "effect",
    "standardised",
    "mean",
    "difference",
    "confidence",
    "interval",
    "dose",
    "response",
    "sensitivity",
    "analysis",
    "publication",
    "funnel",
    "plot",
    "trim",
    "fill",
    "estimate",
];
const ROLES: &[&str] = &[
    "Reviewer",
    "ProjectAdmin",
    "Annotator",
    "Reconciler",
    "Viewer",
];
const STATUS: &[&str] = &["Approved", "Pending", "Rejected", "Left"];

struct Person {
    id: [u8; 16],
    first: &'static str,
    last: &'static str,
    nick: &'static str,
    email: String,
    auth0: String,
}

fn legacy_uuid(bytes: [u8; 16]) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::UuidOld,
        bytes: bytes.to_vec(),
    })
}

/// The email in one of several letter cases (`john.smith@x.com`, `John.Smith@X.com`, upper).
fn vary_case(email: &str, rng: &mut Rng) -> String {
    match rng.below(4) {
        0 | 1 => email.to_owned(),
        2 => {
            let mut out = String::with_capacity(email.len());
            let mut cap = true;
            for c in email.chars() {
                out.push(if cap { c.to_ascii_uppercase() } else { c });
                cap = matches!(c, '.' | '@');
            }
            out
        }
        _ => email.to_ascii_uppercase(),
    }
}

fn text(rng: &mut Rng, min: usize, max: usize) -> String {
    let target = rng.range(min as u64, max as u64) as usize;
    let mut s = String::with_capacity(target + 16);
    let mut start = true;
    while s.len() < target {
        let w = *rng.pick(WORDS);
        if start {
            let mut c = w.chars();
            if let Some(f) = c.next() {
                s.push(f.to_ascii_uppercase());
                s.push_str(c.as_str());
            }
            start = false;
        } else {
            s.push(' ');
            s.push_str(w);
        }
        if rng.below(12) == 0 {
            s.push_str(". ");
            start = true;
        }
    }
    s
}

fn date(rng: &mut Rng) -> Bson {
    // 2014 .. 2024
    Bson::DateTime(DateTime::from_millis(
        1_390_000_000_000 + rng.below(315_000_000_000) as i64,
    ))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Coll {
    SystemUsers,
    SystemVersion,
    Investigator,
    Project,
    Study,
    AuditLog,
    FileListing,
    RiskOfBias,
    Setting,
    View,
}

impl Coll {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Coll::SystemUsers => ("admin", "system.users"),
            Coll::SystemVersion => ("admin", "system.version"),
            Coll::Investigator => ("syrftest", "pmInvestigator"),
            Coll::Project => ("syrftest", "pmProject"),
            Coll::Study => ("syrftest", "pmStudy"),
            Coll::AuditLog => ("syrftest", "pmAuditLog"),
            Coll::FileListing => ("syrftest", "asFileListing"),
            Coll::RiskOfBias => ("syrftest", "pmRiskOfBiasQuestion"),
            Coll::Setting => ("syrftest", "pmSystemSetting"),
            Coll::View => ("syrftest", "pmProjectSummary"),
        }
    }
}

struct World {
    people: Vec<Person>,
    projects: Vec<[u8; 16]>,
}

struct CollGen {
    coll: Coll,
    count: u64,
    next: u64,
    rng: Rng,
}

impl CollGen {
    fn doc(&mut self, w: &World) -> Document {
        let i = self.next;
        self.next += 1;
        let r = &mut self.rng;
        match self.coll {
            Coll::SystemUsers => {
                let user = ["root", "backup"][i as usize % 2];
                doc! {
                    "_id": format!("admin.{user}"),
                    "userId": Bson::Binary(Binary { subtype: BinarySubtype::Uuid, bytes: r.bytes::<16>().to_vec() }),
                    "user": user, "db": "admin",
                    "credentials": { "SCRAM-SHA-256": {
                        "iterationCount": 15000i32, "salt": r.hex(40),
                        "storedKey": r.hex(44), "serverKey": r.hex(44) } },
                    "roles": [ { "role": user, "db": "admin" } ],
                }
            }
            Coll::SystemVersion => {
                if i == 0 {
                    doc! { "_id": "featureCompatibilityVersion", "version": "7.0" }
                } else {
                    doc! { "_id": "authSchema", "currentVersion": 5i32 }
                }
            }
            Coll::Investigator => {
                let p = &w.people[i as usize];
                let roles: Vec<Bson> = (0..r.range(1, 3))
                    .map(|_| Bson::from(*r.pick(ROLES)))
                    .collect();
                doc! {
                    "_id": legacy_uuid(p.id),
                    "Email": if r.below(5) == 0 { vary_case(&p.email, r) } else { p.email.clone() },
                    "FirstName": p.first, "LastName": p.last,
                    "Auth0Id": p.auth0.clone(),
                    "FullName": { "First": p.first, "Surname": p.last, "Preferred": p.nick },
                    "Roles": roles,
                    "EmailVerified": r.below(10) != 0,
                    "CreatedDate": date(r),
                    "LoginCount": r.below(500) as i32,
                }
            }
            Coll::Project => {
                let contact = &w.people[r.below(w.people.len() as u64) as usize];
                let regs: Vec<Bson> = (0..r.range(2, 25))
                    .map(|_| {
                        let p = &w.people[r.below(w.people.len() as u64) as usize];
                        Bson::Document(doc! {
                            "InvestigatorId": legacy_uuid(p.id),
                            "Email": vary_case(&p.email, r),
                            "Status": *r.pick(STATUS),
                            "Date": date(r),
                        })
                    })
                    .collect();
                let keywords: Vec<Bson> = (0..r.range(2, 6))
                    .map(|_| Bson::from(*r.pick(WORDS)))
                    .collect();
                doc! {
                    "_id": legacy_uuid(w.projects[i as usize]),
                    "Name": text(r, 20, 60),
                    "ContactEmail": vary_case(&contact.email, r),
                    "Description": text(r, 1500, 5000),
                    "Registrations": regs,
                    "Keywords": keywords,
                    "Settings": { "IsPublic": r.below(3) == 0, "AllowJoinRequests": r.below(2) == 0, "ReconciliationThreshold": 2i32 },
                    "CreatedDate": date(r),
                }
            }
            Coll::Study => {
                let authors: Vec<Bson> = (0..r.range(1, 8))
                    .map(|n| {
                        Bson::Document(doc! {
                            "FirstName": *r.pick(AUTHOR_FIRST), "LastName": *r.pick(AUTHOR_LAST), "Order": n as i32,
                        })
                    })
                    .collect();
                let decisions: Vec<Bson> = (0..r.range(0, 4))
                    .map(|_| {
                        let p = &w.people[r.below(w.people.len() as u64) as usize];
                        Bson::Document(doc! {
                            "InvestigatorId": legacy_uuid(p.id),
                            "Decision": if r.below(2) == 0 { "Include" } else { "Exclude" },
                            "Date": date(r),
                        })
                    })
                    .collect();
                doc! {
                    "_id": legacy_uuid(r.bytes::<16>()),
                    "ProjectId": legacy_uuid(w.projects[r.below(w.projects.len() as u64) as usize]),
                    "Title": text(r, 60, 180),
                    "Abstract": text(r, 1200, 4000),
                    "Authors": authors,
                    "Year": r.range(1990, 2024) as i32,
                    "Journal": text(r, 10, 40),
                    "Doi": format!("10.{}/{}", r.range(1000, 9999), r.hex(10)),
                    "Keywords": [ *r.pick(WORDS), *r.pick(WORDS) ],
                    "ScreeningInfo": { "Decisions": decisions, "AgreementMeasure": (r.below(1000) as f64) / 1000.0 },
                    "CreatedDate": date(r),
                }
            }
            Coll::AuditLog => {
                let p = &w.people[r.below(w.people.len() as u64) as usize];
                doc! {
                    "_id": bson::oid::ObjectId::from_bytes(r.bytes::<12>()),
                    "Timestamp": date(r),
                    "UserEmail": p.email.clone(),
                    "UserName": format!("{} {}", p.first, p.last),
                    "Action": *r.pick(&["Login", "UpdateProject", "ScreenStudy", "ExportData"]),
                    "IpAddress": format!("10.{}.{}.{}", r.below(255), r.below(255), r.below(255)),
                    "Details": text(r, 40, 200),
                }
            }
            Coll::FileListing => {
                let p = &w.people[r.below(w.people.len() as u64) as usize];
                doc! {
                    "_id": legacy_uuid(r.bytes::<16>()),
                    "FileName": format!("{}.csv", r.hex(12)),
                    "UploadedBy": p.email.clone(),
                    "Size": r.below(50_000_000) as i64,
                    "ContentType": "text/csv",
                    "Path": format!("uploads/{}/{}", r.hex(8), r.hex(12)),
                    "UploadedDate": date(r),
                }
            }
            Coll::RiskOfBias => doc! {
                "_id": legacy_uuid(r.bytes::<16>()),
                "Question": text(r, 40, 200),
                "Options": ["Yes", "No", "Unclear"],
                "Order": i as i32,
            },
            Coll::Setting => doc! {
                "_id": format!("setting-{i}"),
                "Value": text(r, 5, 30),
                "UpdatedDate": date(r),
            },
            Coll::View => doc! {},
        }
    }
}

fn metadata(coll: Coll, rng: &mut Rng) -> (String, &'static str) {
    let (_, name) = coll.names();
    let id = r#"{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"}"#;
    let extra = match coll {
        Coll::Investigator => concat!(
            r#",{"v":{"$numberInt":"2"},"unique":true,"key":{"Email":{"$numberInt":"1"}},"name":"Email_1"}"#,
            r#",{"v":{"$numberInt":"2"},"key":{"Auth0Id":{"$numberInt":"1"}},"name":"Auth0Id_1"}"#
        ),
        Coll::Study => {
            r#",{"v":{"$numberInt":"2"},"key":{"ProjectId":{"$numberInt":"1"}},"name":"ProjectId_1"}"#
        }
        Coll::SystemUsers => {
            r#",{"v":{"$numberInt":"2"},"unique":true,"key":{"user":{"$numberInt":"1"},"db":{"$numberInt":"1"}},"name":"user_1_db_1"}"#
        }
        _ => "",
    };
    if coll == Coll::View {
        return (
            format!(
                r#"{{"options":{{"viewOn":"pmProject","pipeline":[{{"$project":{{"Name":{{"$numberInt":"1"}},"Keywords":{{"$numberInt":"1"}}}}}}]}},"indexes":[],"uuid":"","collectionName":"{name}","type":"view"}}"#
            ),
            "view",
        );
    }
    (
        format!(
            r#"{{"options":{{}},"indexes":[{id}{extra}],"uuid":"{}","collectionName":"{name}","type":"collection"}}"#,
            rng.hex(32)
        ),
        "collection",
    )
}

/// Counts of what [`generate`] wrote.
#[derive(Debug, Clone, Default)]
pub struct SynthStats {
    /// Bytes written.
    pub bytes: u64,
    /// `(db.collection, documents)` in prelude order.
    pub collections: Vec<(String, u64)>,
}

struct Sink<W: Write> {
    w: W,
    n: u64,
}

impl<W: Write> Sink<W> {
    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.n += b.len() as u64;
        self.w.write_all(b)
    }
}

fn ns_header(db: &str, coll: &str, eof: bool, crc: u64) -> Vec<u8> {
    bson::to_vec(&doc! { "db": db, "collection": coll, "EOF": eof, "CRC": crc as i64 })
        .expect("encodable")
}

/// Writes an archive for `cfg` to `out`.
pub fn generate<W: Write>(cfg: &SynthConfig, out: W) -> io::Result<SynthStats> {
    let t = cfg.target_bytes.max(100_000);
    let mut rng = Rng::new(cfg.seed, 0);
    let n_people = (t / 30_000).clamp(20, 500_000);
    let n_projects = (t / 150_000).clamp(4, 100_000);
    let people: Vec<Person> = (0..n_people)
        .map(|i| {
            let first = *rng.pick(FIRST);
            let last = *rng.pick(LAST);
            let domain = *rng.pick(DOMAINS);
            Person {
                id: rng.bytes::<16>(),
                first,
                last,
                nick: NICK[rng.below(NICK.len() as u64) as usize],
                email: format!(
                    "{}.{}{}@{}",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    i,
                    domain
                ),
                auth0: format!("auth0|{}", rng.hex(24)),
            }
        })
        .collect();
    let projects: Vec<[u8; 16]> = (0..n_projects).map(|_| rng.bytes::<16>()).collect();
    let world = World { people, projects };

    // Approximate encoded sizes, to meet the target.
    let fixed = n_people * 560 + n_projects * 5200 + 30 * 250 + 10 * 90 + 4000;
    let rest = t.saturating_sub(fixed);
    let n_studies = (rest * 70 / 100 / 3300).max(10);
    let n_audit = (rest * 20 / 100 / 340).max(10);
    let n_files = (rest * 10 / 100 / 280).max(5);

    let mut plan: Vec<(Coll, u64)> = Vec::new();
    if cfg.with_users {
        plan.push((Coll::SystemUsers, 2));
    }
    plan.extend([
        (Coll::SystemVersion, 2),
        (Coll::Investigator, n_people),
        (Coll::Project, n_projects),
        (Coll::Study, n_studies),
        (Coll::AuditLog, n_audit),
        (Coll::FileListing, n_files),
        (Coll::RiskOfBias, 30),
        (Coll::Setting, 10),
        (Coll::View, 0),
    ]);

    let mut sink = Sink { w: out, n: 0 };
    sink.put(&MAGIC)?;
    let header = doc! {
        "concurrent_collections": cfg.concurrency.max(1) as i32,
        "version": "0.1",
        "server_version": "7.0.14",
        "tool_version": "100.10.0",
    };
    sink.put(&bson::to_vec(&header).expect("encodable"))?;
    // mongodump writes the prelude in its own order; mimic a shuffled one.
    let mut prelude_order: Vec<usize> = (0..plan.len()).collect();
    for i in (1..prelude_order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        prelude_order.swap(i, j);
    }
    for &i in &prelude_order {
        let coll = plan[i].0;
        let (db, name) = coll.names();
        let (meta, kind) = metadata(coll, &mut rng);
        let entry =
            doc! { "db": db, "collection": name, "metadata": meta, "size": 0i32, "type": kind };
        sink.put(&bson::to_vec(&entry).expect("encodable"))?;
    }
    sink.put(&TERMINATOR)?;

    struct Active {
        gen: CollGen,
        crc: Crc64,
        started: bool,
    }
    let mut queue = plan.iter().enumerate().map(|(k, &(coll, count))| CollGen {
        coll,
        count,
        next: 0,
        rng: Rng::new(cfg.seed, 100 + k as u64),
    });
    let mut stats = SynthStats::default();
    let mut active: Vec<Active> = Vec::new();
    let mut mux = Rng::new(cfg.seed, 1);
    let mut buf = Vec::new();
    loop {
        while active.len() < cfg.concurrency.max(1) {
            match queue.next() {
                Some(gen) => active.push(Active {
                    gen,
                    crc: Crc64::new(),
                    started: false,
                }),
                None => break,
            }
        }
        if active.is_empty() {
            break;
        }
        // Users and the version collection come first, like mongodump; then interleave.
        let k = if active[0].gen.coll == Coll::SystemUsers
            || active[0].gen.coll == Coll::SystemVersion
        {
            0
        } else {
            mux.below(active.len() as u64) as usize
        };
        let a = &mut active[k];
        let (db, name) = a.gen.coll.names();
        if a.started && a.gen.next >= a.gen.count {
            sink.put(&ns_header(db, name, true, a.crc.value()))?;
            sink.put(&TERMINATOR)?;
            stats
                .collections
                .push((format!("{db}.{name}"), a.gen.count));
            active.remove(k);
            continue;
        }
        a.started = true;
        sink.put(&ns_header(db, name, false, 0))?;
        let mut budget = mux.range(300, 24_000) as usize;
        while a.gen.next < a.gen.count && budget > 0 {
            buf.clear();
            let d = a.gen.doc(&world);
            d.to_writer(&mut buf).map_err(io::Error::other)?;
            a.crc.update(&buf);
            sink.put(&buf)?;
            budget = budget.saturating_sub(buf.len());
        }
        sink.put(&TERMINATOR)?;
    }
    sink.w.flush()?;
    stats.bytes = sink.n;
    Ok(stats)
}

/// [`generate`] into memory.
pub fn generate_vec(cfg: &SynthConfig) -> Vec<u8> {
    let mut v = Vec::with_capacity(cfg.target_bytes as usize + 4096);
    generate(cfg, &mut v).expect("writing to a Vec cannot fail");
    v
}
