//! CRC-64 as mongodump computes it (Go `hash/crc64` with the ECMA table, i.e. CRC-64/XZ).

/// A running CRC-64/XZ digest over the raw bytes of a namespace's documents.
///
/// ```
/// use mongo_archive::Crc64;
/// let mut crc = Crc64::new();
/// crc.update(b"1234");
/// crc.update(b"56789");
/// assert_eq!(crc.value(), 0x995D_C9BB_DF19_39FA);
/// ```
#[derive(Clone)]
pub struct Crc64(crc64fast::Digest);

impl Crc64 {
    /// An empty digest (value 0).
    pub fn new() -> Crc64 {
        Crc64(crc64fast::Digest::new())
    }

    /// Feeds bytes.
    #[inline]
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
    }

    /// The CRC of everything fed so far.
    pub fn value(&self) -> u64 {
        self.0.sum64()
    }
}

impl Default for Crc64 {
    fn default() -> Self {
        Crc64::new()
    }
}

impl std::fmt::Debug for Crc64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Crc64({:#018x})", self.value())
    }
}

/// The CRC-64/XZ of `bytes` in one call.
pub fn crc64(bytes: &[u8]) -> u64 {
    let mut c = Crc64::new();
    c.update(bytes);
    c.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_matches_go_ecma() {
        assert_eq!(crc64(b"123456789"), 0x995D_C9BB_DF19_39FA);
        assert_eq!(crc64(b""), 0);
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut c = Crc64::new();
        for chunk in data.chunks(37) {
            c.update(chunk);
        }
        assert_eq!(c.value(), crc64(&data));
        assert_ne!(c.value(), 0);
    }
}
