//! A 200 MB file goes into and out of each blob store without being held
//! in memory: the process's peak resident size (VmHWM) grows by far less
//! than the file, measured separately for the put and for the get. Its own
//! test binary, and one test running the steps in turn, so that nothing
//! else moves the peak.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cbt_blobs::FolderBlobStore;
use cbt_moto_server::MotoServer;
use cbt_ports::{BlobName, BlobStore};
use common::{drain, expected_sum, lazy_body};
use uuid::Uuid;

const SIZE: usize = 200 * 1024 * 1024;
/// Allowed growth of the peak: a few parts in flight, buffers, allocator.
const ALLOWED_GROWTH: u64 = 64 * 1024 * 1024;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("{field}"));
    line.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()).expect("kB") * 1024
}

/// Runs `step` and returns how far the peak resident size rose above the
/// resident size before it. The peak is reset first (`clear_refs` 5) so
/// that an earlier step's peak does not hide this one's; where that is not
/// allowed, the growth is measured from the earlier peak (weaker).
async fn peak_growth<T>(step: impl Future<Output = T>) -> (T, u64) {
    let before = match std::fs::write("/proc/self/clear_refs", "5") {
        Ok(()) => status_kib("VmRSS:"),
        Err(e) => {
            eprintln!("cannot reset VmHWM ({e}): measuring from the earlier peak");
            status_kib("VmHWM:")
        }
    };
    let out = step.await;
    (out, status_kib("VmHWM:").saturating_sub(before))
}

async fn streams_without_holding(backend: &str, store: &dyn BlobStore) {
    let name = BlobName::new(Uuid::now_v7(), Uuid::now_v7());
    let (stored, put_growth) = peak_growth(store.put(&name, lazy_body(SIZE, 256 * 1024))).await;
    assert_eq!(stored.unwrap(), SIZE as u64);
    let ((len, sum), get_growth) = peak_growth(drain(store, &name)).await;
    assert_eq!((len, sum), (SIZE, expected_sum(SIZE)));
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    eprintln!(
        "{backend}: 200 MiB put raised the peak by {:.1} MiB, get by {:.1} MiB",
        mib(put_growth),
        mib(get_growth)
    );
    assert!(put_growth < ALLOWED_GROWTH, "{backend}: a 200 MiB put raised the peak by {:.1} MiB", mib(put_growth));
    assert!(get_growth < ALLOWED_GROWTH, "{backend}: a 200 MiB get raised the peak by {:.1} MiB", mib(get_growth));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_file_streams_through_the_folder_and_s3() {
    let dir = tempfile::tempdir().unwrap();
    streams_without_holding("folder", &FolderBlobStore::open(&dir.path().join("blobs")).unwrap()).await;
    let Some(moto) = MotoServer::start() else { return };
    streams_without_holding("s3", &common::s3_store(&moto).await).await;
}
