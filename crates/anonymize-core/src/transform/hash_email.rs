//! `hash_email`: a keyed, unique, well-formed pseudonymous address.

use super::{text_of, Digester, Example, Spec, Transform, Written};
use crate::encoding::hex_into;
#[cfg(test)]
use crate::encoding::hex_to;
use crate::parse_ctx::{Params as RuleParams, RulesError};
use crate::suggest::did_you_mean;
use crate::value::Value;

/// Default domain of `hash_email` pseudonyms.
pub const DEFAULT_EMAIL_DOMAIN: &str = "anonymized.syrf.local";

/// Fewest hex characters of the local part in `mode: address`: 64 bits keep a million
/// addresses free of collisions (expected collisions about 3e-8).
const MIN_UNIQUE_LOCAL_LENGTH: usize = 16;

pub(super) const SPEC: Spec = Spec {
    name: "hash_email",
    params: &[
        "local_length",
        "domain_length",
        "domain",
        "case_sensitive",
        "mode",
        "distinct_variants",
    ],
    parse,
    does: "`<hash(address)>.<hash(domain)>@<domain>`, case-insensitive: the local part's digest \
           covers the whole normalised address, so pseudonyms are unique and one local part \
           at two domains gives unrelated pseudonyms; a malformed value is hashed whole into \
           `<hash>@<domain>`. `mode: per_part` is the platform brief's \
           `<hash(local)>.<hash(domain)>`, which is neither unique nor unlinkable across domains",
    params_doc: "`local_length` (16; 16-64, with `per_part` 1-64), `domain_length` (4), `domain` \
                 (`anonymized.syrf.local`), `case_sensitive` (false), `mode` (`address`, or \
                 `per_part`), `distinct_variants` (false: SQL columns with a unique key tell case \
                 and space variants apart by a keyed tag, `<hash>+<tag>.<domain hash>@...`)",
    examples: &[
        Example {
            rule: "hash_email",
            input: Value::Str("user@example.com"),
            keyed: true,
        },
        Example {
            rule: "{transform: hash_email, mode: per_part, local_length: 8}",
            input: Value::Str("user@example.com"),
            keyed: false,
        },
    ],
};

/// What `hash_email`'s local-part digest covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashEmailMode {
    /// The whole normalised address `local@domain` (default): unique, and one local part at
    /// two domains gives unrelated pseudonyms.
    Address,
    /// The local part alone (the platform brief's reference behaviour): addresses with one
    /// local part at different domains share their local pseudonym, and short lengths collide.
    PerPart,
}

impl HashEmailMode {
    /// Every accepted name.
    pub const NAMES: &'static [&'static str] = &["address", "per_part"];

    /// Parses a name from a rules file.
    pub fn from_name(name: &str) -> Option<HashEmailMode> {
        match name {
            "address" => Some(HashEmailMode::Address),
            "per_part" => Some(HashEmailMode::PerPart),
            _ => None,
        }
    }
}

fn parse(p: &RuleParams<'_>) -> Result<Transform, RulesError> {
    let mode = match p.string("mode")? {
        None => HashEmailMode::Address,
        Some(m) => HashEmailMode::from_name(&m).ok_or_else(|| {
            p.err(
                "mode",
                format!(
                    "unknown mode `{m}`{}; expected address or per_part",
                    did_you_mean(&m, HashEmailMode::NAMES)
                ),
            )
        })?,
    };
    let local_length = p.usize_in("local_length", 16, 1, 64)?;
    if mode == HashEmailMode::Address && local_length < MIN_UNIQUE_LOCAL_LENGTH {
        return Err(p.err(
            "local_length",
            format!(
                "`local_length` must be from {MIN_UNIQUE_LOCAL_LENGTH} to 64 so that pseudonyms \
                 stay unique (64 bits); shorter ones need `mode: per_part`, which is neither \
                 unique nor unlinkable"
            ),
        ));
    }
    let domain = p
        .string("domain")?
        .unwrap_or_else(|| DEFAULT_EMAIL_DOMAIN.to_owned());
    if domain.is_empty() || domain.contains('@') || domain.chars().any(char::is_whitespace) {
        return Err(p.err("domain", format!("`{domain}` is not a valid email domain")));
    }
    Ok(Transform::HashEmail {
        local_length,
        domain_length: p.usize_in("domain_length", 4, 1, 64)?,
        domain,
        case_sensitive: p.boolean("case_sensitive", false)?,
        mode,
        distinct_variants: p.boolean("distinct_variants", false)?,
    })
}

