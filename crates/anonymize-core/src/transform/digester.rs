//! Keyed (or, by explicit opt-in, plain) SHA-256 digests.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::key::KeyMode;

/// Computes keyed (or, by opt-in, plain) digests.
///
/// Keyed, it holds the key's HMAC state: the inner and outer SHA-256 states after the key's
/// ipad and opad blocks are computed once here, and each digest clones them (a copy of two
/// 32-byte states and a block buffer) instead of hashing the key again.
pub(crate) struct Digester {
    keyed: Option<Hmac<Sha256>>,
}

impl Digester {
    pub(crate) fn new(mode: &KeyMode) -> Digester {
        let keyed = match mode {
            // HMAC accepts keys of any length: this cannot fail.
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
    /// reference behaviour of `hash` and `hash_email` (`mode: per_part`) without a key.
    pub(crate) fn reference_digest(&self, domain: &str, value: &[u8]) -> [u8; 32] {
        if self.keyed.is_some() {
            self.digest(domain, &[value])
        } else {
            Sha256::digest(value).into()
        }
    }

    /// Block `counter` of the keyed stream for `value`: the stream is the concatenation of
    /// the digests of `value || counter` (little-endian u32) for counter = 0, 1, ...
    pub(crate) fn stream_block(&self, domain: &str, value: &[u8], counter: u32) -> [u8; 32] {
        self.digest(domain, &[value, &counter.to_le_bytes()])
    }

    /// Appends `len` bytes of keyed stream for `value`.
    pub(crate) fn stream_to(&self, domain: &str, value: &[u8], len: usize, out: &mut Vec<u8>) {
        out.reserve(len);
        let mut left = len;
        let mut counter: u32 = 0;
        while left > 0 {
            let block = self.stream_block(domain, value, counter);
            let take = left.min(block.len());
            out.extend_from_slice(&block[..take]);
            left -= take;
            counter = counter.wrapping_add(1);
        }
    }
}

/// Bytes of a keyed stream, one at a time, computing a block only when the previous one is
/// used up (no allocation).
pub(crate) struct Stream<'a> {
    digester: &'a Digester,
    domain: &'a str,
    value: &'a [u8],
    block: [u8; 32],
    used: usize,
    counter: u32,
}

impl<'a> Stream<'a> {
    pub(crate) fn new(digester: &'a Digester, domain: &'a str, value: &'a [u8]) -> Stream<'a> {
        Stream {
            digester,
            domain,
            value,
            block: [0; 32],
            used: 32,
            counter: 0,
        }
    }

    /// The next byte.
    pub(crate) fn next_byte(&mut self) -> u8 {
        if self.used == self.block.len() {
            self.block = self
                .digester
                .stream_block(self.domain, self.value, self.counter);
            self.counter = self.counter.wrapping_add(1);
            self.used = 0;
        }
        self.used += 1;
        self.block[self.used - 1]
    }
}
