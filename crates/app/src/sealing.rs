//! Sealing small server-side secrets (the TOTP seed) at rest with
//! AES-256-GCM under a key derived from the key-encryption key.
//!
//! Format: `0x01 ‖ 96-bit random nonce ‖ ciphertext ‖ tag`; the associated
//! data binds a sealed value to its purpose and account, so a value copied
//! to another account does not open.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;

use crate::AppError;

const VERSION: u8 = 1;

pub struct Sealer {
    key: LessSafeKey,
}

impl Sealer {
    /// Derives the sealing key for `purpose` from the KEK.
    pub fn derive(kek: &[u8], purpose: &str) -> Result<Self, AppError> {
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, kek), purpose.as_bytes());
        let key = UnboundKey::new(&AES_256_GCM, derived.as_ref())
            .map_err(|_| AppError::Internal("cannot derive a sealing key".into()))?;
        Ok(Self { key: LessSafeKey::new(key) })
    }

    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, AppError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| AppError::Internal("the system random source failed".into()))?;
        let mut data = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context), &mut data)
            .map_err(|_| AppError::Internal("sealing failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + data.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&data);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, AppError> {
        let corrupt = || AppError::Internal("a sealed value does not open".into());
        let (&version, rest) = sealed.split_first().ok_or_else(corrupt)?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return Err(corrupt());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt())?;
        let mut data = zeroize::Zeroizing::new(ciphertext.to_vec());
        let len = self.key.open_in_place(nonce, Aad::from(context), &mut data).map_err(|_| corrupt())?.len();
        data.truncate(len);
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_differ_open_and_are_bound_to_their_context() {
        let s = Sealer::derive(b"kek-for-tests-0123456789abcdef-0123", "cbt-mfa-secret-v1").unwrap();
        let a = s.seal(b"seed", b"account-1").unwrap();
        let b = s.seal(b"seed", b"account-1").unwrap();
        assert_ne!(a, b, "random nonces");
        assert_eq!(s.open(&a, b"account-1").unwrap().as_slice(), b"seed");
        assert!(s.open(&a, b"account-2").is_err(), "moved to another account");
        let mut flipped = a.clone();
        flipped[20] ^= 1;
        assert!(s.open(&flipped, b"account-1").is_err());
        let other = Sealer::derive(b"another-kek-0123456789abcdef-01234", "cbt-mfa-secret-v1").unwrap();
        assert!(other.open(&a, b"account-1").is_err());
    }
}
