//! The transforms and how each one rewrites a value.
//!
//! Every transform is deterministic: the same value, key and parameters give the same output
//! everywhere. Keyed digests are HMAC-SHA256 over `domain || 0x00 || value`, with a domain
//! separator per transform, so `hash` and `hmac` of one value differ.

use hmac::{Hmac, Mac};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

use crate::dates::{parse_text_date, shift_text_date, TextDate};
use crate::encoding::{base32, base64url, hex, hex_into};
use crate::key::KeyMode;
use crate::value::{Replacement, Value};

/// Default domain of `hash_email` pseudonyms.
pub const DEFAULT_EMAIL_DOMAIN: &str = "anonymized.syrf.local";

/// A transform with its parameters, as written in a rules file.
#[derive(Debug, Clone, PartialEq)]
pub enum Transform {
    /// Leaves the value as it is (declares a field as reviewed).
    Keep,
    /// Hex digest of the value, `length` hex characters (1..=64, default 16).
    Hash {
        /// Number of hex characters.
        length: usize,
    },
    /// Like `hash` but refuses to run without a key.
    Hmac {
        /// Characters of output (default 32).
        length: usize,
        /// Text encoding of the digest.
        encoding: HmacEncoding,
    },
    /// `<hash(local)>.<hash(domain)>@<domain>`.
    HashEmail {
        /// Hex characters of the local part's hash (default 16).
        local_length: usize,
        /// Hex characters of the original domain's hash (default 4).
        domain_length: usize,
        /// The domain every pseudonym uses (default `anonymized.syrf.local`).
        domain: String,
        /// Hash the address as written instead of lower-cased (default false).
        case_sensitive: bool,
    },
    /// `<prefix><n>`, n the 1-based ordinal of the document or row.
    Sequential {
        /// Text before the number (default `User`).
        prefix: String,
    },
    /// `<n>`; an integer stays an integer.
    SequentialSuffix,
    /// A realistic fake value seeded by HMAC(key, kind, value).
    Fake {
        /// What to make.
        kind: FakeKind,
        /// Locale of names and places.
        locale: FakeLocale,
    },
    /// Replaces every digit with a keyed digit, keeps everything else.
    Digits,
    /// Keeps `keep_start`/`keep_end` characters, replaces the rest with `mask_char`.
    Mask {
        /// Characters kept at the start.
        keep_start: usize,
        /// Characters kept at the end.
        keep_end: usize,
        /// The replacement character.
        mask_char: char,
    },
    /// Shifts a date by a keyed number of days in `±max_days` (never 0).
    DateShift {
        /// Largest shift in days (default 30).
        max_days: u32,
    },
    /// Null.
    Null,
    /// Removes the field (MongoDB); null in SQL.
    Remove,
    /// A fixed value.
    Constant(ConstantValue),
}

/// The value of a `constant` transform.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstantValue {
    /// YAML null.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
}

/// Output encoding of `hmac`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacEncoding {
    /// Lower-case hex (64 characters at most).
    Hex,
    /// Unpadded lower-case base32 (52 characters at most).
    Base32,
    /// Unpadded base64url (43 characters at most).
    Base64Url,
}

impl HmacEncoding {
    /// Every accepted name.
    pub const NAMES: &'static [&'static str] = &["hex", "base32", "base64url"];

    /// Parses a name from a rules file.
    pub fn from_name(name: &str) -> Option<HmacEncoding> {
        match name {
            "hex" => Some(HmacEncoding::Hex),
            "base32" => Some(HmacEncoding::Base32),
            "base64url" => Some(HmacEncoding::Base64Url),
            _ => None,
        }
    }

    /// Longest output of a 32-byte digest in this encoding.
    pub fn max_length(self) -> usize {
        match self {
            HmacEncoding::Hex => 64,
            HmacEncoding::Base32 => 52,
            HmacEncoding::Base64Url => 43,
        }
    }
}

macro_rules! fake_kinds {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// What a `fake` transform makes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum FakeKind { $(#[doc = concat!("`", $name, "`")] $variant),+ }

        impl FakeKind {
            /// Every accepted name.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// Parses a name from a rules file.
            pub fn from_name(name: &str) -> Option<FakeKind> {
                match name { $($name => Some(FakeKind::$variant),)+ _ => None }
            }

            /// The name as written in a rules file.
            pub fn name(self) -> &'static str {
                match self { $(FakeKind::$variant => $name),+ }
            }
        }
    };
}

