//! Where sealed files are kept: [`FolderBlobStore`] (a local folder, the
//! default) and [`S3BlobStore`] (S3-compatible object storage). Both write
//! each object once and stream it in and out; only sealed bytes reach them
//! (the app seals before `put`).

mod folder;
mod s3;

pub use folder::FolderBlobStore;
pub use s3::{S3BlobStore, S3Settings};

use cbt_ports::{BlobError, BlobName};
use uuid::Uuid;

/// `{account}/{blob}` as two UUIDs, or `None`: the only names that become
/// paths or object keys (no `..`, no absolute paths, no surprises).
fn checked(name: &BlobName) -> Result<(Uuid, Uuid), BlobError> {
    let (account, blob) = name.as_str().split_once('/').ok_or(BlobError::NotFound)?;
    match (Uuid::try_parse(account), Uuid::try_parse(blob)) {
        (Ok(a), Ok(b)) if a.to_string() == account && b.to_string() == blob => Ok((a, b)),
        _ => Err(BlobError::Failed("not a stored file's name".into())),
    }
}
