//! Behaviour every blob store has, written once and run on the folder and
//! on S3 (a local moto server); then what is particular to each.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use cbt_blobs::FolderBlobStore;
use cbt_moto_server::MotoServer;
use cbt_ports::{BlobError, BlobName, BlobStore};
use common::{Bucket, MIB, constant_body, endless_body, failing_body, lazy_body, pattern, paused_body, read_all};
use tokio::sync::oneshot;
use uuid::Uuid;

fn name() -> BlobName {
    BlobName::new(Uuid::now_v7(), Uuid::now_v7())
}

/// Empty, tiny, exactly one S3 part, just over (two parts), several parts.
async fn round_trips_of_every_size(store: &dyn BlobStore) {
    for len in [0, 1, 5 * MIB, 5 * MIB + 1, 12 * MIB + 7] {
        let n = name();
        assert_eq!(store.put(&n, lazy_body(len, 64 * 1024)).await.unwrap(), len as u64);
        let back = read_all(store, &n).await.unwrap();
        assert_eq!(back.len(), len);
        assert!(back.iter().enumerate().all(|(i, b)| *b == pattern(i)), "len {len}");
    }
}

/// "Files cannot be silently modified": a second put under a name fails
/// and the first content stays, whether either is small or multipart.
async fn stored_files_are_never_replaced(store: &dyn BlobStore) {
    for (first, second) in [(10, 6), (10, 6 * MIB), (6 * MIB, 6), (6 * MIB, 7 * MIB)] {
        let n = name();
        store.put(&n, lazy_body(first, MIB)).await.unwrap();
        let again = store.put(&n, constant_body(second, 0xee)).await;
        assert!(matches!(again, Err(BlobError::AlreadyExists)), "{first} then {second}: {again:?}");
        let kept = read_all(store, &n).await.unwrap();
        assert_eq!(kept.len(), first);
        assert!(kept.iter().enumerate().all(|(i, b)| *b == pattern(i)), "{first} then {second}");
    }
}

/// Two uploads of one name, the loser already past every check made
/// before writing when the winner publishes: the loser is refused when it
/// publishes, and the winner's bytes stay.
async fn the_second_of_two_racing_uploads_is_refused(store: &dyn BlobStore) {
    let n = name();
    let (paused, on_pause) = oneshot::channel();
    let (resume, on_resume) = oneshot::channel();
    let loser = store.put(&n, paused_body(0xee, paused, on_resume));
    let winner = async {
        on_pause.await.unwrap();
        let won = store.put(&n, lazy_body(6 * MIB, MIB)).await;
        resume.send(()).unwrap();
        won
    };
    let (lost, won) = tokio::join!(loser, winner);
    assert_eq!(won.unwrap(), 6 * MIB as u64);
    assert!(matches!(lost, Err(BlobError::AlreadyExists)), "{lost:?}");
    let kept = read_all(store, &n).await.unwrap();
    assert!(kept.len() == 6 * MIB && kept.iter().enumerate().all(|(i, b)| *b == pattern(i)));
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
            async fn the_second_of_two_racing_uploads_is_refused() {
                let Some((store, _guard)) = ($make) else { return };
                super::the_second_of_two_racing_uploads_is_refused(&store).await;
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

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Folders 0700 and files 0600, even under a permissive umask, and even
/// for a root that existed with wider permissions.
#[tokio::test]
async fn folder_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    std::fs::create_dir(&root).unwrap();
    std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let store = FolderBlobStore::open(&root).unwrap();
    let (account, blob) = (Uuid::now_v7(), Uuid::now_v7());
    store.put(&BlobName::new(account, blob), lazy_body(10, 10)).await.unwrap();
    let account_dir = root.join(account.to_string());
    assert_eq!((mode(&root), mode(&account_dir), mode(&account_dir.join(blob.to_string()))), (0o700, 0o700, 0o600));
}

/// A failed, refused or abandoned upload leaves no temporary file behind.
#[tokio::test]
async fn folder_uploads_leave_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let store = FolderBlobStore::open(&root).unwrap();
    let (account, blob) = (Uuid::now_v7(), Uuid::now_v7());
    store.put(&BlobName::new(account, blob), lazy_body(10, 10)).await.unwrap();
    let account_dir = root.join(account.to_string());

    assert!(store.put(&BlobName::new(account, Uuid::now_v7()), failing_body(1000)).await.is_err());
    assert_eq!(files_in(&account_dir), [blob.to_string()], "after a cut upload");

    // The client goes away mid-file: the put future is dropped.
    let gone = BlobName::new(account, Uuid::now_v7());
    let abandoned = store.put(&gone, endless_body());
    assert!(tokio::time::timeout(Duration::from_millis(300), abandoned).await.is_err());
    assert_eq!(files_in(&account_dir), [blob.to_string()], "after an abandoned upload");

    // Refused at the link: another upload took the name meanwhile.
    let raced = BlobName::new(account, Uuid::now_v7());
    let (paused, on_pause) = oneshot::channel();
    let (resume, on_resume) = oneshot::channel();
    let loser = store.put(&raced, paused_body(0xee, paused, on_resume));
    let winner = async {
        on_pause.await.unwrap();
        store.put(&raced, lazy_body(10, 10)).await.unwrap();
        resume.send(()).unwrap();
    };
    let (lost, ()) = tokio::join!(loser, winner);
    assert!(matches!(lost, Err(BlobError::AlreadyExists)));
    let mut expected = vec![blob.to_string(), raced.as_str().split('/').nth(1).unwrap().to_owned()];
    expected.sort();
    assert_eq!(files_in(&account_dir), expected, "after a refused upload");
}

