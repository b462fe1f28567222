//! What the CPU offers the keyed digests.

/// Whether this CPU computes SHA-256 with dedicated instructions (x86 SHA-NI, Arm SHA2), which
/// the `sha2` crate uses when present. Without them each keyed digest (`hash`, `hmac`,
/// `hash_email`, `fake`'s seed, `digits`, `date_shift`) costs about four times more, so a run
/// with many keyed transforms is several times slower on such a node.
pub fn sha_extensions() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("sha") && std::arch::is_x86_feature_detected!("sse4.1")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("sha2")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}
