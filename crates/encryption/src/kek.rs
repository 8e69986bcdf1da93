//! The local key-encryption key: wraps data keys with AES-256-GCM.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::{DataKey, EncryptionError, KEY_LEN};

const LABEL: &[u8] = b"cbt-data-key-v1";

/// A 256-bit KEK held in this process (the `local` key provider). A data
/// key wrapped by it is `nonce (12) | sealed key (32) | tag (16)`, bound to
/// the account and the key id so a wrapped key cannot be moved either.
pub struct Kek {
    key: LessSafeKey,
}

impl Kek {
    pub fn new(bytes: &[u8]) -> Result<Self, EncryptionError> {
        if bytes.len() != KEY_LEN {
            return Err(EncryptionError::BadKey);
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| EncryptionError::BadKey)?;
        Ok(Self { key: LessSafeKey::new(key) })
    }

    pub fn wrap(&self, key: &DataKey, account: Uuid) -> Result<Vec<u8>, EncryptionError> {
        let nonce = crate::random::<NONCE_LEN>()?;
        let mut sealed = key.expose_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Self::aad(key.id(), account), &mut sealed)
            .map_err(|_| EncryptionError::DoesNotOpen)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn unwrap(&self, wrapped: &[u8], key_id: Uuid, account: Uuid) -> Result<DataKey, EncryptionError> {
        if wrapped.len() != NONCE_LEN + KEY_LEN + 16 {
            return Err(EncryptionError::Malformed);
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| EncryptionError::Malformed)?;
        let mut data = Zeroizing::new(sealed.to_vec());
        let bytes = self
            .key
            .open_in_place(nonce, Self::aad(key_id, account), &mut data)
            .map_err(|_| EncryptionError::DoesNotOpen)?;
        DataKey::from_bytes(key_id, bytes)
    }

    fn aad(key_id: Uuid, account: Uuid) -> Aad<[u8; 15 + 32]> {
        let mut aad = [0u8; 15 + 32];
        aad[..15].copy_from_slice(LABEL);
        aad[15..31].copy_from_slice(key_id.as_bytes());
        aad[31..].copy_from_slice(account.as_bytes());
        Aad::from(aad)
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kek([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_keys_open_only_for_their_account_and_id_under_their_kek() {
        let kek = Kek::new(&[7u8; 32]).unwrap();
        let key = DataKey::generate().unwrap();
        let account = Uuid::now_v7();
        let wrapped = kek.wrap(&key, account).unwrap();
        assert!(!wrapped.windows(KEY_LEN).any(|w| w == key.expose_bytes()), "no plaintext key");
        let back = kek.unwrap(&wrapped, key.id(), account).unwrap();
        assert_eq!(back.expose_bytes(), key.expose_bytes());
        assert!(kek.unwrap(&wrapped, key.id(), Uuid::now_v7()).is_err(), "other account");
        assert!(kek.unwrap(&wrapped, Uuid::now_v7(), account).is_err(), "other key id");
        assert!(Kek::new(&[8u8; 32]).unwrap().unwrap(&wrapped, key.id(), account).is_err(), "other KEK");
        assert!(Kek::new(&[0u8; 16]).is_err());
    }
}
