//! `digits`: every decimal digit, of any script, replaced by a keyed digit of the same script.

use super::digester::Stream;
use super::{Digester, Example, Spec, Transform, Written};
use crate::value::Value;

pub(super) const SPEC: Spec = Spec {
    name: "digits",
    params: &[],
    parse: |_| Ok(Transform::Digits),
    does: "replaces every decimal digit (any script: ASCII, Arabic-Indic, full-width...) with a \
           keyed digit of the same script, keeps all other characters; integers keep sign and \
           digit count",
    params_doc: "",
    examples: &[
        Example {
            rule: "digits",
            input: Value::Str("+44 20 7946-0958"),
            keyed: true,
        },
        Example {
            rule: "digits",
            input: Value::Str("٠١٢٣٤٥٦٧٨٩"),
            keyed: true,
        },
    ],
};

/// The zero of every run of ten Unicode decimal digits (general category Nd), sorted. Each run
/// holds the digits 0 to 9 in order. Unicode 16.0.
const DIGIT_ZEROS: &[u32] = &[
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x10D40, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0,
    0x11650, 0x116C0, 0x116D0, 0x116DA, 0x11730, 0x118E0, 0x11950, 0x11BF0, 0x11C50, 0x11D50,
    0x11DA0, 0x11F50, 0x16130, 0x16A60, 0x16AC0, 0x16B50, 0x16D70, 0x1CCF0, 0x1D7CE, 0x1D7D8,
    0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E5F1, 0x1E950, 0x1FBF0,
];

/// The zero of `c`'s run of decimal digits, when `c` is a decimal digit.
fn digit_zero(c: char) -> Option<u32> {
    let c = c as u32;
    let i = DIGIT_ZEROS.partition_point(|&z| z <= c);
    let zero = *DIGIT_ZEROS.get(i.checked_sub(1)?)?;
    (c < zero + 10).then_some(zero)
}

const DOMAIN: &str = "digits";