fake_kinds! {
    FirstName => "first_name",
    LastName => "last_name",
    Name => "name",
    Email => "email",
    PhoneNumber => "phone_number",
    Username => "username",
    Company => "company",
    StreetAddress => "street_address",
    City => "city",
    Postcode => "postcode",
    Country => "country",
    Ipv4 => "ipv4",
    Ipv6 => "ipv6",
    UserAgent => "user_agent",
    Sentence => "sentence",
    Paragraph => "paragraph",
    Uuid => "uuid",
}

/// Locales the `fake` crate has data for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeLocale {
    /// English (default).
    En,
    /// French.
    FrFr,
    /// Brazilian Portuguese.
    PtBr,
    /// Simplified Chinese.
    ZhCn,
    /// Traditional Chinese.
    ZhTw,
    /// Japanese.
    JaJp,
    /// Arabic (Saudi Arabia).
    ArSa,
}

impl FakeLocale {
    /// Every accepted name.
    pub const NAMES: &'static [&'static str] =
        &["en", "fr_fr", "pt_br", "zh_cn", "zh_tw", "ja_jp", "ar_sa"];

    /// Parses a name from a rules file (case-insensitive, `-` or `_`).
    pub fn from_name(name: &str) -> Option<FakeLocale> {
        match name.to_ascii_lowercase().replace('-', "_").as_str() {
            "en" | "en_us" | "en_gb" => Some(FakeLocale::En),
            "fr_fr" | "fr" => Some(FakeLocale::FrFr),
            "pt_br" => Some(FakeLocale::PtBr),
            "zh_cn" => Some(FakeLocale::ZhCn),
            "zh_tw" => Some(FakeLocale::ZhTw),
            "ja_jp" | "ja" => Some(FakeLocale::JaJp),
            "ar_sa" => Some(FakeLocale::ArSa),
            _ => None,
        }
    }
}

impl Transform {
    /// Every transform name a rules file accepts.
    pub const NAMES: &'static [&'static str] = &[
        "keep",
        "hash",
        "hmac",
        "hash_email",
        "sequential",
        "sequential_suffix",
        "fake",
        "digits",
        "mask",
        "date_shift",
        "null",
        "remove",
        "constant",
    ];

    /// The name as written in a rules file.
    pub fn name(&self) -> &'static str {
        match self {
            Transform::Keep => "keep",
            Transform::Hash { .. } => "hash",
            Transform::Hmac { .. } => "hmac",
            Transform::HashEmail { .. } => "hash_email",
            Transform::Sequential { .. } => "sequential",
            Transform::SequentialSuffix => "sequential_suffix",
            Transform::Fake { .. } => "fake",
            Transform::Digits => "digits",
            Transform::Mask { .. } => "mask",
            Transform::DateShift { .. } => "date_shift",
            Transform::Null => "null",
            Transform::Remove => "remove",
            Transform::Constant(_) => "constant",
        }
    }

    /// True for transforms that replace a whole field, arrays included (`null`, `remove`,
    /// `constant`, `keep`); the others apply to each element of an array.
    pub fn applies_to_whole_value(&self) -> bool {
        matches!(
            self,
            Transform::Null | Transform::Remove | Transform::Constant(_) | Transform::Keep
        )
    }
}

/// What applying a transform did, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The value was left alone.
    Unchanged,
    /// The value was rewritten.
    Changed,
    /// The transform could not apply to the value's type; it was replaced by null.
    FailedClosed,
}

/// Computes keyed (or, by opt-in, plain) digests.
pub(crate) struct Digester {
    keyed: Option<Hmac<Sha256>>,
}

