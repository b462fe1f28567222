//! Table-driven text encodings for digests (hex, base32, base64url), written out to avoid a
//! dependency. Every encoder appends to a caller's buffer and writes only the characters asked
//! for, so truncated digests cost nothing extra.

const HEX: &[u8; 16] = b"0123456789abcdef";
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The two lower-case hex characters of every byte value.
static HEX_PAIRS: [[u8; 2]; 256] = {
    let mut table = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = [HEX[i >> 4], HEX[i & 15]];
        i += 1;
    }
    table
};

/// Appends the first `chars` lower-case hex characters of `bytes` (all of them when `chars`
/// is larger) to `out`.
pub(crate) fn hex_to(bytes: &[u8], chars: usize, out: &mut Vec<u8>) {
    let chars = chars.min(bytes.len() * 2);
    // Up to 64 bytes at a time through a stack buffer: one copy into `out` per 128
    // characters, not one per pair.
    let mut buf = [0u8; 128];
    let mut left = chars;
    for chunk in bytes[..chars.div_ceil(2)].chunks(64) {
        let take = left.min(2 * chunk.len());
        let end = hex_into(chunk, take, &mut buf, 0);
        out.extend_from_slice(&buf[..end]);
        left -= take;
    }
}

/// Writes the first `chars` lower-case hex characters of `bytes` (all of them when `chars` is
/// larger) into `buf` from `at` and returns where they end: four bytes at a time ([`hex8`]),
/// the last few a pair at a time. An odd count writes one character more, past the end, to
/// be overwritten or ignored. Writes nothing (returns `at`) when `buf` has no room for the
/// whole pairs from `at` (callers size their buffers for it).
pub(crate) fn hex_into(bytes: &[u8], chars: usize, buf: &mut [u8], at: usize) -> usize {
    let chars = chars.min(bytes.len() * 2);
    let bytes = &bytes[..chars.div_ceil(2)];
    let Some(room) = buf.get_mut(at..at + 2 * bytes.len()) else {
        return at;
    };
    let (groups, rest) = bytes.as_chunks::<4>();
    let (room_groups, room_rest) = room.split_at_mut(8 * groups.len());
    for (group, out) in groups.iter().zip(room_groups.chunks_exact_mut(8)) {
        out.copy_from_slice(&hex8(*group));
    }
    for (pair, &b) in room_rest.chunks_exact_mut(2).zip(rest) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(b)]);
    }
    at + chars
}

/// The eight lower-case hex characters of four bytes, computed in a `u64`: each nibble
/// spread into a byte of its own (in order), then `'0' + n`, plus 39 more where `n > 9`
/// (`'a' - '0' - 10`), which never carries between bytes.
#[inline]
fn hex8(bytes: [u8; 4]) -> [u8; 8] {
    let mut n = u64::from(u32::from_be_bytes(bytes));
    n = ((n & 0xFFFF_0000) << 16) | (n & 0x0000_FFFF);
    n = ((n & 0x0000_FF00_0000_FF00) << 8) | (n & 0x0000_00FF_0000_00FF);
    n = ((n & 0x00F0_00F0_00F0_00F0) << 4) | (n & 0x000F_000F_000F_000F);
    let letters = ((n + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    (n + 0x3030_3030_3030_3030 + letters * 39).to_be_bytes()
}

/// Lower-case hex of `bytes`.
#[cfg(test)]
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = Vec::new();
    hex_to(bytes, usize::MAX, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends at most `chars` characters of the unpadded RFC 4648 encoding of `bytes` with `BITS`
/// bits per character from `alphabet`.
fn encode_bits_to<const BITS: u32>(bytes: &[u8], alphabet: &[u8], chars: usize, out: &mut Vec<u8>) {
    let mask = (1u32 << BITS) - 1;
    let mut left = chars;
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | b as u32;
        bits += 8;
        while bits >= BITS {
            if left == 0 {
                return;
            }
            bits -= BITS;
            out.push(alphabet[((buffer >> bits) & mask) as usize]);
            left -= 1;
        }
    }
    if bits > 0 && left > 0 {
        out.push(alphabet[((buffer << (BITS - bits)) & mask) as usize]);
    }
}

/// Appends at most `chars` characters of unpadded lower-case RFC 4648 base32.
pub(crate) fn base32_to(bytes: &[u8], chars: usize, out: &mut Vec<u8>) {
    encode_bits_to::<5>(bytes, BASE32, chars, out)
}

/// Appends at most `chars` characters of unpadded RFC 4648 base64url.
pub(crate) fn base64url_to(bytes: &[u8], chars: usize, out: &mut Vec<u8>) {
    encode_bits_to::<6>(bytes, BASE64URL, chars, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: fn(&[u8], usize, &mut Vec<u8>), bytes: &[u8], chars: usize) -> String {
        let mut out = Vec::new();
        f(bytes, chars, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn rfc4648_vectors() {
        assert_eq!(hex(b"\x00\xff\x10"), "00ff10");
        assert_eq!(enc(hex_to, b"\x00\xff\x10", 3), "00f");
        assert_eq!(enc(base32_to, b"foobar", 99), "mzxw6ytboi");
        assert_eq!(enc(base32_to, b"foobar", 4), "mzxw");
        assert_eq!(enc(base32_to, b"f", 99), "my");
        assert_eq!(enc(base64url_to, b"foobar", 99), "Zm9vYmFy");
        assert_eq!(enc(base64url_to, b"fo", 99), "Zm8");
        assert_eq!(enc(base64url_to, b"fo", 2), "Zm");
        assert_eq!(enc(base64url_to, &[0xfb, 0xff], 99), "-_8");
    }

    /// `hex_into` writes exactly the first `chars` characters of the plain hex from `at`
    /// (at most one more, for an odd count) and nothing before `at`, for any bytes.
    #[test]
    fn hex_into_is_plain_hex() {
        use proptest::prelude::*;
        let bytes = proptest::collection::vec(any::<u8>(), 0..40);
        proptest!(|(bytes in bytes, chars in 0usize..=90, at in 0usize..=8)| {
            let mut buf = [b'#'; 8 + 80 + 1];
            let end = hex_into(&bytes, chars, &mut buf, at);
            let plain: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let want = &plain.as_bytes()[..chars.min(plain.len())];
            prop_assert_eq!(end, at + want.len());
            prop_assert_eq!(&buf[at..end], want);
            prop_assert!(buf[..at].iter().all(|&b| b == b'#'));
            prop_assert!(buf[end + (want.len() % 2)..].iter().all(|&b| b == b'#'));
        });
    }

    /// `hex_to` appends exactly the first `chars` characters of the plain hex, after what the
    /// buffer held.
    #[test]
    fn hex_to_is_a_prefix_of_plain_hex() {
        let bytes: Vec<u8> = (0..140u32).map(|i| (i * 37 + 5) as u8).collect();
        for len in 0..bytes.len() {
            let plain: String = bytes[..len].iter().map(|b| format!("{b:02x}")).collect();
            for chars in 0..=2 * len + 2 {
                let mut out = b"x@".to_vec();
                hex_to(&bytes[..len], chars, &mut out);
                let want = &plain[..chars.min(plain.len())];
                assert_eq!(out, [&b"x@"[..], want.as_bytes()].concat(), "{len} {chars}");
            }
        }
    }
}
