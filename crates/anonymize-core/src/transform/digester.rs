//! Keyed (or, by explicit opt-in, plain) SHA-256 digests.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::lanes::{compress, compress2};

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::key::KeyMode;

/// Computes keyed (or, by opt-in, plain) digests.
///
/// Keyed, it holds the key's HMAC state: the inner and outer SHA-256 states after the key's
/// ipad and opad blocks are computed once here. A short message (at most 55 bytes with its
/// domain separator: nearly every value) then costs two SHA-256 compressions on copies of
/// those states, one of up to 119 bytes (long e-mail addresses) three, with no buffering;
/// longer ones go through the `hmac` crate (same result).
pub(crate) struct Digester {
    keyed: Option<Hmac<Sha256>>,
    states: Option<KeyStates>,
    id: u64,
}

/// SHA-256 states after the key's ipad and opad blocks.
struct KeyStates {
    inner: [u32; 8],
    outer: [u32; 8],
}

/// SHA-256's initial state.
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Longest message that fits one block with its padding.
const ONE_BLOCK: usize = 55;

fn state_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Pads `block[..len]` as the last block of a message of `total` bytes.
fn pad(block: &mut [u8; 64], len: usize, total: usize) {
    block[len] = 0x80;
    block[56..].copy_from_slice(&((total as u64) * 8).to_be_bytes());
}

impl KeyStates {
    fn new(key: &[u8]) -> KeyStates {
        let mut padded = [0u8; 64];
        if key.len() > 64 {
            padded[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            padded[..key.len()].copy_from_slice(key);
        }
        let block = |x: u8| {
            let mut b = padded;
            b.iter_mut().for_each(|v| *v ^= x);
            b
        };
        let (mut inner, mut outer) = (IV, IV);
        compress(&mut inner, &block(0x36));
        compress(&mut outer, &block(0x5c));
        KeyStates { inner, outer }
    }
}

/// Longest message that fits two blocks with its padding.
const TWO_BLOCKS: usize = 2 * 64 - 9;

/// `domain || 0 || parts`, padded, in one or two blocks (when it fits two).
struct Message {
    bytes: [u8; 128],
    blocks: usize,
}

impl Message {
    /// An empty message, to [`fill`](Self::fill) where it lies (a message returned by value
    /// was copied right after its bytes were written: a stalled store-to-load forward).
    #[inline]
    fn empty() -> Message {
        Message {
            bytes: [0; 128],
            blocks: 0,
        }
    }

    /// Writes the padded message, for a hash that has already compressed `prefix` bytes (the
    /// key's ipad block) before it; false (and nothing written) when it needs more than two
    /// blocks.
    #[inline]
    fn fill(&mut self, domain: &str, parts: &[&[u8]], prefix: usize) -> bool {
        let total = domain.len() + 1 + parts.iter().map(|p| p.len()).sum::<usize>();
        if total > TWO_BLOCKS {
            return false;
        }
        let bytes = &mut self.bytes;
        bytes[..domain.len()].copy_from_slice(domain.as_bytes());
        let mut at = domain.len() + 1;
        for p in parts {
            bytes[at..at + p.len()].copy_from_slice(p);
            at += p.len();
        }
        self.blocks = if total <= ONE_BLOCK { 1 } else { 2 };
        let end = 64 * self.blocks;
        bytes[total] = 0x80;
        bytes[end - 8..end].copy_from_slice(&(((prefix + total) as u64) * 8).to_be_bytes());
        true
    }