impl Digester {
    pub(crate) fn new(mode: &KeyMode) -> Digester {
        let keyed = match mode {
            KeyMode::Keyed(key) => {
                Some(Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key"))
            }
            KeyMode::Unkeyed => None,
        };
        Digester { keyed }
    }

    pub(crate) fn is_keyed(&self) -> bool {
        self.keyed.is_some()
    }

    /// HMAC(key, domain || 0 || parts...) or, unkeyed, SHA-256 of the same bytes.
    pub(crate) fn digest(&self, domain: &str, parts: &[&[u8]]) -> [u8; 32] {
        match &self.keyed {
            Some(mac) => {
                let mut mac = mac.clone();
                mac.update(domain.as_bytes());
                mac.update(&[0]);
                for p in parts {
                    mac.update(p);
                }
                mac.finalize().into_bytes().into()
            }
            None => {
                let mut h = Sha256::new();
                h.update(domain.as_bytes());
                h.update([0]);
                for p in parts {
                    h.update(p);
                }
                h.finalize().into()
            }
        }
    }

    /// Like [`digest`](Self::digest), but unkeyed it is SHA-256 of the value alone: the
    /// reference behaviour of `hash` and `hash_email` without a key.
    fn reference_digest(&self, domain: &str, value: &[u8]) -> [u8; 32] {
        if self.keyed.is_some() {
            self.digest(domain, &[value])
        } else {
            Sha256::digest(value).into()
        }
    }

    /// `len` bytes of keyed stream for `value` (counter-mode expansion of the digest).
    fn stream(&self, domain: &str, value: &[u8], len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 32);
        let mut counter: u32 = 0;
        while out.len() < len {
            out.extend_from_slice(&self.digest(domain, &[value, &counter.to_le_bytes()]));
            counter += 1;
        }
        out.truncate(len);
        out
    }
}

fn hex_prefix(digest: &[u8; 32], len: usize) -> String {
    let mut s = hex(digest);
    s.truncate(len);
    s
}

fn u64_of(d: &[u8; 32]) -> u64 {
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

/// Applies `transform` to `value`. `ordinal` is the 1-based row/document number.
pub(crate) fn apply(
    transform: &Transform,
    digester: &Digester,
    value: Value<'_>,
    ordinal: u64,
) -> (Replacement, Outcome) {
    use Outcome::*;
    if let Value::Null = value {
        return match transform {
            Transform::Constant(c) => (constant(c, value), Changed),
            Transform::Remove => (Replacement::Remove, Changed),
            _ => (Replacement::Unchanged, Unchanged),
        };
    }
    let result = match transform {
        Transform::Keep => return (Replacement::Unchanged, Unchanged),
        Transform::Null => Some(Replacement::Null),
        Transform::Remove => Some(Replacement::Remove),
        Transform::Constant(c) => Some(constant(c, value)),
        Transform::Hash { length } => hash(digester, value, *length),
        Transform::Hmac { length, encoding } => hmac(digester, value, *length, *encoding),
        Transform::HashEmail {
            local_length,
            domain_length,
            domain,
            case_sensitive,
        } => text_of(value).map(|text| {
            Replacement::Str(hash_email(
                digester,
                &text,
                *local_length,
                *domain_length,
                domain,
                *case_sensitive,
            ))
        }),
        Transform::Sequential { prefix } => sequential(value, prefix, ordinal),
        Transform::SequentialSuffix => sequential(value, "", ordinal),
        Transform::Fake { kind, locale } => {
            text_of(value).map(|text| Replacement::Str(fake(digester, *kind, *locale, &text)))
        }
        Transform::Digits => digits(digester, value),
        Transform::Mask {
            keep_start,
            keep_end,
            mask_char,
        } => mask(value, *keep_start, *keep_end, *mask_char),
        Transform::DateShift { max_days } => date_shift(digester, value, *max_days),
    };
    match result {
        Some(Replacement::Unchanged) => (Replacement::Unchanged, Unchanged),
        Some(r) => (r, Changed),
        None => (Replacement::Null, FailedClosed),
    }
}

/// Text of a textual value (lossy for non-UTF-8 bytes); `None` for other types.
fn text_of<'a>(value: Value<'a>) -> Option<std::borrow::Cow<'a, str>> {
    match value {
        Value::Str(s) => Some(s.into()),
        Value::Bytes(b) => Some(String::from_utf8_lossy(b)),
        _ => None,
    }
}

fn constant(c: &ConstantValue, input: Value<'_>) -> Replacement {
    match c {
        ConstantValue::Null => Replacement::Null,
        ConstantValue::Bool(b) => Replacement::Bool(*b),
        ConstantValue::Int(i) => match (input, i32::try_from(*i)) {
            (Value::Int32(_), Ok(small)) => Replacement::Int32(small),
            _ => Replacement::Int64(*i),
        },
        ConstantValue::Float(f) => Replacement::Double(*f),
        ConstantValue::Str(s) => Replacement::Str(s.clone()),
    }
}

