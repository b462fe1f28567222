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
#[derive(Clone, Copy)]
pub(crate) struct Message {
    bytes: [u8; 128],
    blocks: usize,
}

impl Message {
    /// An empty message, to [`fill`](Self::fill) where it lies (a message returned by value
    /// was copied right after its bytes were written: a stalled store-to-load forward).
    #[inline]
    pub(crate) const fn empty() -> Message {
        Message {
            bytes: [0; 128],
            blocks: 0,
        }
    }

    /// Writes the padded message, for a hash that has already compressed `prefix` bytes (the
    /// key's ipad block) before it, over whatever the bytes held; false (and nothing written)
    /// when it needs more than two blocks.
    #[inline]
    fn fill(&mut self, domain: &str, parts: &[&[u8]], prefix: usize) -> bool {
        let total = domain.len() + 1 + parts.iter().map(|p| p.len()).sum::<usize>();
        if total > TWO_BLOCKS {
            return false;
        }
        let bytes = &mut self.bytes;
        bytes[..domain.len()].copy_from_slice(domain.as_bytes());
        bytes[domain.len()] = 0;
        let mut at = domain.len() + 1;
        for p in parts {
            bytes[at..at + p.len()].copy_from_slice(p);
            at += p.len();
        }
        self.blocks = if total <= ONE_BLOCK { 1 } else { 2 };
        let end = 64 * self.blocks;
        bytes[total] = 0x80;
        // Zeros up to the length: the message may be filled where another one was.
        bytes[total + 1..end - 8].fill(0);
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

/// Messages waiting to be digested beside another one ([`Digester::queue`]), and their
/// digests once computed, for this thread.
pub(crate) mod ahead {
    use super::{block_at, Digester, Message};
    use std::cell::RefCell;

    /// Most messages waiting at once.
    const MAX: usize = 4;

    /// One waiting message: the digester it is for, the message, its digest once computed.
    #[derive(Clone, Copy)]
    struct Waiting {
        owner: u64,
        message: Message,
        digest: Option<[u8; 32]>,
    }

    const NONE: Waiting = Waiting {
        owner: 0,
        message: Message::empty(),
        digest: None,
    };

    /// The waiting messages and how many there are.
    struct Ahead {
        list: [Waiting; MAX],
        len: usize,
    }

    impl Ahead {
        fn remove(&mut self, i: usize) {
            self.len -= 1;
            self.list[i] = self.list[self.len];
        }
    }

    thread_local! {
        static AHEAD: RefCell<Ahead> = const {
            RefCell::new(Ahead { list: [NONE; MAX], len: 0 })
        };
    }

    /// The same padded message (its blocks compared eight bytes at a time, inline).
    #[inline]
    fn same(a: &Message, b: &Message) -> bool {
        let differ = |x: &[u8; 64], y: &[u8; 64]| {
            x.chunks_exact(8)
                .zip(y.chunks_exact(8))
                .fold(0, |acc, (x, y)| acc | (word(x) ^ word(y)))
        };
        a.blocks == b.blocks
            && differ(block_at(&a.bytes, 0), block_at(&b.bytes, 0)) == 0
            && (a.blocks == 1 || differ(block_at(&a.bytes, 64), block_at(&b.bytes, 64)) == 0)
    }

    /// Eight bytes as a word.
    #[inline]
    fn word(bytes: &[u8]) -> u64 {
        bytes.try_into().map_or(0, u64::from_ne_bytes)
    }

    /// Queues the message `fill` writes for `owner` (nothing when it returns false or the
    /// list is full); `fresh` forgets what was waiting first.
    pub(super) fn queue(owner: u64, fresh: bool, fill: impl FnOnce(&mut Message) -> bool) {
        AHEAD.with(|ahead| {
            let Ok(mut ahead) = ahead.try_borrow_mut() else {
                return;
            };
            if fresh {
                ahead.len = 0;
            }
            let len = ahead.len;
            let Some(slot) = ahead.list.get_mut(len) else {
                return;
            };
            slot.owner = owner;
            slot.digest = None;
            if fill(&mut slot.message) {
                ahead.len += 1;
            }
        });
    }

    #[cfg(test)]
    thread_local! {
        /// Digests computed ahead and served, on this thread (for tests).
        pub(crate) static SERVED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// The digest of `message` (filled by `d`) when it was computed ahead, or computed now
    /// beside a waiting message of `d`'s, whose digest is kept for when it is asked for;
    /// `None` when nothing waits (the caller computes it alone).
    #[inline]
    pub(super) fn serve(d: &Digester, message: &Message) -> Option<[u8; 32]> {
        AHEAD.with(|ahead| {
            let mut ahead = ahead.try_borrow_mut().ok()?;
            if ahead.len == 0 {
                return None;
            }
            serve_from(&mut ahead, d, message)
        })
    }

    /// [`serve`] once something waits.
    fn serve_from(ahead: &mut Ahead, d: &Digester, message: &Message) -> Option<[u8; 32]> {
        let owner = d.id();
        let waiting = &ahead.list[..ahead.len];
        let mine = waiting
            .iter()
            .position(|w| w.owner == owner && same(&w.message, message));
        if let Some(i) = mine {
            if let Some(digest) = ahead.list[i].digest {
                ahead.remove(i);
                #[cfg(test)]
                SERVED.with(|n| n.set(n.get() + 1));
                return Some(digest);
            }
        }
        let partner = waiting
            .iter()
            .enumerate()
            .position(|(i, w)| Some(i) != mine && w.owner == owner && w.digest.is_none());
        let digest = partner.map(|p| {
            let (ours, theirs) = d.digest_pair(message, &ahead.list[p].message);
            ahead.list[p].digest = Some(theirs);
            ours
        });
        if let Some(i) = mine {
            ahead.remove(i);
        }
        digest
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
            if let Some(digest) = ahead::serve(self, &message) {
                return digest;
            }
            return self.digest_message(&message);
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

    /// Writes into `message` the padded message [`digest`](Self::digest) compresses for
    /// `domain || 0 || parts` with this digester; false when it is longer than two blocks.
    pub(crate) fn fill(&self, message: &mut Message, domain: &str, parts: &[&[u8]]) -> bool {
        let prefix = if self.states.is_some() { 64 } else { 0 };
        message.fill(domain, parts, prefix)
    }

    /// The digests of two messages [`fill`](Self::fill)ed by this digester: the same as
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

    /// Queues the message `fill` writes (with [`fill`](Self::fill)) for this thread: the
    /// next digest this thread computes with this digester computes it too, two lanes at a
    /// time, and [`digest`](Self::digest) of that message returns it then. `fresh` forgets
    /// what was queued before. The results of `digest` are the same either way.
    pub(crate) fn queue(&self, fresh: bool, fill: impl FnOnce(&Self, &mut Message) -> bool) {
        ahead::queue(self.id, fresh, |message| fill(self, message));
    }

    /// [`digest`](Self::digest) of a [`fill`](Self::fill)ed message.
    fn digest_message(&self, message: &Message) -> [u8; 32] {
        match &self.states {
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
        }
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

    /// Two messages' digests computed in two lanes are their digests one at a time, for
    /// every pair of lengths (one, two or more blocks; a longer one falls back), keyed or not;
    /// and digests computed ahead are served for exactly their messages.
    #[test]
    fn pairs_and_digests_ahead_match_one_at_a_time() {
        use proptest::prelude::*;
        let keyed = Digester::new(&KeyMode::Keyed(
            Key::from_bytes(b"pair-key-0123456789").unwrap(),
        ));
        let unkeyed = Digester::new(&KeyMode::Unkeyed);
        let bytes = proptest::collection::vec(any::<u8>(), 0..140);
        proptest!(|(a in bytes.clone(), b in bytes, with_key: bool)| {
            let d = if with_key { &keyed } else { &unkeyed };
            let (mut ma, mut mb) = (Message::empty(), Message::empty());
            let fits = d.fill(&mut ma, "da", &[&a]) && d.fill(&mut mb, "db", &[&b]);
            let want = (d.digest("da", &[&a]), d.digest("db", &[&b]));
            if fits {
                prop_assert_eq!(d.digest_pair(&ma, &mb), want);
                // `a` waits; asking for `b` computes both; then `a` is served from the list.
                d.queue(true, |d, m| d.fill(m, "da", &[&a]));
                prop_assert_eq!(ahead::serve(d, &mb), Some(want.1));
                prop_assert_eq!(ahead::serve(d, &ma), Some(want.0));
                prop_assert_eq!(ahead::serve(d, &ma), None, "served once");
                // Another digester's message waits: not computed beside this one's.
                let other = if with_key { &unkeyed } else { &keyed };
                other.queue(true, |o, m| o.fill(m, "da", &[&a]));
                prop_assert_eq!(ahead::serve(d, &mb), None);
                prop_assert_eq!((d.digest("da", &[&a]), d.digest("db", &[&b])), want);
                // Its own message asked for while it waits, nothing beside: computed alone.
                d.queue(true, |d, m| d.fill(m, "da", &[&a]));
                prop_assert_eq!(ahead::serve(d, &ma), None);
                prop_assert_eq!(d.digest("da", &[&a]), want.0);
            }
        });
    }

    /// A timing loop, not a test (it asserts nothing about time): two keyed digests of short
    /// messages one after the other, and the same two as a pair. Run it with
    /// `cargo test --release -p anonymize-core --lib digester::tests::pair_timing -- --ignored --nocapture`.
    #[test]
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
            let (mut a, mut b) = (Message::empty(), Message::empty());
            d.fill(
                &mut a,
                "hash_email/address",
                &[b"someone.else@example.com", &x],
            );
            d.fill(&mut b, "digits", &[b"+44 20 7946 0958", &x]);
            let (da, db) = d.digest_pair(black_box(&a), black_box(&b));
            sink ^= da[0] ^ db[0];
        });
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
