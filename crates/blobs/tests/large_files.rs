//! A 200 MB file goes in and out of each blob store without being held in
//! memory: the process's peak resident size grows by far less than the
//! file. Its own test binary, one test at a time, so nothing else moves
//! the peak.

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

/// The process's peak resident size, in bytes (VmHWM).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()).expect("kB") * 1024
}

async fn streams_without_holding(store: &dyn BlobStore) {
    let before = peak_rss();
    let name = BlobName::new(Uuid::now_v7(), Uuid::now_v7());
    assert_eq!(store.put(&name, lazy_body(SIZE, 256 * 1024)).await.unwrap(), SIZE as u64);
    let (len, sum) = drain(store, &name).await;
    assert_eq!((len, sum), (SIZE, expected_sum(SIZE)));
    let growth = peak_rss().saturating_sub(before);
    assert!(growth < ALLOWED_GROWTH, "peak memory grew by {} MiB for a 200 MiB file", growth / (1024 * 1024));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_file_streams_through_the_folder_and_s3() {
    let dir = tempfile::tempdir().unwrap();
    streams_without_holding(&FolderBlobStore::open(&dir.path().join("blobs")).unwrap()).await;
    let Some(moto) = MotoServer::start() else { return };
    streams_without_holding(&common::s3_store(&moto).await).await;
}
