//! The per-account data key.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, LessSafeKey, UnboundKey};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::EncryptionError;

/// 256 bits.
pub const KEY_LEN: usize = 32;

/// An account's 256-bit data key, unwrapped. Its bytes are zeroised when it
/// is dropped and it never prints.
pub struct DataKey {
    id: Uuid,
    bytes: Zeroizing<[u8; KEY_LEN]>,
    /// The expanded key, made once: expanding it per value cost more than
    /// sealing a short field.
    aead: LessSafeKey,
}

impl DataKey {
    /// A new random key with a new id.
    pub fn generate() -> Result<Self, EncryptionError> {
        Self::from_bytes(Uuid::now_v7(), Zeroizing::new(crate::random::<KEY_LEN>()?).as_ref())
    }

    /// A key from its id and bytes (as unwrapped by a key provider).
    pub fn from_bytes(id: Uuid, bytes: &[u8]) -> Result<Self, EncryptionError> {
        let bytes: Zeroizing<[u8; KEY_LEN]> = Zeroizing::new(bytes.try_into().map_err(|_| EncryptionError::BadKey)?);
        let aead = Self::expand(&bytes)?;
        Ok(Self { id, bytes, aead })
    }

    /// Which key this is: envelopes name it, so the right key can be found.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The key bytes, for wrapping. Call sites are easy to find by name.
    pub fn expose_bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    pub(crate) fn aead(&self) -> &LessSafeKey {
        &self.aead
    }

    /// A key of its own for a file's pieces.
    pub(crate) fn new_aead(&self) -> Result<LessSafeKey, EncryptionError> {
        Self::expand(&self.bytes)
    }

    fn expand(bytes: &[u8; KEY_LEN]) -> Result<LessSafeKey, EncryptionError> {
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| EncryptionError::BadKey)?;
        Ok(LessSafeKey::new(key))
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey").field("id", &self.id).field("bytes", &"[redacted]").finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_never_print() {
        let a = DataKey::generate().unwrap();
        let b = DataKey::generate().unwrap();
        assert_ne!(a.expose_bytes(), b.expose_bytes());
        assert_ne!(a.id(), b.id());
        let shown = format!("{a:?}");
        assert!(shown.contains("[redacted]"));
        assert!(!shown.contains(&format!("{:?}", a.expose_bytes())), "no key bytes in {shown}");
        assert_eq!(DataKey::from_bytes(a.id(), &[0u8; 31]).unwrap_err(), EncryptionError::BadKey);
    }
}
