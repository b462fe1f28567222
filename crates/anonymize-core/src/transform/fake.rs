//! `fake`: a realistic value of a kind, seeded by HMAC(key, kind, value), so one person gets
//! one fake everywhere.
//!
//! The seed is the ChaCha20 generator `rand_chacha` makes from the keyed digest, computed one
//! block at a time ([`Keystream`]). Names, e-mail addresses and phone numbers (the common
//! kinds) are picked from the `fake` crate's static tables directly into the output buffer,
//! drawing from the generator exactly as the crate's own generators do; the other kinds go
//! through the crate.

use fake::locales::{Data, AR_SA, EN, FR_FR, JA_JP, PT_BR, ZH_CN, ZH_TW};
use fake::Fake;
use rand::seq::SliceRandom;
use rand::Rng;

use super::keystream::Keystream;
use super::{text_of, Digester, Example, Spec, Transform, Written};
use crate::encoding::hex_to;
use crate::parse_ctx::{Params, RulesError};
use crate::suggest::did_you_mean;
use crate::value::Value;

pub(super) const SPEC: Spec = Spec {
    name: "fake",
    params: &["kind", "locale"],
    parse,
    does: "realistic value of `kind`, seeded by HMAC(key, kind, value), so one person gets one \
           fake everywhere (fake emails carry 12 keyed hex, so they stay unique; their domains \
           are the reserved example.com/net/org)",
    params_doc: "`kind` (required): first_name, last_name, name, email, phone_number, username, \
                 company, street_address, city, postcode, country, ipv4, ipv6, user_agent, \
                 sentence, paragraph, uuid; `locale` en, fr_fr, pt_br, zh_cn, zh_tw, ja_jp, ar_sa",
    examples: &[
        Example {
            rule: "{transform: fake, kind: first_name}",
            input: Value::Str("Alice"),
            keyed: true,
        },
        Example {
            rule: "{transform: fake, kind: email}",
            input: Value::Str("alice@example.com"),
            keyed: true,
        },
    ],
};

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

            /// The digest domain of the kind's keyed tag (emails and usernames carry one).
            fn tag_domain(self) -> Option<&'static str> {
                match self {
                    FakeKind::Email => Some("fake/email/tag"),
                    FakeKind::Username => Some("fake/username/tag"),
                    _ => None,
                }
            }

            /// The digest domain of the kind's seed.
            fn domain(self) -> &'static str {
                match self { $(FakeKind::$variant => concat!("fake/", $name)),+ }
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

fn parse(p: &Params<'_>) -> Result<Transform, RulesError> {
    let kind = p.string("kind")?.ok_or_else(|| {
        p.error_here(format!(
            "`fake` needs `kind:`, one of: {}",
            FakeKind::NAMES.join(", ")
        ))
    })?;
    let kind = FakeKind::from_name(&kind).ok_or_else(|| {
        p.err(
            "kind",
            format!(
                "unknown fake kind `{kind}`{}; expected one of: {}",
                did_you_mean(&kind, FakeKind::NAMES),
                FakeKind::NAMES.join(", ")
            ),
        )
    })?;
    let locale = match p.string("locale")? {
        None => FakeLocale::En,
        Some(l) => FakeLocale::from_name(&l).ok_or_else(|| {
            p.err(
                "locale",
                format!(
                    "unknown locale `{l}`{}; expected one of: {}",
                    did_you_mean(&l, FakeLocale::NAMES),
                    FakeLocale::NAMES.join(", ")
                ),
            )
        })?,
    };
    Ok(Transform::Fake { kind, locale })
}

/// Applies `fake` (`None`: not text).
pub(super) fn apply(
    d: &Digester,
    value: Value<'_>,
    kind: FakeKind,
    locale: FakeLocale,
    out: &mut Vec<u8>,
) -> Option<Written> {
    let text = text_of(value)?;
    let value = text.as_bytes();
    // The seed's digest and, for emails and usernames, the tag's: two independent digests,
    // computed together.
    let (seed, tag) = match kind.tag_domain() {
        Some(tag_domain) => d.digest2((kind.domain(), &[value]), (tag_domain, &[value])),
        None => (d.digest(kind.domain(), &[value]), [0; 32]),
    };
    let mut rng = Keystream::from_seed(seed);
    let rng = &mut rng;
    match locale {
        FakeLocale::En => generate(EN, kind, &tag, rng, out),
        FakeLocale::FrFr => generate(FR_FR, kind, &tag, rng, out),
        FakeLocale::PtBr => generate(PT_BR, kind, &tag, rng, out),
        FakeLocale::ZhCn => generate(ZH_CN, kind, &tag, rng, out),
        FakeLocale::ZhTw => generate(ZH_TW, kind, &tag, rng, out),
        FakeLocale::JaJp => generate(JA_JP, kind, &tag, rng, out),
        FakeLocale::ArSa => generate(AR_SA, kind, &tag, rng, out),
    }
    Some(Written::Str)
}

/// One entry of a static table, drawn like the crate's generators draw it.
fn pick(table: &'static [&'static str], rng: &mut Keystream) -> &'static str {
    table.choose(rng).copied().unwrap_or_default()
}

/// A locale's name template with `{FirstName}` and `{LastName}` filled in.
fn write_template(template: &str, first: &str, last: &str, out: &mut Vec<u8>) {
    let mut rest = template;
    while let Some(pos) = rest.find('{') {
        out.extend_from_slice(&rest.as_bytes()[..pos]);
        rest = &rest[pos..];
        if let Some(after) = rest.strip_prefix("{FirstName}") {
            out.extend_from_slice(first.as_bytes());
            rest = after;
        } else if let Some(after) = rest.strip_prefix("{LastName}") {
            out.extend_from_slice(last.as_bytes());
            rest = after;
        } else {
            out.push(b'{');
            rest = &rest[1..];
        }
    }
    out.extend_from_slice(rest.as_bytes());
}