/// The parameters of one `hash_email` rule.
pub(super) struct Params<'a> {
    pub(super) local_length: usize,
    pub(super) domain_length: usize,
    pub(super) domain: &'a str,
    pub(super) case_sensitive: bool,
    pub(super) mode: HashEmailMode,
}

enum Digests {
    WellFormed { local: [u8; 32], host: [u8; 32] },
    Malformed([u8; 32]),
}

/// `(local, host)` of a normalised address when it is well formed: one `@`, text on both
/// sides, no whitespace. ASCII addresses take [`Scan::split`], which agrees with this.
fn split(address: &str) -> Option<(&str, &str)> {
    address.rsplit_once('@').filter(|(local, host)| {
        !local.is_empty()
            && !host.is_empty()
            && !local.contains('@')
            && !address.chars().any(char::is_whitespace)
    })
}

/// The digests of a normalised (trimmed, maybe lower-cased) address, `split` its parts when it
/// is well formed.
fn digests(
    d: &Digester,
    address: &[u8],
    split: Option<(&[u8], &[u8])>,
    mode: HashEmailMode,
) -> Digests {
    match split {
        Some((local, host)) => Digests::WellFormed {
            local: match mode {
                HashEmailMode::Address => d.digest("hash_email/address", &[address]),
                HashEmailMode::PerPart => d.reference_digest("hash_email/local", local),
            },
            host: domain_digest(d, host),
        },
        None => Digests::Malformed(d.digest("hash_email/malformed", &[address])),
    }
}

/// [`CLASSES`] bit of the ASCII upper-case letters.
#[cfg(test)]
const UPPER: u8 = 1;
/// [`CLASSES`] bit of ASCII whitespace (tab, line feed, vertical tab, form feed, carriage
/// return, space: what `char::is_whitespace` accepts below 128).
#[cfg(test)]
const SPACE: u8 = 2;

/// The class bits of every byte value: the plain definition [`Scan::of`]'s word-at-a-time
/// tests are checked against.
#[cfg(test)]
static CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_uppercase() {
            table[b] = UPPER;
        } else if matches!(c, b'\t'..=b'\r' | b' ') {
            table[b] = SPACE;
        }
        b += 1;
    }
    table
};

/// What one pass over the bytes of an ASCII address finds.
#[derive(Debug, PartialEq, Eq)]
struct Scan {
    /// It has an upper-case letter.
    upper: bool,
    /// It has whitespace (tab, line feed, vertical tab, form feed, carriage return, space).
    whitespace: bool,
    /// How many `@` it has (2: two or more), and where the last one is.
    ats: usize,
    last_at: usize,
}

/// Every byte of a word set to 1.
const ONES: u64 = 0x0101_0101_0101_0101;
/// The top bit of every byte of a word.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The top bit of each byte of `x` (bytes below 0x80) that is at least `n` (1 to 0x80): the
/// byte plus `0x80 - n` reaches 0x80 exactly then, and never carries into the next byte.
#[inline(always)]
fn at_least(x: u64, n: u8) -> u64 {
    x.wrapping_add(ONES * u64::from(0x80 - n)) & HIGH
}

/// The top bit of each byte of `x` (bytes below 0x80) equal to `b` (below 0x80).
#[inline(always)]
fn equal(x: u64, b: u8) -> u64 {
    !at_least(x ^ (ONES * u64::from(b)), 1) & HIGH
}

/// What [`Scan`] finds in eight bytes (below 0x80) as a little-endian word: top bits of the
/// upper-case letters, of the whitespace, and of the `@`s.
#[inline(always)]
fn word_classes(x: u64) -> (u64, u64, u64) {
    let upper = at_least(x, b'A') & !at_least(x, b'Z' + 1);
    let space = (at_least(x, b'\t') & !at_least(x, b'\r' + 1)) | equal(x, b' ');
    (upper, space, equal(x, b'@'))
}

