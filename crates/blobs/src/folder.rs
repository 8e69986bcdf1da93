//! Sealed files in a local folder: `<root>/<account>/<blob>`, folders 0700,
//! files 0600. A file is written to a temporary name as it arrives, synced,
//! then hard-linked under its final name, which fails if that name exists:
//! a stored file is never replaced and never seen half-written. The
//! temporary file goes in every case (error, refusal, or the caller giving
//! up midway); one left by a crash is a dot-file that `get` never serves
//! and `delete_account` removes with the folder.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use cbt_ports::{BlobError, BlobName, BlobStore, ByteStream};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use crate::checked;

/// Read size when streaming a file out.
const READ_CHUNK: usize = 64 * 1024;
/// Temporary files start with this; never a stored file's name (a UUID).
const INCOMING: &str = ".incoming-";

pub struct FolderBlobStore {
    root: PathBuf,
}

fn io(what: &str, e: std::io::Error) -> BlobError {
    match e.kind() {
        std::io::ErrorKind::NotFound => BlobError::NotFound,
        _ => BlobError::Failed(format!("{what}: {e}")),
    }
}

fn private_dir(path: &Path) -> Result<(), BlobError> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path).map_err(|e| io("create folder", e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(|e| io("protect folder", e))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| BlobError::Failed(format!("file task: {e}")))?
}

/// A temporary file, removed when dropped: also when the `put` future is
/// dropped midway (a client that disconnects).
struct Incoming(PathBuf);

impl Drop for Incoming {
    fn drop(&mut self) {
        // One unlink; not worth a blocking-pool round trip.
        let _ = std::fs::remove_file(&self.0);
    }
}

impl FolderBlobStore {
    /// Uses (creating if needed, 0700) the folder `root`.
    pub fn open(root: &Path) -> Result<Self, BlobError> {
        private_dir(root)?;
        Ok(Self { root: root.to_owned() })
    }

    fn path_of(&self, name: &BlobName) -> Result<(PathBuf, PathBuf), BlobError> {
        let (account, blob) = checked(name)?;
        let dir = self.root.join(account.to_string());
        let file = dir.join(blob.to_string());
        Ok((dir, file))
    }
}

async fn write_all(temp: &Path, mut body: ByteStream) -> Result<u64, BlobError> {
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(temp)
        .await
        .map_err(|e| io("create file", e))?;
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        file.write_all(&chunk).await.map_err(|e| io("write file", e))?;
        size += chunk.len() as u64;
    }
    file.flush().await.map_err(|e| io("write file", e))?;
    file.sync_all().await.map_err(|e| io("sync file", e))?;
    Ok(size)
}

#[async_trait]
impl BlobStore for FolderBlobStore {
    async fn put(&self, name: &BlobName, body: ByteStream) -> Result<u64, BlobError> {
        let (dir, path) = self.path_of(name)?;
        let dir_to_create = dir.clone();
        blocking(move || private_dir(&dir_to_create)).await?;
        // Refuse early rather than after receiving the whole body; the
        // link below is what guarantees it.
        if tokio::fs::try_exists(&path).await.map_err(|e| io("check file", e))? {
            return Err(BlobError::AlreadyExists);
        }
        let temp = Incoming(dir.join(format!("{INCOMING}{}", Uuid::new_v4())));
        let size = write_all(&temp.0, body).await?;
        blocking(move || {
            // A hard link fails if the name exists: never replaced, and
            // published complete or not at all.
            std::fs::hard_link(&temp.0, &path).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => BlobError::AlreadyExists,
                _ => io("publish file", e),
            })?;
            drop(temp);
            // The new name survives a power cut once its folder is synced.
            std::fs::File::open(&dir).and_then(|d| d.sync_all()).map_err(|e| io("sync folder", e))?;
            Ok(size)
        })
        .await
    }

    async fn get(&self, name: &BlobName) -> Result<ByteStream, BlobError> {
        let (_, path) = self.path_of(name)?;
        let file = tokio::fs::File::open(&path).await.map_err(|e| io("open file", e))?;
        let stream = tokio_util::io::ReaderStream::with_capacity(file, READ_CHUNK)
            .map(|chunk| chunk.map_err(|e| io("read file", e)));
        Ok(Box::pin(stream))
    }

    async fn delete_account(&self, account: Uuid) -> Result<u64, BlobError> {
        let dir = self.root.join(account.to_string());
        blocking(move || {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
                Err(e) => return Err(io("read folder", e)),
            };
            let mut stored = 0u64;
            for entry in entries {
                let entry = entry.map_err(|e| io("read folder", e))?;
                if !entry.file_name().to_string_lossy().starts_with(INCOMING) {
                    stored += 1;
                }
            }
            std::fs::remove_dir_all(&dir).map_err(|e| io("remove folder", e))?;
            Ok(stored)
        })
        .await
    }
}
