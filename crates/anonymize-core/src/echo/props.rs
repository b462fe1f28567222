//! The pre-check never says "no echo" where the exact search of the values finds one.

use super::*;
use proptest::prelude::*;

/// Text from a small alphabet (ASCII letters of both cases, a non-ASCII letter, quotes,
/// backslash, separators), so that originals often occur in values.
const TEXT: &str = "[abcABC é'\"\\\\.@ß]";

fn text(min: usize, max: usize) -> proptest::string::RegexGeneratorStrategy<String> {
    proptest::string::string_regex(&format!("{TEXT}{{{min},{max}}}")).expect("a valid regex")
}

fn flip_case(s: &str, flips: &[bool]) -> String {
    s.chars()
        .zip(flips.iter().cycle())
        .map(|(c, f)| {
            if *f {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            } else {
                c
            }
        })
        .collect()
}

/// A value: random text, or a (case-flipped) original with random text around it,
/// at either border or inside.
fn values(originals: Vec<String>) -> impl Strategy<Value = Vec<String>> {
    let one = (
        any::<prop::sample::Index>(),
        text(0, 4),
        text(0, 4),
        prop::collection::vec(any::<bool>(), 1..6),
        0..4u8,
    )
        .prop_map(move |(i, before, after, flips, shape)| {
            let copy = flip_case(&originals[i.index(originals.len())], &flips);
            match shape {
                0 => format!("{before}{after}"),
                1 => copy,
                2 => format!("{before}{copy}"),
                _ => format!("{before}{copy}{after}"),
            }
        });
    prop::collection::vec(one, 0..5)
}

fn case() -> impl Strategy<Value = (Vec<String>, Vec<String>)> {
    prop::collection::vec(text(3, 9), 1..5)
        .prop_flat_map(|originals| (Just(originals.clone()), values(originals)))
}

fn set_of(originals: &[String]) -> EchoSet {
    let mut set = EchoSet::new(EchoGuard {
        action: EchoAction::Rewrite,
        min_length: SMALLEST_MIN_LENGTH,
    });
    for (i, o) in originals.iter().enumerate() {
        set.record(RuleId(i as u32), o.as_bytes(), Written::Str, b"x");
    }
    set
}

fn exact(set: &EchoSet, values: &[String]) -> bool {
    let mut out = Vec::new();
    values
        .iter()
        .any(|v| set.rewrite(v.as_bytes(), b"", &mut out).is_some())
}

/// `v` as an SQL dump may write it: quoted, `'`, `"` and `\` escaped with a backslash,
/// other characters in Latin-1 (or `?`).
fn encoded(v: &str) -> Vec<u8> {
    let mut out = vec![b'\''];
    for c in v.chars() {
        match c {
            '\'' | '"' | '\\' => out.extend_from_slice(&[b'\\', c as u8]),
            c if (c as u32) < 0x100 => out.push(c as u32 as u8),
            _ => out.push(b'?'),
        }
    }
    out.push(b'\'');
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn pre_check_finds_what_the_exact_search_finds((originals, values) in case()) {
        let mut set = set_of(&originals);
        if exact(&set, &values) {
            prop_assert!(set.may_echo_in(values.iter().map(|v| v.as_bytes())));
        }
        // One span holding all values, separated.
        let joined = values.join("\u{0}");
        if exact(&set, &values) {
            prop_assert!(set.may_echo(joined.as_bytes()));
        }
    }

    #[test]
    fn pre_check_on_encoded_spans((originals, values) in case()) {
        let mut set = set_of(&originals);
        set.set_encoded_spans(true);
        let spans: Vec<Vec<u8>> = values.iter().map(|v| encoded(v)).collect();
        if exact(&set, &values) {
            prop_assert!(set.may_echo_in(spans.iter().map(Vec::as_slice)));
        }
    }

    #[test]
    fn pre_check_on_long_text(
        (originals, values) in case(),
        filler in "[a-zA-Z .]{0,300}",
        at in any::<prop::sample::Index>(),
    ) {
        // Long spans take the SIMD path: an original anywhere in them is found.
        let mut set = set_of(&originals);
        for v in &values {
            let cut = at.index(filler.len() + 1);
            let long = format!("{}{v}{}", &filler[..cut], &filler[cut..]);
            if exact(&set, std::slice::from_ref(&long)) {
                prop_assert!(set.may_echo(long.as_bytes()));
            }
        }
    }
}