impl Scan {
    /// Scans `bytes` (ASCII) eight bytes at a time in a `u64`: upper case, whitespace and the
    /// `@`s (how many, the last) in one pass, no branch per byte. The last part word is the
    /// last eight bytes shifted past the ones already seen (zero bytes come in, in no class),
    /// or, in a value shorter than a word, its bytes gathered one by one.
    fn of(bytes: &[u8]) -> Scan {
        let (mut upper, mut space) = (0u64, 0u64);
        let (mut ats, mut last_at) = (0u32, 0usize);
        let mut word = |at: usize, chunk: [u8; 8]| {
            let (u, s, a) = word_classes(u64::from_le_bytes(chunk));
            upper |= u;
            space |= s;
            if a != 0 {
                ats += a.count_ones();
                last_at = at + (63 - a.leading_zeros() as usize) / 8;
            }
        };
        let mut chunks = bytes.chunks_exact(8);
        let mut at = 0;
        for chunk in &mut chunks {
            word(at, chunk.try_into().unwrap_or([b'a'; 8]));
            at += 8;
        }
        let rest = chunks.remainder().len();
        if rest > 0 {
            let tail = match bytes.last_chunk::<8>() {
                Some(last) => u64::from_le_bytes(*last) >> (8 * (8 - rest)),
                None => bytes
                    .iter()
                    .rev()
                    .fold(0u64, |w, &b| (w << 8) | u64::from(b)),
            };
            word(at, tail.to_le_bytes());
        }
        Scan {
            upper: upper != 0,
            whitespace: space != 0,
            ats: (ats as usize).min(2),
            last_at,
        }
    }

    /// [`of`](Self::of) as it was before branch digest25, byte by byte: a table's class
    /// bits ORed, `memchr` and `memrchr` for the first and last `@`. The tests' plain
    /// definition and the timing loop's reference.
    #[cfg(test)]
    fn of_table(bytes: &[u8]) -> Scan {
        let classes = bytes
            .iter()
            .fold(0u8, |acc, &b| acc | CLASSES[usize::from(b)]);
        let first = memchr::memchr(b'@', bytes);
        let last_at = memchr::memrchr(b'@', bytes);
        Scan {
            upper: classes & UPPER != 0,
            whitespace: classes & SPACE != 0,
            ats: match (first, last_at) {
                (None, _) => 0,
                (Some(f), Some(l)) if f == l => 1,
                _ => 2,
            },
            last_at: last_at.unwrap_or(0),
        }
    }

    /// [`split`] of the scanned address (`bytes`, maybe lower-cased: the same `@`s).
    fn split<'a>(&self, bytes: &'a [u8]) -> Option<(&'a [u8], &'a [u8])> {
        let at = self.last_at;
        let well_formed = self.ats == 1 && at > 0 && at + 1 < bytes.len() && !self.whitespace;
        well_formed.then(|| (&bytes[..at], &bytes[at + 1..]))
    }
}

/// Hosts up to this long are memoised.
const MEMO_HOST_LEN: usize = 46;

/// One memoised domain digest.
#[derive(Clone, Copy)]
struct MemoEntry {
    /// The [`Digester::id`] that computed it (0: empty).
    owner: u64,
    len: u8,
    host: [u8; MEMO_HOST_LEN],
    digest: [u8; 32],
}

const EMPTY: MemoEntry = MemoEntry {
    owner: 0,
    len: 0,
    host: [0; MEMO_HOST_LEN],
    digest: [0; 32],
};

/// Entries of the per-thread memo (direct-mapped by a hash of the host).
const MEMO_SLOTS: usize = 64;

thread_local! {
    /// Recent domain digests of this thread: addresses share a few domains, and the domain's
    /// digest is half of the work of `hash_email`. Measured by the `transforms` bench.
    static DOMAIN_MEMO: std::cell::RefCell<[MemoEntry; MEMO_SLOTS]> =
        const { std::cell::RefCell::new([EMPTY; MEMO_SLOTS]) };
}

/// `reference_digest("hash_email/domain", host)`, memoised per thread and digester.
fn domain_digest(d: &Digester, host: &[u8]) -> [u8; 32] {
    if host.len() > MEMO_HOST_LEN {
        return d.reference_digest("hash_email/domain", host);
    }
    // FNV-1a picks the slot.
    let slot = host.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) as usize
        % MEMO_SLOTS;
    let hit = DOMAIN_MEMO.with(|memo| {
        let memo = memo.borrow();
        let e = &memo[slot];
        (e.owner == d.id() && usize::from(e.len) == host.len() && &e.host[..host.len()] == host)
            .then_some(e.digest)
    });
    if let Some(digest) = hit {
        return digest;
    }
    let digest = d.reference_digest("hash_email/domain", host);
    DOMAIN_MEMO.with(|memo| {
        let mut entry = EMPTY;
        entry.owner = d.id();
        entry.len = host.len() as u8;
        entry.host[..host.len()].copy_from_slice(host);
        entry.digest = digest;
        memo.borrow_mut()[slot] = entry;
    });
    digest
}

