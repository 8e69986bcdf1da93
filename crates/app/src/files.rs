//! Files (recordings, worksheets, attachments): sealed with the account's
//! data key as they stream in, before they leave the process, and opened
//! as they stream out. Never whole in memory.
//!
//! Each stored file is a new object named by a new id: a changed file is a
//! new version beside the old one, never a replacement. Which record a
//! file belongs to, and its versions, are the record's to keep.

use bytes::Bytes;
use cbt_domain::AccountId;
use cbt_encryption::SealedFor;
use cbt_encryption::blob::{BlobOpener, BlobSealer};
use cbt_ports::{BlobError, BlobName, ByteStream};
use futures_util::StreamExt;
use uuid::Uuid;

use crate::{App, AppError};

/// A file as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredFile {
    /// Names the object; give it back to [`App::open_file`].
    pub id: Uuid,
    /// Bytes in the store (sealed: a little more than the file).
    pub sealed_size: u64,
}

fn sealing(e: cbt_encryption::EncryptionError) -> BlobError {
    BlobError::Failed(e.to_string())
}

/// The place a file's pieces are bound to: its account, the kind of record
/// it belongs to, and its own id.
fn place(account: AccountId, kind: &str, id: Uuid) -> SealedFor<'_> {
    SealedFor { account: account.as_uuid(), kind, field: "file", record: id }
}

impl App {
    /// Seals `body` piece by piece and stores it as a new object.
    pub async fn store_file(&self, account: AccountId, kind: &str, body: ByteStream) -> Result<StoredFile, AppError> {
        let id = Uuid::now_v7();
        let key = self.data_key(account, true).await?;
        let sealer = BlobSealer::new(&key, &place(account, kind, id))?;
        let header = Bytes::copy_from_slice(sealer.header());
        let pieces = futures_util::stream::try_unfold((body, Some(sealer)), |(mut body, sealer)| async move {
            let Some(mut sealer) = sealer else { return Ok(None) };
            match body.next().await {
                Some(chunk) => {
                    let sealed = sealer.push(&chunk?).map_err(sealing)?;
                    Ok(Some((Bytes::from(sealed), (body, Some(sealer)))))
                }
                None => Ok(Some((Bytes::from(sealer.finish().map_err(sealing)?), (body, None)))),
            }
        });
        let sealed: ByteStream = Box::pin(futures_util::stream::once(async { Ok(header) }).chain(pieces));
        let sealed_size = self.files.put(&BlobName::new(account.as_uuid(), id), sealed).await.map_err(file_error)?;
        Ok(StoredFile { id, sealed_size })
    }

    /// The file's plaintext, streamed. A file altered, cut short or moved
    /// ends its stream with an error instead of its last piece.
    pub async fn open_file(&self, account: AccountId, kind: &str, id: Uuid) -> Result<ByteStream, AppError> {
        let key = self.data_key(account, false).await?;
        let opener = BlobOpener::new(&key, &place(account, kind, id))?;
        let sealed = self.files.get(&BlobName::new(account.as_uuid(), id)).await.map_err(file_error)?;
        let plain = futures_util::stream::try_unfold((sealed, Some(opener)), |(mut sealed, opener)| async move {
            let Some(mut opener) = opener else { return Ok(None) };
            match sealed.next().await {
                Some(chunk) => {
                    let plain = opener.push(&chunk?).map_err(sealing)?;
                    Ok(Some((Bytes::copy_from_slice(&plain), (sealed, Some(opener)))))
                }
                None => Ok(Some((Bytes::copy_from_slice(&opener.finish().map_err(sealing)?), (sealed, None)))),
            }
        });
        Ok(Box::pin(plain))
    }
}

fn file_error(e: BlobError) -> AppError {
    match e {
        BlobError::NotFound => AppError::NotFound,
        BlobError::Unavailable(_) => AppError::Unavailable(e.to_string()),
        other => AppError::Internal(other.to_string()),
    }
}