/// S3 leaves no multipart upload behind when an upload is cut or refused,
/// and a refused put adds no version (bucket versioning is on).
#[tokio::test]
async fn s3_uploads_leave_no_parts_and_no_versions() {
    let Some(moto) = MotoServer::start() else { return };
    let bucket = Bucket::create(&moto).await;
    let store = bucket.store(None);

    assert!(store.put(&name(), failing_body(12 * MIB)).await.is_err());
    assert_eq!(bucket.uploads_in_progress().await, 0, "after a cut upload");

    // Refused by the conditional completion: the winner publishes after
    // the loser's HEAD found the name free.
    let n = name();
    let (paused, on_pause) = oneshot::channel();
    let (resume, on_resume) = oneshot::channel();
    let loser = store.put(&n, paused_body(0xee, paused, on_resume));
    let winner = async {
        on_pause.await.unwrap();
        store.put(&n, lazy_body(6 * MIB, MIB)).await.unwrap();
        resume.send(()).unwrap();
    };
    let (lost, ()) = tokio::join!(loser, winner);
    assert!(matches!(lost, Err(BlobError::AlreadyExists)), "{lost:?}");
    assert_eq!(bucket.uploads_in_progress().await, 0, "after a refused upload");
    assert!(matches!(store.put(&n, constant_body(10, 0xee)).await, Err(BlobError::AlreadyExists)));
    assert_eq!(bucket.versions(&n).await, 1);
}

/// With a KMS key configured, every object (single put or multipart) is
/// stored with SSE-KMS under that key.
#[tokio::test]
async fn s3_objects_are_encrypted_with_the_configured_kms_key() {
    let Some(moto) = MotoServer::start() else { return };
    let key = moto.create_kms_key();
    let bucket = Bucket::create(&moto).await;
    let store = bucket.store(Some(key.clone()));
    for len in [10, 12 * MIB] {
        let n = name();
        store.put(&n, lazy_body(len, MIB)).await.unwrap();
        let headers = bucket.headers(&n).await;
        let header = |h: &str| headers.get(h).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert_eq!(header("x-amz-server-side-encryption"), "aws:kms", "len {len}");
        assert!(header("x-amz-server-side-encryption-aws-kms-key-id").ends_with(&key), "len {len}: {headers:?}");
        assert_eq!(read_all(&store, &n).await.unwrap().len(), len);
    }
}