/// `text` without the whitespace around it, as `str::trim` gives it: a text that starts and
/// ends with a printable ASCII character (nearly every address) is returned without
/// decoding its first and last characters.
#[inline]
fn trim(text: &str) -> &str {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

/// Applies `hash_email` (`None`: not text). `out` is used as scratch space for an ASCII
/// address's lower-case form, so the common case allocates nothing.
pub(super) fn apply(
    d: &Digester,
    value: Value<'_>,
    p: &Params<'_>,
    out: &mut Vec<u8>,
) -> Option<Written> {
    let text = text_of(value)?;
    let trimmed = trim(&text);
    let digests = if trimmed.is_ascii() {
        // Nearly every address: one pass finds case, whitespace and the `@`s.
        let bytes = trimmed.as_bytes();
        let scan = Scan::of(bytes);
        if scan.upper && !p.case_sensitive {
            out.extend(bytes.iter().map(u8::to_ascii_lowercase));
            digests(d, out, scan.split(out), p.mode)
        } else {
            digests(d, bytes, scan.split(bytes), p.mode)
        }
    } else {
        let lowered;
        let address = if p.case_sensitive {
            trimmed
        } else {
            lowered = trimmed.to_lowercase();
            &lowered
        };
        let parts = split(address).map(|(l, h)| (l.as_bytes(), h.as_bytes()));
        digests(d, address.as_bytes(), parts, p.mode)
    };
    out.clear();
    // `<hex>.<hex>@` (or `<hex>@`) assembled on the stack, then copied once.
    let mut buf = [0u8; 2 * (64 + 1)];
    let mut at = 0;
    match digests {
        Digests::WellFormed { local, host } => {
            at = hex_into(&local, p.local_length, &mut buf, at);
            buf[at] = b'.';
            at = hex_into(&host, p.domain_length, &mut buf, at + 1);
        }
        Digests::Malformed(whole) => at = hex_into(&whole, p.local_length, &mut buf, at),
    }
    buf[at] = b'@';
    out.reserve(at + 1 + p.domain.len());
    out.extend_from_slice(&buf[..at + 1]);
    out.extend_from_slice(p.domain.as_bytes());
    Some(Written::Str)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// [`trim`] is `str::trim`, for text with ASCII and Unicode whitespace at either end.
        #[test]
        fn trim_is_str_trim(text in "[ \t\n\u{b}\u{c}\r\u{a0}\u{2003}\u{3000}a@.Zé!~]{0,12}") {
            proptest::prop_assert_eq!(trim(&text), text.trim());
        }
    }

    #[test]
    fn ascii_whitespace_class_is_char_is_whitespace() {
        for b in 0u8..128 {
            assert_eq!(
                CLASSES[usize::from(b)] & SPACE != 0,
                char::from(b).is_whitespace(),
                "{b}"
            );
        }
        assert_eq!(split("zoë@x"), Some(("zoë", "x")));
        assert_eq!(split("zoë\u{a0}@x"), None);
    }

    /// An address's pseudonym is its plain definition, whether the domain's digest comes
    /// from the memo or not, keyed or not.
    #[test]
    fn address_pseudonyms_are_their_definition() {
        use crate::key::{Key, KeyMode};
        let keyed = Digester::new(&KeyMode::Keyed(
            Key::from_bytes(b"email-key-0123456789").unwrap(),
        ));
        let unkeyed = Digester::new(&KeyMode::Unkeyed);
        let p = Params {
            local_length: 16,
            domain_length: 4,
            domain: DEFAULT_EMAIL_DOMAIN,
            case_sensitive: false,
            mode: HashEmailMode::Address,
        };
        for d in [&keyed, &unkeyed] {
            for i in 0..300 {
                // New domains, then the same ones again (memo hits), a long one too.
                let host = format!("host{}.example{}", i % 150, "x".repeat(i % 60));
                let address = format!("User{i}@{host}");
                let mut out = Vec::new();
                apply(d, Value::Str(&address), &p, &mut out);
                let lower = address.to_lowercase();
                let mut want = Vec::new();
                hex_to(
                    &d.digest("hash_email/address", &[lower.as_bytes()]),
                    16,
                    &mut want,
                );
                want.push(b'.');
                let host = lower.rsplit_once('@').unwrap().1;
                hex_to(
                    &d.reference_digest("hash_email/domain", host.as_bytes()),
                    4,
                    &mut want,
                );
                want.push(b'@');
                want.extend_from_slice(DEFAULT_EMAIL_DOMAIN.as_bytes());
                assert_eq!(out, want, "{address}");
            }
        }
    }

    /// The one-pass scan splits an ASCII address exactly as the general [`split`] does.
    #[test]
    fn scan_splits_as_the_general_path() {
        use proptest::prelude::*;
        let check = |s: &str| {
            let scan = Scan::of(s.as_bytes());
            let want = split(s).map(|(l, h)| (l.as_bytes(), h.as_bytes()));
            assert_eq!(scan.split(s.as_bytes()), want, "{s:?}");
            // Word at a time, the same as the plain definitions byte by byte.
            let table = Scan::of_table(s.as_bytes());
            if table.ats > 0 {
                assert_eq!(scan, table, "{s:?}");
            } else {
                assert_eq!(
                    (scan.upper, scan.whitespace, scan.ats),
                    (table.upper, table.whitespace, 0)
                );
            }
            let classes = s.bytes().fold(0, |acc, b| acc | CLASSES[usize::from(b)]);
            assert_eq!(scan.upper, classes & UPPER != 0, "{s:?}");
            assert_eq!(scan.whitespace, classes & SPACE != 0, "{s:?}");
            let ats = s.bytes().filter(|&b| b == b'@').count();
            assert_eq!(scan.ats, ats.min(2), "{s:?}");
            if ats > 0 {
                assert_eq!(Some(scan.last_at), s.rfind('@'), "{s:?}");
            }
        };
        for s in [
            "a@b",
            "@b",
            "a@",
            "@",
            "a@@b",
            "a@b@c",
            "a b@c",
            "a@b\tc",
            "A@B",
            "",
            "abcdefg@",
            "abcdefgh@",
            "@abcdefgh",
            "ZZZZZZZZ@AAAAAAAA\r",
            "\x7f\x00\x08\x0e\x1f",
        ] {
            check(s);
        }
        proptest!(|(s in "[a-zA-Z@ \t\r\n\x0b\x0c.+_-]{0,40}")| check(&s));
        // Any ASCII: every byte value below 0x80, near each class's edges too.
        proptest!(|(s in "[\x00-\x7f]{0,70}")| check(&s));
    }
}

