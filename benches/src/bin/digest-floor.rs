//! The keyed-digest floor of a run: how long one keyed HMAC-SHA256 of a short value takes on
//! this machine with the key's inner and outer states precomputed (as the transforms keep them),
//! and whether the CPU has SHA extensions. `benches/throughput.sh` turns it into a floor in MB/s
//! for a dump: bytes per row ÷ (digests per row × seconds per digest) × cores.
//!
//! ```sh
//! cargo run --release -p syrf-benches --bin digest-floor            # prints: ns_per_digest=… sha_extensions=…
//! ```

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let keyed =
        Hmac::<Sha256>::new_from_slice(b"benchmark-key-0123456789abcdef").expect("any key length");
    let values: Vec<Vec<u8>> = (0..1024u32)
        .map(|i| format!("value.{i:06}@example.org").into_bytes())
        .collect();
    // Warm up, then take the best of five rounds (the floor is the machine's best case).
    let rounds = 5;
    let per_round = 400_000usize;
    let mut best = f64::MAX;
    for round in 0..=rounds {
        let start = Instant::now();
        for i in 0..per_round {
            let mut mac = keyed.clone();
            mac.update(&values[i % values.len()]);
            black_box(mac.finalize().into_bytes());
        }
        let ns = start.elapsed().as_nanos() as f64 / per_round as f64;
        if round > 0 {
            best = best.min(ns);
        }
    }
    println!(
        "ns_per_digest={best:.1} sha_extensions={}",
        anonymize_core::sha_extensions()
    );
}
