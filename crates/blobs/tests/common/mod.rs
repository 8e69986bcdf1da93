//! Shared by the blob store test binaries: bodies, and a bucket on a local
//! S3-compatible server (moto) started by the test, with plain requests to
//! look at what the store left there.

#![allow(dead_code)]

use bytes::Bytes;
use cbt_blobs::{S3BlobStore, S3Settings};
use cbt_moto_server::{ACCESS_KEY_ID, MotoServer, REGION, SECRET_ACCESS_KEY};
use cbt_ports::{BlobError, BlobName, BlobStore, ByteStream};
use futures_util::StreamExt;
use tokio::sync::oneshot;

pub const MIB: usize = 1024 * 1024;

/// The byte at `n` of every lazy body.
pub fn pattern(n: usize) -> u8 {
    (n % 251) as u8
}

/// `len` bytes of a repeating pattern, generated lazily in `chunk`-byte
/// pieces (never whole in memory).
pub fn lazy_body(len: usize, chunk: usize) -> ByteStream {
    let pieces = len.div_ceil(chunk);
    Box::pin(futures_util::stream::iter(0..pieces).map(move |i| {
        let start = i * chunk;
        let end = (start + chunk).min(len);
        Ok(Bytes::from((start..end).map(pattern).collect::<Vec<u8>>()))
    }))
}

/// `len` bytes of `byte`, in 1 MiB pieces.
pub fn constant_body(len: usize, byte: u8) -> ByteStream {
    let pieces = len.div_ceil(MIB);
    Box::pin(futures_util::stream::iter(0..pieces).map(move |i| Ok(Bytes::from(vec![byte; MIB.min(len - i * MIB)]))))
}

/// A body that delivers `good` bytes and then fails.
pub fn failing_body(good: usize) -> ByteStream {
    let then = futures_util::stream::iter([Err(BlobError::Failed("the upload was cut".into()))]);
    Box::pin(constant_body(good, 1).chain(then))
}

/// 8 MiB of `byte` in 1 MiB pieces that stops before the last piece: it
/// says so on `paused` and goes on when `resume` fires. By then both
/// stores have checked the name and begun writing (S3 has gathered its
/// first part, checked with HEAD and started the multipart upload).
pub fn paused_body(byte: u8, paused: oneshot::Sender<()>, resume: oneshot::Receiver<()>) -> ByteStream {
    let state = (0usize, Some(paused), Some(resume));
    Box::pin(futures_util::stream::unfold(state, move |(i, paused, resume)| async move {
        match i {
            0..7 => Some((Ok(Bytes::from(vec![byte; MIB])), (i + 1, paused, resume))),
            7 => {
                if let Some(paused) = paused {
                    let _ = paused.send(());
                }
                if let Some(resume) = resume {
                    let _ = resume.await;
                }
                Some((Ok(Bytes::from(vec![byte; MIB])), (i + 1, None, None)))
            }
            _ => None,
        }
    }))
}

/// A body that delivers 1 MiB and then never ends.
pub fn endless_body() -> ByteStream {
    Box::pin(constant_body(MIB, 1).chain(futures_util::stream::pending()))
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
    (0..len).fold(0u64, |s, n| s.wrapping_mul(31).wrapping_add(u64::from(pattern(n))))
}

/// A fresh bucket, versioning on, on a moto server; requests with a dummy
/// signature (moto does not check it) to set it up and look inside.
pub struct Bucket {
    pub endpoint: String,
    pub name: String,
    http: reqwest::Client,
}

impl Bucket {
    pub async fn create(moto: &MotoServer) -> Self {
        // Unsigned requests are anonymous, which moto refuses for objects.
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/20260101/{REGION}/s3/aws4_request, SignedHeaders=host, Signature=0"
        );
        let headers = reqwest::header::HeaderMap::from_iter([(
            reqwest::header::AUTHORIZATION,
            reqwest::header::HeaderValue::from_str(&authorization).unwrap(),
        )]);
        let http = reqwest::Client::builder().default_headers(headers).build().unwrap();
        let name = format!("cbt-test-{}", uuid::Uuid::new_v4().simple());
        let bucket = Self { endpoint: moto.endpoint.clone(), name, http };
        let r = bucket.http.put(bucket.url("")).send().await.expect("create bucket");
        assert!(r.status().is_success(), "create bucket: {}", r.status());
        let versioning = r#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#;
        let r = bucket.http.put(bucket.url("?versioning")).body(versioning).send().await.expect("versioning");
        assert!(r.status().is_success(), "versioning: {}", r.status());
        bucket
    }

    fn url(&self, rest: &str) -> String {
        format!("{}/{}{rest}", self.endpoint, self.name)
    }

    pub fn store(&self, sse_kms_key_id: Option<String>) -> S3BlobStore {
        S3BlobStore::new(&S3Settings {
            bucket: self.name.clone(),
            region: REGION.into(),
            endpoint: Some(self.endpoint.clone()),
            sse_kms_key_id,
            credentials: Some((ACCESS_KEY_ID.into(), SECRET_ACCESS_KEY.into())),
        })
        .expect("S3 store")
    }

    /// The object's headers (a GET of its first byte).
    pub async fn headers(&self, name: &BlobName) -> reqwest::header::HeaderMap {
        let r = self.http.get(self.url(&format!("/{}", name.as_str()))).header("Range", "bytes=0-0").send().await;
        let r = r.expect("GET");
        let headers = r.headers().clone();
        let status = r.status();
        assert!(status.is_success(), "GET: {status} {}", r.text().await.unwrap_or_default());
        headers
    }

    /// ListMultipartUploads: uploads begun and neither completed nor
    /// aborted.
    pub async fn uploads_in_progress(&self) -> usize {
        let r = self.http.get(self.url("?uploads")).send().await.expect("list uploads");
        r.text().await.expect("uploads").matches("<UploadId>").count()
    }

    /// ListObjectVersions under `name`: how many versions it has.
    pub async fn versions(&self, name: &BlobName) -> usize {
        let r = self.http.get(self.url(&format!("?versions&prefix={}", name.as_str()))).send().await.expect("versions");
        r.text().await.expect("versions").matches("<Version>").count()
    }
}

/// A store on a fresh bucket, with versioning on, on a moto server.
pub async fn s3_store(moto: &MotoServer) -> S3BlobStore {
    Bucket::create(moto).await.store(None)
}