/// Applies `digits` (`None`: not text or a number).
pub(super) fn apply(d: &Digester, value: Value<'_>, out: &mut Vec<u8>) -> Option<Written> {
    Some(match value {
        // The common case, byte by byte: the same digits as the character loop below.
        Value::Str(s) if s.is_ascii() => {
            // Copied whole, then each digit replaced in place.
            let start = out.len();
            out.extend_from_slice(s.as_bytes());
            replace_ascii_digits(d, s.as_bytes(), &mut out[start..]);
            Written::Str
        }
        Value::Str(s) => {
            let mut stream = Stream::new(d, DOMAIN, s.as_bytes());
            out.reserve(s.len());
            for c in s.chars() {
                if c.is_ascii() {
                    let b = c as u8;
                    out.push(if b.is_ascii_digit() {
                        b'0' + stream.next_byte() % 10
                    } else {
                        b
                    });
                } else if let Some(zero) = digit_zero(c) {
                    let digit =
                        char::from_u32(zero + u32::from(stream.next_byte() % 10)).unwrap_or(c);
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(digit.encode_utf8(&mut buf).as_bytes());
                } else {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
            Written::Str
        }
        Value::Number(text) => {
            let count = text.bytes().filter(u8::is_ascii_digit).count();
            let mut stream = Stream::new(d, DOMAIN, text.as_bytes());
            let mut leading = true;
            for b in text.bytes() {
                if !b.is_ascii_digit() {
                    leading &= b == b'-' || b == b'+';
                    out.push(b);
                    continue;
                }
                // No new leading zero: `0123` would not be the same kind of literal.
                let (low, high) = if leading && count > 1 { (1, 9) } else { (0, 9) };
                leading = false;
                out.push(b'0' + low + stream.next_byte() % (high - low + 1));
            }
            Written::Number
        }
        Value::Int32(v) => Written::Int32(keyed_integer(d, v as i64, 10) as i32),
        Value::Int64(v) => Written::Int64(keyed_integer(d, v, 19)),
        _ => return None,
    })
}

/// `b'0' + k % 10` for every byte `k` of the keyed stream.
static DIGIT_OF: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut k = 0;
    while k < 256 {
        table[k] = b'0' + (k % 10) as u8;
        k += 1;
    }
    table
};

/// Replaces each ASCII digit of `text` (a copy of `value`) with the keyed digit the stream of
/// `value` gives it: the `i`-th digit takes the stream's byte `i` modulo 10, as
/// [`Stream::next_byte`] would give them, but a block of the stream at a time, computed only
/// when a digit needs it.
fn replace_ascii_digits(d: &Digester, value: &[u8], text: &mut [u8]) {
    let mut digits = text.iter_mut().filter(|b| b.is_ascii_digit()).peekable();
    let mut counter = 0u32;
    while digits.peek().is_some() {
        let block = d.stream_block(DOMAIN, value, counter);
        // The block first: when it is used up, `zip` stops before taking another digit.
        for (k, digit) in block.into_iter().zip(digits.by_ref()) {
            *digit = DIGIT_OF[usize::from(k)];
        }
        counter = counter.wrapping_add(1);
    }
}

/// An integer with the same sign and digit count as `v`, its digits keyed; stays within the
/// range of an integer of `max_digits` digits.
fn keyed_integer(d: &Digester, v: i64, max_digits: usize) -> i64 {
    let magnitude = v.unsigned_abs();
    let mut n = 1;
    while n < 20 && magnitude >= 10u64.pow(n as u32) {
        n += 1;
    }
    // At most 19 digits: one block of the stream is enough.
    let block = d.stream_block("digits/int", &v.to_le_bytes(), 0);
    let mut out: i64 = 0;
    for (i, b) in block[..n].iter().enumerate() {
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
        out = out.wrapping_mul(10).wrapping_add(digit as i64);
    }
    if v < 0 {
        -out
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block-at-a-time ASCII path gives what the byte-at-a-time stream gives (its plain
    /// definition), for any ASCII text: no digit, a few, more than one block's worth.
    #[test]
    fn ascii_digits_are_the_streams() {
        use crate::key::{Key, KeyMode};
        use proptest::prelude::*;
        let d = Digester::new(&KeyMode::Keyed(
            Key::from_bytes(b"digits-key-0123456789").unwrap(),
        ));
        // Text with up to 100 digits and other characters between them.
        let text = proptest::collection::vec(prop_oneof![3 => "[0-9]", 1 => "[ +()a-]"], 0..120)
            .prop_map(|chars| chars.concat());
        proptest!(|(text in text)| {
            let mut stream = Stream::new(&d, DOMAIN, text.as_bytes());
            let want: Vec<u8> = text
                .bytes()
                .map(|b| if b.is_ascii_digit() { b'0' + stream.next_byte() % 10 } else { b })
                .collect();
            let mut got = text.clone().into_bytes();
            replace_ascii_digits(&d, text.as_bytes(), &mut got);
            prop_assert_eq!(got, want);
        });
    }

    #[test]
    fn digit_table_is_unicode_numeric_runs_of_ten() {
        for &zero in DIGIT_ZEROS {
            for k in 0..10 {
                let c = char::from_u32(zero + k).unwrap();
                assert!(c.is_numeric(), "U+{:04X}", zero + k);
                assert_eq!(digit_zero(c), Some(zero));
            }
        }
        assert!(DIGIT_ZEROS.windows(2).all(|w| w[0] + 10 <= w[1]));
        for c in ['a', '½', '²', 'Ⅻ', '\u{65f}', '\u{66a}', ' '] {
            assert_eq!(digit_zero(c), None, "{c}");
        }
        assert_eq!(digit_zero('٣'), Some(0x660));
        assert_eq!(digit_zero('３'), Some(0xFF10));
    }
}