    /// Compresses the message's blocks into `state`.
    #[inline]
    fn compress_into(&self, state: &mut [u32; 8]) {
        let (first, second) = self.bytes.split_at(64);
        compress(state, first.try_into().unwrap_or(&[0; 64]));
        if self.blocks == 2 {
            compress(state, second.try_into().unwrap_or(&[0; 64]));
        }
    }
}

/// The digest of a 32-byte inner hash from the key's outer state: HMAC's second hash.
#[inline]
fn outer_hash(outer: &[u32; 8], inner: &[u32; 8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    for (chunk, word) in block.chunks_exact_mut(4).zip(inner) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    pad(&mut block, 32, 64 + 32);
    let mut state = *outer;
    compress(&mut state, &block);
    state_bytes(&state)
}

/// The 64 bytes of `bytes` from `at` (0 or 64).
#[inline]
fn block_at(bytes: &[u8; 128], at: usize) -> &[u8; 64] {
    let (first, second) = bytes.split_at(64);
    let block = if at == 0 { first } else { second };
    block.try_into().unwrap_or(&[0; 64])
}

/// One message's digest in progress, for [`Digester::digest_pair`]: its padded blocks, then
/// (keyed) the outer hash's block.
struct Lane<'m> {
    message: &'m Message,
    state: [u32; 8],
    /// Compressions readied so far.
    step: usize,
    /// The outer hash's block, once the message's blocks are done.
    outer: [u8; 64],
    /// Where the next compression's block is: in the message at this offset, or (`None`)
    /// `outer`.
    at: Option<usize>,
}

impl Lane<'_> {
    fn new(message: &Message, start: [u32; 8]) -> Lane<'_> {
        Lane {
            message,
            state: start,
            step: 0,
            outer: [0; 64],
            at: Some(0),
        }
    }

    /// Readies the next compression; false when the digest is complete (`state` holds it).
    /// After the message's blocks, a keyed digest (`outer`: the key's outer state) takes its
    /// inner hash as the outer hash's block.
    #[inline]
    fn ready(&mut self, outer: Option<&[u32; 8]>) -> bool {
        let step = self.step;
        self.step += 1;
        if step < self.message.blocks {
            self.at = Some(64 * step);
            return true;
        }
        let Some(outer) = outer.filter(|_| step == self.message.blocks) else {
            return false;
        };
        for (chunk, word) in self.outer.chunks_exact_mut(4).zip(&self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        pad(&mut self.outer, 32, 64 + 32);
        self.state = *outer;
        self.at = None;
        true
    }
}

/// The block a lane readied (its fields passed apart, so its state can be borrowed beside).
#[inline]
fn lane_block<'a>(message: &'a Message, outer: &'a [u8; 64], at: Option<usize>) -> &'a [u8; 64] {
    match at {
        Some(at) => block_at(&message.bytes, at),
        None => outer,
    }
}