fn hash(d: &Digester, value: Value<'_>, length: usize) -> Option<Replacement> {
    const DOMAIN: &str = "hash";
    Some(match value {
        Value::Str(s) => Replacement::Str(hex_prefix(
            &d.reference_digest(DOMAIN, s.as_bytes()),
            length,
        )),
        Value::Bytes(b) => Replacement::Str(hex_prefix(&d.reference_digest(DOMAIN, b), length)),
        Value::Int32(i) => {
            let dg = d.digest(DOMAIN, &[b"i", &(i as i64).to_le_bytes()]);
            Replacement::Int32((u64_of(&dg) & 0x7fff_ffff) as i32)
        }
        Value::Int64(i) => {
            let dg = d.digest(DOMAIN, &[b"i", &i.to_le_bytes()]);
            Replacement::Int64((u64_of(&dg) & 0x7fff_ffff_ffff_ffff) as i64)
        }
        Value::Number(text) => {
            let dg = d.digest(DOMAIN, &[b"n", text.as_bytes()]);
            Replacement::Int64((u64_of(&dg) & 0x7fff_ffff_ffff_ffff) as i64)
        }
        Value::Binary { subtype, bytes } => Replacement::Binary {
            subtype,
            bytes: d.stream(DOMAIN, bytes, bytes.len()),
        },
        _ => return None,
    })
}

fn hmac(
    d: &Digester,
    value: Value<'_>,
    length: usize,
    encoding: HmacEncoding,
) -> Option<Replacement> {
    const DOMAIN: &str = "hmac";
    let encode = |dg: [u8; 32]| {
        let mut s = match encoding {
            HmacEncoding::Hex => hex(&dg),
            HmacEncoding::Base32 => base32(&dg),
            HmacEncoding::Base64Url => base64url(&dg),
        };
        s.truncate(length);
        s
    };
    Some(match value {
        Value::Str(s) => Replacement::Str(encode(d.digest(DOMAIN, &[s.as_bytes()]))),
        Value::Bytes(b) => Replacement::Str(encode(d.digest(DOMAIN, &[b]))),
        Value::Int32(i) => Replacement::Int32(
            (u64_of(&d.digest(DOMAIN, &[b"i", &(i as i64).to_le_bytes()])) & 0x7fff_ffff) as i32,
        ),
        Value::Int64(i) => Replacement::Int64(
            (u64_of(&d.digest(DOMAIN, &[b"i", &i.to_le_bytes()])) & 0x7fff_ffff_ffff_ffff) as i64,
        ),
        Value::Number(text) => Replacement::Int64(
            (u64_of(&d.digest(DOMAIN, &[b"n", text.as_bytes()])) & 0x7fff_ffff_ffff_ffff) as i64,
        ),
        Value::Binary { subtype, bytes } => Replacement::Binary {
            subtype,
            bytes: d.stream(DOMAIN, bytes, bytes.len()),
        },
        _ => return None,
    })
}

/// The `hash_email` pseudonym of `address`.
pub(crate) fn hash_email(
    d: &Digester,
    address: &str,
    local_length: usize,
    domain_length: usize,
    domain: &str,
    case_sensitive: bool,
) -> String {
    let folded;
    let address = if case_sensitive {
        address.trim()
    } else {
        folded = address.trim().to_lowercase();
        folded.as_str()
    };
    let mut out = String::with_capacity(local_length + domain_length + domain.len() + 2);
    let well_formed = address.rsplit_once('@').filter(|(local, host)| {
        !local.is_empty()
            && !host.is_empty()
            && !local.contains('@')
            && !address.chars().any(char::is_whitespace)
    });
    match well_formed {
        Some((local, host)) => {
            let local_digest = d.reference_digest("hash_email/local", local.as_bytes());
            let host_digest = d.reference_digest("hash_email/domain", host.as_bytes());
            hex_into(&local_digest, &mut out);
            out.truncate(local_length);
            out.push('.');
            let mut host_hex = hex(&host_digest);
            host_hex.truncate(domain_length);
            out.push_str(&host_hex);
        }
        None => {
            hex_into(
                &d.digest("hash_email/malformed", &[address.as_bytes()]),
                &mut out,
            );
            out.truncate(local_length);
        }
    }
    out.push('@');
    out.push_str(domain);
    out
}

fn sequential(value: Value<'_>, prefix: &str, ordinal: u64) -> Option<Replacement> {
    Some(match value {
        Value::Str(_) | Value::Bytes(_) => Replacement::Str(format!("{prefix}{ordinal}")),
        Value::Int32(_) => Replacement::Int32(i32::try_from(ordinal).unwrap_or(i32::MAX)),
        Value::Int64(_) | Value::Number(_) => {
            Replacement::Int64(i64::try_from(ordinal).unwrap_or(i64::MAX))
        }
        _ => return None,
    })
}

