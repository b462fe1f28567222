//! The few small BSON documents an archive made from a directory needs (header, prelude
//! entries, namespace headers), encoded by hand: the crate reads BSON without the `bson` crate
//! and writes only these.

/// A document under construction.
pub(crate) struct Doc(Vec<u8>);

impl Doc {
    pub(crate) fn new() -> Doc {
        Doc(vec![0; 4])
    }

    fn name(&mut self, ty: u8, name: &str) {
        self.0.push(ty);
        self.0.extend_from_slice(name.as_bytes());
        self.0.push(0);
    }

    /// A UTF-8 string element.
    pub(crate) fn string(mut self, name: &str, value: &str) -> Doc {
        self.name(0x02, name);
        let len = i32::try_from(value.len() + 1).expect("short string");
        self.0.extend_from_slice(&len.to_le_bytes());
        self.0.extend_from_slice(value.as_bytes());
        self.0.push(0);
        self
    }

    /// An int32 element.
    pub(crate) fn int32(mut self, name: &str, value: i32) -> Doc {
        self.name(0x10, name);
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }

    /// An int64 element.
    pub(crate) fn int64(mut self, name: &str, value: i64) -> Doc {
        self.name(0x12, name);
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }

    /// A boolean element.
    pub(crate) fn boolean(mut self, name: &str, value: bool) -> Doc {
        self.name(0x08, name);
        self.0.push(u8::from(value));
        self
    }

    /// The finished document's bytes.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.0.push(0);
        let len = i32::try_from(self.0.len()).expect("small document");
        self.0[..4].copy_from_slice(&len.to_le_bytes());
        self.0
    }
}
