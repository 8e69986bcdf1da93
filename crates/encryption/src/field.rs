//! Sealed fields: one value, one envelope.
//!
//! Envelope, version 1 (45 bytes beside the plaintext):
//!
//! ```text
//! 0x01 | data key id (16) | nonce (12) | ciphertext | GCM tag (16)
//! ```
//!
//! The associated data is the place ([`SealedFor`]) and the header (version
//! and key id), so neither the place nor the key id can be changed.

use aws_lc_rs::aead::{Aad, NONCE_LEN, Nonce};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::{DataKey, EncryptionError, SealedFor};

/// The first byte of a version-1 field envelope.
pub const VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 16;
const TAG_LEN: usize = 16;
/// Bytes a sealed field has beyond its plaintext.
pub const OVERHEAD: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;
const LABEL: &[u8] = b"cbt-field-v1";

/// Seals `plaintext` for `place` under `key`.
pub fn seal(key: &DataKey, place: &SealedFor<'_>, plaintext: &[u8]) -> Result<Vec<u8>, EncryptionError> {
    let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
    out.push(VERSION);
    out.extend_from_slice(key.id().as_bytes());
    let aad = place.associated_data(LABEL, &out);
    let nonce = crate::random::<NONCE_LEN>()?;
    out.extend_from_slice(&nonce);
    let body = out.len();
    out.extend_from_slice(plaintext);
    let tag = key
        .aead()
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(&aad[..]), &mut out[body..])
        .map_err(|_| EncryptionError::DoesNotOpen)?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// The id of the data key an envelope was sealed with, so the caller can
/// fetch that key. Reads the header only.
pub fn key_id(sealed: &[u8]) -> Result<Uuid, EncryptionError> {
    if sealed.len() < OVERHEAD || sealed[0] != VERSION {
        return Err(EncryptionError::Malformed);
    }
    let id: [u8; 16] = sealed[1..HEADER_LEN].try_into().map_err(|_| EncryptionError::Malformed)?;
    Ok(Uuid::from_bytes(id))
}

/// Opens an envelope sealed for `place`. Any change to the bytes, the key
/// or the place is `DoesNotOpen`.
pub fn open(key: &DataKey, place: &SealedFor<'_>, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, EncryptionError> {
    if key_id(sealed)? != key.id() {
        return Err(EncryptionError::DoesNotOpen);
    }
    let (header, rest) = sealed.split_at(HEADER_LEN);
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| EncryptionError::Malformed)?;
    let aad = place.associated_data(LABEL, header);
    let mut data = Zeroizing::new(ciphertext.to_vec());
    let len = key
        .aead()
        .open_in_place(nonce, Aad::from(&aad[..]), &mut data)
        .map_err(|_| EncryptionError::DoesNotOpen)?
        .len();
    data.truncate(len);
    Ok(data)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn place(account: Uuid, record: Uuid) -> SealedFor<'static> {
        SealedFor { account, kind: "client", field: "name", record }
    }

    /// Checklist 28: two encryptions differ, a flipped bit fails, a moved
    /// ciphertext fails (row, field, kind, account, key).
    #[test]
    fn checklist_28_envelopes_differ_and_open_only_in_their_place() {
        let key = DataKey::generate().unwrap();
        let (account, record) = (Uuid::now_v7(), Uuid::now_v7());
        let here = place(account, record);
        let a = seal(&key, &here, b"Jane Canary-Doe").unwrap();
        let b = seal(&key, &here, b"Jane Canary-Doe").unwrap();
        assert_ne!(a, b, "random nonces");
        assert_eq!(a.len(), OVERHEAD + "Jane Canary-Doe".len());
        assert_eq!(open(&key, &here, &a).unwrap().as_slice(), b"Jane Canary-Doe");
        assert_eq!(key_id(&a).unwrap(), key.id());

        for bit in 0..a.len() * 8 {
            let mut flipped = a.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(open(&key, &here, &flipped).is_err(), "bit {bit} flipped still opens");
        }
        let other_row = place(account, Uuid::now_v7());
        let other_account = place(Uuid::now_v7(), record);
        let other_field = SealedFor { field: "notes", ..here };
        let other_kind = SealedFor { kind: "session_note", ..here };
        for elsewhere in [other_row, other_account, other_field, other_kind] {
            assert_eq!(open(&key, &elsewhere, &a).unwrap_err(), EncryptionError::DoesNotOpen, "{elsewhere:?}");
        }
        let other_key = DataKey::generate().unwrap();
        assert_eq!(open(&other_key, &here, &a).unwrap_err(), EncryptionError::DoesNotOpen);
        // Same key bytes under another id: the header names the key.
        let renamed = DataKey::from_bytes(Uuid::now_v7(), key.expose_bytes()).unwrap();
        assert_eq!(open(&renamed, &here, &a).unwrap_err(), EncryptionError::DoesNotOpen);
        assert_eq!(open(&key, &here, &a[..OVERHEAD - 1]).unwrap_err(), EncryptionError::Malformed);
    }

    #[test]
    fn empty_values_seal_too() {
        let key = DataKey::generate().unwrap();
        let here = place(Uuid::now_v7(), Uuid::now_v7());
        let sealed = seal(&key, &here, b"").unwrap();
        assert_eq!(open(&key, &here, &sealed).unwrap().as_slice(), b"");
    }

    proptest! {
        /// The parser and the decrypt path take any bytes without panicking
        /// and open nothing they were not given.
        #[test]
        fn arbitrary_bytes_never_open_or_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let key = DataKey::generate().unwrap();
            let here = place(Uuid::nil(), Uuid::nil());
            prop_assert!(open(&key, &here, &bytes).is_err());
            let _ = key_id(&bytes);
        }

        /// Whatever is sealed opens to itself, and any single change to the
        /// envelope fails.
        #[test]
        fn round_trip_and_any_change_fails(
            plaintext in proptest::collection::vec(any::<u8>(), 0..300),
            at in any::<prop::sample::Index>(),
            mask in 1u8..=255,
        ) {
            let key = DataKey::generate().unwrap();
            let here = place(Uuid::now_v7(), Uuid::now_v7());
            let sealed = seal(&key, &here, &plaintext).unwrap();
            let opened = open(&key, &here, &sealed).unwrap();
            prop_assert_eq!(opened.as_slice(), &plaintext[..]);
            let mut changed = sealed.clone();
            changed[at.index(sealed.len())] ^= mask;
            prop_assert!(open(&key, &here, &changed).is_err());
        }
    }
}
