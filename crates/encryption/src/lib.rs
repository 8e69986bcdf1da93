//! Envelope encryption: what PHI looks like at rest.
//!
//! Each account has its own 256-bit [`DataKey`]; the database holds it only
//! wrapped by a key-encryption key (KEK, see [`Kek`] for the local one and
//! `cbt-keys` for the providers). Fields ([`field`]) and files ([`blob`])
//! are sealed with AES-256-GCM (aws-lc-rs) under the data key, with random
//! 96-bit nonces, in a versioned envelope that names the data key. The
//! associated data binds each ciphertext to its place, a [`SealedFor`]
//! (account, record kind, field, record id): a ciphertext copied to another
//! row, field or account fails to open with an error, never garbage.
//!
//! Exact lookups on PHI use a [`BlindIndex`] (HMAC-SHA-256 under a key
//! derived from the account's data key).
//!
//! Pure: no I/O besides the system random source.

pub mod blob;
mod data_key;
pub mod field;
mod index;
mod kek;

pub use data_key::{DataKey, KEY_LEN};
pub use index::BlindIndex;
pub use kek::Kek;
use uuid::Uuid;

/// Why something did not seal or open. Deliberately vague: which byte was
/// wrong is nobody's business, and no plaintext is ever in it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncryptionError {
    /// Not an envelope of a version this build reads (truncated, or not
    /// ours).
    #[error("not a sealed value this version can read")]
    Malformed,
    /// The key, the place or the bytes are wrong: authentication failed.
    #[error("a sealed value does not open (wrong key, wrong place, or altered)")]
    DoesNotOpen,
    /// A file's sealed stream ended before its last piece.
    #[error("a sealed file is truncated")]
    Truncated,
    /// A key of the wrong length.
    #[error("a key has the wrong length")]
    BadKey,
    /// The operating system's random source failed.
    #[error("the system random source failed")]
    Random,
}

/// Where a sealed value belongs. It is authenticated with the value, so the
/// value opens only in the same place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedFor<'a> {
    pub account: Uuid,
    /// The record kind, e.g. `"client"`, `"session_note"`.
    pub kind: &'a str,
    /// The field, e.g. `"name"`, `"body"`; `"file"` for a blob.
    pub field: &'a str,
    pub record: Uuid,
}

impl SealedFor<'_> {
    /// The associated data: a domain label, then each part length-prefixed
    /// so that no two different places encode alike, then the envelope
    /// header (so the key id and version cannot be swapped either).
    fn associated_data(&self, label: &[u8], header: &[u8]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(label.len() + 48 + self.kind.len() + self.field.len() + header.len());
        for part in
            [label, self.account.as_bytes(), self.kind.as_bytes(), self.field.as_bytes(), self.record.as_bytes()]
        {
            aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
            aad.extend_from_slice(part);
        }
        aad.extend_from_slice(header);
        aad
    }
}

/// Random bytes from the system source.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], EncryptionError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| EncryptionError::Random)?;
    Ok(bytes)
}
