//! Small text encodings for digests (hex, base32, base64url), written out to avoid a dependency.

const HEX: &[u8; 16] = b"0123456789abcdef";
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Lower-case hex of `bytes`, appended to `out`.
pub(crate) fn hex_into(bytes: &[u8], out: &mut String) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::new();
    hex_into(bytes, &mut s);
    s
}

/// Unpadded RFC 4648 encoding with `BITS` bits per character from `alphabet`.
fn encode_bits<const BITS: u32>(bytes: &[u8], alphabet: &[u8]) -> String {
    let mask = (1u32 << BITS) - 1;
    let mut out = String::with_capacity(bytes.len() * 8 / BITS as usize + 1);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | b as u32;
        bits += 8;
        while bits >= BITS {
            bits -= BITS;
            out.push(alphabet[((buffer >> bits) & mask) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(alphabet[((buffer << (BITS - bits)) & mask) as usize] as char);
    }
    out
}

/// Unpadded lower-case RFC 4648 base32.
pub(crate) fn base32(bytes: &[u8]) -> String {
    encode_bits::<5>(bytes, BASE32)
}

/// Unpadded RFC 4648 base64url.
pub(crate) fn base64url(bytes: &[u8]) -> String {
    encode_bits::<6>(bytes, BASE64URL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        assert_eq!(hex(b"\x00\xff\x10"), "00ff10");
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
        assert_eq!(base32(b"f"), "my");
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