/// A timing loop (it asserts nothing about time, only that both ways agree): the scan of
/// realistic addresses eight bytes at a time and byte by byte (before branch digest25).
/// Built in release test builds only; run it with
/// `cargo test --release -p anonymize-core --lib hash_email::timing -- --ignored --nocapture`.
#[cfg(all(test, not(debug_assertions)))]
mod timing {
    use super::*;
    use std::hint::black_box;
    use std::time::Instant;

    #[test]
    #[ignore = "a timing loop: run by hand in release"]
    fn scans() {
        let addresses: Vec<String> = (0..256)
            .map(|i| {
                format!(
                    "first{i}.lastname{}@mail{}.example-university.ac.uk",
                    i * 7,
                    i % 5
                )
            })
            .collect();
        let time = |scan: fn(&[u8]) -> Scan| {
            (0..5)
                .map(|_| {
                    let t = Instant::now();
                    for _ in 0..4000 {
                        for a in &addresses {
                            black_box(scan(black_box(a.as_bytes())));
                        }
                    }
                    t.elapsed().as_nanos() as f64 / (4000.0 * 256.0)
                })
                .fold(f64::INFINITY, f64::min)
        };
        let (words, bytes) = (time(Scan::of), time(Scan::of_table));
        for a in &addresses {
            assert_eq!(Scan::of(a.as_bytes()), Scan::of_table(a.as_bytes()));
        }
        println!(
            "scan of a {}-byte address: eight bytes at a time {words:.1} ns; byte by byte {bytes:.1} ns ({:.2})",
            addresses[100].len(),
            words / bytes
        );
    }
}