fn push(out: &mut Vec<u8>, s: String) {
    out.extend_from_slice(s.as_bytes());
}

/// Writes a fake of `kind` drawn from `rng`; `tag` is the keyed digest of the value whose
/// first hex characters follow the readable part of emails and usernames.
fn generate<L: Data + Copy>(
    locale: L,
    kind: FakeKind,
    tag: &[u8; 32],
    rng: &mut Keystream,
    out: &mut Vec<u8>,
) {
    use fake::faker::{address, company, internet, lorem};

    match kind {
        FakeKind::FirstName => out.extend_from_slice(pick(L::NAME_FIRST_NAME, rng).as_bytes()),
        FakeKind::LastName => out.extend_from_slice(pick(L::NAME_LAST_NAME, rng).as_bytes()),
        FakeKind::Name => {
            let first = pick(L::NAME_FIRST_NAME, rng);
            let last = pick(L::NAME_LAST_NAME, rng);
            write_template(L::NAME_TPL, first, last, out);
        }
        FakeKind::Email => {
            // Names from the locale would not be valid in an address everywhere: use English
            // words for the readable part and keyed bits for uniqueness, on reserved domains.
            let first = pick(<EN as Data>::NAME_FIRST_NAME, rng);
            let last = pick(<EN as Data>::NAME_LAST_NAME, rng);
            let tld = ["com", "net", "org"][rng.gen_range(0..3usize)];
            let readable = |s: &str, out: &mut Vec<u8>| {
                out.extend(
                    s.bytes()
                        .filter(|b| b.is_ascii_alphanumeric() || *b == b'.')
                        .map(|b| b.to_ascii_lowercase()),
                )
            };
            readable(first, out);
            out.push(b'.');
            readable(last, out);
            out.push(b'.');
            hex_to(tag, 12, out);
            out.extend_from_slice(b"@example.");
            out.extend_from_slice(tld.as_bytes());
        }
        FakeKind::PhoneNumber => {
            let format = pick(L::PHONE_NUMBER_FORMATS, rng);
            for c in format.chars() {
                match c {
                    '^' => out.push(b'0' + rng.gen_range(1u32..10) as u8),
                    '#' => out.push(b'0' + rng.gen_range(0u32..10) as u8),
                    other => {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                    }
                }
            }
        }
        FakeKind::Username => {
            let base: String = internet::raw::Username(EN).fake_with_rng(rng);
            out.extend_from_slice(base.as_bytes());
            out.push(b'_');
            hex_to(tag, 6, out);
        }
        FakeKind::Company => push(out, company::raw::CompanyName(locale).fake_with_rng(rng)),
        FakeKind::StreetAddress => {
            let number: String = address::raw::BuildingNumber(locale).fake_with_rng(rng);
            let street: String = address::raw::StreetName(locale).fake_with_rng(rng);
            out.extend_from_slice(number.as_bytes());
            out.push(b' ');
            out.extend_from_slice(street.as_bytes());
        }
        FakeKind::City => push(out, address::raw::CityName(locale).fake_with_rng(rng)),
        FakeKind::Postcode => push(out, address::raw::PostCode(locale).fake_with_rng(rng)),
        FakeKind::Country => push(out, address::raw::CountryName(locale).fake_with_rng(rng)),
        FakeKind::Ipv4 => push(out, internet::raw::IPv4(EN).fake_with_rng(rng)),
        FakeKind::Ipv6 => push(out, internet::raw::IPv6(EN).fake_with_rng(rng)),
        FakeKind::UserAgent => push(out, internet::raw::UserAgent(EN).fake_with_rng(rng)),
        FakeKind::Sentence => push(out, lorem::raw::Sentence(EN, 4..10).fake_with_rng(rng)),
        FakeKind::Paragraph => push(out, lorem::raw::Paragraph(EN, 3..6).fake_with_rng(rng)),
        FakeKind::Uuid => {
            let mut b: [u8; 16] = rng.gen();
            b[6] = (b[6] & 0x0f) | 0x40;
            b[8] = (b[8] & 0x3f) | 0x80;
            for (i, range) in [0..4, 4..6, 6..8, 8..10, 10..16].into_iter().enumerate() {
                if i > 0 {
                    out.push(b'-');
                }
                hex_to(&b[range], usize::MAX, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{Key, KeyMode};

    /// Emails and usernames, their seed and tag digests computed together, are what the two
    /// digests computed one at a time give, in every locale.
    #[test]
    fn tagged_kinds_match_their_digests_one_at_a_time() {
        let d = Digester::new(&KeyMode::Keyed(
            Key::from_bytes(b"fake-tag-key-0123456789").unwrap(),
        ));
        for kind in [FakeKind::Email, FakeKind::Username] {
            for i in 0..50 {
                let value = format!("person{i}@example.org");
                let mut got = Vec::new();
                apply(&d, Value::Str(&value), kind, FakeLocale::FrFr, &mut got);
                let tag = d.digest(kind.tag_domain().unwrap(), &[value.as_bytes()]);
                let mut rng = Keystream::from_seed(d.digest(kind.domain(), &[value.as_bytes()]));
                let mut want = Vec::new();
                generate(FR_FR, kind, &tag, &mut rng, &mut want);
                assert_eq!(got, want, "{kind:?} {value}");
            }
        }
    }
}
