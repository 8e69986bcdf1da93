//! The file port: where sealed files (recordings, worksheets, attachments)
//! are kept. Adapters: `cbt-blobs` (a local folder, S3-compatible storage).
//!
//! Only sealed bytes reach a `BlobStore`: the app seals before `put` and
//! opens after `get`. Objects are written once: `put` on an existing name
//! fails, so a stored file cannot be silently replaced; a new version of a
//! file is a new object.

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_core::Stream;

/// A file's bytes, piece by piece.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, BlobError>> + Send>>;

/// An object's name: `{account}/{blob id}`, no PHI. Checked characters
/// only, so it is safe as a path and an object key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlobName(String);

impl BlobName {
    pub fn new(account: uuid::Uuid, blob: uuid::Uuid) -> Self {
        Self(format!("{account}/{blob}"))
    }

    /// Every object of an account starts with this.
    pub fn account_prefix(account: uuid::Uuid) -> String {
        format!("{account}/")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no such stored file")]
    NotFound,
    /// Objects are never overwritten.
    #[error("a stored file with this name already exists")]
    AlreadyExists,
    #[error("file storage unavailable: {0}")]
    Unavailable(String),
    #[error("file storage failed: {0}")]
    Failed(String),
}

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `body` as a new object; returns its size in bytes. Streams:
    /// never holds the whole body. An object appears only complete.
    async fn put(&self, name: &BlobName, body: ByteStream) -> Result<u64, BlobError>;

    /// The object's bytes, streamed.
    async fn get(&self, name: &BlobName) -> Result<ByteStream, BlobError>;

    /// Removes every object of an account (purge; its data key is destroyed
    /// as well, which is what makes copies unreadable). Returns how many.
    async fn delete_account(&self, account: uuid::Uuid) -> Result<u64, BlobError>;
}
