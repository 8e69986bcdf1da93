//! Behaviour every blob store has, written once and run on the folder and
//! on S3 (a local moto server).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cbt_blobs::FolderBlobStore;
use cbt_moto_server::MotoServer;
use cbt_ports::{BlobError, BlobName, BlobStore};
use common::{failing_body, lazy_body, read_all};
use uuid::Uuid;

const MIB: usize = 1024 * 1024;

fn name() -> BlobName {
    BlobName::new(Uuid::now_v7(), Uuid::now_v7())
}

async fn round_trips_of_every_size(store: &dyn BlobStore) {
    for len in [0, 1, 5 * MIB + 1, 12 * MIB + 7] {
        let n = name();
        assert_eq!(store.put(&n, lazy_body(len, 64 * 1024)).await.unwrap(), len as u64);
        let back = read_all(store, &n).await.unwrap();
        assert_eq!(back.len(), len);
        assert!(back.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8), "len {len}");
    }
}

/// The seed's "files cannot be silently modified": a second put under a
/// name fails and the first content stays, small or multipart.
async fn stored_files_are_never_replaced(store: &dyn BlobStore) {
    for len in [10, 6 * MIB] {
        let n = name();
        store.put(&n, lazy_body(len, MIB)).await.unwrap();
        let again = store.put(&n, Box::pin(futures_util::stream::iter([Ok(bytes::Bytes::from_static(b"forged"))])));
        assert!(matches!(again.await, Err(BlobError::AlreadyExists)), "len {len}");
        assert_eq!(read_all(store, &n).await.unwrap().len(), len);
    }
}

async fn missing_files_are_not_found(store: &dyn BlobStore) {
    assert!(matches!(store.get(&name()).await.err(), Some(BlobError::NotFound)));
}

/// An upload cut midway leaves nothing under its name, and the name can
/// be used again.
async fn cut_uploads_leave_nothing(store: &dyn BlobStore) {
    for good in [100, 7 * MIB] {
        let n = name();
        assert!(store.put(&n, failing_body(good)).await.is_err());
        assert!(matches!(read_all(store, &n).await, Err(BlobError::NotFound)), "good {good}");
        store.put(&n, lazy_body(10, 10)).await.unwrap();
    }
}

async fn deleting_an_account_removes_only_its_files(store: &dyn BlobStore) {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let a_files = [BlobName::new(a, Uuid::now_v7()), BlobName::new(a, Uuid::now_v7())];
    let b_file = BlobName::new(b, Uuid::now_v7());
    for n in a_files.iter().chain([&b_file]) {
        store.put(n, lazy_body(100, 100)).await.unwrap();
    }
    assert_eq!(store.delete_account(a).await.unwrap(), 2);
    for n in &a_files {
        assert!(matches!(read_all(store, n).await, Err(BlobError::NotFound)));
    }
    assert_eq!(read_all(store, &b_file).await.unwrap().len(), 100);
    assert_eq!(store.delete_account(Uuid::now_v7()).await.unwrap(), 0, "an account with no files");
}

macro_rules! blob_store_suite {
    ($module:ident, $make:expr) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn round_trips_of_every_size() {
                let Some((store, _guard)) = ($make) else { return };
                super::round_trips_of_every_size(&store).await;
            }

            #[tokio::test]
            async fn stored_files_are_never_replaced() {
                let Some((store, _guard)) = ($make) else { return };
                super::stored_files_are_never_replaced(&store).await;
            }

            #[tokio::test]
            async fn missing_files_are_not_found() {
                let Some((store, _guard)) = ($make) else { return };
                super::missing_files_are_not_found(&store).await;
            }

            #[tokio::test]
            async fn cut_uploads_leave_nothing() {
                let Some((store, _guard)) = ($make) else { return };
                super::cut_uploads_leave_nothing(&store).await;
            }

            #[tokio::test]
            async fn deleting_an_account_removes_only_its_files() {
                let Some((store, _guard)) = ($make) else { return };
                super::deleting_an_account_removes_only_its_files(&store).await;
            }
        }
    };
}

blob_store_suite!(folder, {
    let dir = tempfile::tempdir().unwrap();
    Some((FolderBlobStore::open(&dir.path().join("blobs")).unwrap(), dir))
});

blob_store_suite!(
    s3,
    match MotoServer::start() {
        Some(moto) => Some((common::s3_store(&moto).await, moto)),
        None => None,
    }
);

/// Folder specifics: private permissions, and no temporary file left by a
/// cut upload.
#[tokio::test]
async fn folder_files_are_private_and_cut_uploads_leave_no_temporary_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let store = FolderBlobStore::open(&root).unwrap();
    let (account, blob) = (Uuid::now_v7(), Uuid::now_v7());
    store.put(&BlobName::new(account, blob), lazy_body(10, 10)).await.unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let account_dir = root.join(account.to_string());
    assert_eq!((mode(&root), mode(&account_dir), mode(&account_dir.join(blob.to_string()))), (0o700, 0o700, 0o600));
    assert!(store.put(&BlobName::new(account, Uuid::now_v7()), failing_body(1000)).await.is_err());
    let left: Vec<_> = std::fs::read_dir(&account_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from(blob.to_string())], "only the stored file");
}