fn seeded_rng(d: &Digester, domain: &str, value: &[u8]) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(d.digest(domain, &[value]))
}

fn fake(d: &Digester, kind: FakeKind, locale: FakeLocale, value: &str) -> String {
    use fake::faker::{address, company, internet, lorem, name, phone_number};
    use fake::locales::{AR_SA, EN, FR_FR, JA_JP, PT_BR, ZH_CN, ZH_TW};
    use fake::Fake;

    let domain = format!("fake/{}", kind.name());
    let mut rng = seeded_rng(d, &domain, value.as_bytes());
    let rng = &mut rng;

    macro_rules! localized {
        ($module:ident :: $faker:ident $(($($arg:expr),*))?) => {
            match locale {
                FakeLocale::En => $module::raw::$faker(EN $(, $($arg),*)?).fake_with_rng::<String, _>(rng),
                FakeLocale::FrFr => $module::raw::$faker(FR_FR $(, $($arg),*)?).fake_with_rng::<String, _>(rng),
                FakeLocale::PtBr => $module::raw::$faker(PT_BR $(, $($arg),*)?).fake_with_rng::<String, _>(rng),
                FakeLocale::ZhCn => $module::raw::$faker(ZH_CN $(, $($arg),*)?).fake_with_rng::<String, _>(rng),
                FakeLocale::ZhTw => $module::raw::$faker(ZH_TW $(, $($arg),*)?).fake_with_rng::<String, _>(rng),
                FakeLocale::JaJp => $module::raw::$faker(JA_JP $(, $($arg),*)?).fake_with_rng::<String, _>(rng),
                FakeLocale::ArSa => $module::raw::$faker(AR_SA $(, $($arg),*)?).fake_with_rng::<String, _>(rng),
            }
        };
    }

    match kind {
        FakeKind::FirstName => localized!(name::FirstName),
        FakeKind::LastName => localized!(name::LastName),
        FakeKind::Name => localized!(name::Name),
        FakeKind::Email => {
            // Names from the locale would not be valid in an address everywhere: use English
            // words for the readable part and keyed bits for uniqueness, on reserved domains.
            let first: String = name::raw::FirstName(EN).fake_with_rng(rng);
            let last: String = name::raw::LastName(EN).fake_with_rng(rng);
            let tld = ["com", "net", "org"][rng.gen_range(0..3)];
            let tag = hex_prefix(&d.digest("fake/email/tag", &[value.as_bytes()]), 12);
            let local: String = format!("{first}.{last}")
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect::<String>()
                .to_ascii_lowercase();
            format!("{local}.{tag}@example.{tld}")
        }
        FakeKind::PhoneNumber => localized!(phone_number::PhoneNumber),
        FakeKind::Username => {
            let base: String = internet::raw::Username(EN).fake_with_rng(rng);
            let tag = hex_prefix(&d.digest("fake/username/tag", &[value.as_bytes()]), 6);
            format!("{base}_{tag}")
        }
        FakeKind::Company => localized!(company::CompanyName),
        FakeKind::StreetAddress => {
            let number: String = localized!(address::BuildingNumber);
            let street: String = localized!(address::StreetName);
            format!("{number} {street}")
        }
        FakeKind::City => localized!(address::CityName),
        FakeKind::Postcode => localized!(address::PostCode),
        FakeKind::Country => localized!(address::CountryName),
        FakeKind::Ipv4 => internet::raw::IPv4(EN).fake_with_rng(rng),
        FakeKind::Ipv6 => internet::raw::IPv6(EN).fake_with_rng(rng),
        FakeKind::UserAgent => internet::raw::UserAgent(EN).fake_with_rng(rng),
        FakeKind::Sentence => lorem::raw::Sentence(EN, 4..10).fake_with_rng(rng),
        FakeKind::Paragraph => lorem::raw::Paragraph(EN, 3..6).fake_with_rng(rng),
        FakeKind::Uuid => {
            let mut b: [u8; 16] = rng.gen();
            b[6] = (b[6] & 0x0f) | 0x40;
            b[8] = (b[8] & 0x3f) | 0x80;
            let h = hex(&b);
            format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )
        }
    }
}

