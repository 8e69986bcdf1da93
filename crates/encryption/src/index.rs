//! Blind indexes: exact lookups on sealed values without the plaintext.

use aws_lc_rs::hmac;

use crate::DataKey;

/// HMAC-SHA-256 under a key derived from an account's data key, so equal
/// values give equal tags within one account and unrelated tags across
/// accounts; destroying the data key makes the tags meaningless too.
pub struct BlindIndex {
    key: hmac::Key,
}

impl BlindIndex {
    pub fn new(data_key: &DataKey) -> Self {
        let derive = hmac::Key::new(hmac::HMAC_SHA256, data_key.expose_bytes());
        let derived = hmac::sign(&derive, b"cbt-blind-index-v1");
        Self { key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()) }
    }

    /// The tag of `value` (already normalised by the caller: trimmed,
    /// lower-cased, as the lookup needs) in `field`.
    pub fn tag(&self, field: &str, value: &[u8]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(&(field.len() as u32).to_be_bytes());
        ctx.update(field.as_bytes());
        ctx.update(value);
        let mut tag = [0u8; 32];
        tag.copy_from_slice(ctx.sign().as_ref());
        tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_match_within_an_account_only() {
        let key = DataKey::generate().unwrap();
        let index = BlindIndex::new(&key);
        assert_eq!(index.tag("email", b"jane@example.org"), index.tag("email", b"jane@example.org"));
        assert_ne!(index.tag("email", b"jane@example.org"), index.tag("email", b"john@example.org"));
        assert_ne!(index.tag("email", b"x"), index.tag("phone", b"x"), "fields are separate");
        let other = BlindIndex::new(&DataKey::generate().unwrap());
        assert_ne!(index.tag("email", b"jane@example.org"), other.tag("email", b"jane@example.org"));
    }
}
