//! The key port: who holds the key-encryption key (KEK) that wraps each
//! account's data key. Adapters: `cbt-keys` (`local` file KEK, `aws-kms`).

use async_trait::async_trait;
use cbt_domain::ids::AccountId;
use cbt_encryption::DataKey;
use uuid::Uuid;

/// A data key wrapped by a KEK, as the database stores it.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// Which KEK wrapped it: `local:v2`, or a KMS key's ARN.
    pub kek: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrappedKey").field("kek", &self.kek).field("bytes", &self.bytes.len()).finish()
    }
}

/// What a wrapping is bound to (for KMS, the encryption context): a wrapped
/// key moved to another account or renamed does not unwrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyOwner {
    pub account: AccountId,
    pub key_id: Uuid,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The provider cannot be reached or refused for now (network, throttling).
    #[error("key provider unavailable: {0}")]
    Unavailable(String),
    /// This KEK no longer exists (destroyed) or is unknown here.
    #[error("key-encryption key {0} is not available")]
    UnknownKek(String),
    /// The wrapped key does not unwrap for this owner (altered, moved).
    #[error("a wrapped data key does not open")]
    DoesNotOpen,
    /// The operation is not done by this provider (the message says how).
    #[error("{0}")]
    Unsupported(String),
    /// Anything else, described without key material.
    #[error("key provider failed: {0}")]
    Failed(String),
}

#[async_trait]
pub trait KeyProvider: Send + Sync + 'static {
    /// The KEK that new wrappings use.
    fn current_kek(&self) -> String;

    /// A new random data key with the id `owner.key_id`, plain and wrapped
    /// under the current KEK.
    async fn generate_data_key(&self, owner: KeyOwner) -> Result<(DataKey, WrappedKey), KeyError>;

    /// Unwraps with whichever KEK `wrapped.kek` names (current or retired).
    async fn unwrap(&self, wrapped: &WrappedKey, owner: KeyOwner) -> Result<DataKey, KeyError>;

    /// The same data key, wrapped under the current KEK (rotation). The
    /// sealed data is untouched.
    async fn rewrap(&self, wrapped: &WrappedKey, owner: KeyOwner) -> Result<WrappedKey, KeyError>;

    /// Starts a rotation: makes a new KEK current and returns it, or
    /// `Ok(None)` when the provider's KEK changes by configuration instead
    /// (`aws-kms`: a new key id in the settings).
    async fn new_kek(&self) -> Result<Option<String>, KeyError>;

    /// Destroys a KEK that no stored key uses any more: whatever it ever
    /// wrapped, backups included, can no longer be opened.
    async fn destroy_kek(&self, kek: &str) -> Result<(), KeyError>;
}

/// An account's data key as the database keeps it: wrapped, never plain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDataKey {
    pub owner: KeyOwner,
    pub wrapped: WrappedKey,
    pub created_at: time::OffsetDateTime,
    /// When a rotation last re-wrapped it.
    pub rewrapped_at: Option<time::OffsetDateTime>,
}
