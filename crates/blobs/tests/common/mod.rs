//! Shared by the blob store test binaries: streams, and a bucket on a
//! local S3-compatible server (moto) started by the test.

#![allow(dead_code)]

use bytes::Bytes;
use cbt_blobs::{S3BlobStore, S3Settings};
use cbt_moto_server::{ACCESS_KEY_ID, MotoServer, REGION, SECRET_ACCESS_KEY};
use cbt_ports::{BlobError, BlobName, BlobStore, ByteStream};
use futures_util::StreamExt;

/// `len` bytes of a repeating pattern, generated lazily in `chunk`-byte
/// pieces (never whole in memory).
pub fn lazy_body(len: usize, chunk: usize) -> ByteStream {
    let pieces = len.div_ceil(chunk);
    Box::pin(futures_util::stream::iter(0..pieces).map(move |i| {
        let start = i * chunk;
        let end = (start + chunk).min(len);
        Ok(Bytes::from((start..end).map(|n| (n % 251) as u8).collect::<Vec<u8>>()))
    }))
}

/// A body that delivers `good` bytes and then fails.
pub fn failing_body(good: usize) -> ByteStream {
    let first = futures_util::stream::iter([Ok(Bytes::from(vec![1u8; good]))]);
    let then = futures_util::stream::iter([Err(BlobError::Failed("the upload was cut".into()))]);
    Box::pin(first.chain(then))
}

pub async fn read_all(store: &dyn BlobStore, name: &BlobName) -> Result<Vec<u8>, BlobError> {
    let mut stream = store.get(name).await?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

/// Reads a stream to the end, keeping only its length and a checksum.
pub async fn drain(store: &dyn BlobStore, name: &BlobName) -> (usize, u64) {
    let mut stream = store.get(name).await.expect("get");
    let (mut len, mut sum) = (0usize, 0u64);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("chunk");
        len += chunk.len();
        sum = chunk.iter().fold(sum, |s, b| s.wrapping_mul(31).wrapping_add(u64::from(*b)));
    }
    (len, sum)
}

pub fn expected_sum(len: usize) -> u64 {
    (0..len).fold(0u64, |s, n| s.wrapping_mul(31).wrapping_add((n % 251) as u64))
}

/// A fresh bucket, with versioning on, on a moto server of its own.
pub async fn s3_store(moto: &MotoServer) -> S3BlobStore {
    let client = reqwest::Client::new();
    let bucket = format!("cbt-test-{}", uuid::Uuid::new_v4().simple());
    let r = client.put(format!("{}/{bucket}", moto.endpoint)).send().await.expect("create bucket");
    assert!(r.status().is_success(), "create bucket: {}", r.status());
    let versioning = r#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#;
    let r =
        client.put(format!("{}/{bucket}?versioning", moto.endpoint)).body(versioning).send().await.expect("versioning");
    assert!(r.status().is_success(), "versioning: {}", r.status());
    S3BlobStore::new(&S3Settings {
        bucket,
        region: REGION.into(),
        endpoint: Some(moto.endpoint.clone()),
        sse_kms_key_id: None,
        credentials: Some((ACCESS_KEY_ID.into(), SECRET_ACCESS_KEY.into())),
    })
    .expect("S3 store")
}
