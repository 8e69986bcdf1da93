//! Sealed files in a local folder: `<root>/<account>/<blob>`, folders 0700,
//! files 0600. A file is written to a temporary name, synced, then linked
//! under its final name only if that name is free, so a stored file is
//! never replaced and never seen half-written.

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
    file.sync_all().await.map_err(|e| io("sync file", e))?;
    Ok(size)
}

#[async_trait]
impl BlobStore for FolderBlobStore {
    async fn put(&self, name: &BlobName, body: ByteStream) -> Result<u64, BlobError> {
        let (dir, path) = self.path_of(name)?;
        let dir_for_create = dir.clone();
        tokio::task::spawn_blocking(move || private_dir(&dir_for_create))
            .await
            .map_err(|e| BlobError::Failed(e.to_string()))??;
        let temp = dir.join(format!(".incoming-{}", Uuid::new_v4()));
        let written = write_all(&temp, body).await;
        let published = match written {
            Ok(size) => {
                let (temp, path) = (temp.clone(), path.clone());
                tokio::task::spawn_blocking(move || {
                    // A hard link fails if the name exists: never replaced.
                    let linked = std::fs::hard_link(&temp, &path);
                    if let Ok(dir) = std::fs::File::open(path.parent().unwrap_or(Path::new("."))) {
                        let _ = dir.sync_all();
                    }
                    linked
                })
                .await
                .map_err(|e| BlobError::Failed(e.to_string()))?
                .map(|()| size)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::AlreadyExists => BlobError::AlreadyExists,
                    _ => io("publish file", e),
                })
            }
            Err(e) => Err(e),
        };
        let _ = tokio::fs::remove_file(&temp).await;
        published
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
        tokio::task::spawn_blocking(move || {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
                Err(e) => return Err(io("read folder", e)),
            };
            let stored = entries
                .filter_map(Result::ok)
                .filter(|e| !e.file_name().to_string_lossy().starts_with(".incoming-"))
                .count();
            std::fs::remove_dir_all(&dir).map_err(|e| io("remove folder", e))?;
            Ok(stored as u64)
        })
        .await
        .map_err(|e| BlobError::Failed(e.to_string()))?
    }
}