/// Source of [`Digester::id`]s.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Digester {
    pub(crate) fn new(mode: &KeyMode) -> Digester {
        let keyed = match mode {
            // HMAC accepts keys of any length: this cannot fail.
            KeyMode::Keyed(key) => {
                Some(Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key"))
            }
            KeyMode::Unkeyed => None,
        };
        let states = match mode {
            KeyMode::Keyed(key) => Some(KeyStates::new(key.as_bytes())),
            KeyMode::Unkeyed => None,
        };
        Digester {
            keyed,
            states,
            id: NEXT_ID.fetch_add(1, Relaxed),
        }
    }

    /// A number no other digester of this process has: memos of digests are tagged with it,
    /// so results of one key are never served for another.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn is_keyed(&self) -> bool {
        self.keyed.is_some()
    }

    /// HMAC(key, domain || 0 || parts...) or, unkeyed, SHA-256 of the same bytes.
    pub(crate) fn digest(&self, domain: &str, parts: &[&[u8]]) -> [u8; 32] {
        // Nearly every value: a message of at most two blocks, compressed from the key's
        // precomputed states (after the key's ipad block the message is 64 bytes longer).
        let prefix = if self.states.is_some() { 64 } else { 0 };
        let mut message = Message::empty();
        if message.fill(domain, parts, prefix) {
            return match &self.states {
                Some(keys) => {
                    let mut inner = keys.inner;
                    message.compress_into(&mut inner);
                    outer_hash(&keys.outer, &inner)
                }
                None => {
                    let mut state = IV;
                    message.compress_into(&mut state);
                    state_bytes(&state)
                }
            };
        }
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

    /// [`digest`](Self::digest) of two messages, `(domain, parts)` each: the same results,
    /// computed two lanes at a time ([`compress2`]) when both fit two blocks.
    pub(crate) fn digest2(
        &self,
        (domain_a, parts_a): (&str, &[&[u8]]),
        (domain_b, parts_b): (&str, &[&[u8]]),
    ) -> ([u8; 32], [u8; 32]) {
        let prefix = if self.states.is_some() { 64 } else { 0 };
        let (mut a, mut b) = (Message::empty(), Message::empty());
        if a.fill(domain_a, parts_a, prefix) && b.fill(domain_b, parts_b, prefix) {
            return self.digest_pair(&a, &b);
        }
        (
            self.digest(domain_a, parts_a),
            self.digest(domain_b, parts_b),
        )
    }

    /// The digests of two filled messages: the same as
    /// [`digest`](Self::digest) of each, their compressions two at a time ([`compress2`]).
    fn digest_pair(&self, a: &Message, b: &Message) -> ([u8; 32], [u8; 32]) {
        let (start, outer) = match &self.states {
            Some(keys) => (keys.inner, Some(&keys.outer)),
            None => (IV, None),
        };
        let (mut a, mut b) = (Lane::new(a, start), Lane::new(b, start));
        loop {
            match (a.ready(outer), b.ready(outer)) {
                (true, true) => compress2(
                    &mut a.state,
                    lane_block(a.message, &a.outer, a.at),
                    &mut b.state,
                    lane_block(b.message, &b.outer, b.at),
                ),
                (true, false) => compress(&mut a.state, lane_block(a.message, &a.outer, a.at)),
                (false, true) => compress(&mut b.state, lane_block(b.message, &b.outer, b.at)),
                (false, false) => break,
            }
        }
        (state_bytes(&a.state), state_bytes(&b.state))
    }

    /// A keyed pseudo-random function of a short fixed-length message (`domain || 0 || parts`
    /// at most 55 bytes, always the same length for one caller): one SHA-256 compression from
    /// the key's inner HMAC state (from the SHA-256 initial state when unkeyed). Half the cost
    /// of [`digest`](Self::digest); for the rounds of the integer permutation, where messages
    /// have a fixed length (so length extension does not apply). Longer messages fall back to
    /// [`digest`](Self::digest).
    pub(crate) fn prf(&self, domain: &str, parts: &[&[u8]]) -> [u8; 32] {
        let (mut state, prefix) = match &self.states {
            Some(keys) => (keys.inner, 64),
            None => (IV, 0),
        };
        let mut message = Message::empty();
        if message.fill(domain, parts, prefix) && message.blocks == 1 {
            message.compress_into(&mut state);
            state_bytes(&state)
        } else {
            self.digest(domain, parts)
        }
    }

    /// Like [`digest`](Self::digest), but unkeyed it is SHA-256 of the value alone: the
    /// reference behaviour of `hash` and `hash_email` (`mode: per_part`) without a key.
    pub(crate) fn reference_digest(&self, domain: &str, value: &[u8]) -> [u8; 32] {
        if self.keyed.is_some() {
            self.digest(domain, &[value])
        } else if value.len() <= ONE_BLOCK {
            let mut block = [0u8; 64];
            block[..value.len()].copy_from_slice(value);
            pad(&mut block, value.len(), value.len());
            let mut state = IV;
            compress(&mut state, &block);
            state_bytes(&state)
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
        // Two blocks at a time while two are needed: they are independent digests.
        while left > 32 {
            let next = counter.wrapping_add(1);
            let (first, second) = self.digest2(
                (domain, &[value, &counter.to_le_bytes()]),
                (domain, &[value, &next.to_le_bytes()]),
            );
            out.extend_from_slice(&first);
            let take = (left - 32).min(32);
            out.extend_from_slice(&second[..take]);
            left -= 32 + take;
            counter = next.wrapping_add(1);
        }
        if left > 0 {
            let block = self.stream_block(domain, value, counter);
            out.extend_from_slice(&block[..left]);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Key;

    /// The one-block paths give exactly what the `hmac` and `sha2` crates give.
    #[test]
    fn fast_paths_match_the_crates() {
        let message: Vec<u8> = (0..140u32).map(|i| (i * 7 + 3) as u8).collect();
        for key_len in [16usize, 55, 63, 64, 65, 200] {
            let key: Vec<u8> = (0..key_len).map(|i| (i * 13 + 1) as u8 | 0x21).collect();
            let keyed = Digester::new(&KeyMode::Keyed(Key::from_bytes(&key).unwrap()));
            let unkeyed = Digester::new(&KeyMode::Unkeyed);
            for len in 0..message.len() {
                let (a, b) = message[..len].split_at(len / 3);
                let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
                mac.update(b"dom\0");
                mac.update(&message[..len]);
                let want: [u8; 32] = mac.finalize().into_bytes().into();
                assert_eq!(
                    keyed.digest("dom", &[a, b]),
                    want,
                    "key {key_len}, len {len}"
                );
                let want: [u8; 32] = Sha256::new()
                    .chain_update(b"dom\0")
                    .chain_update(&message[..len])
                    .finalize()
                    .into();
                assert_eq!(unkeyed.digest("dom", &[a, b]), want, "len {len}");
                let want: [u8; 32] = Sha256::digest(&message[..len]).into();
                assert_eq!(unkeyed.reference_digest("dom", &message[..len]), want);
            }
        }
    }

    /// Every short-message path gives what the `hmac` and `sha2` crates give, over random
    /// keys (shorter and longer than a block), domains and messages of 0 to 200 bytes in up
    /// to three parts: `digest` keyed and not, `prf`, `reference_digest`.
    #[test]
    fn short_paths_match_the_crates() {
        use proptest::prelude::*;
        let key = proptest::collection::vec(0x21u8..0x7f, 16..100);
        let message = proptest::collection::vec(any::<u8>(), 0..200);
        proptest!(|(key in key, message in message, domain in "[a-z/_]{0,24}", cuts: (u8, u8))| {
            let (a, rest) = message.split_at(usize::from(cuts.0) % (message.len() + 1));
            let (b, c) = rest.split_at(usize::from(cuts.1) % (rest.len() + 1));
            let parts: [&[u8]; 3] = [a, b, c];
            let keyed = Digester::new(&KeyMode::Keyed(Key::from_bytes(&key).unwrap()));
            let unkeyed = Digester::new(&KeyMode::Unkeyed);
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
            mac.update(domain.as_bytes());
            mac.update(&[0]);
            mac.update(&message);
            let want: [u8; 32] = mac.finalize().into_bytes().into();
            prop_assert_eq!(keyed.digest(&domain, &parts), want);
            let plain: [u8; 32] = Sha256::new()
                .chain_update(domain.as_bytes())
                .chain_update([0])
                .chain_update(&message)
                .finalize()
                .into();
            prop_assert_eq!(unkeyed.digest(&domain, &parts), plain);
            let whole: [u8; 32] = Sha256::digest(&message).into();
            prop_assert_eq!(unkeyed.reference_digest(&domain, &message), whole);
            prop_assert_eq!(keyed.reference_digest(&domain, &message), want);
            // `prf`: the inner hash alone while the message fits one block after the ipad.
            // (A key longer than a block is hashed first.)
            let block_key = if key.len() > 64 { Sha256::digest(&key).to_vec() } else { key.clone() };
            let mut ipad = [0x36u8; 64];
            ipad.iter_mut().zip(&block_key).for_each(|(p, k)| *p ^= k);
            let one_block = domain.len() + 1 + message.len() <= ONE_BLOCK;
            let inner: [u8; 32] = Sha256::new()
                .chain_update(ipad)
                .chain_update(domain.as_bytes())
                .chain_update([0])
                .chain_update(&message)
                .finalize()
                .into();
            prop_assert_eq!(keyed.prf(&domain, &parts), if one_block { inner } else { want });
            prop_assert_eq!(unkeyed.prf(&domain, &parts), plain);
        });
    }

    /// Two messages' digests computed in two lanes are their digests one at a time, for
    /// every pair of lengths (one or two blocks, or longer: computed one at a time), keyed
    /// or not; and the keyed stream, computed two blocks at a time, is its blocks one by one.
    #[test]
    fn pairs_match_one_at_a_time() {
        use proptest::prelude::*;
        let keyed = Digester::new(&KeyMode::Keyed(
            Key::from_bytes(b"pair-key-0123456789").unwrap(),
        ));
        let unkeyed = Digester::new(&KeyMode::Unkeyed);
        let bytes = proptest::collection::vec(any::<u8>(), 0..140);
        proptest!(|(a in bytes.clone(), b in bytes, with_key: bool, len in 0usize..200)| {
            let d = if with_key { &keyed } else { &unkeyed };
            let want = (d.digest("da", &[&a]), d.digest("db", &[&b, b"x"]));
            prop_assert_eq!(d.digest2(("da", &[&a]), ("db", &[&b, b"x"])), want);
            let mut stream = Vec::new();
            d.stream_to("s", &a, len, &mut stream);
            let mut one_by_one = Vec::new();
            for counter in 0u32.. {
                if one_by_one.len() >= len {
                    break;
                }
                one_by_one.extend_from_slice(&d.stream_block("s", &a, counter));
            }
            one_by_one.truncate(len);
            prop_assert_eq!(stream, one_by_one);
        });
    }

    /// A timing loop (it asserts nothing about time, only that both ways agree): two keyed
    /// digests of short messages one after the other, and the same two as a pair. Built in
    /// release test builds only; run it with
    /// `cargo test --release -p anonymize-core --lib digester::tests::pair_timing -- --ignored --nocapture`.
    #[test]
    #[cfg(not(debug_assertions))]
    #[ignore = "a timing loop: run by hand in release"]
    fn pair_timing() {
        use std::hint::black_box;
        let d = Digester::new(&KeyMode::Keyed(
            Key::from_bytes(b"pair-key-0123456789").unwrap(),
        ));
        let n = 1_000_000u32;
        let fastest = |step: &mut dyn FnMut(u32)| {
            (0..5)
                .map(|_| {
                    let t = std::time::Instant::now();
                    for i in 0..n {
                        step(i);
                    }
                    t.elapsed().as_nanos() as f64 / f64::from(n)
                })
                .fold(f64::INFINITY, f64::min)
        };
        let mut sink = 0u8;
        let singles = fastest(&mut |i| {
            let x = i.to_le_bytes();
            sink ^= d.digest("hash_email/address", &[b"someone.else@example.com", &x])[0];
            sink ^= d.digest("digits", &[b"+44 20 7946 0958", &x])[0];
        });
        let pairs = fastest(&mut |i| {
            let x = i.to_le_bytes();
            let (da, db) = d.digest2(
                ("hash_email/address", &[b"someone.else@example.com", &x]),
                ("digits", &[b"+44 20 7946 0958", &x]),
            );
            sink ^= da[0] ^ db[0];
        });
        let (e, p) = (b"someone.else@example.com", b"+44 20 7946 0958");
        assert_eq!(
            d.digest2(("hash_email/address", &[e]), ("digits", &[p])),
            (
                d.digest("hash_email/address", &[e]),
                d.digest("digits", &[p])
            )
        );
        println!(
            "two keyed digests one at a time {singles:.1} ns; as a pair {pairs:.1} ns ({:.2}); {}",
            pairs / singles,
            black_box(sink)
        );
    }

    /// `prf` is SHA-256 over the key's ipad block and the message: one compression each.
    #[test]
    fn prf_is_inner_hash() {
        let key = b"prf-test-key-0123456789";
        let keyed = Digester::new(&KeyMode::Keyed(Key::from_bytes(key).unwrap()));
        let mut ipad = [0x36u8; 64];
        ipad.iter_mut().zip(key).for_each(|(p, k)| *p ^= k);
        let want: [u8; 32] = Sha256::new()
            .chain_update(ipad)
            .chain_update(b"dom\0abc")
            .finalize()
            .into();
        assert_eq!(keyed.prf("dom", &[b"ab", b"c"]), want);
        let unkeyed = Digester::new(&KeyMode::Unkeyed);
        let want: [u8; 32] = Sha256::digest(b"dom\0abc").into();
        assert_eq!(unkeyed.prf("dom", &[b"abc"]), want);
    }
}