fn digits(d: &Digester, value: Value<'_>) -> Option<Replacement> {
    const DOMAIN: &str = "digits";
    let keyed_digit =
        |stream: &[u8], i: usize, low: u8, high: u8| low + stream[i] % (high - low + 1);
    Some(match value {
        Value::Str(s) => {
            let count = s.bytes().filter(u8::is_ascii_digit).count();
            let stream = d.stream(DOMAIN, s.as_bytes(), count);
            let mut i = 0;
            let out = s
                .chars()
                .map(|c| {
                    if c.is_ascii_digit() {
                        i += 1;
                        (b'0' + keyed_digit(&stream, i - 1, 0, 9)) as char
                    } else {
                        c
                    }
                })
                .collect();
            Replacement::Str(out)
        }
        Value::Number(text) => {
            let count = text.bytes().filter(u8::is_ascii_digit).count();
            let stream = d.stream(DOMAIN, text.as_bytes(), count);
            let mut i = 0;
            let mut leading = true;
            let out = text
                .chars()
                .map(|c| {
                    if !c.is_ascii_digit() {
                        leading &= c == '-' || c == '+';
                        return c;
                    }
                    i += 1;
                    // No new leading zero: `0123` would not be the same kind of literal.
                    let (low, high) = if leading && count > 1 { (1, 9) } else { (0, 9) };
                    leading = false;
                    (b'0' + keyed_digit(&stream, i - 1, low, high)) as char
                })
                .collect();
            Replacement::Number(out)
        }
        Value::Int32(v) => Replacement::Int32(keyed_integer(d, v as i64, 10) as i32),
        Value::Int64(v) => Replacement::Int64(keyed_integer(d, v, 19)),
        _ => return None,
    })
}

/// An integer with the same sign and digit count as `v`, its digits keyed; stays within the
/// range of an integer of `max_digits` digits.
fn keyed_integer(d: &Digester, v: i64, max_digits: usize) -> i64 {
    let magnitude = v.unsigned_abs().to_string();
    let n = magnitude.len();
    let stream = d.stream("digits/int", &v.to_le_bytes(), n);
    let mut out: i64 = 0;
    for (i, b) in stream.iter().enumerate() {
        let digit = if i == 0 && n > 1 {
            // Never a leading zero; at the widest width, a leading digit that cannot overflow.
            let high = if n == max_digits {
                if max_digits == 10 {
                    1
                } else {
                    8
                }
            } else {
                9
            };
            1 + b % high
        } else {
            b % 10
        };
        out = out * 10 + digit as i64;
    }
    if v < 0 {
        -out
    } else {
        out
    }
}

fn mask(
    value: Value<'_>,
    keep_start: usize,
    keep_end: usize,
    mask_char: char,
) -> Option<Replacement> {
    match value {
        Value::Str(s) => {
            let n = s.chars().count();
            Some(Replacement::Str(
                s.chars()
                    .enumerate()
                    .map(|(i, c)| {
                        if i < keep_start || i + keep_end >= n {
                            c
                        } else {
                            mask_char
                        }
                    })
                    .collect(),
            ))
        }
        Value::Bytes(b) => {
            let fill = if mask_char.is_ascii() {
                mask_char as u8
            } else {
                b'*'
            };
            let n = b.len();
            Some(Replacement::Bytes(
                b.iter()
                    .enumerate()
                    .map(|(i, &c)| {
                        if i < keep_start || i + keep_end >= n {
                            c
                        } else {
                            fill
                        }
                    })
                    .collect(),
            ))
        }
        _ => None,
    }
}

fn shift_days(d: &Digester, value: &[u8], max_days: u32) -> i64 {
    let max = max_days.max(1) as u64;
    let r = u64_of(&d.digest("date_shift", &[value])) % (2 * max);
    let r = r as i64;
    if r < max as i64 {
        -(r + 1)
    } else {
        r - max as i64 + 1
    }
}

fn date_shift(d: &Digester, value: Value<'_>, max_days: u32) -> Option<Replacement> {
    match value {
        Value::DateTime(ms) => {
            let days = shift_days(d, &ms.to_le_bytes(), max_days);
            Some(Replacement::DateTime(ms.saturating_add(days * 86_400_000)))
        }
        Value::Str(s) => match parse_text_date(s)? {
            TextDate::Zero => Some(Replacement::Unchanged),
            TextDate::Date { year, month, day } => {
                let days = shift_days(d, &s.as_bytes()[..10], max_days);
                shift_text_date(s, year, month, day, days).map(Replacement::Str)
            }
        },
        _ => None,
    }
}
